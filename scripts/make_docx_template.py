"""Build svbot's shared Word template, `svbot/templates/svbot.docx`.

Run from the repository root after changing anything below, and commit the result:

    python scripts/make_docx_template.py            # writes svbot/templates/svbot.docx
    python scripts/make_docx_template.py --check    # exit 1 if the shipped file is out of date

Every .docx svbot makes (statements now; monitoring and annual reports later) starts from this file
through `svbot.documents.new_document`, so the look of all of them is decided here:

- A4 (210 x 297 mm), 2.5 cm margins (text 16 cm wide: `svbot.documents.TEXT_WIDTH_CM`), footer
  "Page X of Y" made of PAGE and NUMPAGES fields, centred.
- Language en-GB in the document defaults, in every style and in the theme font language, so Word's
  spell check accepts "organisation".
- Arial (Liberation Sans stands in for it on Linux), 11 pt body text, dark headings.
- Only the styles svbot uses, by the names python-docx knows them by: Normal, Title, Subtitle,
  Heading 1-3, List Bullet (a real bullet list), Caption, Quote, Header, Footer, and the table style
  "svbot Table" (grey grid, shaded bold header row, 10 pt). A small style sheet also keeps
  python-docx's style lookups (one XPath over the sheet per paragraph) fast.
- No sample content, no thumbnail, and no "python-docx" or 2013 dates in the file properties.

The package is written from scratch (no python-docx default template inside), with a fixed
timestamp on every zip entry so the build is reproducible.
"""

from __future__ import annotations

import argparse
import io
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "svbot" / "templates" / "svbot.docx"

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
REL = "http://schemas.openxmlformats.org/package/2006/relationships"
OFFICE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
HEAD = "<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"

LANG = '<w:lang w:val="en-GB" w:eastAsia="en-GB" w:bidi="ar-SA"/>'
FONT = "Arial"
FONTS = f'<w:rFonts w:ascii="{FONT}" w:hAnsi="{FONT}" w:eastAsia="{FONT}" w:cs="{FONT}"/>'
INK = "1A1A1A"  # body text: near black
HEADING_INK = "1F3A5F"  # headings: dark blue, contrast well above WCAG AA on white
GRID = "8C8C8C"
HEADER_FILL = "E7ECF2"

# Page: A4 in twentieths of a point; 1 cm = 567 twips (rounded).
PAGE_W, PAGE_H = 11906, 16838
MARGIN = 1418  # 2.5 cm
HEADER_FOOTER = 709  # 1.25 cm from the page edge


def content_types() -> str:
    main = "application/vnd.openxmlformats-officedocument.wordprocessingml"
    overrides = {
        "/word/document.xml": f"{main}.document.main+xml",
        "/word/styles.xml": f"{main}.styles+xml",
        "/word/numbering.xml": f"{main}.numbering+xml",
        "/word/settings.xml": f"{main}.settings+xml",
        "/word/fontTable.xml": f"{main}.fontTable+xml",
        "/word/footer1.xml": f"{main}.footer+xml",
        "/docProps/core.xml": "application/vnd.openxmlformats-package.core-properties+xml",
        "/docProps/app.xml": "application/vnd.openxmlformats-officedocument.extended-properties+xml",
    }
    return (
        HEAD + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Default Extension="png" ContentType="image/png"/>'
        '<Default Extension="jpeg" ContentType="image/jpeg"/>'
        + "".join(f'<Override PartName="{name}" ContentType="{kind}"/>' for name, kind in overrides.items())
        + "</Types>"
    )


def package_rels() -> str:
    return (
        HEAD + f'<Relationships xmlns="{REL}">'
        f'<Relationship Id="rId1" Type="{OFFICE_REL}/officeDocument" Target="word/document.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/'
        'core-properties" Target="docProps/core.xml"/>'
        f'<Relationship Id="rId3" Type="{OFFICE_REL}/extended-properties" Target="docProps/app.xml"/>'
        "</Relationships>"
    )


def document_rels() -> str:
    parts = {"rId1": "styles", "rId2": "numbering", "rId3": "settings", "rId4": "fontTable", "rId5": "footer"}
    targets = {"footer": "footer1.xml"}
    return (
        HEAD
        + f'<Relationships xmlns="{REL}">'
        + "".join(
            f'<Relationship Id="{rid}" Type="{OFFICE_REL}/{kind}" Target="{targets.get(kind, kind + ".xml")}"/>'
            for rid, kind in parts.items()
        )
        + "</Relationships>"
    )


def core_xml() -> str:
    # Placeholders only: new_document() sets title, author, dates and the rest on every document.
    return (
        HEAD + '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"'
        ' xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<dc:title>svbot document</dc:title><dc:creator>svbot</dc:creator>"
        "<cp:lastModifiedBy>svbot</cp:lastModifiedBy><cp:revision>1</cp:revision>"
        "<dc:language>en-GB</dc:language>"
        "</cp:coreProperties>"
    )


