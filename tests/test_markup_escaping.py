"""What a user typed stays literal when a statement we generated is turned into each platform's markup."""

from __future__ import annotations

import html as html_module
import re

import pytest

from svbot.channels.slack.render import to_mrkdwn, unescape_mrkdwn
from svbot.channels.telegram.render import markdown_to_html
from svbot.statements.text import md_escape

TYPED = [
    "*bold* _italic_ `code` ~strike~",
    "[click me](https://evil.example) <https://evil.example|click>",
    "<b>tag</b> &amp; <@U123> <!channel>",
    "# heading\n- bullet\n> quote",
    "back\\slash \\*still\\* literal",
]


@pytest.mark.parametrize("typed", TYPED)
def test_telegram_shows_escaped_user_text_literally(typed: str) -> None:
    html = markdown_to_html(f"**Our answer:** {md_escape(typed)}")
    assert html.startswith("<b>Our answer:</b>"), "our own Markdown still becomes markup"
    body = html.removeprefix("<b>Our answer:</b> ")
    assert not re.search(r"<(b|i|a|code|s|u|pre)\b", body), f"user text became a tag: {body!r}"
    assert html_module.unescape(body) == typed, "what shows on screen is exactly what they typed"


@pytest.mark.parametrize("typed", TYPED)
def test_slack_shows_escaped_user_text_literally(typed: str) -> None:
    mrkdwn = to_mrkdwn(f"**Our answer:** {md_escape(typed)}")
    assert mrkdwn.startswith("*Our answer:* "), "our own Markdown still becomes mrkdwn"
    body = mrkdwn.removeprefix("*Our answer:* ")
    assert "<https://evil.example" not in body and "<@U123>" not in body and "<!channel>" not in body
    assert unescape_mrkdwn(body) == typed, "what shows on screen is exactly what they typed"
