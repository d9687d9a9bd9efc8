"""A local fake of the Telegram Bot API, served over real HTTP on 127.0.0.1 (aiohttp, in the test's loop).

It answers the methods svbot uses the way Telegram does: `getUpdates` really long-polls, replies are
valid Message objects, errors carry `error_code`, `description` and `parameters.retry_after` with the
same HTTP status. Form fields are kept as the strings PTB sent (a user may type "42" or "true"); use
`Call.json(name)` for fields PTB JSON-encodes. HTML text is checked like Telegram checks it (known tags
only, balanced, bare `<` `>` `&` refused, at most 4,096 characters after parsing), so a rendering bug
fails a test instead of passing silently.

    fake = await FakeTelegram().start()
    app = ApplicationBuilder().token(fake.token).base_url(fake.base_url).base_file_url(fake.base_file_url)
    fake.push_update(fake.text_update(user_id=7, text="/start"))
    fake.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "123456:TEST-token_for-the-fake"
BOT_ID = 123456
BOT_USERNAME = "svbot_test_bot"
TEXT_LIMIT = 4096
CALLBACK_DATA_LIMIT = 64
ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "code",
    "pre",
    "blockquote",
    "tg-emoji",
}


@dataclass
class Call:
    """One request the bot made."""

    method: str
    fields: dict[str, str]
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)
    status: int = 200

    def json(self, name: str, default: Any = None) -> Any:
        raw = self.fields.get(name)
        return default if raw is None else json.loads(raw)

    @property
    def chat_id(self) -> int | None:
        raw = self.fields.get("chat_id")
        return None if raw is None else int(raw)


@dataclass
class SentMessage:
    """A message as the chat shows it now (after any edits): visible text, not the HTML sent."""

    chat_id: int
    message_id: int
    text: str
    html: str
    reply_markup: dict | None
    edits: int = 0
    document: tuple[str, bytes] | None = None

    def button_rows(self) -> list[list[dict]]:
        return (self.reply_markup or {}).get("inline_keyboard", [])

    def buttons(self) -> list[dict]:
        return [button for row in self.button_rows() for button in row]

    def button(self, label_part: str) -> dict:
        """The first button whose label contains `label_part` (case-insensitive)."""
        for button in self.buttons():
            if label_part.lower() in button["text"].lower():
                return button
        raise LookupError(f"no button with {label_part!r} in {[b['text'] for b in self.buttons()]}")


@dataclass
class Failure:
    status: int
    description: str
    retry_after: int | None
    times: int
    chat_id: int | None
    disconnect: bool = False


class HtmlError(ValueError):
    pass


class FakeTelegram:
    def __init__(self, token: str = TOKEN, username: str = BOT_USERNAME) -> None:
        self.token = token
        self.username = username
        self.calls: list[Call] = []
        self.messages: dict[tuple[int, int], SentMessage] = {}
        self.webhook: dict[str, str] = {}
        self.commands: dict[str, list[dict]] = {}  # scope (JSON) -> commands
        self._updates: list[dict] = []
        self._new_update = asyncio.Condition()
        self._new_call = asyncio.Condition()
        self._failures: dict[str, list[Failure]] = {}
        self._update_ids = itertools.count(1000)
        self._message_ids = itertools.count(1)
        self._chat_types: dict[int, str] = {}
        self._runner: web.AppRunner | None = None
        self._closing = False
        self.port = 0

    # --- lifecycle ----------------------------------------------------------------------------------

    async def start(self) -> FakeTelegram:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/file/bot{token}/{path:.*}", self._file)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        self._closing = True
        async with self._new_update:
            self._new_update.notify_all()  # release long polls so shutdown is quick
        if self._runner:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # --- what tests do ------------------------------------------------------------------------------

    def push_update(self, update: dict) -> int:
        """Queue an update for getUpdates; returns its update_id."""
        update.setdefault("update_id", next(self._update_ids))
        self._updates.append(update)
        asyncio.get_running_loop().create_task(self._notify_update())
        return update["update_id"]

    def fail(
        self,
        method: str,
        status: int,
        description: str,
        *,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """The next `times` calls of `method` (to `chat_id`, if given) fail like Telegram fails."""
        self._failures.setdefault(method, []).append(Failure(status, description, retry_after, times, chat_id))

    def clear_failures(self) -> None:
        """Forget the failures still to come (someone pressed Start: Telegram lets the bot write now)."""
        self._failures.clear()

    def disconnect(self, method: str, *, times: int = 1) -> None:
        """The next `times` calls of `method` get the connection closed with no answer."""
        self._failures.setdefault(method, []).append(Failure(0, "", None, times, None, disconnect=True))

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def chat(self, chat_id: int) -> list[SentMessage]:
        """The bot's messages in one chat, oldest first, as they look now."""
        found = [m for (cid, _), m in self.messages.items() if cid == chat_id]
        return sorted(found, key=lambda m: m.message_id)

    def last_message(self, chat_id: int) -> SentMessage:
        return self.chat(chat_id)[-1]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait until `method` has been called successfully at least `count` times in all."""

        def done() -> bool:
            return len([c for c in self.calls_to(method) if c.status == 200]) >= count

        async with self._new_call:
            await asyncio.wait_for(self._new_call.wait_for(done), timeout)
        return self.calls_to(method)

    @property
    def pending_updates(self) -> int:
        return len(self._updates)

    # --- update builders ----------------------------------------------------------------------------

    def text_update(
        self,
        *,
        user_id: int,
        text: str,
        chat_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Sam",
        reply_to: SentMessage | None = None,
        update_id: int | None = None,
    ) -> dict:
        """A message update; `/commands` and `@mentions` get the entities Telegram would add."""
        chat_id = user_id if chat_id is None else chat_id
        self._chat_types[chat_id] = chat_type
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = first_name
        else:
            chat["title"] = "Group chat"
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": {"id": user_id, "is_bot": False, "first_name": first_name},
            "text": text,
        }
        entities = _entities(text)
        if entities:
            message["entities"] = entities
        if reply_to is not None:
            message["reply_to_message"] = self._message_json(reply_to)
        update: dict[str, Any] = {"message": message}
        if update_id is not None:
            update["update_id"] = update_id
        else:
            update["update_id"] = next(self._update_ids)
        return update

    def button_update(self, *, user_id: int, message: SentMessage, data: str, update_id: int | None = None) -> dict:
        """Someone pressed a button (its callback_data) on one of the bot's messages."""
        return {
            "update_id": next(self._update_ids) if update_id is None else update_id,
            "callback_query": {
                "id": f"cbq-{next(self._message_ids)}",
                "from": {"id": user_id, "is_bot": False, "first_name": "Sam"},
                "chat_instance": str(message.chat_id),
                "message": self._message_json(message),
                "data": data,
            },
        }

    def press(self, *, user_id: int, message: SentMessage, label_part: str) -> dict:
        return self.button_update(user_id=user_id, message=message, data=message.button(label_part)["callback_data"])

    # --- the server ---------------------------------------------------------------------------------

    async def _notify_update(self) -> None:
        async with self._new_update:
            self._new_update.notify_all()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        fields, files = await _read_fields(request)
        call = Call(method=method, fields=fields, files=files)
        failure = self._take_failure(method, call.chat_id)
        if failure and failure.disconnect:
            call.status = 0
            await self._record(call)
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=500)  # never reaches the client: the connection is gone
        if failure:
            call.status = failure.status
            await self._record(call)
            params = {"retry_after": failure.retry_after} if failure.retry_after is not None else None
            return _error(failure.status, failure.description, params)
        handler = getattr(self, "_m_" + method, None)
        if handler is None:
            call.status = 404
            await self._record(call)
            return _error(404, "Not Found: method not found")
        if method == "getUpdates":
            await self._record(call)  # seen on arrival: a long poll may wait a while before answering
        try:
            result = await handler(call)
        except HtmlError as exc:
            call.status = 400
            await self._record(call)
            return _error(400, f"Bad Request: {exc}")
        if method != "getUpdates":
            await self._record(call)
        return web.json_response({"ok": True, "result": result})

    async def _record(self, call: Call) -> None:
        self.calls.append(call)
        async with self._new_call:
            self._new_call.notify_all()

    def _take_failure(self, method: str, chat_id: int | None) -> Failure | None:
        for failure in self._failures.get(method, []):
            if failure.times > 0 and (failure.chat_id is None or failure.chat_id == chat_id):
                failure.times -= 1
                return failure
        return None

    async def _file(self, request: web.Request) -> web.Response:
        return web.Response(body=b"file content")

    # --- methods ------------------------------------------------------------------------------------

    async def _m_getMe(self, call: Call) -> dict:
        return self._bot_user()

    async def _m_getUpdates(self, call: Call) -> list[dict]:
        offset = int(call.fields.get("offset", "0") or 0)
        timeout = float(call.fields.get("timeout", "0") or 0)
        limit = int(call.fields.get("limit", "100") or 100)
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]

        def ready() -> bool:
            return bool(self._updates) or self._closing

        async with self._new_update:
            await _wait_or_timeout(self._new_update, ready, timeout)
        return self._updates[:limit]

    async def _m_deleteWebhook(self, call: Call) -> bool:
        self.webhook = {}
        return True

    async def _m_setWebhook(self, call: Call) -> bool:
        self.webhook = dict(call.fields)
        return True

    async def _m_getWebhookInfo(self, call: Call) -> dict:
        return {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": 0,
        }

    async def _m_setMyCommands(self, call: Call) -> bool:
        scope = call.fields.get("scope", '{"type": "default"}')
        self.commands[json.dumps(json.loads(scope), sort_keys=True)] = call.json("commands")
        return True

    async def _m_answerCallbackQuery(self, call: Call) -> bool:
        return True

    async def _m_sendChatAction(self, call: Call) -> bool:
        return True

    async def _m_sendMessage(self, call: Call) -> dict:
        text, raw = self._checked_text(call, "text", TEXT_LIMIT)
        message = self._store(call, text, raw)
        return self._message_json(message)

    async def _m_editMessageText(self, call: Call) -> dict:
        key = (int(call.fields["chat_id"]), int(call.fields["message_id"]))
        if key not in self.messages:
            raise HtmlError("message to edit not found")
        text, raw = self._checked_text(call, "text", TEXT_LIMIT)
        message = self.messages[key]
        markup = call.json("reply_markup")
        if text == message.text and markup == message.reply_markup:
            raise HtmlError(
                "message is not modified: specified new message content and reply markup are exactly the "
                "same as a current content and reply markup of the message"
            )
        message.text, message.html, message.reply_markup = text, raw, markup
        message.edits += 1
        return self._message_json(message)

    async def _m_editMessageReplyMarkup(self, call: Call) -> dict:
        key = (int(call.fields["chat_id"]), int(call.fields["message_id"]))
        if key not in self.messages:
            raise HtmlError("message to edit not found")
        message = self.messages[key]
        message.reply_markup = call.json("reply_markup")
        message.edits += 1
        return self._message_json(message)

    async def _m_sendDocument(self, call: Call) -> dict:
        if not call.files:
            raise HtmlError("there is no document in the request")
        caption, raw = ("", "")
        if "caption" in call.fields:
            caption, raw = self._checked_text(call, "caption", 1024)
        message = self._store(call, caption, raw)
        message.document = next(iter(call.files.values()))
        return self._message_json(message)

    # --- helpers ------------------------------------------------------------------------------------

    def _checked_text(self, call: Call, name: str, limit: int) -> tuple[str, str]:
        raw = call.fields.get(name, "")
        visible = visible_text(raw) if call.fields.get("parse_mode", "").upper() == "HTML" else raw
        if not visible.strip():
            raise HtmlError(f"{name} must be non-empty" if name != "text" else "message text is empty")
        if _utf16_len(visible) > limit:
            raise HtmlError("message is too long" if name == "text" else "message caption is too long")
        markup = call.json("reply_markup")
        for row in (markup or {}).get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data", "")
                if not 1 <= len(data.encode()) <= CALLBACK_DATA_LIMIT:
                    raise HtmlError("BUTTON_DATA_INVALID")
        return visible, raw

    def _store(self, call: Call, text: str, raw: str) -> SentMessage:
        chat_id = int(call.fields["chat_id"])
        message = SentMessage(
            chat_id=chat_id,
            message_id=next(self._message_ids),
            text=text,
            html=raw,
            reply_markup=call.json("reply_markup"),
        )
        self.messages[(chat_id, message.message_id)] = message
        return message

    def _message_json(self, message: SentMessage) -> dict:
        chat_type = self._chat_types.get(message.chat_id, "private")
        chat: dict[str, Any] = {"id": message.chat_id, "type": chat_type}
        data: dict[str, Any] = {
            "message_id": message.message_id,
            "date": int(time.time()),
            "chat": chat,
            "from": self._bot_user(),
        }
        if message.document:
            name, content = message.document
            data["document"] = {
                "file_id": f"doc-{message.message_id}",
                "file_unique_id": f"u{message.message_id}",
                "file_name": name,
                "file_size": len(content),
            }
            if message.text:
                data["caption"] = message.text
        else:
            data["text"] = message.text
        if message.reply_markup:
            data["reply_markup"] = message.reply_markup
        return data

    def _bot_user(self) -> dict:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "svbot",
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }


