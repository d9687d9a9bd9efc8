"""Structured logs: JSON lines off a terminal with the ids the code knows, readable lines on one, and
tokens, secrets and database passwords never written."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from svbot.config import Settings
from svbot.logging import REDACTED, log_context, secrets_from_settings, setup_logging


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def lines(stream: io.StringIO) -> list[str]:
    return [line for line in stream.getvalue().splitlines() if line]


def test_json_lines_carry_context_and_tracebacks(restore_logging: None) -> None:
    stream = io.StringIO()
    setup_logging(stream=stream, default_level="INFO")
    log = logging.getLogger("svbot.test")
    with log_context(conversation_id=41):
        log.info("turn saved", extra={"platform": "telegram", "event_id": "1001"})
    log.warning("sending outbox row %s failed", 7, extra={"delivery_id": 7})
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        log.exception("turn failed")
    records = [json.loads(line) for line in lines(stream)]
    assert [r["message"] for r in records] == ["turn saved", "sending outbox row 7 failed", "turn failed"]
    assert records[0]["conversation_id"] == 41 and records[0]["platform"] == "telegram"
    assert records[0]["event_id"] == "1001" and records[0]["level"] == "info"
    assert records[1]["delivery_id"] == 7 and "conversation_id" not in records[1], "context ends with its block"
    assert "RuntimeError: boom" in records[2]["error"] and records[2]["level"] == "error"


def test_a_terminal_gets_readable_lines(restore_logging: None) -> None:
    stream = Terminal()
    setup_logging(stream=stream)
    logging.getLogger("svbot.test").warning("clock: database unavailable", extra={"delivery_id": 3})
    (line,) = lines(stream)
    assert not line.startswith("{")
    assert "WARNING" in line and "clock: database unavailable" in line and "delivery_id=3" in line


def test_tokens_secrets_and_passwords_are_never_written(restore_logging: None) -> None:
    settings = Settings(
        DATABASE_URL="postgresql://svbot:db-pass-word-1@db.internal:5432/svbot",
        SLACK_SIGNING_SECRET="0123456789abcdef-signing", TELEGRAM_WEBHOOK_SECRET="hook-secret-xyz",
        TELEGRAM_BOT_TOKEN="7000001:AAH-abcdefghijklmnopqrstuvwxyz0123", SLACK_BOT_TOKEN="xoxb-1-2-abcdefghijkl",
    )  # fmt: skip
    stream = io.StringIO()
    setup_logging(stream=stream, secrets=secrets_from_settings(settings))
    log = logging.getLogger("httpx.test")
    log.warning("POST https://api.telegram.org/bot7000001:AAH-abcdefghijklmnopqrstuvwxyz0123/sendMessage")
    log.warning("another bot 999999:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef12 and xoxp-12345-67890-abcdef, xapp-1-A1-2-abc")
    log.warning("connect to %s", "postgresql+asyncpg://svbot:db-pass-word-1@db.internal:5432/svbot")
    log.warning("headers", extra={"secret": "0123456789abcdef-signing", "hook": SecretStr("hook-secret-xyz")})
    try:
        raise ValueError("token xoxb-1-2-abcdefghijkl refused; secret hook-secret-xyz")
    except ValueError:
        log.exception("failed")
    written = stream.getvalue()
    for secret in (
        "AAH-abcdefghijklmnopqrstuvwxyz0123",
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef12",
        "xoxp-12345",
        "xapp-1-A1",
        "db-pass-word-1",
        "0123456789abcdef-signing",
        "hook-secret-xyz",
        "xoxb-1-2",
    ):
        assert secret not in written, secret  # fmt: skip
    assert written.count(REDACTED) >= 8
    assert "svbot:[redacted]@db.internal" in written, "the rest of a URL stays, to be useful"
    assert all(json.loads(line) for line in lines(stream))


def secret_fields() -> dict[str, str]:
    """Every setting typed as a secret, by its environment name."""
    return {
        field.alias or name: name
        for name, field in Settings.model_fields.items()
        if SecretStr in (getattr(field.annotation, "__args__", None) or (field.annotation,))
    }


@pytest.mark.attack(
    "0", "Get a token, signing secret or password written to the log",
    "Every secret setting redacted wherever it appears in a log line",
)
def test_every_secret_setting_is_redacted_in_every_part_of_a_log_line(restore_logging: None) -> None:
    """Each secret field of Settings, written plainly (no token shape a pattern would catch), in a
    message, an argument, an extra field and a traceback: none of it reaches the log."""
    fields = secret_fields()
    assert {"SLACK_CLIENT_SECRET", "SLACK_BOT_TOKEN", "TELEGRAM_BOT_TOKEN", "SLACK_SIGNING_SECRET"} <= set(fields)
    values = {env: f"plain{index}value{index * 7919}" for index, env in enumerate(fields)}
    settings = Settings(**values)
    stream = io.StringIO()
    setup_logging(stream=stream, secrets=secrets_from_settings(settings))
    log = logging.getLogger("svbot.test")
    for env, value in values.items():
        log.warning(f"{env} is {value}")
        log.warning("%s is %s", env, value)
        log.warning("extra", extra={"setting": value})
        try:
            raise RuntimeError(f"refused {value}")
        except RuntimeError:
            log.exception("failed")
    written = stream.getvalue()
    assert [env for env, value in values.items() if value in written] == []
    assert written.count(REDACTED) >= 4 * len(values)


def test_settings_live_in_one_class() -> None:
    """A second settings class is how a secret escaped redaction once (Slack OAuth's client secret)."""
    import importlib
    import pkgutil

    from pydantic_settings import BaseSettings

    import svbot

    for module in pkgutil.walk_packages(svbot.__path__, "svbot."):
        if ".migrations" not in module.name and not module.name.endswith("__main__"):
            importlib.import_module(module.name)

    def subclasses(cls: type) -> set[type]:
        return {sub for direct in cls.__subclasses__() for sub in {direct, *subclasses(direct)}}

    assert {
        c.__module__ + "." + c.__qualname__ for c in subclasses(BaseSettings) if c.__module__.startswith("svbot")
    } == {"svbot.config.Settings"}
