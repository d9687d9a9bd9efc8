"""Turn what people type into answers, or into a friendly reason why not.

Every parser takes the cleaned text and returns a `Parsed` (a value, maybe needing a "just to
check" confirmation) or raises `Invalid` with a reason and an example. Nothing here knows about
dialogues or platforms.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from svbot.dates import add_months


class Invalid(ValueError):
    def __init__(self, reason: str, example: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.example = example


@dataclass(frozen=True, slots=True)
class Parsed:
    value: Any
    confirm: str | None = None  # "Just to check: about 40 means 40?" when we had to guess


# Control characters break terminals and some platforms; newlines and tabs are kept.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean(text: str) -> str:
    """Normalise what arrived: Unicode NFC, no control or direction-override characters, trimmed."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text).strip()


def parse_text(text: str, max_chars: int) -> Parsed:
    if not text:
        raise Invalid("I didn't catch an answer there.", "a sentence or two")
    if len(text) > max_chars:
        raise Invalid(
            f"That's {len(text):,} characters, and this answer can be up to {max_chars:,}. "
            "Could you shorten it? The key points are enough."
        )
    return Parsed(text)


# ---- numbers and money --------------------------------------------------------------------------

_APPROX = re.compile(
    r"^(?:about|around|approx\.?|approximately|roughly|circa|c\.|ca\.|~|nearly|almost|over|more than|"
    r"at least|under|less than|up to)\s*",
    re.IGNORECASE,
)
_APPROX_SUFFIX = re.compile(r"\s*(?:ish|\+|or so|odd)$", re.IGNORECASE)
_SMALL_WORDS = {
    "zero": 0, "none": 0, "nil": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15,
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "a dozen": 12, "a hundred": 100,
}  # fmt: skip
_SCALE = {"k": 1_000, "thousand": 1_000, "m": 1_000_000, "million": 1_000_000, "mn": 1_000_000}
_NUMBER = re.compile(r"^(-?\d+(?:\.\d+)?)\s*(k|m|mn|thousand|million)?$", re.IGNORECASE)


def _number_value(text: str, what: str, example: str) -> tuple[float, bool]:
    """The number in `text`, and whether the person hedged ("about 40", "40ish")."""
    raw = text.strip().lower()
    approx = False
    stripped = _APPROX.sub("", raw)
    stripped2 = _APPROX_SUFFIX.sub("", stripped)
    if stripped2 != raw:
        approx = True
    raw = stripped2.strip()
    if raw in _SMALL_WORDS:
        return float(_SMALL_WORDS[raw]), approx
    raw = raw.replace("£", "").replace("gbp", "").replace("pounds", "").replace("pound", "").strip()
    # 1,200 and 1 200 are thousands separators in the UK; 1,5 is not a decimal comma here.
    if re.fullmatch(r"-?\d{1,3}([, ]\d{3})+(\.\d+)?(\s*(k|m|mn|thousand|million))?", raw):
        raw = raw.replace(",", "").replace(" ", "")
    match = _NUMBER.match(raw.replace(" ", "") if not re.search(r"[a-z]{2,}", raw) else raw)
    if not match:
        raise Invalid(f"I couldn't read that as {what}.", example)
    value = float(match.group(1)) * _SCALE.get((match.group(2) or "").lower(), 1)
    return value, approx


def parse_number(
    text: str,
    *,
    integer: bool,
    minimum: float | None = None,
    maximum: float | None = None,
    soft_max: float | None = None,
) -> Parsed:
    if not text:
        raise Invalid("I didn't catch a number there.", "12")
    value, approx = _number_value(text, "a whole number" if integer else "a number", "12, 1,200 or about 40")
    if integer:
        if value != int(value):
            raise Invalid("Please give a whole number.", str(round(value)))
        value = int(value)
    elif float(value).is_integer():
        value = int(value)  # "1,200 hours" is shown as 1,200, not 1,200.0
    _check_range(value, minimum, maximum, format_number)
    return Parsed(value, _confirmation(value, approx, soft_max, format_number))


