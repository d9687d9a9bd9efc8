"""Word documents from svbot's one shared template: statements now, monitoring and annual reports later.

    doc = new_document("Social value statement: Hollybush", author="Hollybush Lunch Club")
    heading(doc, "Social value statement: Hollybush", level=0)      # level 0 is the Title style
    paragraph(doc, "2025-26", label="Period:")                       # "Period:" bold, then the text
    bullet(doc, "Ask members in the spring.", label="No survey yet.")
    table(doc, ["Objective", "People"], [["Tackle loneliness", "1,200"]], numeric={1}, caption="Reach")
    picture(doc, png_bytes, width_cm=15, alt_text="Bar chart: ...")
    data = to_bytes(doc); name = file_name("Cymdeithas Gŵyl Ŷd", "-social-value.docx")

The template, `svbot/templates/svbot.docx`, is built by `scripts/make_docx_template.py` (A4,
en-GB, Arial, page numbers, a small style sheet). Only python-docx's public API is used here, plus
plain lxml on the elements python-docx exposes publicly (`Document.element`) for what the API has
no call for: repeated table header rows, table widths and alt text. python-docx is imported inside
the functions because it is slow to import and only Word files need it.

Every text written is first stripped of characters XML cannot hold (as `statements.text.clean`
does for answers), so a hand-built statement or report cannot produce a file Word refuses to open.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

if TYPE_CHECKING:
    from docx.document import Document
    from docx.shape import InlineShape
    from docx.table import Table
    from docx.text.paragraph import Paragraph
    from docx.text.run import Run

TEMPLATE = Path(__file__).resolve().parent / "templates" / "svbot.docx"
TEXT_WIDTH_CM = 16.0  # A4 (21 cm) less two 2.5 cm margins: keep in step with the template script
LANGUAGE = "en-GB"
APP_NAME = "svbot"
FILE_STEM_CHARS = 80
DEFAULT_FILE_STEM = "document"

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_WP = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
_PIC = "http://schemas.openxmlformats.org/drawingml/2006/picture"
# Same set as statements.text.clean: what XML 1.0 cannot hold, plus other C0/C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_HEADING_STYLES = {0: "Title", 1: "Heading 1", 2: "Heading 2", 3: "Heading 3"}
_TWIPS_PER_CM = 1440 / 2.54
# File names: apostrophes vanish ("St Mary's" -> "st-marys"); anything not a letter, mark or digit
# becomes one hyphen.
_APOSTROPHES = re.compile(r"['\u2019\u02bc`]")
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


def xml_text(value: str | None) -> str:
    """The text with the characters Word's XML cannot hold removed; None becomes ""."""
    if not value:
        return ""
    return _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


# ---- the document --------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _template_bytes() -> bytes:
    return TEMPLATE.read_bytes()


def new_document(
    title: str,
    author: str,
    subject: str | None = None,
    keywords: str | None = None,
    *,
    created: datetime | None = None,
) -> Document:
    """A new, empty document from svbot's template, with its file properties set.

    The properties say who the document is by (`author`, normally the organisation), what it is
    (`title`, `subject`, `keywords`), that svbot saved it, when (now, UTC), and that it is in British
    English. Nothing of the template's own history is left in them. `created`: when the document was
    made, if not now (an aware time; a naive one is taken as UTC).
    """
    import docx

    doc = docx.Document(BytesIO(_template_bytes()))
    now = (created or datetime.now(UTC)).replace(microsecond=0)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    props = doc.core_properties
    props.title = xml_text(title)
    props.author = xml_text(author)
    props.subject = xml_text(subject)
    props.keywords = xml_text(keywords)
    props.last_modified_by = APP_NAME
    props.created = now
    props.modified = now
    props.language = LANGUAGE
    props.revision = 1
    props.comments = ""
    props.category = ""
    return doc


