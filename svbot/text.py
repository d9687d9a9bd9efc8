"""svbot's own words, one file per language: `svbot/texts/<locale>.yaml`.

    text("deadlines.due.none")                          # the English sentence
    text("support.join.welcome", role=..., organisation=...)
    text("common.people", count=3)                      # "3 people": a plural picks its form by `count`
    text("deadlines.due.none", "cy")                    # Welsh, once svbot/texts/cy.yaml has it

    with speaking("cy"):                                # everything said inside, in Welsh
        text("deadlines.due.none")

Without a locale, `text()` speaks the current one (`current_locale()`, English unless inside
`speaking(...)`): a chat turn speaks its conversation's locale, else its organisation's (svbot.turns),
and reminders, broadcasts and digests are written in their recipients' organisation's.

Keys are dotted paths into the file's nested mappings, grouped by feature. A value is a template
filled with `str.format_map`: placeholders are `{name}` (with an optional format spec, `{count:,}`),
and whatever a person typed only ever goes in as a value, never as the template. A plural is a
mapping of CLDR categories (`one`, `other`; Welsh also `zero`, `two`, `few`, `many`) and needs a
`count` value. A locale without a file, or a file without the key, falls back to English; a key
missing from English is a mistake in the code and raises :class:`TextError`.

Each file is read and checked once, the first time it is needed (module constants bound to
`text(...)` load English when svbot starts, and stay English: say a text to someone with a call at
the time): a malformed file stops svbot with the file and the key.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from functools import cache, lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

TEXTS_DIR = Path(__file__).resolve().parent / "texts"
ENGLISH = "en"
PLURAL_FORMS = frozenset({"zero", "one", "two", "few", "many", "other"})
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")

_LOCALE = re.compile(r"^[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")  # "en", "cy", "cy-GB": never a path
_RESERVED = frozenset({"key", "locale"})  # text()'s own parameters cannot be placeholders

Template = str | dict[str, str]  # a plain template, or a plural's templates by category


class TextError(LookupError):
    """A key the code asks for is missing from English, a value is missing, or a text file is malformed."""


# The locale of whatever is being said now: a turn's, or a reminder's recipients'. One get per text().
_CURRENT: ContextVar[str] = ContextVar("svbot_locale", default=ENGLISH)


def current_locale() -> str:
    """The locale `text()` speaks when given none: English unless inside `speaking(...)`."""
    return _CURRENT.get()


@contextmanager
def speaking(locale: str | None) -> Iterator[str]:
    """Say everything inside in `locale` (None or "": English); yields the locale used. Nests, and
    each asyncio task has its own (a context variable), so concurrent turns never mix languages."""
    chosen = locale or ENGLISH
    token = _CURRENT.set(chosen)
    try:
        yield chosen
    finally:
        _CURRENT.reset(token)


def use_locale(locale: str | None) -> None:
    """Switch the current locale until the enclosing `speaking(...)` ends (a turn learns its locale
    only once it has read the conversation). Outside any `speaking`, it lasts for the task."""
    _CURRENT.set(locale or ENGLISH)


def text(key: str, locale: str | None = None, **values: Any) -> str:
    """The text under `key` in `locale` (None: the current locale, see `speaking`), filled with `values`."""
    chosen, template = _lookup(key, locale or _CURRENT.get())
    if isinstance(template, dict):
        if "count" not in values:
            raise TextError(f"text {key!r} is a plural and needs a count")
        template = template.get(plural_form(chosen, values["count"])) or template["other"]
    try:
        return template.format_map(values)
    except KeyError as exc:
        raise TextError(f"text {key!r} needs a value for {exc.args[0]!r}") from None


def has_texts(locale: str) -> bool:
    """Whether svbot has a text file for this locale, or for its language ("cy-GB": cy.yaml); English
    always. What an operator may choose for an organisation."""
    if not _LOCALE.match(locale):
        return False
    return _language(locale) == ENGLISH or any(_table(found) is not None for found in fallbacks(locale)[:-1])


def locales() -> list[str]:
    """The locales svbot has a text file for, English first."""
    found = sorted(path.stem for path in TEXTS_DIR.glob("*.yaml") if _LOCALE.match(path.stem))
    return [ENGLISH, *(locale for locale in found if locale != ENGLISH)]


def fallbacks(locale: str) -> tuple[str, ...]:
    """Where a locale's words are looked for, in order, English last: "cy-GB" -> cy-GB, cy, en."""
    return _candidates(locale or ENGLISH)


def localise(said: str) -> str:
    """An English text filled in before anyone was speaking (a menu entry, registered when svbot
    starts), in the current locale: the same key's text, if `said` is the whole of an English text
    without placeholders; otherwise `said` as it is. English costs one lookup of the locale."""
    locale = _CURRENT.get()
    if locale == ENGLISH:
        return said
    key = _english_keys().get(said)
    return said if key is None else text(key, locale)


def keys(locale: str = ENGLISH) -> frozenset[str]:
    """Every key in a locale's file (empty if it has none)."""
    return frozenset(_table(locale) or {})


