"""Render a composed statement as Markdown, HTML, plain text or Word.

Templates are files shipped in `svbot/statements/templates/` (names `statement.<fmt>.j2`), run in
Jinja2's sandbox. People's answers are only ever passed in as data, never compiled as templates,
and every value printed is escaped for its format by the environment itself (Markdown: backslash
escapes; HTML: autoescaping), so a template cannot forget to. Word files are built from svbot's
shared Word template with `svbot.documents` (python-docx text runs, which Word never interprets as
markup).

A framework may bring its own template for one format (`template: name.md.j2` beside its YAML).
It can `{% extends "svbot/statement.md.j2" %}` and override blocks.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from jinja2 import ChoiceLoader, FileSystemLoader, PrefixLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from svbot.statements.model import STRENGTH_LABELS, Statement
from svbot.statements.text import md_escape, one_line, split_text

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
    text = env.get_template(name).render(s=statement, strength_labels=STRENGTH_LABELS)
    return text.strip() + "\n"


def body_text(statement: Statement) -> str:
    """The plain-text statement as it would be submitted: without the gaps list and svbot's notes.
    Word and character limits are counted on this."""
    statement.counting = True
    try:
        text = render(statement, "txt")
    finally:
        statement.counting = False
    assert isinstance(text, str)
    return text


def chat_chunks(statement: Statement, max_chars: int) -> list[str]:
    """The Markdown statement in pieces of at most max_chars, split at paragraph, then sentence,
    then word boundaries (never mid-word unless one word is longer than max_chars)."""
    text = render(statement, "md")
    assert isinstance(text, str)
    return split_text(text, max_chars)


# ---- Jinja2 ------------------------------------------------------------------------------------


def _md_value(value: Any) -> Any:
    if value is None:
        return ""
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
    return env


# ---- Word --------------------------------------------------------------------------------------


def _render_docx(s: Statement) -> bytes:
    # svbot.documents imports python-docx itself, inside its functions: only Word needs it.
    from svbot.documents import bullet, heading, new_document, paragraph, table, to_bytes

    title = f"Social value statement: {s.org_name}"
    doc = new_document(title, author=s.org_name, subject=s.framework_title, keywords="social value")
    heading(doc, title, level=0)
    paragraph(doc, s.framework_title, label="Framework:")
    paragraph(doc, s.framework_owner, label="Set by:")
    if s.period:
        paragraph(doc, s.period, label="Period:")
    if s.illustrative_note:
        paragraph(doc, s.illustrative_note, label="Note:", italic=True)

    heading(doc, "Summary")
    paragraph(doc, s.summary)
    if s.org_what:
        paragraph(doc, s.org_what, label="About us:")
    if s.who_benefits:
        paragraph(doc, "; ".join(s.who_benefits), label="Who benefits:")
    if s.equality_groups:
        paragraph(doc, "; ".join(s.equality_groups), label="Equality groups reached:")
    if s.numbers_text:
        label = "Our figures" + (f" for {s.figures_period}" if s.figures_period else "")
        paragraph(doc, s.numbers_text, label=label + ":")

    for sec in s.sections:
        heading(doc, f"{sec.number}. {sec.title}")
        if sec.theme:
            paragraph(doc, sec.theme, italic=True)
        paragraph(doc, sec.strength_label, label="Evidence strength:")
        if sec.activity:
            paragraph(doc, sec.activity.text, label=f"What we do ({sec.activity.strength_label.lower()}):")
        if sec.over_and_above:
            paragraph(doc, sec.over_and_above, label="Over and above what we are funded for:")
        if sec.who_benefits:
            paragraph(doc, "; ".join(sec.who_benefits), label="Who benefits:")
        if sec.equality_groups:
            paragraph(doc, "; ".join(sec.equality_groups), label="Equality groups reached:")
        if sec.numbers_text:
            paragraph(doc, sec.numbers_text, label="Figures:")
        if sec.difference:
            label = f"The difference it makes ({sec.difference.strength_label.lower()}):"
            paragraph(doc, sec.difference.text, label=label)
        paragraph(doc, "; ".join(sec.evidence) if sec.evidence else "No evidence yet.", label="How we know:")
        if sec.evidence_detail:
            paragraph(doc, sec.evidence_detail)
        if sec.story:
            paragraph(doc, sec.story, label="In their words:")
        c = sec.commitment
        if c.text:
            paragraph(doc, c.text, label="Our commitment for the next period:")
            if c.measure:
                paragraph(doc, c.measure, label="Measure:")
            if c.due_text:
                paragraph(doc, c.due_text, label="By:")
        else:
            paragraph(doc, "Not yet set.", label="Our commitment for the next period:")

    heading(doc, "The numbers")
    if s.numbers:
        rows = [[n.objective_title, n.measure + (f" ({n.note})" if n.note else ""), n.figure] for n in s.numbers]
        table(doc, ["Objective", "Measure", "Figure"], rows, numeric={2})
    else:
        paragraph(doc, "No figures given yet.")

    heading(doc, "Gaps to close before you submit")
    if s.gaps:
        for gap in s.gaps:
            bullet(doc, "Suggestion: " + gap.suggestion, label=gap.problem)
    else:
        paragraph(doc, "None found.")

    paragraph(doc, s.count_line)
    paragraph(doc, s.framework_source + (f" {s.framework_url}" if s.framework_url else ""), label="Objectives from:")
    paragraph(doc, s.framework_licence, label="Licence:")
    return to_bytes(doc)
