"""The console channel in a terminal: numbered buttons."""

from __future__ import annotations

import io

import pytest

from svbot.channels.console import ConsoleChannel
from tests.scenario import make_bot

pytestmark = pytest.mark.one_database  # see tests/conftest.py


async def test_interactive_console_numbers_press_buttons(db_url: str) -> None:
    """In a terminal, "2" presses the second button; in a multi-choice, "1, 3" is typed as text."""
    bot = await make_bot(db_url, start_dialogue="every_type")
    out = io.StringIO()
    console = ConsoleChannel(bot, "pat", out=out, interactive=True)
    for line in ["hi", "Lunch Club", "skip", "about 20 x 2"]:
        await console.say(line)
    assert "Shall I put about 40?" in out.getvalue()
    await console.say("1")  # the first button: Yes
    assert out.getvalue().rstrip().endswith("b. Back · h. Help") and "How many hours?" in out.getvalue()
    for line in ["3", "skip", "31/01/2027"]:
        await console.say(line)
    await console.say("3")  # "Over £100,000", by its button number
    await console.say("1, 3")
    await console.say("back")
    assert "1. [x] Older people" in out.getvalue() and "3. [x] Carers" in out.getvalue()
    await bot.db_engine.dispose()  # type: ignore[attr-defined]
