"""svbot's shared Word template and `svbot.documents`: what every .docx svbot makes must be.

A4, British English, page numbers, honest file properties, tables whose header row repeats and whose
numbers line up on the right, pictures with alt text, and file names that keep Welsh letters."""

from __future__ import annotations

import importlib.util
import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import docx
import pytest
from docx.shared import Length, Mm
from lxml import etree

from svbot import documents
from svbot.documents import TEMPLATE, TEXT_WIDTH_CM, file_name, new_document, paragraph, picture, table, to_bytes
from svbot.paths import dialogues_dir
from tests.scenario import Clock, ScenarioBot, make_bot
from tests.test_walkthrough import walk

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NS = {
    "w": W,
    "wp": "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
    "cp": "http://schemas.openxmlformats.org/package/2006/metadata/core-properties",
}
ROOT = Path(__file__).resolve().parent.parent
WELSH = "Cymdeithas Gŵyl Ŷd"
# A 1x1 PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201a2d0f1a70000000049454e44ae426082"
)


def part(data: bytes, name: str) -> etree._Element:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return etree.fromstring(package.read(name))


def raw(data: bytes, name: str) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return package.read(name).decode("utf-8")


def w(name: str) -> str:
    return f"{{{W}}}{name}"


@pytest.fixture
async def walked(db_url: str) -> tuple[str, bytes]:
    """A statement made through the real walk-through with the shipped dialogues: its file's name and bytes."""
    bot = await make_bot(db_url, dialogues_dir=dialogues_dir(), clock=Clock())
    person = ScenarioBot(bot)
    try:
        await walk(person, {
            "name": WELSH, "what": "A harvest festival and weekly community meals in Llanbedr",
            "size": "2", "framework": "building social capital", "who_benefits": "older", "period": "1",
            "people_reached": "1,200", "volunteers": "12", "volunteer_hours": "about 600",
            "objectives": "1, 2", "activity": "We cook a weekly meal for the village", "change": "Less lonely",
            "evidence_kinds": "1, 2", "evidence_detail": "28 of 35 members said so in our survey",
        })  # fmt: skip
    finally:
        await bot.db_engine.dispose()  # type: ignore[attr-defined]
    files = [m.file for m in person.replies if m.file is not None]
    assert len(files) == 1
    return files[0].filename, files[0].content


async def test_a_walked_statement_is_a4_british_english_with_page_numbers(walked: tuple[str, bytes]) -> None:
    name, data = walked
    assert name == "cymdeithas-gŵyl-ŷd-social-value.docx", "Welsh letters kept in the file name"
    document = docx.Document(io.BytesIO(data))

    section = document.sections[0]
    assert abs(section.page_width - Mm(210)) < Mm(0.1) and abs(section.page_height - Mm(297)) < Mm(0.1)
    text_width = section.page_width - section.left_margin - section.right_margin
    assert abs(Length(text_width).cm - TEXT_WIDTH_CM) < 0.01, "documents.TEXT_WIDTH_CM matches the template"
    assert section.left_margin.cm >= 2 and section.top_margin.cm >= 2

    styles = part(data, "word/styles.xml")
    default_lang = styles.find("w:docDefaults/w:rPrDefault/w:rPr/w:lang", NS)
    assert default_lang is not None and default_lang.get(w("val")) == "en-GB"
    used = {p.style.style_id for p in document.paragraphs} | {t.style.style_id for t in document.tables}
    assert {"Title", "Heading1", "ListBullet"} <= used  # a statement has no tables: its figures are a list
    for style_id in used:
        style = styles.find(f"w:style[@w:styleId='{style_id}']", NS)
        assert style is not None, f"{style_id} comes from the template"
        lang = style.find("w:rPr/w:lang", NS)
        assert lang is not None and lang.get(w("val")) == "en-GB", style_id
    for name in ("word/styles.xml", "word/settings.xml", "word/document.xml"):
        assert "en-US" not in raw(data, name), name
    assert part(data, "word/settings.xml").find("w:themeFontLang", NS).get(w("val")) == "en-GB"

    footer = section.footer
    instructions = [i.text.strip() for i in footer._element.iter(w("instrText"))]
    assert instructions == ["PAGE", "NUMPAGES"]
    assert footer.paragraphs[0].text.startswith("Page ") and " of " in footer.paragraphs[0].text

    props = document.core_properties
    assert props.title == f"{WELSH}: social value" and props.author == WELSH
    assert props.last_modified_by == "svbot" and props.language == "en-GB" and props.revision == 1
    assert props.created.year == datetime.now(UTC).year and props.modified >= props.created
    assert props.subject and props.keywords == "social value"
    properties = raw(data, "docProps/core.xml") + raw(data, "docProps/app.xml")
    assert "python-docx" not in properties and "2013" not in properties
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    leftovers = ("docProps/thumbnail", "customXml", "word/stylesWithEffects")
    assert not any(n.startswith(leftovers) for n in names), "nothing left of python-docx's own template"

    assert not document.tables, "the statement's figures are sentences and a list, not a table"
    bullets = [p.text for p in document.paragraphs if p.style.style_id == "ListBullet"]
    assert "People reached: 1,200" in bullets and "Volunteer hours: about 600" in bullets


