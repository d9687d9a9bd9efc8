"""Render an :class:`Outbound` as Slack Block Kit.

Text is sent as `rich_text` blocks, never as mrkdwn: each piece of text is a `text` element that Slack
shows exactly as written, so what a person typed (`*bold*`, `<!channel>`, `<https://x|a link>`) opens no
formatting, mention or disguised link, and needs no escaping at all. Web addresses and email addresses
in it become `link` elements that show the address itself: clickable, and copied exactly as typed (no
zero-width spaces). Markdown we generated ourselves (`Outbound.markdown`: statements, reports) is read
for its small subset (headings, **bold**, _italic_, bullets, [links](https://...), backslash-quoted
literals) and becomes styled elements of the same blocks. Labels beside long choices are `plain_text`.

Long text is split into blocks of at most 3,000 characters, at paragraph, line or word boundaries,
never mid-word, and into several messages when one would hold too many blocks. The fallback `text` of
a message (notifications, screen readers) has `&`, `<` and `>` escaped, so it can mention no one.

The few words Block Kit adds of its own ("Tick", "Pick a date") come from svbot/texts
(`channels.slack.*`), in the locale the message was written in (`Outbound.meta["locale"]`, set by
the turn or the planner), else the current one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from svbot.messages import Button, Outbound
from svbot.text import text

SECTION_LIMIT = 3000  # characters of text in one section (or rich_text) block
SECTIONS_PER_MESSAGE = 12  # keeps a message well under Slack's 50 blocks and 40,000 characters
BUTTON_LABEL_LIMIT = 75  # plain_text of a button
BUTTONS_PER_ACTIONS = 25  # elements in one actions block
BUTTON_VALUE_LIMIT = 2000
CONTEXT_LIMIT = 2000  # characters of text in one context element

ACTION_PREFIX = "svbot:"  # every action_id we render starts with this
DATE_ACTION = "svbot:date"
# A question asked in a channel carries its person in the block_id of its buttons ("svbot-for:U123.2"),
# so a press by anyone else is turned away before it reaches the conversation.
OWNER_PREFIX = "svbot-for:"
_OWNER_BLOCK = re.compile(re.escape(OWNER_PREFIX) + r"([UW][A-Z0-9]{1,30})\.\d+")
TICK = "✅ "

# What becomes a link: a web address (without the punctuation that ends a sentence) or an email address.
_LINKABLE = re.compile(
    r"(?P<url>https?://[^\s<>|\"]+[^\s<>|\".,;:!?)\]'])|(?P<email>[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,})"
)
# Our own Markdown, inside one line: **bold**, __bold__, _italic_, [text](https://...).
_INLINE = re.compile(
    r"\*\*(?P<b>.+?)\*\*|__(?P<b2>.+?)__|(?<!\w)_(?P<i>[^_\n]+?)_(?!\w)"
    r"|\[(?P<label>[^\]\n]+)\]\((?P<href>https?://[^)\s|]+)\)"
)
_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!~<>&|])")  # how the statement renderer quotes a person's words


@dataclass(frozen=True, slots=True)
class SlackMessage:
    """One chat.postMessage / chat.update body: fallback text (for notifications) and blocks."""

    text: str
    blocks: list[dict] = field(default_factory=list)


def render(message: Outbound, owner: str | None = None) -> list[SlackMessage]:
    """Block Kit messages for one Outbound, in order. Choices and controls go on the last one.
    `owner`: the Slack user id of the person a question in a channel is for (see `owner_of`)."""
    chunks = split_text(message.text, SECTION_LIMIT) or ([] if _has_inputs(message) else [" "])
    groups = [chunks[i : i + SECTIONS_PER_MESSAGE] for i in range(0, len(chunks), SECTIONS_PER_MESSAGE)]
    if not groups:
        groups = [[]]
    to_block = markdown_block if message.markdown else text_block
    out = [
        SlackMessage(text=_fallback(group, message.markdown), blocks=[to_block(c) for c in group]) for group in groups
    ]
    last = out[-1]
    last.blocks.extend(_input_blocks(message))
    if owner is not None and _OWNER_BLOCK.fullmatch(f"{OWNER_PREFIX}{owner}.0"):
        for number, block in enumerate(last.blocks):
            if block["type"] == "actions" or "accessory" in block:
                block["block_id"] = f"{OWNER_PREFIX}{owner}.{number}"  # unique within the message
    if not last.text:
        # A message must have some text for notifications and screen readers.
        out[-1] = SlackMessage(text=_fallback([_first_label(message)], False), blocks=last.blocks)
    return out


def owner_of(block_id: str | None) -> str | None:
    """The user id a channel question's buttons were rendered for, or None (a DM's buttons, or not ours).
    It only decides whether to turn a press away: the core still checks everything the press asks for."""
    match = _OWNER_BLOCK.fullmatch(block_id or "")
    return match.group(1) if match else None


def ticked_labels(blocks: list[dict]) -> list[str]:
    """The choices ticked on a multi-choice message, in order, as Slack sent the message back."""
    ticked = []
    for block in blocks:
        if block.get("type") == "actions":
            for element in block.get("elements", ()):
                label = str((element.get("text") or {}).get("text", ""))
                if element.get("type") == "button" and label.startswith(TICK):
                    ticked.append(label.removeprefix(TICK))
        elif _has_accessory_button(block):
            label = _text_of(block)
            if label.startswith(TICK):
                ticked.append(label.removeprefix(TICK))
    return ticked


def render_choice_made(original_blocks: list[dict], label: str, locale: str | None = None) -> list[dict]:
    """The pressed message, without its buttons, saying what was chosen: it cannot be pressed twice."""
    kept = [b for b in original_blocks if b.get("type") not in ("actions",) and not _has_accessory_button(b)]
    said = _clip(text("channels.slack.chose", locale, choice=label), CONTEXT_LIMIT)  # many long choices ticked
    note = {"type": "context", "elements": [{"type": "plain_text", "text": said, "emoji": False}]}
    return [*kept, note]


def text_block(text: str) -> dict:
    """A rich_text block showing `text` exactly as written, its web and email addresses clickable."""
    return _rich_text(_linked(text))


def markdown_block(markdown: str) -> dict:
    """A rich_text block for Markdown we generated (the small subset our statements and reports use).

    Backslash escapes (how the statement renderer quotes a person's words) are literal text; headings
    are bold lines; **bold** and __bold__ bold; _italic_ italic; [text](https://...) a link; "- " a
    bullet "• ". Addresses in the rest become links as in :func:`text_block`.
    """
    literals: list[str] = []

    def keep(match: re.Match[str]) -> str:
        literals.append(match.group(1))
        return f"\x00{len(literals) - 1}\x00"

    def restore(part: str) -> str:
        return re.sub(r"\x00(\d+)\x00", lambda m: literals[int(m.group(1))], part)

    elements: list[dict] = []
    for number, line in enumerate(_ESCAPED.sub(keep, markdown).split("\n")):
        if number:
            elements.append({"type": "text", "text": "\n"})
        heading = re.fullmatch(r"\s*#{1,6}\s+(.+?)\s*#*\s*", line)
        if heading:
            elements.append(_styled(restore(heading.group(1)), bold=True))
            continue
        line = re.sub(r"^(\s*)[-+*]\s+", r"\1• ", line)
        at = 0
        for match in _INLINE.finditer(line):
            elements.extend(_linked(restore(line[at : match.start()])))
            if match.group("href"):
                elements.append({"type": "link", "url": match.group("href"), "text": restore(match.group("label"))})
            elif match.group("i"):
                elements.append(_styled(restore(match.group("i")), italic=True))
            else:
                elements.append(_styled(restore(match.group("b") or match.group("b2")), bold=True))
            at = match.end()
        elements.extend(_linked(restore(line[at:])))
    return _rich_text(elements)


def escape_mrkdwn(text: str) -> str:
    """Text for a field Slack reads as mrkdwn (a message's fallback `text`): no mention, no link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def shown_text(block: dict) -> str:
    """What a person sees of a text block we render (rich_text, plain_text or mrkdwn), for reading our
    own messages back: bold as *bold*, links as their text."""
    if block.get("type") == "rich_text":
        parts = []
        for section in block.get("elements", ()):
            for element in section.get("elements", ()):
                said = str(element.get("text") or element.get("url", ""))
                parts.append(f"*{said}*" if (element.get("style") or {}).get("bold") else said)
        return "".join(parts)
    return _text_of(block)


def split_text(text: str, limit: int) -> list[str]:
    """Cut text into pieces of at most `limit` characters: at a blank line, else a line end, else a
    space. Only a single word longer than the limit is cut inside, and never inside an `&...;` entity."""
    pieces: list[str] = []
    rest = text.strip()
    while rest:
        if len(rest) <= limit:
            pieces.append(rest)
            break
        cut = _cut_point(rest, limit)
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    return [p for p in pieces if p]


def _cut_point(text: str, limit: int) -> int:
    window = text[: limit + 1]
    for sep in ("\n\n", "\n", " "):
        at = window.rfind(sep)
        if at > 0:
            return at
    # One very long word (a URL, say): cut it, but not inside an entity or a backslash escape.
    cut = limit
    amp = text.rfind("&", max(0, cut - 4), cut)
    if amp != -1 and text.startswith(("&amp;", "&lt;", "&gt;"), amp) and text.find(";", amp) >= cut:
        cut = amp
    while cut > 1 and text[cut - 1] == "\\":
        cut -= 1
    return cut


def _has_inputs(message: Outbound) -> bool:
    return bool(message.buttons or message.controls or message.input_hint == "date")


def _first_label(message: Outbound) -> str:
    for button in (*message.buttons, *message.controls):
        return button.label
    return text("channels.slack.pick_a_date", _locale(message)) if message.input_hint == "date" else " "


def _locale(message: Outbound) -> str | None:
    """The locale the message was written in (None: the current one)."""
    return message.meta.get("locale")


def _fallback(chunks: list[str], markdown: bool) -> str:
    """The notification text: what the blocks say, plainly (our Markdown's marks and escapes dropped)."""
    said = "\n\n".join(chunks)
    if markdown:
        said = _ESCAPED.sub(r"\1", re.sub(r"(?m)^#{1,6}\s+|\*\*|__", "", said))
    return escape_mrkdwn(said)


def _rich_text(elements: list[dict]) -> dict:
    kept = [e for e in elements if e.get("type") != "text" or e["text"]] or [{"type": "text", "text": " "}]
    return {"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": kept}]}


def _linked(text: str) -> list[dict]:
    """Plain text as rich_text elements: addresses as links that show themselves, the rest as text."""
    elements: list[dict] = []
    at = 0
    for match in _LINKABLE.finditer(text):
        if match.start() > at:
            elements.append({"type": "text", "text": text[at : match.start()]})
        url = match.group("url") or "mailto:" + match.group("email")
        elements.append({"type": "link", "url": url, "text": match.group(0)})
        at = match.end()
    if at < len(text):
        elements.append({"type": "text", "text": text[at:]})
    return elements


def _styled(text: str, *, bold: bool = False, italic: bool = False) -> dict:
    style = {"bold": True} if bold else {"italic": True}
    return {"type": "text", "text": text, "style": style}


def _text_of(block: dict) -> str:
    """The text of a section or context element: plain_text as it is, mrkdwn unescaped (older messages)."""
    field = block.get("text") or {}
    said = str(field.get("text", ""))
    if field.get("type") == "mrkdwn":
        said = said.replace("\u200b", "").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return said


def _input_blocks(message: Outbound) -> list[dict]:
    blocks: list[dict] = []
    choices = list(message.buttons)
    if any(len(b.label) > BUTTON_LABEL_LIMIT for b in choices):
        # Long labels would be cut on a button: show each in full beside its own button.
        blocks.extend(_choice_row(i, b, message.multi_select, _locale(message)) for i, b in enumerate(choices))
        choices = []
    elements = [_button(i, b, message.multi_select) for i, b in enumerate(choices)]
    offset = len(message.buttons)
    controls = [_button(offset + i, b, False) for i, b in enumerate(message.controls)]
    if message.input_hint == "date":
        controls.insert(
            0,
            {
                "type": "datepicker",
                "action_id": DATE_ACTION,
                "placeholder": {"type": "plain_text", "text": text("channels.slack.pick_a_date", _locale(message))},
            },
        )
    for group in (elements, controls):
        for i in range(0, len(group), BUTTONS_PER_ACTIONS):
            blocks.append({"type": "actions", "elements": group[i : i + BUTTONS_PER_ACTIONS]})
    return blocks


def _button(index: int, button: Button, multi: bool) -> dict:
    label = (TICK if multi and button.selected else "") + button.label
    element: dict = {
        "type": "button",
        "action_id": f"{ACTION_PREFIX}{index}",
        "text": {"type": "plain_text", "text": _clip(label, BUTTON_LABEL_LIMIT), "emoji": True},
        "value": button.payload[:BUTTON_VALUE_LIMIT],
    }
    style = "primary" if multi and button.selected else button.style
    if style != "default":
        element["style"] = style
    return element


def _choice_row(index: int, button: Button, multi: bool, locale: str | None) -> dict:
    label = (TICK if multi and button.selected else "") + button.label
    if not multi:
        short = text("channels.slack.choose", locale)
    elif button.selected:
        short = text("channels.slack.untick", locale)
    else:
        short = text("channels.slack.tick", locale)
    accessory = _button(index, Button(label=short, payload=button.payload, style=button.style), False)
    if multi and button.selected:
        accessory["style"] = "primary"
    return {
        "type": "section",
        "text": {"type": "plain_text", "text": _clip(label, SECTION_LIMIT), "emoji": False},
        "accessory": accessory,
    }


def _has_accessory_button(block: dict) -> bool:
    accessory = block.get("accessory") or {}
    return str(accessory.get("action_id", "")).startswith(ACTION_PREFIX)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def button_label(blocks: list[dict], action_id: str, value: str) -> str | None:
    """The label of the pressed button, read back from the message Slack sent with the action."""
    for block in blocks:
        candidates = list(block.get("elements", ())) + ([block["accessory"]] if "accessory" in block else [])
        for element in candidates:
            if element.get("action_id") == action_id and element.get("value") == value:
                if "accessory" in block and block.get("accessory") is element:
                    # A long choice: its full label is the section text.
                    return _text_of(block).removeprefix(TICK)
                return str(element["text"]["text"]).removeprefix(TICK)
    return None
