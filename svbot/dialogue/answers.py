"""Turn what people type into answers, or into a friendly reason why not.

Every parser takes the cleaned text and returns a `Parsed` (a value, maybe needing a "just to
check" confirmation) or raises `Invalid` with a reason and an example. Nothing here knows about
dialogues or platforms.

What svbot says here (reasons, examples, checks) comes from svbot/texts (`answers.*`). The words
people type (yes and no, number words, month names, "about", "a week") are input, read here as
English: they stay in Python.
"""

from __future__ import annotations

import calendar
import difflib
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from svbot.dates import add_months
from svbot.text import date_values, text


class Invalid(ValueError):
    def __init__(self, reason: str, example: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.example = example


@dataclass(frozen=True, slots=True)
class Parsed:
    value: Any
    confirm: str | None = None  # "Just to check: about 40 means 40?" when we had to guess
    qualifier: str | None = None  # "about" in "about 40": kept beside the number (see QUALIFIER)


# Control characters break terminals and some platforms; newlines and tabs are kept.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean(text: str) -> str:
    """Normalise what arrived: Unicode NFC, no control or direction-override characters, trimmed."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text).strip()


def parse_text(typed: str, max_chars: int) -> Parsed:
    if not typed:
        raise Invalid(text("answers.text.empty"), text("answers.text.empty_example"))
    if len(typed) > max_chars:
        raise Invalid(text("answers.text.too_long", length=len(typed), limit=max_chars))
    return Parsed(typed)


# ---- numbers and money --------------------------------------------------------------------------

_QUALIFIER = (
    r"about|around|approx\.?|approximately|roughly|circa|c\.|ca\.|~|nearly|almost|over|more than|"
    r"at least|under|less than|up to|some|maybe|probably|estimated|an estimated"
)
_APPROX = re.compile(rf"^(?:{_QUALIFIER})\s*", re.IGNORECASE)
_APPROX_ANYWHERE = re.compile(rf"(?:^|\s)(?:{_QUALIFIER})\s+(?=[\d£a-z])", re.IGNORECASE)
_APPROX_SUFFIX = re.compile(r"\s*(?:ish|\+|or so|odd)$", re.IGNORECASE)
# The words kept with a number ("about 60", "over 60"), each as one of five: what a statement says.
# Input, so English words here; how they are shown back is in svbot/texts (`answers.qualified.*`).
QUALIFIERS = ("about", "over", "at least", "nearly", "up to")
_QUALIFIER_BEFORE = {
    "about": ("about", "around", "approximately", "approx.", "approx", "roughly", "circa", "c.", "ca.", "~",
              "some", "maybe", "probably", "an estimated", "estimated", "an estimate of", "give or take"),
    "over": ("over", "more than", "above", "in excess of", "upwards of", "well over", "just over"),
    "at least": ("at least", "no fewer than", "no less than", "a minimum of", "minimum", "min."),
    "nearly": ("nearly", "almost", "just under", "close to", "not quite"),
    "up to": ("up to", "under", "less than", "fewer than", "below", "no more than", "at most", "a maximum of",
              "maximum", "max."),
}  # fmt: skip
_QUALIFIER_AFTER = {"about": ("ish", "or so", "odd", "or thereabouts"), "at least": ("+", "or more"),
                    "up to": ("or less", "or fewer", "at most")}  # fmt: skip


def _phrases(table: dict[str, tuple[str, ...]]) -> str:
    phrases = sorted(((p, q) for q, ps in table.items() for p in ps), key=lambda pq: -len(pq[0]))
    return "|".join(re.escape(p) + (r"\b" if p[-1].isalpha() else "") for p, _ in phrases)


_QUALIFIER_OF = {p: q for table in (_QUALIFIER_BEFORE, _QUALIFIER_AFTER) for q, ps in table.items() for p in ps}
_NUMBER_WORDS = (
    r"(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\w+teen|twenty|thirty|forty|fifty|"
    r"sixty|seventy|eighty|ninety|hundred|thousand|million|dozen)\b"
)
_QUALIFIED_BEFORE = re.compile(  # "about 60", "over £500", "almost a hundred"
    rf"(?<![\w.~])({_phrases(_QUALIFIER_BEFORE)})\s*(?=£?\s*(?:\d|(?:(?:a|an)\s+)?{_NUMBER_WORDS}))", re.IGNORECASE
)
_QUALIFIED_AFTER = re.compile(  # "60ish", "60+", "60 or so", "15 or so a week"
    rf"(?:\d|\b{_NUMBER_WORDS})[\s-]*({_phrases(_QUALIFIER_AFTER)})(?=[\s,.!?)]|$)(?!\s*[\d(])", re.IGNORECASE
)
_SCALE = {"k": 1_000, "thousand": 1_000, "m": 1_000_000, "million": 1_000_000, "mn": 1_000_000}
_NUMBER = re.compile(r"^(-?\d+(?:\.\d+)?)\s*(k|m|mn|thousand|million)?$", re.IGNORECASE)
# A number inside a sentence: 1,200 or 1200 or 1.5k, not part of a word or a date like 31/01.
_NUMBER_IN_TEXT = re.compile(
    r"(?<![\w./£-])£?(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?\s*(k|m|mn|thousand|million)?(?![\w/]|\.\d)", re.IGNORECASE
)
_TIMES = re.compile(r"\s*[x×*]\s*")
_ARITHMETIC = re.compile(r"\d[\d,.]*(?:\s*[x×*+]\s*\d[\d,.]*)+")
_RATE = re.compile(r"^\s*(?:\w+\s+){0,3}?(?:a|an|per|each|every)\s+(day|week|fortnight|month)\b", re.IGNORECASE)
_DURATION_AFTER = re.compile(r"\s*(?:hours?|hrs?|days?|weeks?|wks?|fortnights?|months?|years?|yrs?|minutes?|mins?)\b")
_PER_YEAR = {"day": 365, "week": 52, "fortnight": 26, "month": 12}
_YEAR_CONTEXT = re.compile(r"\b(?:in|since|during|from|until|till|of|for|by)\s+$", re.IGNORECASE)
_UNITS = {
    "zero": 0, "nil": 0, "none": 0, "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
    "ninety": 90,
}  # fmt: skip
_MULTIPLIERS = {"dozen": 12, "hundred": 100, "thousand": 1_000, "million": 1_000_000}


@dataclass(frozen=True, slots=True)
class Amount:
    """A number read from what someone typed: the value, whether they hedged, and how we got it."""

    value: float
    approx: bool = False
    working: str | None = None  # "38 × 2 × 48 = 3,648": shown so they can check our sums
    qualifier: str | None = None  # "about", "over", "at least", "nearly" or "up to": kept with the number
    rate: bool = False  # a year's worth of "15 a week": the same people may come each time


NumberKind = Literal["number", "whole_number", "money"]  # which "I couldn't read that as ..." to say


def read_amount(typed: str, kind: NumberKind = "number") -> Amount:
    """The number in `typed`, as a person would read it: "1,200", "about 40", "twenty five", "1.5k",
    "38 x 2 x 48" (worked out, with the working), "15 families a week" (a year's worth, with the
    working), "44 men came in the last year" (the one number in a sentence). Two different numbers
    in one answer are not guessed between: we ask which one is meant."""
    raw = re.sub(r"\s+", " ", typed.strip().lower().replace("’", "'"))
    amount = _read_amount(raw, kind)
    qualifier = read_qualifier(raw)
    if qualifier is None:
        return amount
    return Amount(amount.value, True, amount.working, qualifier, amount.rate)


def read_qualifier(typed: str) -> str | None:
    """The word hedging a number, as one of QUALIFIERS: "about" for "around 60", "roughly 60",
    "60ish"; "over" for "more than 60"; "at least" for "60+"; "nearly" for "almost 60"; "up to" for
    "under 60". None when the number is given plainly. Only a word next to a number counts: "over
    the year, 60 came" is plain."""
    raw = re.sub(r"\s+", " ", typed.strip().lower().replace("’", "'"))
    found = _QUALIFIED_BEFORE.search(raw) or _QUALIFIED_AFTER.search(raw)
    return _QUALIFIER_OF[found.group(1)] if found else None


def _read_amount(raw: str, kind: NumberKind) -> Amount:
    approx = bool(_APPROX_ANYWHERE.search(" " + raw) or _APPROX_SUFFIX.search(raw))
    bare = _APPROX_SUFFIX.sub("", _APPROX.sub("", raw)).strip()
    bare = re.sub(r"£|\bgbp\b|\bpounds?\b", "", bare).strip()
    if (whole := _plain_number(bare)) is not None:
        return Amount(whole, approx)
    if (words := _words_value(bare)) is not None:
        return Amount(words, approx)
    if sums := _ARITHMETIC.search(bare):
        return _worked_out(sums.group(0), approx)
    return _number_in_sentence(bare, approx, kind)


def _plain_number(raw: str) -> float | None:
    # 1,200 and 1 200 are thousands separators in the UK; 1,5 is not a decimal comma here.
    if re.fullmatch(r"-?\d{1,3}([, ]\d{3})+(\.\d+)?(\s*(k|m|mn|thousand|million))?", raw):
        raw = raw.replace(",", "").replace(" ", "")
    match = _NUMBER.match(raw.replace(" ", "") if not re.search(r"[a-z]{2,}", raw) else raw)
    if not match:
        return None
    return float(match.group(1)) * _SCALE.get((match.group(2) or "").lower(), 1)


def _words_value(raw: str) -> float | None:
    """ "twenty five", "twenty-five", "a hundred and twenty", "two thousand", "a dozen": or None."""
    words = [w for w in re.split(r"[\s-]+", raw.replace(",", " ")) if w and w != "and"]
    if not words or any(w not in _UNITS and w not in _MULTIPLIERS for w in words):
        return None
    if words in (["a"], ["an"]):
        return None
    total, current = 0.0, 0.0
    for word in words:
        if word in _UNITS:
            current += _UNITS[word]
        elif word in ("hundred", "dozen"):  # "two hundred and five": still part of the same group
            current = (current or 1) * _MULTIPLIERS[word]
        else:
            total += (current or 1) * _MULTIPLIERS[word]
            current = 0.0
    return total + current


def _worked_out(expression: str, approx: bool) -> Amount:
    """ "38 x 2 x 48" -> 3,648, and "12 + 30" -> 42: multiplication first, as people mean it."""
    terms = []
    for term in expression.split("+"):
        factors = [_plain_number(f.strip()) for f in _TIMES.split(term.strip())]
        if any(f is None for f in factors):
            raise Invalid(text("answers.number.sum"), "38 x 2 x 48")
        product = 1.0
        for factor in factors:
            product *= factor  # type: ignore[operator]
        terms.append(product)
    value = sum(terms)
    shown = re.sub(r"\s*[x*]\s*", " × ", expression.strip()).replace("+", " + ")
    shown = re.sub(r"\s+", " ", shown)
    return Amount(value, approx, f"{shown} = {format_number(value)}")


def _number_in_sentence(raw: str, approx: bool, kind: NumberKind) -> Amount:
    found = []
    for match in _NUMBER_IN_TEXT.finditer(raw):
        value = float(match.group(1).replace(",", "") + (match.group(2) or ""))
        value *= _SCALE.get((match.group(3) or "").lower(), 1)
        is_year = match.group(3) is None and len(match.group(1)) == 4 and 1900 <= value <= 2100
        found.append((value, is_year and bool(_YEAR_CONTEXT.search(raw[: match.start()])), match))
    if kind == "money":  # "closed for 3 weeks" is not £3: a length of time is never an amount of money
        found = [f for f in found if not _DURATION_AFTER.match(raw[f[2].end() :])]
    numbers = [f for f in found if not f[1]] or found
    distinct = list(dict.fromkeys(value for value, _, _ in numbers))  # in the order they were written
    if not distinct:
        words = _number_words_in(raw)
        if words is None:
            example = text("answers.money.example") if kind == "money" else text("answers.number.example")
            raise Invalid(text(f"answers.unreadable.{kind}"), example)
        return Amount(words, approx)
    if len(distinct) > 1:
        listed = format_number(distinct[0])
        for other in distinct[1:3]:
            listed = text("answers.number.and", before=listed, after=format_number(other))
        raise Invalid(text("answers.number.several", numbers=listed), format_number(distinct[0]))
    value, _, match = numbers[0]
    if rate := _RATE.match(raw[match.end() :]):
        unit = rate.group(1).lower()
        yearly = value * _PER_YEAR[unit]
        times, total = _PER_YEAR[unit], format_number(yearly)
        working = text(f"answers.number.rate.{unit}", number=format_number(value), times=times, total=total)
        return Amount(yearly, approx, working, rate=True)
    return Amount(value, approx)


def _number_words_in(raw: str) -> float | None:
    """The one run of number words in a sentence ("twenty five people came"), if there is one."""
    runs = re.findall(
        r"\b(?:(?:"
        + "|".join(w for w in (*_UNITS, *_MULTIPLIERS) if w not in ("a", "an", "none"))
        + r")(?:[\s-]+(?:and[\s-]+)?)?)+",
        raw,
    )
    values = {v for run in runs if (v := _words_value(run.strip(" -"))) is not None}
    return values.pop() if len(values) == 1 else None


def parse_number(
    typed: str,
    *,
    integer: bool,
    minimum: float | None = None,
    maximum: float | None = None,
    soft_max: float | None = None,
) -> Parsed:
    if not typed:
        raise Invalid(text("answers.number.empty"), "12")
    amount = read_amount(typed, "whole_number" if integer else "number")
    value: float = amount.value
    if integer:
        if value != int(value):
            raise Invalid(text("answers.number.whole"), str(round(value)))
        value = int(value)
    elif float(value).is_integer():
        value = int(value)  # "1,200 hours" is shown as 1,200, not 1,200.0
    _check_range(value, minimum, maximum, format_number)
    return Parsed(value, _confirmation(value, amount, soft_max, format_number), amount.qualifier)


def format_number(value: float) -> str:
    """1200 -> "1,200"; 12.5 -> "12.5"; never "50.0" for a whole number."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,}"


def parse_money(typed: str, *, minimum: float | None = 0, maximum: float | None = None,
                soft_max: float | None = None) -> Parsed:  # fmt: skip
    if not typed:
        raise Invalid(text("answers.money.empty"), "£1,200")
    amount = read_amount(typed, "money")
    value = round(amount.value, 2)
    _check_range(value, minimum, maximum, format_money)
    return Parsed(value, _confirmation(value, amount, soft_max, format_money), amount.qualifier)


def format_money(value: float) -> str:
    return f"£{value:,.0f}" if float(value).is_integer() else f"£{value:,.2f}"


def _check_range(value: float, minimum: float | None, maximum: float | None, show) -> None:  # type: ignore[no-untyped-def]
    if minimum is not None and value < minimum:
        if minimum == 0:
            raise Invalid(text("answers.number.below_zero"), text("answers.number.below_zero_example"))
        raise Invalid(text("answers.number.below", least=show(minimum)), show(minimum))
    if maximum is not None and value > maximum:
        raise Invalid(text("answers.number.above", most=show(maximum)), show(maximum))


def _confirmation(value: float, amount: Amount, soft_max: float | None, show) -> str | None:  # type: ignore[no-untyped-def]
    shown = with_qualifier(show(value), amount.qualifier)
    if amount.working:  # we did sums with their numbers: show them, so they can check
        if amount.rate:  # the same people may come each week: a year's worth would over-count them
            return text("answers.number.worked_out_rate", working=amount.working, value=shown)
        return text("answers.number.worked_out", working=amount.working, value=shown)
    if soft_max is not None and value > soft_max:
        return text("answers.number.a_lot", value=shown)
    # "about 60" needs no check: the number is kept as 60 and "about" with it, and both are shown
    # in the review. A hedge away from the number ("roughly, we had 60") is checked.
    if amount.approx and not amount.qualifier:
        return text("answers.number.check", value=show(value))
    return None


# ---- "about 60": the number, and the word kept with it -------------------------------------------

QUALIFIER = "~qualifier"  # answers["facts.people"] = 60, answers["facts.people~qualifier"] = "about"


def qualifier_key(key: str) -> str:
    """Where the word kept with the answer at `key` is stored, beside it: "facts.people~qualifier"."""
    return key + QUALIFIER


def is_qualifier_key(key: str) -> bool:
    return key.endswith(QUALIFIER)


def with_qualifier(shown: str, qualifier: str | None) -> str:
    """ "60" with "about" -> "about 60" (in the locale's words); without a qualifier, as it was."""
    if qualifier not in QUALIFIERS:
        return shown
    return text(f"answers.qualified.{qualifier.replace(' ', '_')}", value=shown)  # type: ignore[union-attr]


def qualified(answers: Mapping[str, Any], key: str, show: Callable[[float], str] = format_number) -> str | None:
    """The number answered at `key` as the person gave it: "about 60", "over £500" (with
    `show=format_money`), or "60" when they gave it plainly. None when there is no number there
    (not answered, skipped, or not a number)."""
    value = answers.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return with_qualifier(show(value), answers.get(qualifier_key(key)))


# ---- yes / no -------------------------------------------------------------------------------------

# What people type (input, so English words here); what svbot says is in svbot/texts.

_YES = {"yes", "y", "yeah", "yep", "yup", "ok", "okay", "sure", "true", "correct", "right", "that's right",
        "thats right", "of course", "definitely", "aye", "👍"}  # fmt: skip
_NO = {"no", "n", "nope", "nah", "false", "not really", "incorrect", "wrong", "👎"}


def parse_yes_no(typed: str) -> Parsed:
    word = typed.lower().strip(" .!")
    if word in _YES:
        return Parsed(True)
    if word in _NO:
        return Parsed(False)
    raise Invalid(text("answers.yes_no.refused"), text("answers.yes_no.example"))


# ---- "I don't know" ------------------------------------------------------------------------------

# What people type when they don't know (input, so English here): "dunno", "not sure yet 🤷", "N/A".
_DONT_KNOW = re.compile(
    r"(?:(?:sorry|honestly|um+|erm*|hmm+|well|oh|tbh|no|nope|ah)\s+)*"
    r"(?:(?:i|we)\s+)?(?:(?:really|honestly|just|genuinely|simply)\s+)?"
    r"(?:do(?:n'?t| not) know|dunno|(?:i'?m\s+|we'?re\s+|am\s+|are\s+)?not (?:sure|certain)|unsure|no idea|"
    r"no clue|not a clue|haven'?t (?:a|got a) clue|idk|n/?a|n a|none|unknown|not known|can'?t say|couldn'?t say|"
    r"no data|don'?t have (?:that|it|this)|not applicable)"
    r"(?:\s+(?:yet|really|sorry|tbh|at all|at the moment|right now|i'?m afraid|to be honest|honestly|for now|"
    r"off ?hand|exactly|for sure|i'?m sorry))*"
)
_SHRUG = "\U0001f937"  # 🤷, with or without a skin tone or gender after it


def dont_know(typed: str) -> bool:
    """Whether `typed` says "I don't know", however it is put: "I don't know", "don't know",
    "dunno", "not sure", "no idea", "idk", "n/a", "none", with emoji or punctuation ("idk 🤷",
    "Not sure yet!"), or a shrug on its own."""
    said = typed.casefold().replace("’", "'").replace("‘", "'")
    words = " ".join(re.sub(r"[^\w\s'/]|_", " ", said).split())
    if not words:
        return _SHRUG in said
    return _DONT_KNOW.fullmatch(words.strip("'")) is not None


# Options that mean "I don't know (yet)": guidance.yaml's `none_yet`, and their kind in other files.
_UNKNOWN_VALUES = {"none_yet", "not_yet", "not_sure", "unsure", "unknown", "dont_know", "don_t_know", "no_idea"}
_UNKNOWN_LABELS = {"none yet", "not yet", "not sure", "not sure yet", "unsure", "unknown", "don't know",
                   "don t know", "i don't know", "i don t know", "no idea", "none", "none so far"}  # fmt: skip


def unknown_choice(choices: Sequence[Choice]) -> Choice | None:
    """The option that says "I don't know" or "none yet", if a question has one."""
    for choice in choices:
        if choice.value.casefold() in _UNKNOWN_VALUES or _norm(choice.label) in _UNKNOWN_LABELS:
            return choice
    return None


# ---- dates ----------------------------------------------------------------------------------------

# Month names people type (input): the English ones, as Python's calendar has them.
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTHS["sept"] = 9
_MONTH_RE = "(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_NO_SUCH_DAY = date.min  # a well-formed date that isn't in the calendar, like 31/02/2027


def parse_date(typed: str, today: date, *, not_before: date | None = None,
               not_after: date | None = None) -> Parsed:  # fmt: skip
    """UK day-first dates. A month with no year means the next one from today."""
    if not typed:
        raise Invalid(text("answers.date.empty"), text("answers.date.example"))
    value = _read_date(typed.lower().strip(" ."), today)
    if value is _NO_SUCH_DAY:
        raise Invalid(text("answers.date.no_such_day"), text("answers.date.example"))
    if value is None:
        raise Invalid(text("answers.date.unreadable"), text("answers.date.example"))
    if not_before and value < not_before:
        day = text("dates.long", **date_values(not_before))
        raise Invalid(text("answers.date.too_early", date=day), text("answers.date.example"))
    if not_after and value > not_after:
        day = text("dates.long", **date_values(not_after))
        raise Invalid(text("answers.date.too_late", date=day), text("answers.date.example"))
    return Parsed(value.isoformat())


def _read_date(text: str, today: date) -> date | None:
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", text)
    text = re.sub(rf"^(?:the )?(\d{{1,2}}) of {_MONTH_RE}", r"\1 \2", text)  # "31st of January"
    text = re.sub(rf"\b(?:next|this|the coming) ({_MONTH_RE})", r"\1", text)  # "next March": the coming one
    found = _read_date_ourselves(text, today)
    if found is None and re.search(r"[a-z]", text) and not re.search(r"\d+/\d+", text):
        found = _read_date_by_dateparser(text, today)
    return found


def _read_date_ourselves(text: str, today: date) -> date | None:
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
    if m := re.fullmatch(r"(?:the )?(end|start|beginning) of (?:the |this )?(month|year|financial year)", text):
        return _period_edge(m.group(1) == "end", m.group(2), today, 0)
    if m := re.fullmatch(r"(?:the )?(end|start|beginning) of next (month|year|financial year)", text):
        return _period_edge(m.group(1) == "end", m.group(2), today, 1)
    if m := re.fullmatch(r"the (\d{1,2})", text):  # "the 5th": the next 5th of a month
        day = int(m.group(1))
        for ahead in range(0, 3):
            month = add_months(today.replace(day=1), ahead)
            if day <= calendar.monthrange(month.year, month.month)[1] and month.replace(day=day) >= today:
                return month.replace(day=day)
    return None


def _period_edge(end: bool, period: str, today: date, later: int) -> date:
    """The end (or start) of this or the next month, calendar year or financial year (April to March)."""
    if period == "month":
        first = add_months(today.replace(day=1), later + (1 if end else 0))
        return first - timedelta(days=1) if end else first
    if period == "year":
        year = today.year + later
        return date(year, 12, 31) if end else date(year + (0 if later or today <= date(year, 1, 1) else 1), 1, 1)
    starts = today.year if today.month >= 4 else today.year - 1  # the financial year we are in
    starts += later
    return date(starts + 1, 3, 31) if end else date(starts + (0 if later else 1), 4, 1)


def _read_date_by_dateparser(text: str, today: date) -> date | None:
    """Everything else people say ("next Friday", "in a fortnight"), read by dateparser the British
    way: day first, and the future for a deadline. Imported here: few answers need it."""
    import dateparser  # type: ignore[import-untyped]

    settings = {
        "DATE_ORDER": "DMY",
        "PREFER_DATES_FROM": "future",
        "PREFER_DAY_OF_MONTH": "last",
        "RELATIVE_BASE": datetime.combine(today, time()),
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    try:
        found = dateparser.parse(text, languages=["en"], settings=settings)
    except Exception:  # a parser we do not own must not turn an answer into an error
        return None
    return found.date() if found is not None else None


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


def match_choice(typed: str, choices: Sequence[Choice]) -> Choice:
    """Match typed text to one option: its number, its value or label, or a unique part of the label."""
    said = _norm(typed)
    if not said:
        raise Invalid(text("answers.choice.empty"), _choice_example(choices))
    if said.isdigit():
        index = int(said) - 1
        if 0 <= index < len(choices):
            return choices[index]
        raise Invalid(text("answers.choice.no_such", number=said, last=len(choices)), _choice_example(choices))
    for choice in choices:
        if said in (_norm(choice.value), _norm(choice.label)):
            return choice
    words = said.split()
    hits = [c for c in choices if _contains_words(_norm(c.label + " " + c.value.replace("_", " ")), words)]
    if not hits:  # a slip of the keyboard: "Older poeple" is "Older people"
        hits = _close_to(said, choices)
    if len(hits) > 1:
        hits = _first_named(said, hits)
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        options = f'"{hits[0].label}"'
        for other in hits[1:4]:
            options = text("answers.choice.or", before=options, after=f'"{other.label}"')
        raise Invalid(text("answers.choice.could_be", options=options), _choice_example(hits))
    raise Invalid(text("answers.choice.none_of_them"), _choice_example(choices))


def _first_named(said: str, hits: list[Choice]) -> list[Choice]:
    """Of several options that mention what was typed, the one that names it first, when only one
    does: "PPN 002" is "Social Value Model (PPN 002)", not "… (PPN 06/20), replaced by PPN 002"."""
    where = {id(c): _norm(c.label).find(said) for c in hits}
    named = [c for c in hits if where[id(c)] >= 0]
    if not named:
        return hits
    first = min(where[id(c)] for c in named)
    earliest = [c for c in named if where[id(c)] == first]
    return earliest if len(earliest) == 1 else hits


def _close_to(said: str, choices: Sequence[Choice]) -> list[Choice]:
    """Options whose label is a near miss of what was typed (difflib: no library of our own)."""
    labels = {_norm(c.label): c for c in choices}
    close = difflib.get_close_matches(said, list(labels), n=2, cutoff=0.8)
    return [labels[label] for label in close]


def _contains_words(label: str, words: list[str]) -> bool:
    label_words = label.split()
    return all(any(lw.startswith(w) for lw in label_words) for w in words)


def match_choices(typed: str, choices: Sequence[Choice]) -> list[Choice]:
    """Several options typed at once: "1, 3", "1 3", "youth and older people", "all"."""
    said = _norm(typed)
    if said in ("all", "all of them", "all of these", "everything"):  # typed words: input
        return list(choices)
    if re.fullmatch(r"[\d\s]+", said):
        parts = said.split()
    else:
        parts = [p for p in re.split(r",|;|&|\band\b|\n", typed) if p.strip()]
    picked: list[Choice] = []
    for part in parts:
        choice = match_choice(part, choices)
        if choice not in picked:
            picked.append(choice)
    if not picked:
        raise Invalid(text("answers.choice.empty_several"), "1, 3")
    return picked


def _choice_example(choices: Sequence[Choice]) -> str:
    if not choices:
        return ""
    return text("answers.choice.example", option=choices[0].label)
