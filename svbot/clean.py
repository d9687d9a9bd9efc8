"""Text from outside svbot (imported files, stored names) made safe to store and to show.

    one_line("Hollybush\\n Lunch\\x1b[31m Club")   # "Hollybush Lunch Club": names, titles, identifiers
    many_lines("First line\\r\\nSecond\\x00")       # "First line\\nSecond": descriptions
    terminal("Evil\\x1b]0;owned\\x07 Org")          # "Evil]0;owned Org": what a CLI listing prints

A name or title is one line: a newline in an organisation's name breaks an iCalendar line and a
listing's columns, and an escape sequence (ESC [ ...) read from a file would drive the terminal of
whoever lists it. So C0 and C1 control characters (NUL and ESC among them), DEL, the Unicode line and
paragraph separators and the bidirectional overrides (which make text read backwards) are dropped,
and runs of whitespace become one space. Multi-line text keeps its newlines and tabs, nothing else.

Imports clean what they store (svbot.deadlines.giving360), and the outputs clean again what they
show (svbot.deadlines.ics, the CLI's standard output), for what was stored before imports did.
"""

from __future__ import annotations

import re
import unicodedata

# C0 controls but tab and newline, DEL, C1 controls, line/paragraph separators, bidi overrides and
# isolates, byte-order marks and the two non-characters at the end of the BMP.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff]")
_SPACES = re.compile(r"\s+")
_BLANK_LINES = re.compile(r"\n{3,}")


def one_line(value: object) -> str:
    """A name, title or identifier: no control characters, whitespace runs (newlines too) one space."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value))
    return _SPACES.sub(" ", _CONTROL.sub(" ", text)).strip()


def many_lines(value: object) -> str:
    """A description: newlines (of any platform) and tabs kept, other control characters dropped."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value)).replace("\r\n", "\n").replace("\r", "\n")
    text = "\n".join(line.rstrip() for line in _CONTROL.sub("", text).split("\n")).strip()
    return _BLANK_LINES.sub("\n\n", text)


def terminal(value: str) -> str:
    """Text for a terminal: control characters dropped (escape sequences cannot act), lines kept."""
    return _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


def has_control(value: str) -> bool:
    return _CONTROL.search(value) is not None
