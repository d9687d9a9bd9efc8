"""Small text helpers shared by compose and render: cleaning, sentences, numbers, escaping."""

from __future__ import annotations

import math
import re
from datetime import date
from decimal import Decimal, InvalidOperation

from svbot.text import date_values, text

# Characters XML (and so .docx) cannot hold, plus other C0/C1 controls; tabs and newlines stay.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
_MANY_BLANK_LINES = re.compile(r"\n{3,}")
# A sentence ends at . ! ? or … (possibly repeated, possibly followed by closing quotes or
# brackets) when whitespace follows; a line break always ends one.
_SENTENCE_END = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019)\]]*(?=\s)|\n")
# Markdown (CommonMark + GFM), Slack mrkdwn and Telegram markup characters, escaped anywhere.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~!&])")
# Line starts that would begin a bullet list, a "---" rule or heading underline, or an ordered
# list ("1." / "1)"). "=" only matters when a whole line of them underlines the line above.
_MD_LINE_START = re.compile(r"^([-+]|=(?==*[ \t]*$))")
_MD_ORDERED = re.compile(r"^(\d+)([.)])")


def clean(value: str | None) -> str | None:
    """Tidy a free-text answer: no control characters, no stray whitespace; empty becomes None."""
    if value is None:
        return None
    tidy = _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n") if "\r" in value else value)
    if "\n" in tidy:  # most answers are one line: only the others are tidied line by line
        tidy = "\n".join(line.rstrip() for line in tidy.split("\n")).strip()
        if "\n\n\n" in tidy:
            tidy = _MANY_BLANK_LINES.sub("\n\n", tidy)
    else:
        tidy = tidy.strip()
    return tidy or None


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, whitespace excluded."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        _add_span(spans, text, start, match.end())
        start = match.end()
    _add_span(spans, text, start, len(text))
    return spans


def _add_span(spans: list[tuple[int, int]], text: str, start: int, end: int) -> None:
    piece = text[start:end]
    stripped = piece.strip()
    if stripped:
        offset = start + (len(piece) - len(piece.lstrip()))
        spans.append((offset, offset + len(stripped)))


def split_sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


def drop_last_sentence(text: str) -> str | None:
    """The text without its last sentence, original spacing kept; None when nothing is left."""
    spans = sentence_spans(text)
    if len(spans) <= 1:
        return None
    return text[: spans[-2][1]]


def count_words(text: str) -> int:
    return len(text.split())


def format_count(value: int | float) -> str:
    """1234 -> "1,234"; 1234.5 -> "1,234.5". Digits are exactly the ones given: never rounded."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value.is_integer():
            return f"{int(value):,}"
        return _decimal_with_commas(value)
    return f"{value:,}"


def format_money(value: float | int) -> str:
    """2500 -> "£2,500"; 2500.5 -> "£2,500.50"; pence beyond two places are kept, not rounded."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"£{value}"
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    if float(magnitude).is_integer():
        return f"{sign}£{int(magnitude):,}"
    text = _decimal_with_commas(magnitude)
    whole, _, fraction = text.partition(".")
    if len(fraction) == 1:
        fraction += "0"  # £2.5 is written £2.50: the same amount
    return f"{sign}£{whole}.{fraction}"


def _decimal_with_commas(value: float | int) -> str:
    # repr() gives the shortest text that reads back as the same float: what the person typed.
    try:
        number = Decimal(repr(value))
    except InvalidOperation:
        return str(value)
    return format(number, ",f")


def uk_date(value: date) -> str:
    """ "31 March 2028", in the current locale (dates.long)."""
    return text("dates.long", **date_values(value))


def md_escape(value: str) -> str:
    """Make text literal in Markdown, Slack mrkdwn and Telegram Markdown: none of it acts as markup."""
    lines = []
    for index, line in enumerate(value.split("\n")):
        # A continuation line's indentation would start a code block; the first line is inline.
        line = _MD_SPECIAL.sub(r"\\\1", line.lstrip() if index else line)
        # List, quote and heading markers only matter at the start of a line.
        line = _MD_LINE_START.sub(r"\\\1", line)
        line = _MD_ORDERED.sub(r"\1\\\2", line)
        lines.append(line)
    return "\n".join(lines)


def one_line(value: str) -> str:
    """For table cells and list items: line breaks become spaces."""
    return " ".join(value.split())


def split_text(text: str, max_chars: int) -> list[str]:
    """Split text into chunks of at most max_chars, at paragraph, then line, then sentence, then word
    boundaries. A single word longer than max_chars is the only thing ever cut, as a last resort.

    The words of the chunks, in order, are exactly the words of the text.
    """
    if max_chars < 1:
        raise ValueError("max_chars must be at least 1")
    pieces: list[tuple[str, str]] = []  # (text, separator before it)
    for index, block in enumerate(b for b in re.split(r"\n[ \t]*\n", text.strip()) if b.strip()):
        block_pieces = _pieces(block.strip(), max_chars, 0)
        block_pieces[0] = (block_pieces[0][0], "\n\n" if index else "")
        pieces.extend(block_pieces)
    chunks: list[str] = []
    current = ""
    for piece, separator in pieces:
        if current and len(current) + len(separator) + len(piece) <= max_chars:
            current += separator + piece
            continue
        if current:
            chunks.append(current)
        current = piece
    if current:
        chunks.append(current)
    return chunks


def _split_lines(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.strip()]


_LEVELS = ((_split_lines, "\n"), (split_sentences, " "), (str.split, " "))


def _pieces(text: str, max_chars: int, level: int) -> list[tuple[str, str]]:
    if len(text) <= max_chars:
        return [(text, "")]
    if level == len(_LEVELS):
        # One word longer than a whole message: cutting it is the only way to send it.
        return [(text[i : i + max_chars], "") for i in range(0, len(text), max_chars)]
    splitter, separator = _LEVELS[level]
    units = splitter(text)
    if len(units) <= 1:
        return _pieces(text, max_chars, level + 1)
    result: list[tuple[str, str]] = []
    for index, unit in enumerate(units):
        sub = _pieces(unit, max_chars, level + 1)
        sub[0] = (sub[0][0], separator if index else "")
        result.extend(sub)
    return result


# A date in a commitment ("by March 2028", "31/3/28", "end of 2027", "by Christmas"): then svbot
# need not ask "By when?" separately, and the statement does not report the date as missing.
_MONTH_WORDS = (
    r"jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|((by|in|before|until|of|from) )may|may \d"  # not "we may"
    r"|june?|july?|aug(ust)?|sep(t(ember)?)?|oct(ober)?"
    r"|nov(ember)?|dec(ember)?|christmas|easter|summer|autumn|winter|spring|year[- ]end|end of (the )?year"
)
_DATE_IN_TEXT = re.compile(
    rf"\b({_MONTH_WORDS})\b|\b\d{{1,2}}[/.-]\d{{1,2}}([/.-]\d{{2,4}})?\b|\b20\d\d\b",
    re.IGNORECASE,
)
_NUMBER_IN_TEXT = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty"
    r"|hundred|thousand|dozen|half|every|each|weekly|monthly)\b",
    re.IGNORECASE,
)


def mentions_date(value: str | None) -> bool:
    """Whether a free-text answer names a date or a time of year."""
    return bool(value and _DATE_IN_TEXT.search(value))


def mentions_number(value: str | None) -> bool:
    """Whether a free-text answer has something countable in it (a figure, "every week")."""
    return bool(value and _NUMBER_IN_TEXT.search(value))
