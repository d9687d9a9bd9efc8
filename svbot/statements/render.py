"""Render a composed statement as Markdown, HTML, plain text or Word.

Templates are files shipped in `svbot/statements/templates/` (names `statement.<fmt>.j2`), run in
Jinja2's sandbox. People's answers are only ever passed in as data, never compiled as templates,
and every value printed is escaped for its format by the environment itself (Markdown: backslash
escapes; HTML: autoescaping), so a template cannot forget to. Word files are built from svbot's
shared Word template with `svbot.documents` (python-docx text runs, which Word never interprets as
markup).

svbot's words come from svbot/texts/<locale>.yaml (the `statement.` group), in the current locale
(`svbot.text.speaking`): Python says them with `text(key, **values)`, a template with
`{{ t("statement.notes.heading") }}`. A text from the file is svbot's, like the template's own
markup; the values given to `t` are escaped for the format first, as every other value is.

A framework may bring its own template for one format (`template: name.md.j2` beside its YAML).
It can `{% extends "svbot/statement.md.j2" %}` and override blocks.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from jinja2 import ChoiceLoader, FileSystemLoader, PrefixLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from svbot import text as texts
from svbot.statements.model import STRENGTH_LABELS, Statement
from svbot.statements.text import md_escape, one_line, split_text
from svbot.text import text

Format = Literal["md", "html", "txt", "docx"]
FORMATS: tuple[str, ...] = ("md", "html", "txt", "docx")
MEDIA_TYPES = {
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
# Platform message limits, for chat_chunks callers.
SLACK_BLOCK_LIMIT = 3000
TELEGRAM_MESSAGE_LIMIT = 4096


def render(statement: Statement, fmt: Format) -> str | bytes:
    """The statement as text (md, html, txt) or as the bytes of a .docx file."""
    if fmt == "docx":
        return _render_docx(statement)
    if fmt not in ("md", "html", "txt"):
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    env = _environment(fmt, statement.template_dir)
    name = f"svbot/statement.{fmt}.j2"
    if statement.template_name and statement.template_dir and statement.template_name.endswith(f".{fmt}.j2"):
        name = statement.template_name
    rendered = env.get_template(name).render(s=statement, strength_labels=STRENGTH_LABELS)
    return rendered.strip() + "\n"


def body_text(statement: Statement) -> str:
    """The text to submit, as plain text, without svbot's notes: what word and character limits count."""
    from svbot.statements.compose import submit_text  # compose renders nothing; no cycle at import

    return submit_text(statement)


def chat_chunks(statement: Statement, max_chars: int) -> list[str]:
    """The Markdown statement in pieces of at most max_chars, split at paragraph, then sentence,
    then word boundaries (never mid-word unless one word is longer than max_chars)."""
    markdown = render(statement, "md")
    assert isinstance(markdown, str)
    return split_text(markdown, max_chars)


# ---- Jinja2 ------------------------------------------------------------------------------------


class _Said(str):
    """svbot's own words from the text files, filled with escaped values: Markdown prints them as they are."""

    __slots__ = ()


def _md_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, _Said):
        return str(value)
    return md_escape(value) if isinstance(value, str) else value


def _plain_value(value: Any) -> Any:
    return "" if value is None else value


@lru_cache(maxsize=32)
def _environment(fmt: str, extra_dir: str | None) -> SandboxedEnvironment:
    loaders: list[Any] = [PrefixLoader({"svbot": FileSystemLoader(TEMPLATES_DIR)})]
    if extra_dir:
        loaders.append(FileSystemLoader(extra_dir))
    env = SandboxedEnvironment(
        loader=ChoiceLoader(loaders),
        autoescape=fmt == "html",
        finalize=_md_value if fmt == "md" else _plain_value,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters["oneline"] = lambda v: one_line(v) if isinstance(v, str) else v
    env.globals["t"] = _say(fmt)
    return env


def _say(fmt: str) -> Any:
    """The templates' `t(key, **values)`: svbot's text in the current locale, its values escaped for
    the format (HTML: autoescaped; Markdown: backslash escapes) and the text itself kept as written.
    (Its keys are written in the templates, and checked there by tests/test_texts.py.)"""
    say = texts.text
    if fmt == "html":

        def t(key: str, **values: Any) -> Markup:
            return Markup(say(key, **{name: escape(v) if isinstance(v, str) else v for name, v in values.items()}))

    elif fmt == "md":

        def t(key: str, **values: Any) -> _Said:  # type: ignore[misc]
            return _Said(say(key, **{name: md_escape(v) if isinstance(v, str) else v for name, v in values.items()}))

    else:

        def t(key: str, **values: Any) -> str:  # type: ignore[misc]
            return say(key, **values)

    return t


# ---- Word --------------------------------------------------------------------------------------


def _render_docx(s: Statement) -> bytes:
    # svbot.documents imports python-docx itself, inside its functions: only Word needs it.
    from svbot.documents import bullet, heading, new_document, paragraph, to_bytes

    title = text("statement.title", organisation=s.org_name)
    doc = new_document(title, author=s.org_name, subject=s.framework_title, keywords=text("statement.keywords"))
    heading(doc, title, level=0)
    paragraph(doc, text("statement.draft_for", framework=s.framework_title, owner=s.framework_owner), italic=True)
    if s.notice:
        paragraph(doc, s.notice, label=text("statement.please_note"), italic=True)
    if s.opening:
        paragraph(doc, s.opening_paragraph)
    for sec in s.sections:
        heading(doc, sec.title)
        paragraph(doc, sec.paragraph)

    heading(doc, text("statement.notes.heading"))
    heading(doc, text("statement.notes.strength"), level=2)
    for sec in s.sections:
        bullet(doc, sec.evidence_note, label=f"{sec.title}: {sec.strength_label}.")
    for note in s.notes:
        bullet(doc, note)
    if s.figures:
        heading(doc, text("statement.notes.figures_for", period=s.figures_period) if s.figures_period
                else text("statement.notes.figures"), level=2)  # fmt: skip
        for f in s.figures:
            where = f" ({f.objective_title})" if f.objective_title else ""
            bullet(doc, f.figure + (f". {f.note}" if f.note else ""), label=f"{f.measure}{where}:")
    if s.working:
        heading(doc, text("statement.notes.working"), level=2)
        for line in s.working:
            bullet(doc, line)
    heading(doc, text("statement.notes.gaps"), level=2)
    for gap in s.gaps:
        bullet(doc, gap.suggestion, label=gap.problem)
    if not s.gaps:
        paragraph(doc, text("statement.notes.no_gaps"))
    paragraph(doc, s.count_line)
    source = s.framework_source + (f" {s.framework_url}" if s.framework_url else "")
    paragraph(doc, f"{source} {text('statement.licence', licence=s.framework_licence)}", label=text("statement.source"))
    return to_bytes(doc)