def check_table(t: docx.table.Table, numeric: set[int]) -> None:
    """Header repeated, rows kept whole, right-aligned numbers, fixed widths that fill the text width."""
    tbl = t._tbl  # the XML python-docx has no API for
    rows = tbl.findall(w("tr"))
    assert rows[0].find("w:trPr/w:tblHeader", NS) is not None, "the header row repeats on every page"
    assert all(r.find("w:trPr/w:tblHeader", NS) is None for r in rows[1:])
    assert all(r.find("w:trPr/w:cantSplit", NS) is not None for r in rows)
    for row in rows:
        for i, cell in enumerate(row.findall(w("tc"))):
            jc = cell.find("w:p/w:pPr/w:jc", NS)
            assert (jc is not None and jc.get(w("val")) == "right") == (i in numeric), (i, etree.tostring(cell))
            assert cell.find("w:tcPr/w:tcW", NS).get(w("type")) == "dxa"
    assert all(run.bold for cell in t.rows[0].cells for run in cell.paragraphs[0].runs), "header bold"
    assert tbl.find("w:tblPr/w:tblLayout", NS).get(w("type")) == "fixed"
    widths = [int(g.get(w("w"))) for g in tbl.findall("w:tblGrid/w:gridCol", NS)]
    assert abs(sum(widths) / 1440 * 2.54 - TEXT_WIDTH_CM) < 0.05
    assert len(set(widths)) > 1, "columns sized to their text, not all equal"


def test_report_table_widths_never_split_a_word_and_numbers_align() -> None:
    doc = new_document("Report", "Brighton CVS")
    header = ["Objective", "Organisations", "People reached", "Volunteers", "Volunteer hours"]
    rows = [["We create local opportunities to volunteer, learn and work", "12", "1,370", "87", "14,940.5"]] * 60
    t = table(doc, header, rows, numeric={1, 2, 3, 4}, caption="What members delivered, by objective")
    check_table(t, numeric={1, 2, 3, 4})
    widths = [c.width.cm for c in t.rows[0].cells]
    # "Organisations" in 10 pt bold Arial is about 2.6 cm; cell margins add 0.38 cm.
    assert widths[1] >= 2.9 and widths[0] == max(widths), widths
    data = to_bytes(doc)
    reread = docx.Document(io.BytesIO(data))
    assert reread.paragraphs[0].text == "What members delivered, by objective"
    assert reread.paragraphs[0].style.name == "Caption"
    caption = reread.tables[0]._tbl.find("w:tblPr/w:tblCaption", NS)
    assert caption.get(w("val")) == "What members delivered, by objective", "the table's title for screen readers"
    assert len(reread.tables[0].rows) == 61

    given = table(doc, ["A", "Organisations"], [["x", "1"]], widths_cm=[10, 1])
    assert given.rows[0].cells[0].width.cm == pytest.approx(10, abs=0.01)
    assert given.rows[0].cells[1].width.cm >= 2.9, "a given width is widened to fit the longest word"
    with pytest.raises(ValueError, match="2 cells"):
        table(doc, ["A"], [["x", "y"]])