def app_xml() -> str:
    return (
        HEAD + '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"'
        ' xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
        "<Application>svbot</Application><DocSecurity>0</DocSecurity>"
        "</Properties>"
    )


def document_xml() -> str:
    # No sample paragraph: the body holds only the section properties (page size, margins, footer).
    return (
        HEAD + f'<w:document xmlns:w="{W}" xmlns:r="{R}"><w:body>'
        '<w:sectPr><w:footerReference w:type="default" r:id="rId5"/>'
        f'<w:pgSz w:w="{PAGE_W}" w:h="{PAGE_H}"/>'
        f'<w:pgMar w:top="{MARGIN}" w:right="{MARGIN}" w:bottom="{MARGIN}" w:left="{MARGIN}"'
        f' w:header="{HEADER_FOOTER}" w:footer="{HEADER_FOOTER}" w:gutter="0"/>'
        '<w:cols w:space="708"/><w:docGrid w:linePitch="360"/>'
        "</w:sectPr></w:body></w:document>"
    )


def _field(instruction: str, shown: str) -> str:
    return (
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
        f'<w:r><w:instrText xml:space="preserve"> {instruction} </w:instrText></w:r>'
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
        f"<w:r><w:t>{shown}</w:t></w:r>"
        '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
    )


def footer_xml() -> str:
    return (
        HEAD + f'<w:ftr xmlns:w="{W}" xmlns:r="{R}">'
        '<w:p><w:pPr><w:pStyle w:val="Footer"/><w:jc w:val="center"/></w:pPr>'
        '<w:r><w:t xml:space="preserve">Page </w:t></w:r>'
        + _field("PAGE", "1")
        + '<w:r><w:t xml:space="preserve"> of </w:t></w:r>'
        + _field("NUMPAGES", "1")
        + "</w:p></w:ftr>"
    )


def settings_xml() -> str:
    return (
        HEAD + f'<w:settings xmlns:w="{W}">'
        '<w:defaultTabStop w:val="720"/><w:characterSpacingControl w:val="doNotCompress"/>'
        '<w:compat><w:compatSetting w:name="compatibilityMode" w:uri="http://schemas.microsoft.com/office/word"'
        ' w:val="15"/></w:compat>'
        '<w:themeFontLang w:val="en-GB"/>'
        '<w:decimalSymbol w:val="."/><w:listSeparator w:val=","/>'
        "</w:settings>"
    )


def font_table_xml() -> str:
    return (
        HEAD + f'<w:fonts xmlns:w="{W}">'
        f'<w:font w:name="{FONT}"><w:panose1 w:val="020B0604020202020204"/><w:charset w:val="00"/>'
        '<w:family w:val="swiss"/><w:pitch w:val="variable"/></w:font>'
        "</w:fonts>"
    )


def numbering_xml() -> str:
    # One bullet list (numId 1) used by "List Bullet"; nested levels for later use.
    bullets = ["\u2022", "\u2013", "\u25e6"]
    levels = "".join(
        f'<w:lvl w:ilvl="{i}"><w:start w:val="1"/><w:numFmt w:val="bullet"/><w:lvlText w:val="{b}"/>'
        f'<w:lvlJc w:val="left"/><w:pPr><w:ind w:left="{360 * (i + 1)}" w:hanging="360"/></w:pPr>'
        f'<w:rPr><w:rFonts w:ascii="{FONT}" w:hAnsi="{FONT}" w:hint="default"/></w:rPr></w:lvl>'
        for i, b in enumerate(bullets)
    )
    return (
        HEAD + f'<w:numbering xmlns:w="{W}">'
        f'<w:abstractNum w:abstractNumId="0"><w:multiLevelType w:val="hybridMultilevel"/>{levels}</w:abstractNum>'
        '<w:num w:numId="1"><w:abstractNumId w:val="0"/></w:num>'
        "</w:numbering>"
    )


def _paragraph_style(
    style_id: str,
    name: str,
    *,
    ppr: str = "",
    rpr: str = "",
    based_on: str | None = "Normal",
    next_style: str | None = None,
    ui_priority: int | None = None,
    default: bool = False,
) -> str:
    return (
        '<w:style w:type="paragraph"' + (' w:default="1"' if default else "") + f' w:styleId="{style_id}">'
        f'<w:name w:val="{name}"/>'
        + (f'<w:basedOn w:val="{based_on}"/>' if based_on else "")
        + (f'<w:next w:val="{next_style}"/>' if next_style else "")
        + (f'<w:uiPriority w:val="{ui_priority}"/>' if ui_priority is not None else "")
        + "<w:qFormat/>"
        + (f"<w:pPr>{ppr}</w:pPr>" if ppr else "")
        + f"<w:rPr>{rpr}{LANG}</w:rPr>"
        + "</w:style>"
    )


