"""Logs: one JSON object per line for machines, readable lines for people, secrets never.

`setup_logging()` is called once by the `svbot` command. When stderr is a terminal the lines are
for reading; otherwise (a platform's log drain, journald, a file) each record is one JSON object
with `time`, `level`, `logger`, `message`, any context the code gave (`conversation_id`,
`delivery_id`, `platform`, `event_id`, ...) and `error` with the traceback. `SVBOT_LOG_FORMAT`
(`json` or `text`) and `SVBOT_LOG_LEVEL` override the choice.

Every line passes through `redact` first: bot tokens (Telegram's sit inside its API URLs, which
HTTP libraries log), Slack tokens, passwords in database URLs and every secret set in the settings
are replaced by `[redacted]`, in the message, the context fields and the traceback alike.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import re
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, TextIO

REDACTED = "[redacted]"

_PATTERNS = [
    re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{30,}"),  # Telegram bot token
    re.compile(r"\bxox[a-z]-[A-Za-z0-9-]{8,}"),  # Slack bot / user tokens
    re.compile(r"\bxapp-[A-Za-z0-9-]{8,}"),  # Slack app-level token (Socket Mode)
    re.compile(r"(?<=://)([^:/@\s]+):[^@\s/]+(?=@)"),  # user:password@ in URLs
]
_URL_PASSWORD = _PATTERNS[-1]

# The attributes every LogRecord has; anything else on a record came from `extra=` and is context.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}

_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("svbot_log_context", default=None)
_secrets: list[str] = []


def setup_logging(
    *,
    stream: TextIO | None = None,
    fmt: str | None = None,
    level: str | None = None,
    default_level: str = "INFO",
    secrets: Iterable[Any] = (),
) -> logging.Handler:
    """Send every log record (svbot's and the libraries') to `stream` (stderr), redacted.

    `level` wins over SVBOT_LOG_LEVEL, which wins over `default_level`."""
    stream = stream or sys.stderr
    fmt = (fmt or os.environ.get("SVBOT_LOG_FORMAT") or ("text" if _is_terminal(stream) else "json")).lower()
    level = (level or os.environ.get("SVBOT_LOG_LEVEL") or default_level).upper()
    add_secrets(secrets)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_svbot", False):
            root.removeHandler(old)
    handler._svbot = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # httpx logs every request URL at INFO: Telegram's carries the token (redacted anyway), and a
    # line per message sent is noise. Libraries that write what people typed or were sent (Bot API
    # parameters, Slack request bodies, SQL parameters holding conversation state) are held above
    # the level where they do, whatever SVBOT_LOG_LEVEL says: message texts are never logged, only
    # svbot's own ids and lengths. Warnings and errors still come through.
    for name, floor in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(max(floor, root.level))
    return handler


# Loggers that would write message texts or noise below these levels.
QUIET_LOGGERS = {
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "alembic.runtime.plugins": logging.WARNING,
    "sqlalchemy.engine": logging.WARNING,  # INFO: every statement with its parameters
    "sqlalchemy.pool": logging.WARNING,
    "aiosqlite": logging.INFO,  # DEBUG: every call, with its arguments
    "asyncpg": logging.INFO,
    "telegram": logging.INFO,  # DEBUG: every Bot API call's parameters and result (the text)
    "slack_bolt": logging.INFO,  # DEBUG: request bodies
    "slack_bolt.RequestVerification": logging.WARNING,  # INFO: the body of every refused request
    "slack_sdk": logging.INFO,  # DEBUG: API call arguments and responses
    "aiohttp.client": logging.INFO,
}


def add_secrets(values: Iterable[Any]) -> None:
    """Strings that must never appear in a log line (settings' tokens and signing secrets)."""
    for value in values:
        if value is None:
            continue
        raw = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
        if len(raw) >= 6 and raw not in _secrets:
            _secrets.append(raw)
            _secrets.sort(key=len, reverse=True)  # longest first, so no part of one is left behind


def secrets_from_settings(settings: Any) -> list[Any]:
    """Every secret-typed setting, plus the database password."""
    from pydantic import SecretStr

    found = [value for value in vars(settings).values() if isinstance(value, SecretStr)]
    match = _URL_PASSWORD.search(getattr(settings, "database_url", "") or "")
    if match:
        found.append(match.group(0).split(":", 1)[1])
    return found


def redact(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS[:-1]:
        text = pattern.sub(REDACTED, text)
    return _URL_PASSWORD.sub(lambda m: f"{m.group(1)}:{REDACTED}", text)


@contextlib.contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add fields (conversation_id=..., delivery_id=...) to every record logged inside the block."""
    merged = {**(_context.get() or {}), **{k: v for k, v in fields.items() if v is not None}}
    token = _context.set(merged)
    try:
        yield
    finally:
        _context.reset(token)


def context_of(record: logging.LogRecord) -> dict[str, Any]:
    fields = dict(_context.get() or {})
    fields.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
    return fields


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in context_of(record).items():
            entry.setdefault(key, value if isinstance(value, int | float | bool | None) else str(value))
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["error"] = record.exc_text
        line = json.dumps(entry, ensure_ascii=False, default=str)
        return redact(line)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = context_of(record)
        if fields:
            first, newline, rest = line.partition("\n")
            line = first + " [" + " ".join(f"{k}={v}" for k, v in fields.items()) + "]" + newline + rest
        return redact(line)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