def test_a_picture_has_alt_text_and_the_annual_report_uses_the_template() -> None:
    doc = new_document("Pictures", "svbot")
    shape = picture(doc, PNG, width_cm=5, alt_text="A single green dot", title="Dot", caption="Figure 1: a dot")
    assert round(shape.width.cm, 2) == 5
    data = to_bytes(doc)
    doc_pr = part(data, "word/document.xml").find(".//wp:docPr", NS)
    assert doc_pr.get("descr") == "A single green dot" and doc_pr.get("title") == "Dot"
    assert docx.Document(io.BytesIO(data)).paragraphs[-1].text == "Figure 1: a dot"
    with pytest.raises(ValueError, match="alt text"):
        picture(doc, PNG, width_cm=5, alt_text="  ")

    from svbot.support.report import AnnualReport, ObjectiveRow, chart_alt_text, render_docx

    report = AnnualReport(
        support_name="Brighton CVS", period="2026-27", framework_id="local_pledge", framework_title="Local pledge",
        members=2, organisations=["A"], missing=["B"],
        objectives=[ObjectiveRow("one", "We involve local people", organisations=1, people_reached=10)],
    )  # fmt: skip
    data = render_docx(report)
    document = docx.Document(io.BytesIO(data))
    assert abs(document.sections[0].page_width - Mm(210)) < Mm(0.1)
    assert document.core_properties.author == "Brighton CVS" and "python-docx" not in raw(data, "docProps/core.xml")
    alt = part(data, "word/document.xml").find(".//wp:docPr", NS).get("descr")
    assert alt == chart_alt_text(report) and "We involve local people: 1 organisation" in alt
    check_table(document.tables[0], numeric={1, 2, 3, 4})


def test_text_is_cleaned_and_labels_come_first() -> None:
    doc = new_document("Bell\x07 title", "Org\x00")
    p = paragraph(doc, "Line one\x0b\nline two", label="Label:", italic=True)
    assert [r.text for r in p.runs] == ["Label: ", "Line one\nline two"]
    assert p.runs[0].bold and p.runs[1].italic and not p.runs[0].italic
    assert paragraph(doc, None, label="Alone:").text == "Alone:"
    table(doc, ["Head\x01"], [["cell\x1f"]])
    document = docx.Document(io.BytesIO(to_bytes(doc)))
    assert document.core_properties.title == "Bell title" and document.core_properties.author == "Org"
    assert document.tables[0].rows[1].cells[0].text == "cell"
    with pytest.raises(ValueError):
        documents.heading(doc, "Too deep", level=7)


def test_a_new_document_is_empty_and_the_template_is_up_to_date() -> None:
    document = new_document("Empty", "svbot")
    assert not document.paragraphs and not document.tables, "no sample content"
    spec = importlib.util.spec_from_file_location("make_docx_template", ROOT / "scripts" / "make_docx_template.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.build() == TEMPLATE.read_bytes(), "run python scripts/make_docx_template.py and commit the template"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (WELSH, "cymdeithas-gŵyl-ŷd.docx"),
        ("Cymdeithas Gw\u0302yl", "cymdeithas-gŵyl.docx"),  # decomposed ŵ is composed, not lost
        ("Café de l'Église", "café-de-léglise.docx"),
        ("../../etc", "etc.docx"),
        ("..\\..\\windows\\system32", "windows-system32.docx"),
        ("a\x00b\nc\td", "ab-c-d.docx"),
        ("", "document.docx"),
        ("   ", "document.docx"),
        ("...", "document.docx"),
        (None, "document.docx"),
        ("NUL", "nul-document.docx"),
        ("St Mary's & St John’s", "st-marys-st-johns.docx"),
    ],
)
def test_file_names(name: str | None, expected: str) -> None:
    assert file_name(name, ".docx") == expected


def test_file_names_are_short_and_suffixes_plain() -> None:
    long = file_name("Ŵ" * 300, "-social-value.docx")
    assert long == "ŵ" * 80 + "-social-value.docx"
    assert file_name("x" * 79 + " y", ".txt") == "x" * 79 + ".txt", "no trailing hyphen after cutting"
    assert file_name("", "", default="statement") == "statement"
    for bad in ("/x.docx", "..\\x", "\x00.docx"):
        with pytest.raises(ValueError):
            file_name("name", bad)
    for name in ("../../etc/passwd", "a/b\\c", "\x01\x02"):
        made = file_name(name, ".docx")
        assert "/" not in made and "\\" not in made and made.isprintable() and not made.startswith(".")