def styles_xml() -> str:
    heading_rpr = f'<w:b/><w:bCs/><w:color w:val="{HEADING_INK}"/>'
    styles = [
        _paragraph_style(
            "Normal",
            "Normal",
            based_on=None,
            default=True,
            ui_priority=0,
            ppr='<w:spacing w:after="120" w:line="276" w:lineRule="auto"/>',
        ),
        _paragraph_style(
            "Title",
            "Title",
            next_style="Normal",
            ui_priority=10,
            ppr='<w:keepNext/><w:spacing w:after="240" w:line="240" w:lineRule="auto"/>',
            rpr=f'{heading_rpr}<w:kern w:val="28"/><w:sz w:val="48"/><w:szCs w:val="48"/>',
        ),
        _paragraph_style(
            "Subtitle",
            "Subtitle",
            next_style="Normal",
            ui_priority=11,
            ppr='<w:spacing w:after="240"/>',
            rpr=f'<w:color w:val="{HEADING_INK}"/><w:sz w:val="28"/><w:szCs w:val="28"/>',
        ),
        _paragraph_style(
            "Heading1",
            "heading 1",
            next_style="Normal",
            ui_priority=9,
            ppr='<w:keepNext/><w:keepLines/><w:spacing w:before="360" w:after="120"/><w:outlineLvl w:val="0"/>',
            rpr=f'{heading_rpr}<w:sz w:val="32"/><w:szCs w:val="32"/>',
        ),
        _paragraph_style(
            "Heading2",
            "heading 2",
            next_style="Normal",
            ui_priority=9,
            ppr='<w:keepNext/><w:keepLines/><w:spacing w:before="240" w:after="80"/><w:outlineLvl w:val="1"/>',
            rpr=f'{heading_rpr}<w:sz w:val="26"/><w:szCs w:val="26"/>',
        ),
        _paragraph_style(
            "Heading3",
            "heading 3",
            next_style="Normal",
            ui_priority=9,
            ppr='<w:keepNext/><w:keepLines/><w:spacing w:before="200" w:after="60"/><w:outlineLvl w:val="2"/>',
            rpr=f'{heading_rpr}<w:sz w:val="23"/><w:szCs w:val="23"/>',
        ),
        _paragraph_style(
            "ListBullet",
            "List Bullet",
            ui_priority=36,
            ppr='<w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr>'
            '<w:spacing w:after="60"/><w:ind w:left="360" w:hanging="360"/>',
        ),
        _paragraph_style(
            "Caption",
            "caption",
            next_style="Normal",
            ui_priority=35,
            ppr='<w:keepNext/><w:spacing w:before="120" w:after="80"/>',
            rpr=f'<w:b/><w:bCs/><w:color w:val="{INK}"/><w:sz w:val="20"/><w:szCs w:val="20"/>',
        ),
        _paragraph_style(
            "Quote",
            "Quote",
            next_style="Normal",
            ui_priority=29,
            ppr='<w:spacing w:before="120" w:after="60"/><w:ind w:left="567" w:right="567"/>',
            rpr=f'<w:i/><w:iCs/><w:color w:val="{INK}"/>',
        ),
        _paragraph_style(
            "Header",
            "header",
            ui_priority=99,
            ppr='<w:tabs><w:tab w:val="center" w:pos="4535"/><w:tab w:val="right" w:pos="9070"/></w:tabs>'
            '<w:spacing w:after="0" w:line="240" w:lineRule="auto"/>',
            rpr='<w:sz w:val="18"/><w:szCs w:val="18"/>',
        ),
        _paragraph_style(
            "Footer",
            "footer",
            ui_priority=99,
            ppr='<w:tabs><w:tab w:val="center" w:pos="4535"/><w:tab w:val="right" w:pos="9070"/></w:tabs>'
            '<w:spacing w:after="0" w:line="240" w:lineRule="auto"/>',
            rpr='<w:sz w:val="18"/><w:szCs w:val="18"/>',
        ),
        # Defaults Word expects to find: character, table and numbering.
        '<w:style w:type="character" w:default="1" w:styleId="DefaultParagraphFont">'
        '<w:name w:val="Default Paragraph Font"/><w:uiPriority w:val="1"/><w:semiHidden/><w:unhideWhenUsed/>'
        "</w:style>",
        '<w:style w:type="table" w:default="1" w:styleId="TableNormal"><w:name w:val="Normal Table"/>'
        '<w:uiPriority w:val="99"/><w:semiHidden/><w:unhideWhenUsed/>'
        '<w:tblPr><w:tblInd w:w="0" w:type="dxa"/><w:tblCellMar><w:top w:w="0" w:type="dxa"/>'
        '<w:left w:w="108" w:type="dxa"/><w:bottom w:w="0" w:type="dxa"/><w:right w:w="108" w:type="dxa"/>'
        "</w:tblCellMar></w:tblPr></w:style>",
        '<w:style w:type="numbering" w:default="1" w:styleId="NoList"><w:name w:val="No List"/>'
        '<w:uiPriority w:val="99"/><w:semiHidden/><w:unhideWhenUsed/></w:style>',
        table_style(),
    ]
    return (
        HEAD + f'<w:styles xmlns:w="{W}" xmlns:r="{R}">'
        "<w:docDefaults><w:rPrDefault><w:rPr>"
        f'{FONTS}<w:color w:val="{INK}"/><w:sz w:val="22"/><w:szCs w:val="22"/>{LANG}'
        "</w:rPr></w:rPrDefault>"
        '<w:pPrDefault><w:pPr><w:spacing w:after="120" w:line="276" w:lineRule="auto"/></w:pPr></w:pPrDefault>'
        "</w:docDefaults>" + "".join(styles) + "</w:styles>"
    )


