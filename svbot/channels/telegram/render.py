"""Telegram rendering: Outbound -> HTML text chunks and an inline keyboard. Pure functions, no I/O.

Outbound text is plain text, so every character is escaped for Telegram's HTML parse mode; only text
we generated ourselves (``markdown=True``, e.g. a statement) is converted to Telegram's small HTML
subset. Long text is split before it is escaped, at paragraph or sentence boundaries, so a chunk never
ends inside a word or a tag.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from telegram.constants import InlineKeyboardButtonLimit, MessageLimit

from svbot.messages import Button, Outbound

MESSAGE_LIMIT: int = MessageLimit.MAX_TEXT_LENGTH  # characters (UTF-16 code units) after entity parsing
CAPTION_LIMIT: int = MessageLimit.CAPTION_LENGTH
CALLBACK_DATA_LIMIT: int = InlineKeyboardButtonLimit.MAX_CALLBACK_DATA  # bytes
TICK = "✅ "  # marks a selected option in a multi-choice list
LONG_PAYLOAD_PREFIX = "~"  # callback_data that stands for a longer payload kept in the database
# Phones show about this many characters of a full-width button; a longer choice is numbered in the
# message instead, with the numbers on the buttons.
LONG_LABEL = 30
NUMBERS_PER_ROW = 5
# A phone shows about this many characters across a row of buttons, shared by the buttons on it: controls
# ("Back", "Help") share a row only while each label still fits its share.
ROW_CHARS = 30
MAX_PER_ROW = 3


@dataclass(frozen=True, slots=True)
class KeyboardButton:
    text: str
    payload: str  # the core's payload; the sender turns it into callback_data


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """What to send for one Outbound: HTML chunks in order; the keyboard goes on the last chunk."""

    chunks: tuple[str, ...]
    keyboard: tuple[tuple[KeyboardButton, ...], ...] = ()


def render(message: Outbound, limit: int = MESSAGE_LIMIT, *, prefix: str = "") -> RenderedMessage:
    """Escape (or convert) the text, split it at the limit and lay out the buttons. `prefix` is HTML put
    before the first chunk (in a group: whose question it is)."""
    numbered = _numbered(message)
    body = message.text if message.markdown else unwrap(message.text)
    if numbered:
        lines = [f"{index}. {button.label}" for index, button in enumerate(message.buttons, start=1)]
        body = (body.rstrip() + "\n\n" + "\n".join(lines)).strip()
    to_html = markdown_to_html if message.markdown else html.escape
    chunks = [to_html(chunk) for chunk in split_text(body, limit - len(prefix))]
    if prefix:
        chunks[0] = prefix + chunks[0]
    return RenderedMessage(chunks=tuple(chunks), keyboard=keyboard_rows(message))


def keyboard_rows(message: Outbound) -> tuple[tuple[KeyboardButton, ...], ...]:
    """Short choices one per row; long ones numbered, several numbers a row. Controls after them, in
    order, sharing a row only while every label on it stays readable on a phone."""
    numbered = _numbered(message)
    keys = [_key(button, str(index) if numbered else button.label, message.multi_select)
            for index, button in enumerate(message.buttons, start=1)]  # fmt: skip
    per_row = NUMBERS_PER_ROW if numbered else 1
    rows = [tuple(keys[start : start + per_row]) for start in range(0, len(keys), per_row)]
    controls: list[KeyboardButton] = []
    for button in message.controls:
        key = _key(button, button.label, False)
        if controls and _fits_one_row([*controls, key]):
            controls.append(key)
            continue
        if controls:
            rows.append(tuple(controls))
        controls = [key]
    if controls:
        rows.append(tuple(controls))
    return tuple(rows)


def _fits_one_row(keys: list[KeyboardButton]) -> bool:
    return len(keys) <= MAX_PER_ROW and all(len(key.text) <= ROW_CHARS // len(keys) for key in keys)


def _numbered(message: Outbound) -> bool:
    return any(len(button.label) > LONG_LABEL for button in message.buttons)


def _key(button: Button, label: str, multi_select: bool) -> KeyboardButton:
    return KeyboardButton(text=TICK + label if multi_select and button.selected else label, payload=button.payload)


_SOFT_BREAK = re.compile(r"(?<=[a-z,;])[ \t]*\n[ \t]*(?=[a-z])")


def unwrap(text: str) -> str:
    """Join a line broken mid-sentence (a lower-case word or a comma, then a lower-case word on the next
    line): on a phone the break lands anywhere. Lists, paragraphs and sentences keep their breaks."""
    return _SOFT_BREAK.sub(" ", text)


def utf16_len(text: str) -> int:
    """Telegram counts message length in UTF-16 code units (an emoji can count as two)."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split at the last paragraph break that fits, else line break, else sentence end, else space.
    Only a single word longer than the limit is ever cut inside the word."""
    chunks: list[str] = []
    rest = text.strip()
    while utf16_len(rest) > limit:
        fit = _fitting_prefix_length(rest, limit)
        cut = _best_cut(rest[: fit + 1], fit)
        head, rest = rest[:cut].rstrip(), rest[cut:].lstrip()
        if head:
            chunks.append(head)
    if rest or not chunks:
        chunks.append(rest)
    return chunks


_BOUNDARIES = (  # zero-width: each match is where a chunk may end, best kind first
    re.compile(r"(?=\n[ \t]*\n)"),  # paragraph
    re.compile(r"(?=\n)"),  # line
    re.compile(r"(?:(?<=[.!?…])|(?<=[.!?…][\"')\]]))(?=\s)"),  # sentence end, after any closing quote
    re.compile(r"(?=\s)"),  # word
)


def _best_cut(window: str, fit: int) -> int:
    """The end index of the chunk. `window` is the fitting prefix plus one character, so a boundary
    right after the last fitting character still counts."""
    for boundary in _BOUNDARIES:
        ends = [m.start() for m in boundary.finditer(window) if 0 < m.start() <= fit]
        if ends:
            return ends[-1]
    return fit  # one enormous word: nothing better exists


def _fitting_prefix_length(text: str, limit: int) -> int:
    """How many characters of `text` fit in `limit` UTF-16 code units."""
    if text.isascii() or all(ord(ch) < 0x10000 for ch in text[:limit]):
        return min(len(text), limit)
    units = 0
    for index, ch in enumerate(text):
        units += 2 if ord(ch) >= 0x10000 else 1
        if units > limit:
            return index
    return len(text)


# --- Markdown we generated (statements) to Telegram HTML --------------------------------------------

_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*$", re.MULTILINE)
_BULLET = re.compile(r"^([ \t]*)[-*+][ \t]+", re.MULTILINE)
_CODE = re.compile(r"`([^`\n]+)`")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|__(?=\S)(.+?)(?<=\S)__")
_ITALIC = re.compile(
    r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])"
    r"|(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])"
)
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^\s)]+)\)")


_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|~<>&=\"'])")


def markdown_to_html(text: str) -> str:
    """A small Markdown subset (headings, bold, italic, code, links, bullets) as Telegram HTML.
    The text is escaped first, so anything inside it (including answers quoted in a statement)
    can never become a tag; only the patterns below add tags, always in matched pairs."""
    # A backslash-escaped character is literal text (svbot escapes what users typed this way):
    # park it where no pattern below can see it, and put it back as plain text at the end.
    literals: list[str] = []

    def keep_literal(match: re.Match[str]) -> str:
        literals.append(html.escape(match.group(1), quote=True))
        return f"\x01{len(literals) - 1}\x01"

    text = _ESCAPED.sub(keep_literal, text)
    out = html.escape(text, quote=True)
    codes: list[str] = []

    def keep_code(match: re.Match[str]) -> str:
        codes.append(f"<code>{match.group(1)}</code>")
        return f"\x00{len(codes) - 1}\x00"

    out = _CODE.sub(keep_code, out)  # code spans are literal: no bold/italic inside them
    out = _HEADING.sub(lambda m: f"<b>{m.group(1)}</b>", out)
    out = _LINK.sub(lambda m: f'<a href="{m.group(2)}">{m.group(1)}</a>', out)
    out = _BOLD.sub(lambda m: f"<b>{m.group(1) or m.group(2)}</b>", out)
    out = _ITALIC.sub(lambda m: f"<i>{m.group(1) or m.group(2)}</i>", out)
    out = _BULLET.sub(lambda m: f"{m.group(1)}• ", out)
    out = re.sub(r"\x00(\d+)\x00", lambda m: codes[int(m.group(1))], out)
    return re.sub(r"\x01(\d+)\x01", lambda m: literals[int(m.group(1))], out)


# --- Groups ---------------------------------------------------------------------------------------


def strip_mention(text: str, bot_username: str | None) -> str:
    """Remove "@ourbot" from a group message, leaving what the person said to us."""
    if not bot_username:
        return text.strip()
    cleaned = re.sub(rf"@{re.escape(bot_username)}\b[,:]?", "", text, flags=re.IGNORECASE)
    return re.sub(r"[ \t]{2,}", " ", cleaned).strip()
