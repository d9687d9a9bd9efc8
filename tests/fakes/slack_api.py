"""A local fake of Slack's Web API, for tests and benchmarks (no internet).

It serves `http://127.0.0.1:PORT/api/<method>` (point `SLACK_API_URL` at :attr:`FakeSlack.api_url`),
records every call with its arguments and token, answers the methods svbot uses with plausible
bodies, and can be told to fail: HTTP 429 with `Retry-After`, or `{"ok": false, "error": ...}`.
It also serves `response_url`s (`/respond/<id>`) and the upload URLs of files upload v2.

Socket Mode: `apps.connections.open` (with an app-level `xapp-` token) returns
`ws://127.0.0.1:PORT/_fake/socket`, where the fake says `hello` and then delivers whatever envelopes
the test pushes; every acknowledgement (`{"envelope_id": ...}`) is recorded as a call `socket.ack`.

    await fake.wait_connected()
    await fake.socket_send({"envelope_id": "e1", "type": "events_api", "payload": {...}})
    ack = await fake.wait_for_ack("e1", timeout=5)

    async with FakeSlack() as fake:
        fake.rate_limit("chat.postMessage", retry_after=1)
        ...
        call = await fake.wait_for("chat.postMessage", timeout=5)

In another process (benchmarks: so the fake's work does not share the measured process's CPU and event
loop), run `python3 -m tests.fakes.slack_api`: it prints one JSON line with `api_url` and `base_url`,
serves until SIGINT or SIGTERM, and lets the other process read the calls from `GET /_fake/calls`
(acks included) and push Socket Mode envelopes with `POST /_fake/socket/send` (the envelope as JSON).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

BOT_USER_ID = "UBOT0001"
BOT_ID = "BBOT0001"
TEAM_ID = "T0000001"
SECTION_TEXT_LIMIT = 3000
APP_ID = "A0000001"
SOCKET_PATH = "/_fake/socket"
ACK = "socket.ack"  # the method name under which Socket Mode acknowledgements are recorded


@dataclass
class Call:
    """One request the fake received."""

    method: str  # "chat.postMessage"; "respond" for a response_url, "upload" for a file body, ACK for an ack
    args: dict[str, Any]
    token: str | None
    at: float  # time.monotonic() when it arrived
    status: int = 200  # what the fake answered
    body: bytes = b""  # the raw body, for file uploads
    response: dict[str, Any] = field(default_factory=dict)  # what the fake answered

    @property
    def ts(self) -> str | None:
        """The ts Slack gave a posted message."""
        return self.response.get("ts")

    def to_dict(self) -> dict[str, Any]:
        """As JSON for another process (the raw upload body is left out: only its length)."""
        return {
            "method": self.method,
            "args": self.args,
            "token": self.token,
            "at": self.at,
            "status": self.status,
            "body_length": len(self.body),
            "response": self.response,
        }


@dataclass
class _Failure:
    status: int
    error: str | None
    retry_after: int | None
    times: int


@dataclass
class FakeSlack:
    """Start with `async with FakeSlack() as fake` (or `await fake.start()` / `await fake.stop()`)."""

    team_id: str = TEAM_ID
    bot_user_id: str = BOT_USER_ID
    calls: list[Call] = field(default_factory=list)
    by_channel: dict[str, list[Call]] = field(default_factory=dict)  # messages posted or updated, by channel
    on_call: list[Callable[[Call], None]] = field(default_factory=list)  # told of every call (benchmarks)
    _failures: dict[str, list[_Failure]] = field(default_factory=dict)
    _changed: asyncio.Condition | None = None
    _runner: web.AppRunner | None = None
    _port: int = 0
    _ts: Any = field(default_factory=lambda: itertools.count(1))
    _sockets: list[web.WebSocketResponse] = field(default_factory=list)  # open Socket Mode connections
    socket_connections: int = 0  # Socket Mode connections ever opened (reconnects count again)

    # -- lifecycle ---------------------------------------------------------------------------------

    async def start(self, port: int = 0) -> FakeSlack:
        self._changed = asyncio.Condition()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/respond/{key}", self._respond)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/_fake/calls", self._calls_feed)
        app.router.add_get(SOCKET_PATH, self._socket)
        app.router.add_post(SOCKET_PATH + "/send", self._socket_send_http)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self._port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        # Open websockets would hold up the runner's shutdown: say goodbye to each first.
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_url(self) -> str:
        """What SLACK_API_URL should be: with the trailing slash slack_sdk needs."""
        return f"{self.base_url}/api/"

    def response_url(self, key: str = "1") -> str:
        return f"{self.base_url}/respond/{key}"

    @property
    def socket_url(self) -> str:
        """What `apps.connections.open` hands out: plain ws on loopback."""
        return f"ws://127.0.0.1:{self._port}{SOCKET_PATH}"

    # -- Socket Mode -------------------------------------------------------------------------------

    @property
    def socket_open(self) -> int:
        """Socket Mode connections open now."""
        return len(self._sockets)

    async def wait_connected(self, timeout: float = 5.0, count: int = 1) -> None:
        """Wait until `count` Socket Mode connections have been opened in all (and one is open)."""
        assert self._changed is not None, "start the fake first"
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(lambda: self.socket_connections >= count and bool(self._sockets))
        except TimeoutError:
            seen = [c.method for c in self.calls]
            raise TimeoutError(f"no Socket Mode connection within {timeout}s; saw {seen}") from None

    async def wait_disconnected(self, timeout: float = 5.0) -> None:
        """Wait until no Socket Mode connection is open (the client said goodbye)."""
        assert self._changed is not None, "start the fake first"
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: not self._sockets)

    async def socket_send(self, envelope: dict[str, Any]) -> None:
        """Deliver one envelope over the newest open connection, as Slack delivers to one of them."""
        if not self._sockets:
            raise RuntimeError("no Socket Mode connection is open")
        await self._sockets[-1].send_json(envelope)

    async def socket_disconnect(self, reason: str = "refresh_requested") -> None:
        """Tell the client to reconnect, as Slack does every few hours (`type: disconnect`)."""
        await self.socket_send({"type": "disconnect", "reason": reason, "debug_info": {"host": "fake"}})

    def acks_for(self, envelope_id: str) -> list[dict[str, Any]]:
        """Every acknowledgement received for this envelope, in order."""
        return [c.args for c in self.calls if c.method == ACK and c.args.get("envelope_id") == envelope_id]

    async def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """Wait for the acknowledgement of an envelope; return it (`payload` included, if any)."""
        call = await self.wait_for(ACK, timeout=timeout, where=lambda c: c.args.get("envelope_id") == envelope_id)
        return call.args

    # -- error injection ---------------------------------------------------------------------------

    def rate_limit(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """The next `times` calls of `method` get HTTP 429 with this Retry-After (seconds)."""
        self._failures.setdefault(method, []).append(_Failure(429, "ratelimited", retry_after, times))

    def fail(self, method: str, error: str, times: int = 1) -> None:
        """The next `times` calls of `method` get HTTP 200 `{"ok": false, "error": error}`."""
        self._failures.setdefault(method, []).append(_Failure(200, error, None, times))

    # -- reading what happened ---------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def ok_calls(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.status == 200 and not c.args.get("_failed")]

    async def wait_for(
        self,
        method: str,
        timeout: float = 5.0,
        count: int = 1,
        where: Callable[[Call], bool] | None = None,
        include_failed: bool = False,
    ) -> Call:
        """Wait until `count` successful calls of `method` (matching `where`) have arrived; return the
        last of them. Raises TimeoutError, naming what did arrive, if they do not. With `include_failed`,
        calls the fake refused count too."""
        assert self._changed is not None, "start the fake first"

        def matching() -> list[Call]:
            calls = self.calls_to(method) if include_failed else self.ok_calls(method)
            return [c for c in calls if where is None or where(c)]

        try:
            async with asyncio.timeout(timeout):
                async with self._changed:
                    await self._changed.wait_for(lambda: len(matching()) >= count)
        except TimeoutError:
            seen = [c.method for c in self.calls]
            raise TimeoutError(f"waited {timeout}s for {count} x {method}; saw {seen}") from None
        return matching()[count - 1]

    async def wait_quiet(self, seconds: float = 0.3) -> None:
        """Wait until no call has arrived for `seconds`: for asserting that nothing more is sent."""
        while True:
            before = len(self.calls)
            await asyncio.sleep(seconds)
            if len(self.calls) == before:
                return

    def posted_texts(self) -> list[str]:
        """The fallback text of every message posted or updated, in order."""
        return [
            str(c.args.get("text", ""))
            for c in self.calls
            if c.method in ("chat.postMessage", "chat.update", "respond") and c.status == 200
        ]

    # -- handlers ----------------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await _read_args(request)
        token = _bearer(request) or args.get("token")
        failure = self._take_failure(method)
        if failure is not None:
            failed = {**args, "_failed": True}
            await self._record(Call(method, failed, token, time.monotonic(), failure.status))
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
            return web.json_response({"ok": False, "error": failure.error}, status=failure.status, headers=headers)
        problem = check_blocks(args) if method in ("chat.postMessage", "chat.update") else None
        if problem is not None:
            # Slack refuses a bad message: so must we, or a rendering bug would pass unnoticed.
            body = {"ok": False, "error": "invalid_blocks", "errors": [problem]}
            failed = {**args, "_failed": True}
            await self._record(Call(method, failed, token, time.monotonic(), response=body))
            return web.json_response(body)
        body = self._answer(method, args, token)
        recorded = args if body.get("ok") else {**args, "_failed": True}
        await self._record(Call(method, recorded, token, time.monotonic(), response=body))
        return web.json_response(body)

    async def _respond(self, request: web.Request) -> web.Response:
        args = await _read_args(request)
        args["_key"] = request.match_info["key"]
        await self._record(Call("respond", args, None, time.monotonic()))
        return web.Response(text="ok")

    async def _upload(self, request: web.Request) -> web.Response:
        body = await request.read()
        call = Call("upload", {"file_id": request.match_info["file_id"]}, None, time.monotonic(), body=body)
        await self._record(call)
        return web.Response(text="OK - " + str(len(body)))

    async def _calls_feed(self, request: web.Request) -> web.Response:
        """`GET /_fake/calls?since=N&wait=S`: the calls after the first N, waiting up to S seconds for
        one to arrive (a long poll, so a reader in another process neither spins nor misses any)."""
        assert self._changed is not None
        since = int(request.query.get("since", "0"))
        wait = float(request.query.get("wait", "0"))
        if wait > 0 and len(self.calls) <= since:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait), self._changed:
                    await self._changed.wait_for(lambda: len(self.calls) > since)
        batch = self.calls[since:]
        return web.json_response({"next": since + len(batch), "calls": [c.to_dict() for c in batch]})

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        """One Socket Mode connection: `hello`, then envelopes out and acknowledgements in."""
        assert self._changed is not None
        ws = web.WebSocketResponse()  # answers the client's pings itself
        await ws.prepare(request)
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": len(self._sockets) + 1,
                "debug_info": {"host": "fake", "approximate_connection_time": 18060},
                "connection_info": {"app_id": APP_ID},
            }
        )
        async with self._changed:
            self._sockets.append(ws)
            self.socket_connections += 1
            self._changed.notify_all()
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                try:
                    data = json.loads(message.data)
                except ValueError:
                    data = {"_unreadable": message.data}
                await self._record(Call(ACK, data, None, time.monotonic()))
        finally:
            async with self._changed:
                self._sockets.remove(ws)
                self._changed.notify_all()
        return ws

    async def _socket_send_http(self, request: web.Request) -> web.Response:
        """`POST /_fake/socket/send`: push an envelope from another process."""
        if not self._sockets:
            return web.json_response({"ok": False, "error": "no_connection"}, status=409)
        await self.socket_send(await request.json())
        return web.json_response({"ok": True})

    async def _record(self, call: Call) -> None:
        assert self._changed is not None
        async with self._changed:
            self.calls.append(call)
            if call.method in ("chat.postMessage", "chat.update") and call.response.get("ok"):
                self.by_channel.setdefault(str(call.args.get("channel", "")), []).append(call)
            self._changed.notify_all()
        for listener in self.on_call:
            listener(call)

    def _take_failure(self, method: str) -> _Failure | None:
        queue = self._failures.get(method)
        if not queue:
            return None
        failure = queue[0]
        failure.times -= 1
        if failure.times <= 0:
            queue.pop(0)
        return failure

    def _answer(self, method: str, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://fake.slack.test/",
                "team": "Fake team",
                "user": "svbot",
                "team_id": self.team_id,
                "user_id": self.bot_user_id,
                "bot_id": BOT_ID,
            }
        if method in ("chat.postMessage", "chat.update"):
            ts = str(args.get("ts") or self._next_ts())
            return {
                "ok": True,
                "channel": channel,
                "ts": ts,
                "message": {"text": args.get("text", ""), "ts": ts, "bot_id": BOT_ID},
            }
        if method == "apps.connections.open":
            if not (token or "").startswith("xapp-"):
                return {"ok": False, "error": "not_allowed_token_type"}  # Slack wants the app-level token
            return {"ok": True, "url": self.socket_url}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._next_ts()}
        if method == "conversations.open":
            users = str(args.get("users", "U"))
            return {"ok": True, "channel": {"id": "D" + users.split(",")[0].lstrip("U")}}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ts):07d}"
            return {"ok": True, "upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            files = args.get("files") or []
            if isinstance(files, str):
                files = json.loads(files)
            return {"ok": True, "files": [{"id": f.get("id"), "title": f.get("title", "")} for f in files]}
        if method == "oauth.v2.access":
            return {
                "ok": True,
                "app_id": "A0000001",
                "access_token": "xoxb-installed-token",
                "token_type": "bot",
                "scope": "chat:write,commands",
                "bot_user_id": self.bot_user_id,
                "team": {"id": self.team_id, "name": "Fake team"},
                "enterprise": None,
                "is_enterprise_install": False,
                "authed_user": {"id": "UINSTALLER"},
            }
        return {"ok": True}

    def _next_ts(self) -> str:
        return f"{1700000000 + next(self._ts)}.000100"


def check_blocks(args: dict[str, Any]) -> str | None:
    """The Block Kit limits Slack enforces on a message, or None if it is fine."""
    blocks = args.get("blocks")
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    if not blocks:
        return None if str(args.get("text", "")).strip() else "no_text"
    if len(blocks) > 50:
        return "more than 50 blocks"
    action_ids: set[str] = set()
    for block in blocks:
        text = (block.get("text") or {}).get("text")
        if block.get("type") == "section" and not 1 <= len(text or "") <= SECTION_TEXT_LIMIT:
            return f"section text must be 1 to {SECTION_TEXT_LIMIT} characters, was {len(text or '')}"
        if block.get("type") == "rich_text":
            problem = _check_rich_text(block)
            if problem is not None:
                return problem
            continue
        elements = list(block.get("elements") or ())
        if block.get("type") == "actions" and not 1 <= len(elements) <= 25:
            return "an actions block holds 1 to 25 elements"
        if block.get("accessory"):
            elements.append(block["accessory"])
        for element in elements:
            action_id = element.get("action_id")
            if action_id is not None:
                if action_id in action_ids:
                    return f"duplicate action_id {action_id}"
                action_ids.add(action_id)
            if element.get("type") == "button":
                label = element["text"]["text"]
                if not 1 <= len(label) <= 75 or len(element.get("value", "")) > 2000:
                    return "button text must be 1 to 75 characters and value at most 2000"
    return None


RICH_TEXT_PARTS = {"text", "link", "emoji", "user", "channel", "usergroup", "broadcast", "date", "color"}


def _check_rich_text(block: dict[str, Any]) -> str | None:
    """A rich_text block holds sections of elements; text elements need text, links a url."""
    sections = block.get("elements") or []
    if not sections:
        return "a rich_text block needs elements"
    length = 0
    for section in sections:
        parts = section.get("elements") or []
        if section.get("type") not in ("rich_text_section", "rich_text_list", "rich_text_quote",
                                       "rich_text_preformatted") or not parts:  # fmt: skip
            return "a rich_text block holds rich_text_section (or list, quote, preformatted) elements"
        for part in parts:
            if part.get("type") not in RICH_TEXT_PARTS:
                return f"unknown rich_text element {part.get('type')!r}"
            if part["type"] == "text" and not part.get("text"):
                return "a rich_text text element needs text"
            if part["type"] == "link" and not str(part.get("url", "")).startswith(("http://", "https://", "mailto:")):
                return "a rich_text link needs a url"
            length += len(str(part.get("text", "")))
    if length > SECTION_TEXT_LIMIT:
        return f"rich_text longer than {SECTION_TEXT_LIMIT} characters (svbot splits at that)"
    return None


async def _read_args(request: web.Request) -> dict[str, Any]:
    """slack_sdk sends JSON for some methods and form fields for others; read both the same way."""
    raw = await request.read()
    args: dict[str, Any] = dict(request.query)
    if not raw:
        return args
    if request.content_type == "application/json":
        args.update(json.loads(raw))
        return args
    for key, value in parse_qsl(raw.decode("utf-8"), keep_blank_values=True):
        # Form fields that slack_sdk JSON-encodes (blocks, files): decode so tests can read them.
        if key in ("blocks", "files", "attachments") and value[:1] in ("[", "{"):
            args[key] = json.loads(value)
        else:
            args[key] = value
    return args


def _bearer(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    return auth[len("Bearer ") :] if auth.startswith("Bearer ") else None


async def serve_until_stopped(port: int = 0) -> None:
    """Run the fake until SIGINT or SIGTERM; print its URLs first and a count of calls last."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    fake = FakeSlack()
    await fake.start(port)
    print(json.dumps({"api_url": fake.api_url, "base_url": fake.base_url}), flush=True)
    try:
        await stop.wait()
    finally:
        await fake.stop()
        print(json.dumps({"calls": len(fake.calls), "cpu_s": round(time.process_time(), 2)}), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="A local fake of Slack's Web API, in its own process.")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free one)")
    asyncio.run(serve_until_stopped(parser.parse_args().port))
