"""Render a composed statement as Markdown, HTML, plain text or Word.

Templates are files shipped in `svbot/statements/templates/` (names `statement.<fmt>.j2`), run in
Jinja2's sandbox. People's answers are only ever passed in as data, never compiled as templates,
and every value printed is escaped for its format by the environment itself (Markdown: backslash
escapes; HTML: autoescaping), so a template cannot forget to. Word files are built with
python-docx text runs, which Word never interprets as markup.

A framework may bring its own template for one format (`template: name.md.j2` beside its YAML).
It can `{% extends "svbot/statement.md.j2" %}` and override blocks.
"""

from __future__ import annotations

from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any, Literal

from jinja2 import ChoiceLoader, FileSystemLoader, PrefixLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from svbot.statements.model import STRENGTH_LABELS, Statement
from svbot.statements.text import clean, md_escape, one_line, split_text

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
    from docx import Document  # imported here: it is slow to import and only Word needs it

    doc = Document()
    styles = _StyleIds(doc)
    doc.core_properties.title = _x(f"Social value statement: {s.org_name}")
    doc.core_properties.author = _x(s.org_name)
    styles.add(doc, "Title", f"Social value statement: {s.org_name}")
    _labelled(doc, "Framework", s.framework_title)
    _labelled(doc, "Set by", s.framework_owner)
    if s.period:
        _labelled(doc, "Period", s.period)
    if s.illustrative_note:
        note = doc.add_paragraph()
        note.add_run("Note: ").bold = True
        note.add_run(_x(s.illustrative_note)).italic = True

    styles.add(doc, "Heading 1", "Summary")
    doc.add_paragraph(_x(s.summary))
    if s.org_what:
        _labelled(doc, "About us", s.org_what)
    if s.who_benefits:
        _labelled(doc, "Who benefits", "; ".join(s.who_benefits))
    if s.equality_groups:
        _labelled(doc, "Equality groups reached", "; ".join(s.equality_groups))
    if s.numbers_text:
        _labelled(doc, "Our figures" + (f" for {s.figures_period}" if s.figures_period else ""), s.numbers_text)

    for sec in s.sections:
        styles.add(doc, "Heading 1", f"{sec.number}. {sec.title}")
        if sec.theme:
            doc.add_paragraph().add_run(_x(sec.theme)).italic = True
        _labelled(doc, "Evidence strength", sec.strength_label)
        if sec.activity:
            _labelled(doc, f"What we do ({sec.activity.strength_label.lower()})", sec.activity.text)
        if sec.over_and_above:
            _labelled(doc, "Over and above what we are funded for", sec.over_and_above)
        if sec.who_benefits:
            _labelled(doc, "Who benefits", "; ".join(sec.who_benefits))
        if sec.equality_groups:
            _labelled(doc, "Equality groups reached", "; ".join(sec.equality_groups))
        if sec.numbers_text:
            _labelled(doc, "Figures", sec.numbers_text)
        if sec.difference:
            _labelled(doc, f"The difference it makes ({sec.difference.strength_label.lower()})",
                      sec.difference.text)
        _labelled(doc, "How we know", "; ".join(sec.evidence) if sec.evidence else "No evidence yet.")
        if sec.evidence_detail:
            doc.add_paragraph(_x(sec.evidence_detail))
        if sec.story:
            _labelled(doc, "In their words", sec.story)
        c = sec.commitment
        if c.text:
            _labelled(doc, "Our commitment for the next period", c.text)
            if c.measure:
                _labelled(doc, "Measure", c.measure)
            if c.due_text:
                _labelled(doc, "By", c.due_text)
        else:
            _labelled(doc, "Our commitment for the next period", "Not yet set.")

    styles.add(doc, "Heading 1", "The numbers")
    if s.numbers:
        # Sized up front: add_row() re-reads the whole grid each time, which is slow for long tables.
        table = doc.add_table(rows=len(s.numbers) + 1, cols=3)
        table.style = "Table Grid"
        rows = table.rows
        for cell, title in zip(rows[0].cells, ("Objective", "Measure", "Figure"), strict=True):
            cell.paragraphs[0].add_run(title).bold = True
        for row, number in zip(rows[1:], s.numbers, strict=True):
            cells = row.cells
            cells[0].text = _x(number.objective_title)
            cells[1].text = _x(number.measure + (f" ({number.note})" if number.note else ""))
            cells[2].text = _x(number.figure)
    else:
        doc.add_paragraph("No figures given yet.")

    styles.add(doc, "Heading 1", "Gaps to close before you submit")
    if s.gaps:
        for gap in s.gaps:
            item = styles.add(doc, "List Bullet", "")
            item.add_run(_x(gap.problem)).bold = True
            item.add_run(" Suggestion: " + _x(gap.suggestion))
    else:
        doc.add_paragraph("None found.")

    doc.add_paragraph(_x(s.count_line))
    _labelled(doc, "Objectives from", s.framework_source + (f" {s.framework_url}" if s.framework_url else ""))
    _labelled(doc, "Licence", s.framework_licence)
    out = BytesIO()
    doc.save(out)
    return out.getvalue()


class _StyleIds:
    """Paragraph styles looked up once per document.

    python-docx resolves a style name on every paragraph by scanning the whole style sheet, which
    made a 12-objective statement take most of its 300 ms budget; setting the looked-up id on the
    paragraph's XML directly (`CT_P.style`) gives the same document.
    """

    def __init__(self, doc: Any) -> None:
        self._ids = {name: doc.styles[name].style_id for name in ("Title", "Heading 1", "List Bullet")}

    def add(self, doc: Any, style: str, text: str) -> Any:
        paragraph = doc.add_paragraph(_x(text) if text else "")
        paragraph._p.style = self._ids[style]
        return paragraph


def _labelled(doc: Any, label: str, text: str) -> None:
    paragraph = doc.add_paragraph()
    paragraph.add_run(_x(label) + ": ").bold = True
    paragraph.add_run(_x(text))


def _x(text: str) -> str:
    # compose() already cleans answers; a Statement built by hand may not be, and Word's XML
    # cannot hold control characters.
    return clean(text) or ""