def format_number(value: float) -> str:
    """1200 -> "1,200"; 12.5 -> "12.5"; never "50.0" for a whole number."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,}"


def parse_money(text: str, *, minimum: float | None = 0, maximum: float | None = None,
                soft_max: float | None = None) -> Parsed:  # fmt: skip
    if not text:
        raise Invalid("I didn't catch an amount there.", "£1,200")
    value, approx = _number_value(text, "an amount of money", "£1,200, 1.2k or about £500")
    value = round(value, 2)
    _check_range(value, minimum, maximum, format_money)
    return Parsed(value, _confirmation(value, approx, soft_max, format_money))


def format_money(value: float) -> str:
    return f"£{value:,.0f}" if float(value).is_integer() else f"£{value:,.2f}"


def _check_range(value: float, minimum: float | None, maximum: float | None, show) -> None:  # type: ignore[no-untyped-def]
    if minimum is not None and value < minimum:
        if minimum == 0:
            raise Invalid("That can't be below zero.", "0 or more")
        raise Invalid(f"That's below the smallest I can take, {show(minimum)}.", show(minimum))
    if maximum is not None and value > maximum:
        raise Invalid(f"That's more than the most I can take, {show(maximum)}.", show(maximum))


def _confirmation(value: float, approx: bool, soft_max: float | None, show) -> str | None:  # type: ignore[no-untyped-def]
    if soft_max is not None and value > soft_max:
        return f"{show(value)} is a lot more than most groups say. Is that right?"
    if approx:
        return f"Just to check: shall I put {show(value)}?"
    return None


# ---- yes / no -------------------------------------------------------------------------------------

_YES = {"yes", "y", "yeah", "yep", "yup", "ok", "okay", "sure", "true", "correct", "right", "that's right",
        "thats right", "of course", "definitely", "aye", "👍"}  # fmt: skip
_NO = {"no", "n", "nope", "nah", "false", "not really", "incorrect", "wrong", "👎"}


def parse_yes_no(text: str) -> Parsed:
    word = text.lower().strip(" .!")
    if word in _YES:
        return Parsed(True)
    if word in _NO:
        return Parsed(False)
    raise Invalid("Please answer yes or no.", "yes")


# ---- dates ----------------------------------------------------------------------------------------

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTHS["sept"] = 9
_MONTH_RE = "(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DATE_EXAMPLE = "31/01/2027, 31 Jan 2027 or end of March"
_NO_SUCH_DAY = date.min  # a well-formed date that isn't in the calendar, like 31/02/2027


def parse_date(text: str, today: date, *, not_before: date | None = None,
               not_after: date | None = None) -> Parsed:  # fmt: skip
    """UK day-first dates. A month with no year means the next one from today."""
    if not text:
        raise Invalid("I didn't catch a date there.", _DATE_EXAMPLE)
    value = _read_date(text.lower().strip(" ."), today)
    if value is _NO_SUCH_DAY:
        raise Invalid("That date doesn't exist: check the day and the month.", _DATE_EXAMPLE)
    if value is None:
        raise Invalid("I couldn't read that as a date.", _DATE_EXAMPLE)
    if not_before and value < not_before:
        raise Invalid(f"That date is before {not_before:%-d %B %Y}. Is there a later one?", _DATE_EXAMPLE)
    if not_after and value > not_after:
        raise Invalid(f"That date is after {not_after:%-d %B %Y}. Is there an earlier one?", _DATE_EXAMPLE)
    return Parsed(value.isoformat())


def _read_date(text: str, today: date) -> date | None:
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", text)
    if text in ("today", "now"):
        return today
    if text == "tomorrow":
        return today + timedelta(days=1)
    if m := re.fullmatch(r"in (\d+) (day|days|week|weeks|month|months)", text):
        n, unit = int(m.group(1)), m.group(2)
        if unit.startswith("day"):
            return today + timedelta(days=n)
        if unit.startswith("week"):
            return today + timedelta(weeks=n)
        return add_months(today, n)
    if m := re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text):
        return _safe_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if m := re.fullmatch(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})", text):
        year = int(m.group(3))
        year = year + 2000 if year < 100 else year
        return _safe_date(year, int(m.group(2)), int(m.group(1)))
    if m := re.fullmatch(rf"(\d{{1,2}}) {_MONTH_RE},? ?(\d{{4}})?", text):
        return _with_year(int(m.group(1)), _MONTHS[m.group(2)], m.group(3), today)
    if m := re.fullmatch(rf"{_MONTH_RE} (\d{{1,2}}),? ?(\d{{4}})?", text):
        return _with_year(int(m.group(2)), _MONTHS[m.group(1)], m.group(3), today)
    if m := re.fullmatch(rf"(?:the )?(end|start|beginning|middle|mid) of {_MONTH_RE} ?(\d{{4}})?", text):
        month = _MONTHS[m.group(2)]
        year = int(m.group(3)) if m.group(3) else None
        day = {"end": 0, "start": 1, "beginning": 1, "middle": 15, "mid": 15}[m.group(1)]
        return _month_day(month, day, year, today)
    if m := re.fullmatch(rf"{_MONTH_RE} ?(\d{{4}})?", text):
        # "March" alone: the end of the month is the safer reading for a deadline.
        return _month_day(_MONTHS[m.group(1)], 0, int(m.group(2)) if m.group(2) else None, today)
    return None


def _month_day(month: int, day: int, year: int | None, today: date) -> date | None:
    def build(y: int) -> date:
        last = calendar.monthrange(y, month)[1]
        return date(y, month, last if day == 0 else day)

    if year is not None:
        return build(year)
    candidate = build(today.year)
    return candidate if candidate >= today else build(today.year + 1)


def _with_year(day: int, month: int, year: str | None, today: date) -> date:
    if year:
        return _safe_date(int(year), month, day)
    candidate = _safe_date(today.year, month, day)
    if candidate is _NO_SUCH_DAY:
        return candidate
    return candidate if candidate >= today else _safe_date(today.year + 1, month, day)


def _safe_date(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        return _NO_SUCH_DAY


# ---- choices --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    label: str


def _norm(text: str) -> str:
    return re.sub(r"[^\w\s]", " ", text.casefold()).strip()


def match_choice(text: str, choices: Sequence[Choice]) -> Choice:
    """Match typed text to one option: its number, its value or label, or a unique part of the label."""
    said = _norm(text)
    if not said:
        raise Invalid("I didn't catch which one.", _choice_example(choices))
    if said.isdigit():
        index = int(said) - 1
        if 0 <= index < len(choices):
            return choices[index]
        raise Invalid(f"There's no option {said}: choose 1 to {len(choices)}.", _choice_example(choices))
    for choice in choices:
        if said in (_norm(choice.value), _norm(choice.label)):
            return choice
    words = said.split()
    hits = [c for c in choices if _contains_words(_norm(c.label + " " + c.value.replace("_", " ")), words)]
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        options = " or ".join(f'"{c.label}"' for c in hits[:4])
        raise Invalid(f"That could be {options}. Which one?", _choice_example(hits))
    raise Invalid("That isn't one of the options.", _choice_example(choices))


def _contains_words(label: str, words: list[str]) -> bool:
    label_words = label.split()
    return all(any(lw.startswith(w) for lw in label_words) for w in words)


def match_choices(text: str, choices: Sequence[Choice]) -> list[Choice]:
    """Several options typed at once: "1, 3", "1 3", "youth and older people", "all"."""
    said = _norm(text)
    if said in ("all", "all of them", "all of these", "everything"):
        return list(choices)
    if re.fullmatch(r"[\d\s]+", said):
        parts = said.split()
    else:
        parts = [p for p in re.split(r",|;|&|\band\b|\n", text) if p.strip()]
    picked: list[Choice] = []
    for part in parts:
        choice = match_choice(part, choices)
        if choice not in picked:
            picked.append(choice)
    if not picked:
        raise Invalid("I didn't catch which ones.", "1, 3")
    return picked


def _choice_example(choices: Sequence[Choice]) -> str:
    if not choices:
        return ""
    return f'the number, like 1, or the words, like "{choices[0].label}"'