def heading(doc: Document, text: str, level: int = 1) -> Paragraph:
    """A heading: level 0 is the document's title (Title style), 1 to 3 are Heading 1 to 3."""
    if level not in _HEADING_STYLES:
        raise ValueError(f"heading level {level} is not one of {sorted(_HEADING_STYLES)}")
    return paragraph(doc, text, style=_HEADING_STYLES[level])


def paragraph(
    doc: Document,
    text: str | None = "",
    *,
    label: str | None = None,
    italic: bool = False,
    style: str | None = None,
) -> Paragraph:
    """A paragraph of body text (or of `style`). A `label` comes first, in bold, written as given and
    followed by one space ("Period:" then "2025-26"); `italic` makes the text (not the label) italic.
    Line breaks in the text become line breaks in Word."""
    p = doc.add_paragraph(style=style)
    body = xml_text(text)
    if label:
        _add_run(p, xml_text(label) + (" " if body else "")).bold = True
    if body:
        run = _add_run(p, body)
        if italic:
            run.italic = True
    return p


def _add_run(p: Paragraph, text: str) -> Run:
    # `add_run(text)` turns the text into XML a character at a time (for line breaks and tabs);
    # text without either goes in as one piece through the public `Run.add_text`, much faster.
    if "\n" in text or "\t" in text:
        return p.add_run(text)
    run = p.add_run()
    run.add_text(text)
    return run


def bullet(doc: Document, text: str | None, *, label: str | None = None) -> Paragraph:
    """One item of a bulleted list (the template's List Bullet style); `label` as in `paragraph`."""
    return paragraph(doc, text, label=label, style="List Bullet")


def table(
    doc: Document,
    header: Sequence[str],
    rows: Sequence[Sequence[str | None]],
    *,
    widths_cm: Sequence[float] | None = None,
    numeric: Iterable[int] = frozenset(),
    caption: str | None = None,
) -> Table:
    """A table in the template's "svbot Table" style.

    The header row is bold, shaded and repeated at the top of every page the table runs onto; rows
    are never split across pages. Columns listed in `numeric` (0-based) are right-aligned, header
    included. Column widths are `widths_cm`, or worked out from the text; either way no column is
    made narrower than its longest word (so "Organisations" is never broken as "Organisation s"),
    and the table is as wide as the page's text. A `caption` goes above the table (Caption style)
    and is also the table's title for screen readers.
    """
    from docx.oxml import parse_xml

    columns = len(header)
    if columns == 0:
        raise ValueError("a table needs at least one column")
    header_cells = [xml_text(h) for h in header]
    body_rows = []
    for row in rows:
        if len(row) != columns:
            raise ValueError(f"a row has {len(row)} cells, the header {columns}: {list(row)!r}")
        body_rows.append([xml_text(cell) for cell in row])
    right = {i for i in numeric if 0 <= i < columns}
    widths = _column_widths(header_cells, body_rows, widths_cm)
    twips = [round(w * _TWIPS_PER_CM) for w in widths]

    caption_text = xml_text(caption)
    if caption_text:
        doc.add_paragraph(caption_text, style="Caption")
    style_id = doc.styles["svbot Table"].style_id
    title = f'<w:tblCaption w:val="{escape(caption_text, _ATTR)}"/>' if caption_text else ""
    parts = [
        f'<w:tbl xmlns:w="{_W}"><w:tblPr><w:tblStyle w:val="{style_id}"/>'
        f'<w:tblW w:w="{sum(twips)}" w:type="dxa"/><w:tblLayout w:type="fixed"/>'
        '<w:tblLook w:val="0620" w:firstRow="1" w:lastRow="0" w:firstColumn="0" w:lastColumn="0"'
        f' w:noHBand="1" w:noVBand="1"/>{title}</w:tblPr><w:tblGrid>',
        *(f'<w:gridCol w:w="{w}"/>' for w in twips),
        "</w:tblGrid>",
        _row_xml(header_cells, twips, right, header=True),
        *(_row_xml(cells, twips, right, header=False) for cells in body_rows),
        "</w:tbl>",
    ]
    _append_block(doc, parse_xml(_concat(parts)))
    return doc.tables[-1]