def placeholders(locale: str, key: str) -> frozenset[str]:
    """The placeholder names a text uses (in all its plural forms)."""
    template = (_table(locale) or {})[key]
    forms = template.values() if isinstance(template, dict) else [template]
    return frozenset(name for form in forms for _, name, _, _ in string.Formatter().parse(form) if name)


def plural_form(locale: str, count: Any) -> str:
    """The CLDR plural category of a whole number in a language (English's rule for most)."""
    n = abs(int(count))
    if locale != ENGLISH and _language(locale) == "cy":
        return _WELSH_PLURALS.get(n, "other")
    return "one" if n == 1 else "other"


_WELSH_PLURALS = {0: "zero", 1: "one", 2: "two", 3: "few", 6: "many"}


def date_values(day: date, locale: str | None = None) -> Mapping[str, Any]:
    """A date's parts in words, for templates: weekday ("Fri"), day (31), month ("Jan"),
    month_long ("January"), year (2027), in `locale` (None: the current one). Use as
    `text("dates.day", **date_values(day))`."""
    return _date_values(day, locale or _CURRENT.get())


@lru_cache(maxsize=4096)
def _date_values(day: date, locale: str) -> Mapping[str, Any]:
    weekday, month = WEEKDAYS[day.weekday()], MONTHS[day.month - 1]
    return MappingProxyType(
        {
            "weekday": text(f"dates.weekday.{weekday}", locale),
            "day": day.day,
            "month": text(f"dates.month.{month}", locale),
            "month_long": text(f"dates.month_long.{month}", locale),
            "year": day.year,
        }
    )


def reload() -> None:
    """Forget the files read so far (tests that change them; svbot itself reads each once)."""
    for cached in (_table, _lookup, _candidates, _language, _date_values, _english_keys):
        cached.cache_clear()


@cache
def _lookup(key: str, locale: str) -> tuple[str, Template]:
    """(the locale whose text is used, the template). Cached: a text is found once per process."""
    for candidate in _candidates(locale):
        table = _table(candidate)
        if table is not None and key in table:
            return candidate, table[key]
    raise TextError(f"no text {key!r} in {TEXTS_DIR / (ENGLISH + '.yaml')}")


@cache
def _english_keys() -> dict[str, str]:
    """English text -> its key, for the texts without placeholders or plural forms (see `localise`)."""
    found: dict[str, str] = {}
    for key, template in (_table(ENGLISH) or {}).items():
        if isinstance(template, str) and "{" not in template:
            found.setdefault(template, key)
    return found


@cache
def _candidates(locale: str) -> tuple[str, ...]:
    """Where to look, in order: "cy-GB" -> cy-GB, cy, en. Anything not shaped like a locale: en."""
    found = [locale, _language(locale)] if _LOCALE.match(locale) else []
    return tuple(dict.fromkeys([*found, ENGLISH]))


@cache
def _language(locale: str) -> str:
    return re.split(r"[-_]", locale, maxsplit=1)[0].lower()


@cache
def _table(locale: str) -> dict[str, Template] | None:
    """A locale's file, flattened to dotted keys and checked; None if there is no such file."""
    if not _LOCALE.match(locale):
        return None
    path = TEXTS_DIR / f"{locale}.yaml"
    if not path.is_file():
        if locale == ENGLISH:
            raise TextError(f"{path} is missing: svbot cannot speak without it")
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise TextError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, Mapping):
        raise TextError(f"{path}: expected a mapping of keys to texts")
    table: dict[str, Template] = {}
    _flatten(path, data, "", table)
    return table


def _flatten(path: Path, node: Mapping[Any, Any], prefix: str, into: dict[str, Template]) -> None:
    for name, value in node.items():
        key = f"{prefix}{name}"
        if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]+", name):
            raise TextError(f"{path}: {key!r}: a key is lower-case letters, digits and underscores")
        if isinstance(value, str):
            into[key] = _checked(path, key, value)
        elif isinstance(value, Mapping) and value and set(value) <= PLURAL_FORMS:
            if "other" not in value or not all(isinstance(form, str) for form in value.values()):
                raise TextError(f"{path}: {key!r}: a plural needs an 'other' form, and each form is a text")
            into[key] = {form: _checked(path, f"{key}.{form}", template) for form, template in value.items()}
        elif isinstance(value, Mapping) and value:
            _flatten(path, value, key + ".", into)
        else:
            raise TextError(f"{path}: {key!r}: expected a text or a group of texts, found {value!r}")


def _checked(path: Path, key: str, template: str) -> str:
    """A template whose placeholders are plain names: no positional `{}`, no `{a.b}` or `{a[0]}`."""
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        raise TextError(f"{path}: {key!r}: {exc} (write a literal brace as {{{{ or }}}})") from None
    for name in fields:
        if not name.isidentifier() or name in _RESERVED:
            raise TextError(f"{path}: {key!r}: placeholder {{{name}}} must be a plain name, not key or locale")
    return template
