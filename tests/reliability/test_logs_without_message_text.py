"""Message texts are never logged, at any level (issue 20): ids and lengths instead. A conversation
over the Telegram webhook (the web app, the channel, the core, the database) with svbot's logging at
DEBUG, and every library's records let through, writes nothing a person typed or was sent."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import httpx
import pytest

from svbot.app import App
from svbot.logging import setup_logging
from tests.fakes.telegram_api import FakeTelegram
from tests.test_shipped_wiring import telegram_app  # noqa: F401  (the fixture)

TYPED = "Mrs Quinlan-Forsythe of 14 Larkspur Row came every week"


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in logging.root.manager.loggerDict}
    stream = io.StringIO()
    setup_logging(stream=stream, fmt="json", level="DEBUG")
    yield stream
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


async def test_a_conversation_at_debug_logs_no_message_text(
    debug_log: io.StringIO,
    telegram_app: tuple[App, FakeTelegram, httpx.AsyncClient],  # noqa: F811
) -> None:
    app, fake, http = telegram_app
    for said in ("hello", "Larkspur Lunch Club", TYPED, "my data"):
        response = await http.post("/telegram/webhook", json=fake.text_update(user_id=4242, text=said))
        assert response.status_code == 200
    sent = [m.text for m in fake.chat(4242)]
    assert any("Larkspur Lunch Club" in m for m in sent), "the conversation happened"
    logged = debug_log.getvalue()
    assert logged.count("\n") >= 5, "DEBUG records were written"
    assert TYPED not in logged and "Larkspur" not in logged and "Quinlan" not in logged
    assert not any(m[:40] in logged for m in sent if len(m) >= 40), "nor what svbot said"