def table_style() -> str:
    border = f'w:val="single" w:sz="4" w:space="0" w:color="{GRID}"'
    borders = "".join(f"<w:{side} {border}/>" for side in ("top", "left", "bottom", "right", "insideH", "insideV"))
    return (
        '<w:style w:type="table" w:customStyle="1" w:styleId="svbotTable"><w:name w:val="svbot Table"/>'
        '<w:basedOn w:val="TableNormal"/><w:uiPriority w:val="59"/><w:qFormat/>'
        '<w:pPr><w:spacing w:before="40" w:after="40" w:line="240" w:lineRule="auto"/></w:pPr>'
        f'<w:rPr><w:sz w:val="20"/><w:szCs w:val="20"/>{LANG}</w:rPr>'
        f"<w:tblPr><w:tblBorders>{borders}</w:tblBorders>"
        '<w:tblCellMar><w:top w:w="28" w:type="dxa"/><w:left w:w="108" w:type="dxa"/>'
        '<w:bottom w:w="28" w:type="dxa"/><w:right w:w="108" w:type="dxa"/></w:tblCellMar></w:tblPr>'
        '<w:tblStylePr w:type="firstRow"><w:rPr><w:b/><w:bCs/></w:rPr>'
        f'<w:tcPr><w:shd w:val="clear" w:color="auto" w:fill="{HEADER_FILL}"/></w:tcPr></w:tblStylePr>'
        "</w:style>"
    )


def build() -> bytes:
    parts = {
        "[Content_Types].xml": content_types(),
        "_rels/.rels": package_rels(),
        "docProps/core.xml": core_xml(),
        "docProps/app.xml": app_xml(),
        "word/document.xml": document_xml(),
        "word/_rels/document.xml.rels": document_rels(),
        "word/styles.xml": styles_xml(),
        "word/numbering.xml": numbering_xml(),
        "word/settings.xml": settings_xml(),
        "word/fontTable.xml": font_table_xml(),
        "word/footer1.xml": footer_xml(),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        for name, text in parts.items():
            info = zipfile.ZipInfo(name, date_time=(2025, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            package.writestr(info, text.encode("utf-8"))
    return out.getvalue()


def check(data: bytes) -> None:
    """Open the result with python-docx, as svbot will, and check what the template promises."""
    import docx
    from docx.shared import Mm

    document = docx.Document(io.BytesIO(data))
    section = document.sections[0]
    assert abs(section.page_width - Mm(210)) < Mm(0.1) and abs(section.page_height - Mm(297)) < Mm(0.1)
    for name in ("Normal", "Title", "Subtitle", "Heading 1", "Heading 2", "Heading 3", "List Bullet", "Caption",
                 "Quote", "Footer", "svbot Table"):  # fmt: skip
        assert document.styles[name] is not None
    assert not document.paragraphs and not document.tables, "no sample content"
    footer = section.footer.paragraphs[0]
    assert footer.text == "Page 1 of 1"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that the shipped file is up to date")
    args = parser.parse_args()
    data = build()
    check(data)
    if args.check:
        current = TARGET.read_bytes() if TARGET.exists() else b""
        if current != data:
            print(f"{TARGET.relative_to(ROOT)} is out of date: run python scripts/make_docx_template.py")
            return 1
        print(f"{TARGET.relative_to(ROOT)} is up to date")
        return 0
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_bytes(data)
    print(f"Wrote {TARGET.relative_to(ROOT)} ({len(data):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
