"""Limits that keep one client from taking the web process down (docs/deploy.md, "Limits").

- `BodyLimit`, an ASGI middleware: a request body over its route's limit is refused with 413 before
  it is read. A declared Content-Length over the limit is refused at the first read, before any byte
  is taken in; a chunked body is counted as it streams and refused the moment it passes the limit.
  Either way the connection is closed after the answer, so the rest of the body is never read.
- `guarded_h11()`, uvicorn's HTTP/1.1 protocol with two deadlines uvicorn lacks: a client gets
  HEAD_TIMEOUT seconds to send its request line and headers, and REQUEST_TIMEOUT seconds for the
  whole request. Slow clients (slowloris) are closed, and logged at most once a minute.
- `OncePerMinute`, a logging filter: a message repeated by many clients is written once a minute
  with a count, instead of once per client.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("svbot.web.limits")
# One line a minute at most, however many slow clients (see `quiet_repeats`).
slow_clients = logging.getLogger("svbot.web.slow_clients")

HEAD_TIMEOUT = 10.0  # seconds for the request line and headers (nginx's client_header_timeout is 60)
REQUEST_TIMEOUT = 60.0  # seconds for the whole request, body included
KEEP_ALIVE_TIMEOUT = 5  # seconds an idle kept-alive connection stays open (uvicorn's default)
HEAD_LIMIT = 16 * 1024  # bytes of request line and headers (uvicorn's default)
LOG_EVERY = 60.0  # seconds between two lines about the same kind of trouble


class BodyLimit:
    """Refuse request bodies over `default` bytes (`larger` gives some paths their own limit)."""

    def __init__(self, app: ASGIApp, default: int, larger: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.default = default
        self.larger = dict(larger or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope["path"], self.default)
        declared = _content_length(scope)
        seen = 0
        refused = False
        started = False

        async def limited_receive() -> Message:
            nonlocal seen, refused
            # Declared too big: refused before a byte is read. A route may still answer in its own
            # words without reading (the import page does), so the app runs; it only cannot read.
            if refused or (declared is not None and declared > limit):
                refused = True
                raise _too_large(limit)
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    refused = True
                    raise _too_large(limit)
            return message

        async def closing_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if refused or (declared is not None and declared > limit):
                    # The unread rest of the body is not ours to read: close instead of keeping alive.
                    message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
            await send(message)

        try:
            await self.app(scope, limited_receive, closing_send)
        except HTTPException as exc:  # raised where no route catches it
            if exc.status_code != 413 or started:
                raise
            await _answer_413(closing_send, exc.detail)
        except ClientDisconnect:
            # The client went (or GuardedH11 closed it for being too slow): nobody to answer, and a
            # traceback per connection is what filled the log under a slowloris attack.
            log.debug("client disconnected before its request was read")


def _too_large(limit: int) -> HTTPException:
    return HTTPException(413, f"Request body too large: the limit here is {_size(limit)}.")


async def _answer_413(send: Send, detail: str) -> None:
    body = detail.encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length before we see the request
    return None


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{max(1, limit // 1024)} KB"


class OncePerMinute(logging.Filter):
    """Let a message through once per LOG_EVERY seconds; the next one says how many were held back."""

    def __init__(self, every: float = LOG_EVERY) -> None:
        super().__init__()
        self.every = every
        self.last: dict[str, float] = {}
        self.held: dict[str, int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = str(record.msg)
        now = time.monotonic()
        last = self.last.get(key)
        if last is not None and now - last < self.every:
            self.held[key] = self.held.get(key, 0) + 1
            return False
        self.last[key] = now
        held = self.held.pop(key, 0)
        if held:
            record.msg = f"{record.msg} (and {held} more like it in the last {now - last:.0f} s)"
        return True


def quiet_repeats() -> None:
    """uvicorn warns once per bad connection ("Invalid HTTP request received.", "Exceeded concurrency
    limit."): under attack that is a line per attacker's connection. Once a minute is enough."""
    for name in ("uvicorn.error", slow_clients.name, "svbot.web.refused"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, OncePerMinute) for f in logger.filters):
            logger.addFilter(OncePerMinute())


def uvicorn_options(max_connections: int) -> dict[str, Any]:
    """What `svbot serve` passes to uvicorn.Config besides the app, host and port."""
    return {
        "http": guarded_h11(),
        "limit_concurrency": max_connections,  # over it: 503 at once, instead of queueing without end
        "timeout_keep_alive": KEEP_ALIVE_TIMEOUT,
        "h11_max_incomplete_event_size": HEAD_LIMIT,
    }


def guarded_h11() -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol with deadlines for the request head and the whole request: uvicorn
    itself waits for ever for a client that sends a byte every few seconds. (Imported here, not at the
    top: only `svbot serve` loads uvicorn.)"""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class GuardedH11(H11Protocol):
        _deadlines: tuple[asyncio.TimerHandle, ...] = ()

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)  # type: ignore[arg-type]
            self._arm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()  # the next request on a kept-alive connection gets the same time

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self._deadlines = (
                self.loop.call_later(HEAD_TIMEOUT, self._too_slow, (h11.IDLE,)),
                self.loop.call_later(REQUEST_TIMEOUT, self._too_slow, (h11.IDLE, h11.SEND_BODY)),
            )

        def _disarm(self) -> None:
            for handle in self._deadlines:
                handle.cancel()
            self._deadlines = ()

        def _too_slow(self, still: tuple[type, ...]) -> None:
            # IDLE: the request head is not all here yet; SEND_BODY: the body is not. (An idle
            # kept-alive connection is closed sooner, quietly, by uvicorn's keep-alive timeout.)
            if self.transport.is_closing() or self.conn.their_state not in still:
                return
            slow_clients.warning("closed a connection that was too slow to send its request")
            self.transport.close()

    return GuardedH11


def raise_open_files_limit(max_connections: int) -> int:
    """Each connection is an open file. Many systems start a service with a soft limit of 1,024: then,
    with `max_connections` near it, new connections (the health check's too) fail to be accepted and
    asyncio logs each failure. Raise the soft limit as far as the hard one allows, and return how many
    connections fit (the rest of the files are kept for the database and the platforms)."""
    spare = 256
    try:
        import resource
    except ImportError:  # Windows
        return max_connections
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = max_connections + spare
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return max_connections
    new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    except (ValueError, OSError):
        new = soft
    fits = max(10, min(max_connections, new - spare))
    if fits < max_connections:
        log.warning("only %d open files allowed: at most %d connections at once", new, fits)
    return fits