async def _wait_or_timeout(condition: asyncio.Condition, predicate: Any, timeout: float) -> None:
    try:
        await asyncio.wait_for(condition.wait_for(predicate), timeout)
    except TimeoutError:
        pass  # an empty answer after the timeout, as Telegram does


async def _read_fields(request: web.Request) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    if request.method == "GET":
        return dict(request.query), files
    if request.content_type == "application/json":
        body = await request.json() if request.can_read_body else {}
        return {k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()}, files
    form = await request.post()
    for name, value in form.items():
        if isinstance(value, web.FileField):
            files[name] = (value.filename, value.file.read())
        else:
            fields[name] = str(value)
    return fields, files


def _error(status: int, description: str, parameters: dict | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)


_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^<>]*)?)>")
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")


def visible_text(raw: str) -> str:
    """Parse Telegram HTML the strict way and return the text a person sees."""
    out: list[str] = []
    stack: list[str] = []
    pos = 0
    while pos < len(raw):
        ch = raw[pos]
        if ch == "<":
            match = _TAG.match(raw, pos)
            if not match:
                raise HtmlError(f"can't parse entities: unexpected '<' at byte offset {pos}")
            closing, name = match.group(1) == "/", match.group(2).lower()
            if name not in ALLOWED_TAGS:
                raise HtmlError(f'can\'t parse entities: Unsupported start tag "{name}" at byte offset {pos}')
            if closing:
                if not stack or stack.pop() != name:
                    raise HtmlError(f"can't parse entities: Can't find end tag corresponding to \"{name}\"")
            else:
                stack.append(name)
            pos = match.end()
        elif ch == "&":
            match = _ENTITY.match(raw, pos)
            if not match:
                raise HtmlError(f"can't parse entities: unescaped '&' at byte offset {pos}")
            out.append(html.unescape(match.group(0)))
            pos = match.end()
        elif ch == ">":
            raise HtmlError(f"can't parse entities: unescaped '>' at byte offset {pos}")
        else:
            out.append(ch)
            pos += 1
    if stack:
        raise HtmlError(f"can't parse entities: Can't find end tag corresponding to start tag \"{stack[-1]}\"")
    return "".join(out)


def _entities(text: str) -> list[dict]:
    """The entities Telegram marks on a typed message: a leading /command and @mentions."""
    entities = []
    command = re.match(r"/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?", text)
    if command:
        entities.append({"type": "bot_command", "offset": 0, "length": _utf16_len(command.group(0))})
    for mention in re.finditer(r"(?<![\w/])@[A-Za-z0-9_]{5,32}", text):
        entities.append(
            {
                "type": "mention",
                "offset": _utf16_len(text[: mention.start()]),
                "length": _utf16_len(mention.group(0)),
            }
        )
    return entities


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
