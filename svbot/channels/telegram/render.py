"""Telegram rendering: Outbound -> HTML text chunks and an inline keyboard. Pure functions, no I/O.

Outbound text is plain text, so every character is escaped for Telegram's HTML parse mode; only text
we generated ourselves (``markdown=True``, e.g. a statement) is converted to Telegram's small HTML
subset. Long text is split before it is escaped, at paragraph or sentence boundaries, so a chunk never
ends inside a word or a tag.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections import OrderedDict
from dataclasses import dataclass

from svbot.messages import Button, Outbound

MESSAGE_LIMIT = 4096  # characters (UTF-16 code units) after entity parsing
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64  # bytes
TICK = "✅ "  # marks a selected option in a multi-choice list
LONG_PAYLOAD_PREFIX = "~"  # callback_data that stands for a longer payload kept in a CallbackTable


@dataclass(frozen=True, slots=True)
class KeyboardButton:
    text: str
    callback_data: str


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """What to send for one Outbound: HTML chunks in order; the keyboard goes on the last chunk."""

    chunks: tuple[str, ...]
    keyboard: tuple[tuple[KeyboardButton, ...], ...] = ()


def render(message: Outbound, table: CallbackTable, limit: int = MESSAGE_LIMIT) -> RenderedMessage:
    """Escape (or convert) the text, split it at the limit and lay out the buttons."""
    to_html = markdown_to_html if message.markdown else html.escape
    chunks = tuple(to_html(chunk) for chunk in split_text(message.text, limit))
    return RenderedMessage(chunks=chunks, keyboard=keyboard_rows(message, table))


def keyboard_rows(message: Outbound, table: CallbackTable) -> tuple[tuple[KeyboardButton, ...], ...]:
    """One choice per row (labels are often long objectives); the controls share the last row."""
    rows = [(_key(button, message.multi_select, table),) for button in message.buttons]
    if message.controls:
        rows.append(tuple(_key(button, False, table) for button in message.controls))
    return tuple(rows)


def _key(button: Button, multi_select: bool, table: CallbackTable) -> KeyboardButton:
    label = TICK + button.label if multi_select and button.selected else button.label
    return KeyboardButton(text=label, callback_data=table.encode(button.payload))


class CallbackTable:
    """Telegram carries at most 64 bytes of callback_data. Longer payloads travel as a short digest
    that this table maps back; the digest is deterministic, so rendering the same payload twice gives
    the same button. The table is bounded and lives in memory: after a restart an old long-payload
    button decodes to None and the adapter falls back to the button's label as typed text."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._payloads: OrderedDict[str, str] = OrderedDict()

    def encode(self, payload: str) -> str:
        if fits_callback_data(payload) and not payload.startswith(LONG_PAYLOAD_PREFIX):
            return payload
        key = LONG_PAYLOAD_PREFIX + hashlib.sha256(payload.encode()).hexdigest()[:40]
        self._payloads[key] = payload
        self._payloads.move_to_end(key)
        while len(self._payloads) > self._capacity:
            self._payloads.popitem(last=False)
        return key

    def decode(self, data: str) -> str | None:
        if not data.startswith(LONG_PAYLOAD_PREFIX):
            return data
        return self._payloads.get(data)


def fits_callback_data(payload: str) -> bool:
    return 0 < len(payload.encode()) <= CALLBACK_DATA_LIMIT


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


# --- Commands ----------------------------------------------------------------------------------------

_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]+))?(?:\s+(.*))?$", re.DOTALL)


def command_text(text: str, bot_username: str | None) -> str | None:
    """The command as a word for the core: "/status" -> "status", "/broadcast@svbot Hi" -> "broadcast Hi".
    None if it is not a command, or it is addressed to another bot ("/start@otherbot")."""
    match = _COMMAND.match(text.strip())
    if not match:
        return None
    name, target, rest = match.group(1), match.group(2), match.group(3)
    if target and bot_username and target.lower() != bot_username.lower():
        return None
    return f"{name.lower()} {rest.strip()}".strip() if rest else name.lower()


def strip_mention(text: str, bot_username: str | None) -> str:
    """Remove "@ourbot" from a group message, leaving what the person said to us."""
    if not bot_username:
        return text.strip()
    cleaned = re.sub(rf"@{re.escape(bot_username)}\b[,:]?", "", text, flags=re.IGNORECASE)
    return re.sub(r"[ \t]{2,}", " ", cleaned).strip()
