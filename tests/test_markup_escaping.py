"""What a user typed stays literal when a statement we generated is turned into each platform's markup."""

from __future__ import annotations

import html as html_module
import json
import re

import pytest

from svbot.channels.slack.render import render
from svbot.channels.telegram.render import markdown_to_html
from svbot.messages import Outbound
from svbot.statements.text import md_escape

pytestmark = pytest.mark.one_database  # see tests/conftest.py

# What people type, and the addresses in it that must stay clickable (each shown as itself).
TYPED_LINKS = {
    "*bold* _italic_ `code` ~strike~": [],
    "[click me](https://evil.example) <https://evil.example|click>": ["https://evil.example", "https://evil.example"],
    "<b>tag</b> &amp; <@U123> <!channel>": [],
    "# heading\n- bullet\n> quote": [],
    "back\\slash \\*still\\* literal": [],
    "Email first_last@example.org or see https://example.org/a_b_c?x=1&y=2.": [
        "first_last@example.org",
        "https://example.org/a_b_c?x=1&y=2",
    ],
    "_mail_ *me*: a.b-c@sub.example.co.uk, (https://x.example/~me_too)": [
        "a.b-c@sub.example.co.uk",
        "https://x.example/~me_too",
    ],
}
TYPED = list(TYPED_LINKS)


@pytest.mark.parametrize("typed", TYPED)
def test_telegram_shows_escaped_user_text_literally(typed: str) -> None:
    html = markdown_to_html(f"**Our answer:** {md_escape(typed)}")
    assert html.startswith("<b>Our answer:</b>"), "our own Markdown still becomes markup"
    body = html.removeprefix("<b>Our answer:</b> ")
    assert not re.search(r"<(b|i|a|code|s|u|pre)\b", body), f"user text became a tag: {body!r}"
    assert html_module.unescape(body) == typed, "what shows on screen is exactly what they typed"


@pytest.mark.parametrize("markdown", [True, False], ids=["in a statement", "in a message"])
@pytest.mark.parametrize("typed", TYPED)
def test_slack_shows_user_text_literally_and_its_addresses_clickable(typed: str, markdown: bool) -> None:
    said = f"**Our answer:** {md_escape(typed)}" if markdown else f"Our answer: {typed}"
    [message] = render(Outbound(text=said, markdown=markdown))
    [block] = message.blocks
    assert block["type"] == "rich_text", "never mrkdwn for what people type"
    parts = [p for section in block["elements"] for p in section["elements"]]
    if markdown:
        assert parts[0] == {"type": "text", "text": "Our answer:", "style": {"bold": True}}, "our own bold still bold"
        parts = parts[1:]
    body = "".join(p["text"] for p in parts)
    expected = " " + typed if markdown else "Our answer: " + typed
    assert body == expected, "exactly what they typed, nothing added"
    for part in parts:
        assert part["type"] in ("text", "link") and not part.get("style"), f"their text became markup: {part}"
        if part["type"] == "link":
            assert part["url"] in (part["text"], "mailto:" + part["text"]), "a link shows its own address"
    assert [p["text"] for p in parts if p["type"] == "link"] == TYPED_LINKS[typed], "addresses are clickable"
    assert "\u200b" not in json.dumps(message.blocks, ensure_ascii=False), "no zero-width spaces to copy"
    for markup in ("<!channel>", "<@U123>", "<https://"):
        assert markup not in message.text, "the notification text mentions no one and hides no link"