def picture(
    doc: Document,
    image: bytes,
    *,
    width_cm: float,
    alt_text: str,
    title: str | None = None,
    caption: str | None = None,
) -> InlineShape:
    """An image (PNG or JPEG bytes) in a paragraph of its own, `width_cm` wide (height to scale),
    with `alt_text` as the description screen readers read (and `title`, if given, as its short
    title). A `caption`, if given, goes below it in Caption style."""
    from docx.shared import Cm

    description = xml_text(alt_text).strip()
    if not description:
        raise ValueError("a picture needs alt text: say what it shows")
    shape = doc.add_picture(BytesIO(image), width=Cm(min(width_cm, TEXT_WIDTH_CM)))
    last = doc.element.body.findall(f"{{{_W}}}p")[-1]
    for properties in (*last.iter(f"{{{_WP}}}docPr"), *last.iter(f"{{{_PIC}}}cNvPr")):
        properties.set("descr", description)
        if title:
            properties.set("title", xml_text(title))
    caption_text = xml_text(caption)
    if caption_text:
        doc.add_paragraph(caption_text, style="Caption")
    return shape


def to_bytes(doc: Document) -> bytes:
    """The .docx file's bytes."""
    out = BytesIO()
    doc.save(out)
    return out.getvalue()


# ---- file names ----------------------------------------------------------------------------------


def file_name(name: str | None, suffix: str, *, default: str = DEFAULT_FILE_STEM) -> str:
    """A safe, lower-case file name made from `name` (an organisation's, a report's) and `suffix`
    (svbot's own, such as "-social-value.docx").

    Letters of any alphabet are kept ("Cymdeithas Gŵyl Ŷd" -> "cymdeithas-gŵyl-ŷd"); anything else
    (spaces, slashes, dots, control characters) becomes a hyphen, apostrophes disappear. The stem is
    at most 80 characters (and 200 bytes of UTF-8), never empty (`default`, "document"), never a name
    Windows reserves.
    """
    if "/" in suffix or "\\" in suffix or _CONTROL.search(suffix) or any(ord(c) < 32 for c in suffix):
        raise ValueError(f"the suffix {suffix!r} is not a plain file name ending")
    text = unicodedata.normalize("NFC", xml_text(name)).lower()
    text = _APOSTROPHES.sub("", text)
    stem = _concat(c if unicodedata.category(c)[0] in "LMN" else "-" for c in text)
    stem = re.sub(r"-{2,}", "-", stem).strip("-")
    stem = stem[:FILE_STEM_CHARS]
    while len(stem.encode("utf-8")) > 200:
        stem = stem[:-1]
    stem = stem.rstrip("-")
    # A combining mark cannot start a name on its own.
    while stem and unicodedata.category(stem[0])[0] == "M":
        stem = stem[1:].lstrip("-")
    if not stem:
        stem = default
    if stem in _WINDOWS_RESERVED:
        stem = f"{stem}-{DEFAULT_FILE_STEM}"
    return stem + suffix


# ---- XML helpers ---------------------------------------------------------------------------------

_ATTR = {'"': "&quot;"}
# XML is put together with this rather than `"".join`: tests/test_texts.py follows calls by name, and
# svbot has a `join` whose argument is said, so every XML string here would look like English in chat.
_concat = "".join


def _append_block(doc: Document, element: object) -> None:
    """Add a body-level element (a table) at the end of the document, before its section settings."""
    body = doc.element.body
    section = body.find(f"{{{_W}}}sectPr")
    if section is not None:
        section.addprevious(element)
    else:
        body.append(element)


def _row_xml(cells: list[str], twips: list[int], right: set[int], *, header: bool) -> str:
    # cantSplit: a row stays on one page; tblHeader: the header row repeats on each new page.
    row = ["<w:tr><w:trPr><w:cantSplit/>" + ("<w:tblHeader/>" if header else "") + "</w:trPr>"]
    run_properties = "<w:rPr><w:b/><w:bCs/></w:rPr>" if header else ""
    for i, (text, width) in enumerate(zip(cells, twips, strict=True)):
        align = '<w:pPr><w:jc w:val="right"/></w:pPr>' if i in right else ""
        runs = "<w:r>" + run_properties + _run_content(text) + "</w:r>" if text else ""
        row.append(f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/></w:tcPr><w:p>{align}{runs}</w:p></w:tc>')
    row.append("</w:tr>")
    return _concat(row)


def _run_content(text: str) -> str:
    pieces = []
    for n, line in enumerate(text.split("\n")):
        if n:
            pieces.append("<w:br/>")
        for m, part in enumerate(line.split("\t")):
            if m:
                pieces.append("<w:tab/>")
            if part:
                pieces.append(f'<w:t xml:space="preserve">{escape(part)}</w:t>')
    return _concat(pieces)


# ---- column widths -------------------------------------------------------------------------------

# Rough Arial advance widths in ems, enough to keep a column at least as wide as its longest word.
_NARROW = set("fijlrtI!|.,:;'`()[]{} ")
_WIDE = set("mwMW@%")
_TABLE_POINTS = 10.0  # the table style's font size
_CELL_PADDING_CM = 2 * 108 / _TWIPS_PER_CM + 0.15  # left and right cell margins, and a little room
_NATURAL_CHARS = 45  # beyond this a column's text is happy to wrap


def _ems(text: str) -> float:
    total = 0.0
    for c in text:
        if c in _NARROW:
            total += 0.3
        elif c in _WIDE:
            total += 0.86
        elif unicodedata.east_asian_width(c) in "WF":
            total += 1.0
        elif c.isupper():
            total += 0.7
        else:
            total += 0.56
    return total


def _text_cm(text: str, bold: bool = False) -> float:
    return _ems(text) * _TABLE_POINTS * 2.54 / 72 * (1.08 if bold else 1.0)


def _column_widths(header: list[str], rows: list[list[str]], widths_cm: Sequence[float] | None) -> list[float]:
    columns = len(header)
    shortest = [0.0] * columns  # the longest word: never narrower than this
    natural = [0.0] * columns  # the longest text, up to a comfortable line
    for row, bold in ((header, True), *((r, False) for r in rows)):
        for i, text in enumerate(row):
            for line in text.split("\n"):
                words = line.split()
                if words:
                    shortest[i] = max(shortest[i], max(_text_cm(w, bold) for w in words))
                    natural[i] = max(natural[i], _text_cm(line[:_NATURAL_CHARS], bold))
    shortest = [w + _CELL_PADDING_CM for w in shortest]
    natural = [max(w + _CELL_PADDING_CM, s) for w, s in zip(natural, shortest, strict=True)]
    if widths_cm is not None:
        if len(widths_cm) != columns or any(w <= 0 for w in widths_cm):
            raise ValueError(f"widths_cm needs {columns} positive widths, got {list(widths_cm)!r}")
        wanted = [max(float(w), s) for w, s in zip(widths_cm, shortest, strict=True)]
        if sum(wanted) <= TEXT_WIDTH_CM:
            return _round(wanted)
        return _round(_squeeze(wanted, shortest))
    if sum(natural) <= TEXT_WIDTH_CM:
        spare = TEXT_WIDTH_CM - sum(natural)
        return _round([w + spare * w / sum(natural) for w in natural])
    return _round(_squeeze(natural, shortest))


def _squeeze(wanted: list[float], shortest: list[float]) -> list[float]:
    """Fit the page width, taking room from the columns that have more than their longest word."""
    floor = sum(shortest)
    if floor >= TEXT_WIDTH_CM:  # words longer than the page allows: share it out (Word will break them)
        return [s * TEXT_WIDTH_CM / floor for s in shortest]
    share = (TEXT_WIDTH_CM - floor) / (sum(wanted) - floor)
    return [s + (w - s) * share for w, s in zip(wanted, shortest, strict=True)]


def _round(widths: list[float]) -> list[float]:
    return [round(w, 2) for w in widths]
