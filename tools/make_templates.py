#!/usr/bin/env python3
"""Build the Word templates in templates/docx/ with python-docx.

    python tools/make_templates.py            # writes templates/docx/{diagnosis,matching,plan,evaluation}.docx

The python-docx default template is a US/Japanese Word 2010 file: theme fonts (w:asciiTheme,
w:eastAsiaTheme) in every style and ``<w:themeFontLang w:eastAsia="ja-JP"/>`` in settings.xml, so
Hangul falls back to a Japanese font. This script rewrites all of that:

* every style (and docDefaults) names FONT_NAME (Malgun Gothic) explicitly for
  ascii/hAnsi/eastAsia/cs, theme font attributes are removed, the language is ko-KR (docDefaults,
  themeFontLang, core properties); fontTable.xml describes the font as Word itself does (Korean
  altName 맑은 고딕, panose, Hangul charset and signature), the Japanese leftovers are dropped;
* every paragraph style has a fixed line height (lineRule "exact", LINE_PT): Word sets Malgun
  Gothic lines far taller than LibreOffice sets NanumGothic ones (Word's line for an East Asian
  font is reported at about 1.3 × the font's own height, which is 1.33 em for Malgun Gothic
  against NanumGothic's 1.15 em), so with "multiple" spacing the page count measured with
  LibreOffice would not be the one the reader sees; fixed heights make both lay out the same
  lines. pipeline/render/docx.py gives paragraphs holding a picture single spacing back, and the
  paragraph after a table its distance from the table;
* A4 page, header ``{{ company_name }} · {{ doc_title }}``, footer ``- PAGE / NUMPAGES -`` as real
  Word fields, ``w:updateFields`` so Word refreshes the TOC when the file is opened (LibreOffice
  does not: pipeline/render/pdf.py updates the indexes before it exports a PDF); TOC entry styles
  with a dotted right tab for the page numbers;
* an optional one-page summary ``{{p lead }}`` between the cover and the TOC (SUMMARY_OPEN in a
  section text; see pipeline/render/docx.py), titled in SUMMARY_TITLE_STYLE (not a heading, so
  the heading levels of the body start at 1 and the TOC does not list it);
* styles used by pipeline/render/markdown_docx.py: Heading 1-3 (outline levels), List Bullet/Number
  (and 2, 3), Caption, the table style TABLE_STYLE, the cell paragraph style TABLE_TEXT_STYLE and
  the character style MARKER_STYLE for "[확인 필요: …]".

Template variables: doc_title, subtitle, prepared_by, date, company_name (not in evaluation.docx)
and ``{{p body }}`` (the Markdown body subdocument), ``{{p lead }}`` (the summary, may be empty;
not in evaluation.docx). The output is byte-for-byte reproducible
(fixed dates in the core properties and the zip entries).
"""
from __future__ import annotations

import datetime as dt
import io
import re
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from docx import Document  # noqa: E402
from docx.enum.style import WD_STYLE_TYPE  # noqa: E402
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING, WD_TAB_ALIGNMENT, WD_TAB_LEADER  # noqa: E402
from docx.oxml import OxmlElement, parse_xml  # noqa: E402
from docx.oxml.ns import nsdecls, qn  # noqa: E402
from docx.shared import Mm, Pt, RGBColor  # noqa: E402

from pipeline.render import (  # noqa: E402
    FONT_ALT_NAME,
    FONT_NAME,
    LANGUAGE,
    MARKER_STYLE,
    SUMMARY_TITLE_STYLE,
    TABLE_HEADER_FILL,
    TABLE_STYLE,
    TABLE_TEXT_STYLE,
    TEMPLATES,
    TEMPLATES_DIR,
)

FIXED_DATE = dt.datetime(2026, 1, 1, 0, 0, 0)
THEME_FONT_ATTRS = ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme")
FONT_ATTRS = ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs")
# The TOC field's cached result: the pipeline fills in the document's headings (LibreOffice shows
# them as they are; Word refreshes the field with page numbers when the file opens).
TOC_PLACEHOLDER = "{{ toc }}"

# Colours of the document look (RGB hex).
NAVY = "1F3864"
BLUE = "1F4E79"
MID_BLUE = "2E75B6"
DARK_GREY = "404040"
GREY = "7F7F7F"
BORDER_GREY = "A6A6A6"

# Page geometry (mm): A4 portrait.
PAGE_W, PAGE_H = 210, 297
MARGIN_TOP, MARGIN_BOTTOM, MARGIN_SIDE = 25, 22, 22
HEADER_DIST, FOOTER_DIST = 12, 10


# Malgun Gothic as Word writes it into fontTable.xml (panose, Hangul charset, "modern" family and
# the Unicode/code-page signature of malgun.ttf).
FONT_TABLE_ENTRY = (
    f'<w:font w:name="{FONT_NAME}"><w:altName w:val="{FONT_ALT_NAME}"/>'
    '<w:panose1 w:val="020B0503020000020004"/><w:charset w:val="81"/><w:family w:val="modern"/>'
    '<w:pitch w:val="variable"/><w:sig w:usb0="9000002F" w:usb1="29D77CFB" w:usb2="00000012" '
    'w:usb3="00000000" w:csb0="00080001" w:csb1="00000000"/></w:font>'
)
# Fonts of the python-docx default template that no style uses any more (Japanese MS fonts).
UNUSED_FONTS = ("ＭＳ 明朝", "ＭＳ ゴシック")

# Fixed line heights (pt) per paragraph style: about the height LibreOffice gave each style with
# NanumGothic before (1.15 em × the old multiple), rounded up to half points, so layouts stay as
# they were; each leaves room for Malgun Gothic's glyphs (≈1.09 em above the baseline).
LINE_PT = {
    "Normal": 15, "Title": 31, "Subtitle": 20, "Heading 1": 19, "Heading 2": 15.5,
    "Heading 3": 13.5, "TOC Heading": 19, SUMMARY_TITLE_STYLE: 19, "Caption": 13,
    "Header": 10, "Footer": 10, TABLE_TEXT_STYLE: 12, "표지 회사명": 29, "표지 정보": 16,
    "표지 안내": 13,
}


# --------------------------------------------------------------------------- fonts and language
def set_rfonts(rfonts) -> None:
    """Explicit FONT_NAME for every script; drop theme references that would override it."""
    for attr in THEME_FONT_ATTRS:
        rfonts.attrib.pop(qn(attr), None)
    for attr in FONT_ATTRS:
        rfonts.set(qn(attr), FONT_NAME)


def set_lang(rpr) -> None:
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)  # w:lang is near the end of CT_RPr; nothing after it in docDefaults
    lang.set(qn("w:val"), LANGUAGE)
    lang.set(qn("w:eastAsia"), LANGUAGE)
    lang.set(qn("w:bidi"), "ar-SA")


def fix_fonts_and_language(doc) -> None:
    styles = doc.styles.element
    rpr_default = styles.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    set_rfonts(rpr_default.find(qn("w:rFonts")))
    set_lang(rpr_default)
    for style in doc.styles:
        el = style.element
        if el.get(qn("w:type")) == "numbering":
            continue
        rpr = el.get_or_add_rPr()
        set_rfonts(rpr.get_or_add_rFonts())
    # Any rFonts left anywhere in styles.xml (table style conditional formats, …).
    for rfonts in styles.iter(qn("w:rFonts")):
        set_rfonts(rfonts)


# 개조식 marks of Korean plans and reports for bullet levels 1-3 (○ item, − detail, · note), in the
# body font instead of Word's Symbol-font dot.
KOREAN_BULLETS = {"List Bullet": "○", "List Bullet 2": "−", "List Bullet 3": "·"}


def korean_bullets(doc) -> None:
    numbering = doc.part.numbering_part.element
    for style_name, mark in KOREAN_BULLETS.items():
        num_id = doc.styles[style_name].element.pPr.numPr.numId.val
        abstract_id = numbering.num_having_numId(num_id).abstractNumId.val
        abstract = next(a for a in numbering.findall(qn("w:abstractNum")) if int(a.get(qn("w:abstractNumId"))) == abstract_id)
        for lvl in abstract.findall(qn("w:lvl")):
            lvl.find(qn("w:lvlText")).set(qn("w:val"), mark)
            rpr = lvl.find(qn("w:rPr"))
            if rpr is not None and rpr.find(qn("w:rFonts")) is not None:
                set_rfonts(rpr.find(qn("w:rFonts")))


def fix_settings(doc) -> None:
    settings = doc.settings.element
    lang = settings.find(qn("w:themeFontLang"))
    if lang is None:
        lang = OxmlElement("w:themeFontLang")
        settings.find(qn("w:clrSchemeMapping")).addprevious(lang)
    lang.attrib.clear()
    lang.set(qn("w:val"), LANGUAGE)
    lang.set(qn("w:eastAsia"), LANGUAGE)
    # updateFields comes right before w:compat in CT_Settings' sequence.
    if settings.find(qn("w:updateFields")) is None:
        upd = OxmlElement("w:updateFields")
        upd.set(qn("w:val"), "true")
        settings.find(qn("w:compat")).addprevious(upd)


def drop_styles_with_effects(doc) -> None:
    """Word 2010's stylesWithEffects.xml still carries theme fonts; Word 2013+ ignores it."""
    rels = doc.part.rels
    for rid, rel in list(rels.items()):
        if rel.reltype.endswith("/stylesWithEffects"):
            del rels[rid]


def add_font_to_font_table(doc) -> None:
    """Declare FONT_NAME in fontTable.xml as Word does (Korean altName, panose, Hangul charset), so
    Word, Hancom Office and LibreOffice know it is a Korean sans-serif; drop unused Japanese fonts."""
    for rel in doc.part.rels.values():
        if rel.reltype.endswith("/fontTable"):
            part = rel.target_part
            xml = part.blob.decode("utf-8")
            for name in UNUSED_FONTS:
                xml = re.sub(rf'\s*<w:font w:name="{name}">.*?</w:font>', "", xml, flags=re.S)
            if f'w:name="{FONT_NAME}"' not in xml:
                xml = xml.replace("</w:fonts>", FONT_TABLE_ENTRY + "</w:fonts>")
            part._blob = xml.encode("utf-8")


# --------------------------------------------------------------------------- styles
def _set_given(target, **values) -> None:
    """Set the attributes that were given (None = leave the template's value alone)."""
    for attribute, value in values.items():
        if value is not None:
            setattr(target, attribute, value)


def para_style(doc, name, *, size=None, bold=None, italic=None, color=None, before=None,
               after=None, align=None, outline=None, keep_next=None):
    """A paragraph style (created based on Normal if missing); its line height is LINE_PT[name]."""
    try:
        style = doc.styles[name]
    except KeyError:
        style = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = doc.styles["Normal"]
    points = lambda value: None if value is None else Pt(value)
    _set_given(style.font, size=points(size), bold=bold, italic=italic)
    _set_given(style.font.color, rgb=None if color is None else RGBColor.from_string(color))
    _set_given(style.paragraph_format, space_before=points(before), space_after=points(after),
               line_spacing=points(LINE_PT.get(name)), alignment=align, keep_with_next=keep_next)
    if name in LINE_PT:
        style.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    if outline is not None:
        ppr = style.element.get_or_add_pPr()
        lvl = ppr.find(qn("w:outlineLvl"))
        if lvl is None:
            lvl = OxmlElement("w:outlineLvl")
            # outlineLvl sits after jc/textDirection/textAlignment… and before divId/rPr in pPr;
            # appending is valid here because no later pPr child is used in these styles.
            ppr.append(lvl)
        lvl.set(qn("w:val"), str(outline))
    return style


def remove_child(el, tag) -> None:
    if el is None:
        return
    for child in el.findall(qn(tag)):
        el.remove(child)


def set_ascii_style_id(doc, name, style_id) -> None:
    doc.styles[name].element.set(qn("w:styleId"), style_id)


def define_styles(doc) -> None:
    normal = para_style(doc, "Normal", size=10.5, after=6)
    normal.font.color.rgb = RGBColor.from_string("000000")

    title = para_style(doc, "Title", size=26, bold=True, color=NAVY, before=0, after=12,
                       align=WD_ALIGN_PARAGRAPH.CENTER)
    remove_child(title.element.pPr, "w:pBdr")
    sub = para_style(doc, "Subtitle", size=14, italic=False, color=DARK_GREY, after=6,
                     align=WD_ALIGN_PARAGRAPH.CENTER)
    remove_child(sub.element.pPr, "w:numPr")
    remove_child(sub.element.rPr, "w:iCs")

    h1 = para_style(doc, "Heading 1", size=16, bold=True, color=BLUE, before=18, after=8,
                    outline=0, keep_next=True)
    ppr = h1.element.get_or_add_pPr()
    if ppr.find(qn("w:pBdr")) is None:
        bdr = parse_xml(
            f'<w:pBdr {nsdecls("w")}><w:bottom w:val="single" w:sz="6" w:space="2" '
            f'w:color="{BLUE}"/></w:pBdr>'
        )
        ppr.find(qn("w:keepLines")).addnext(bdr)  # pBdr follows keepLines… in CT_PPrBase
    para_style(doc, "Heading 2", size=13, bold=True, color=MID_BLUE, before=12, after=6,
               outline=1, keep_next=True)
    para_style(doc, "Heading 3", size=11.5, bold=True, color=DARK_GREY, before=10, after=4,
               outline=2, keep_next=True)
    toc_heading = para_style(doc, "TOC Heading", size=16, bold=True, color=BLUE, after=12)
    remove_child(toc_heading.element.pPr, "w:pBdr")
    # Title of the summary page: looks like a chapter title, is no heading (outline level 9 = body
    # text), so the body's headings start at level 1 and the TOC does not list the summary.
    summary = para_style(doc, SUMMARY_TITLE_STYLE, size=16, bold=True, color=BLUE, before=0,
                         after=10, keep_next=True)
    set_ascii_style_id(doc, SUMMARY_TITLE_STYLE, "SummaryTitle")
    summary.element.get_or_add_pPr().append(parse_xml(
        f'<w:pBdr {nsdecls("w")}><w:bottom w:val="single" w:sz="6" w:space="2" '
        f'w:color="{BLUE}"/></w:pBdr>'))
    summary_ppr = summary.element.pPr
    summary_ppr.append(summary_ppr.find(qn("w:spacing")))  # CT_PPrBase order: pBdr, spacing, outlineLvl
    lvl = OxmlElement("w:outlineLvl")
    lvl.set(qn("w:val"), "9")
    summary_ppr.append(lvl)

    for name in ("List Bullet", "List Bullet 2", "List Bullet 3",
                 "List Number", "List Number 2", "List Number 3", "List Continue"):
        para_style(doc, name, after=3)

    para_style(doc, "Caption", size=9, bold=False, color=DARK_GREY, before=2, after=10,
               align=WD_ALIGN_PARAGRAPH.CENTER)
    cap = doc.styles["Caption"].element
    remove_child(cap.rPr, "w:bCs")

    text_width = Mm(PAGE_W - 2 * MARGIN_SIDE)
    for name in ("Header", "Footer"):
        st = para_style(doc, name, size=8.5, color=GREY, after=0)
        tabs = st.element.pPr.find(qn("w:tabs"))
        center, right = tabs.findall(qn("w:tab"))
        center.set(qn("w:pos"), str(int(text_width.twips / 2)))
        right.set(qn("w:pos"), str(int(text_width.twips)))

    # TOC entry styles (Word creates them when it updates the field; define them so they look right):
    # the page number at a dotted right tab on the margin.
    for level in (1, 2, 3):
        st = doc.styles.add_style(f"TOC {level}", WD_STYLE_TYPE.PARAGRAPH)
        st.base_style = doc.styles["Normal"]
        st.element.set(qn("w:styleId"), f"TOC{level}")
        st.element.attrib.pop(qn("w:customStyle"), None)  # a built-in Word style, not custom
        st.element.find(qn("w:name")).set(qn("w:val"), f"toc {level}")
        st.paragraph_format.left_indent = Mm(5 * (level - 1))
        st.paragraph_format.space_after = Pt(3)
        st.paragraph_format.tab_stops.add_tab_stop(text_width, WD_TAB_ALIGNMENT.RIGHT, WD_TAB_LEADER.DOTS)
        if level == 1:
            st.font.bold = True

    # Cell paragraphs: compact.
    para_style(doc, TABLE_TEXT_STYLE, size=9.5, before=1, after=1)
    set_ascii_style_id(doc, TABLE_TEXT_STYLE, "TableText")

    # Cover page.
    para_style(doc, "표지 회사명", size=20, bold=True, color="000000", before=36, after=6,
               align=WD_ALIGN_PARAGRAPH.CENTER)
    set_ascii_style_id(doc, "표지 회사명", "CoverCompany")
    para_style(doc, "표지 정보", size=11, color=DARK_GREY, after=2,
               align=WD_ALIGN_PARAGRAPH.CENTER)
    set_ascii_style_id(doc, "표지 정보", "CoverInfo")
    para_style(doc, "표지 안내", size=9, italic=True, color=GREY, before=36, after=0,
               align=WD_ALIGN_PARAGRAPH.CENTER)
    set_ascii_style_id(doc, "표지 안내", "CoverNote")

    # Marker "[확인 필요: …]": red bold on yellow shading (shd works in Word and LibreOffice).
    doc.styles.element.append(parse_xml(f"""
<w:style {nsdecls("w")} w:type="character" w:customStyle="1" w:styleId="VerifyMarker">
  <w:name w:val="{MARKER_STYLE}"/>
  <w:basedOn w:val="DefaultParagraphFont"/>
  <w:uiPriority w:val="1"/>
  <w:qFormat/>
  <w:rPr><w:rFonts w:ascii="{FONT_NAME}" w:hAnsi="{FONT_NAME}" w:eastAsia="{FONT_NAME}" w:cs="{FONT_NAME}"/>
    <w:b/><w:bCs/><w:color w:val="C00000"/><w:shd w:val="clear" w:color="auto" w:fill="FFFF00"/></w:rPr>
</w:style>"""))

    # Table style: grid in grey, bold shaded header row repeated on every page.
    doc.styles.element.append(parse_xml(f"""
<w:style {nsdecls("w")} w:type="table" w:customStyle="1" w:styleId="CarbonTable">
  <w:name w:val="{TABLE_STYLE}"/>
  <w:basedOn w:val="TableGrid"/>
  <w:uiPriority w:val="59"/>
  <w:qFormat/>
  <w:pPr><w:spacing w:before="20" w:after="20" w:line="{int(LINE_PT[TABLE_TEXT_STYLE] * 20)}" w:lineRule="exact"/></w:pPr>
  <w:rPr><w:rFonts w:ascii="{FONT_NAME}" w:hAnsi="{FONT_NAME}" w:eastAsia="{FONT_NAME}" w:cs="{FONT_NAME}"/>
    <w:sz w:val="19"/><w:szCs w:val="19"/></w:rPr>
  <w:tblPr>
    <w:tblBorders>
      <w:top w:val="single" w:sz="8" w:space="0" w:color="{DARK_GREY}"/>
      <w:left w:val="single" w:sz="4" w:space="0" w:color="{BORDER_GREY}"/>
      <w:bottom w:val="single" w:sz="8" w:space="0" w:color="{DARK_GREY}"/>
      <w:right w:val="single" w:sz="4" w:space="0" w:color="{BORDER_GREY}"/>
      <w:insideH w:val="single" w:sz="4" w:space="0" w:color="{BORDER_GREY}"/>
      <w:insideV w:val="single" w:sz="4" w:space="0" w:color="{BORDER_GREY}"/>
    </w:tblBorders>
    <w:tblCellMar>
      <w:top w:w="28" w:type="dxa"/><w:left w:w="85" w:type="dxa"/>
      <w:bottom w:w="28" w:type="dxa"/><w:right w:w="85" w:type="dxa"/>
    </w:tblCellMar>
  </w:tblPr>
  <w:tblStylePr w:type="firstRow">
    <w:rPr><w:b/><w:bCs/></w:rPr>
    <w:trPr><w:tblHeader/></w:trPr>
    <w:tcPr><w:shd w:val="clear" w:color="auto" w:fill="{TABLE_HEADER_FILL}"/></w:tcPr>
  </w:tblStylePr>
</w:style>"""))


# --------------------------------------------------------------------------- fields
def add_field(paragraph, instr: str, cached: str) -> None:
    """A complex field (fldChar begin / instrText / separate / cached result / end)."""
    def run_with(child):
        r = OxmlElement("w:r")
        r.append(child)
        paragraph._p.append(r)
        return r

    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    begin.set(qn("w:dirty"), "true")
    run_with(begin)
    it = OxmlElement("w:instrText")
    it.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    it.text = f" {instr} "
    run_with(it)
    sep = OxmlElement("w:fldChar")
    sep.set(qn("w:fldCharType"), "separate")
    run_with(sep)
    t = OxmlElement("w:t")
    t.text = cached
    run_with(t)
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    run_with(end)


def add_page_break_run(paragraph) -> None:
    r = OxmlElement("w:r")
    br = OxmlElement("w:br")
    br.set(qn("w:type"), "page")
    r.append(br)
    paragraph._p.append(r)


# --------------------------------------------------------------------------- page, header, footer
def setup_section(doc, *, header_text: str, cover: bool) -> None:
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(PAGE_W), Mm(PAGE_H)
    section.top_margin, section.bottom_margin = Mm(MARGIN_TOP), Mm(MARGIN_BOTTOM)
    section.left_margin = section.right_margin = Mm(MARGIN_SIDE)
    section.header_distance, section.footer_distance = Mm(HEADER_DIST), Mm(FOOTER_DIST)

    header_p = section.header.paragraphs[0]
    header_p.style = doc.styles["Header"]
    header_p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    header_p.add_run(header_text)
    ppr = header_p._p.get_or_add_pPr()
    ppr.insert_element_before(
        parse_xml(f'<w:pBdr {nsdecls("w")}><w:bottom w:val="single" w:sz="4" w:space="1" '
                  f'w:color="{BORDER_GREY}"/></w:pBdr>'),
        "w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap",
        "w:overflowPunct", "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi",
        "w:adjustRightInd", "w:snapToGrid", "w:spacing", "w:ind", "w:contextualSpacing",
        "w:mirrorIndents", "w:suppressOverlap", "w:jc", "w:textDirection", "w:textAlignment",
        "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr",
        "w:pPrChange",
    )

    footer_p = section.footer.paragraphs[0]
    footer_p.style = doc.styles["Footer"]
    footer_p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer_p.add_run("- ")
    add_field(footer_p, "PAGE", "1")
    footer_p.add_run(" / ")
    add_field(footer_p, "NUMPAGES", "1")
    footer_p.add_run(" -")

    if cover:  # no header/footer on the cover page
        section.different_first_page_header_footer = True
        section.first_page_header.is_linked_to_previous = False
        section.first_page_footer.is_linked_to_previous = False


# --------------------------------------------------------------------------- body
def build_body(doc, key: str) -> None:
    body = doc.element.body
    for p in list(body.iterchildren(qn("w:p"))):  # the default template's empty paragraph
        body.remove(p)

    if key == "evaluation":
        doc.add_paragraph("{{ doc_title }}", style="Title")
        doc.add_paragraph("{{ subtitle }}", style="Subtitle")
        doc.add_paragraph("작성: {{ prepared_by }} · {{ date }}", style="표지 정보")
        doc.add_paragraph("{{p body }}")
        return

    spacer = doc.add_paragraph(style="Normal")
    spacer.paragraph_format.space_before = Pt(150)
    doc.add_paragraph("{{ doc_title }}", style="Title")
    doc.add_paragraph("{{ subtitle }}", style="Subtitle")
    doc.add_paragraph("{{ company_name }}", style="표지 회사명")
    doc.add_paragraph("작성: {{ prepared_by }}", style="표지 정보")
    last = doc.add_paragraph("작성일: {{ date }}", style="표지 정보")
    if key == "plan":
        last = doc.add_paragraph(
            "이 문서는 기업이 직접 검토·보완하여 완성하는 사업계획서 초안입니다. "
            "신청 시에는 해당 공고의 공식 양식을 사용하십시오.",
            style="표지 안내",
        )
    add_page_break_run(last)

    # The summary page (title, body and a page break), or nothing: docxtpl replaces the paragraph.
    doc.add_paragraph("{{p lead }}")
    doc.add_paragraph("목차", style="TOC Heading")
    toc = doc.add_paragraph(style="Normal")
    add_field(toc, r'TOC \o "1-3" \h \z \u', TOC_PLACEHOLDER)
    add_page_break_run(toc)
    doc.add_paragraph("{{p body }}")


# --------------------------------------------------------------------------- whole document
def build_template(key: str, title: str):
    doc = Document()
    drop_styles_with_effects(doc)
    define_styles(doc)
    fix_fonts_and_language(doc)
    korean_bullets(doc)
    fix_settings(doc)
    add_font_to_font_table(doc)
    header = "{{ doc_title }}" if key == "evaluation" else "{{ company_name }} · {{ doc_title }}"
    setup_section(doc, header_text=header, cover=key != "evaluation")
    build_body(doc, key)

    cp = doc.core_properties
    cp.title = title
    cp.subject = "탄소중립 컨설팅"
    cp.author = "jinju-carbon-pipeline"
    cp.last_modified_by = "jinju-carbon-pipeline"
    cp.comments = "tools/make_templates.py로 생성한 템플릿"
    cp.language = LANGUAGE
    cp.keywords = ""
    cp.category = ""
    cp.revision = 1
    cp.created = FIXED_DATE
    cp.modified = FIXED_DATE
    return doc


def deterministic_zip(data: bytes) -> bytes:
    """Re-pack the .docx with fixed timestamps so regenerating a template changes no bytes."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            zi = zipfile.ZipInfo(info.filename, date_time=FIXED_DATE.timetuple()[:6])
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            dst.writestr(zi, src.read(info.filename))
    return out.getvalue()


def check(data: bytes, name: str) -> None:
    """Parse every XML part and refuse leftovers of the python-docx default template."""
    from lxml import etree

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for n in z.namelist():
            if n.endswith(".xml") or n.endswith(".rels"):
                etree.fromstring(z.read(n))
        styles = z.read("word/styles.xml").decode()
        settings = z.read("word/settings.xml").decode()
        fonts = z.read("word/fontTable.xml").decode()
    problems = []
    if "ja-JP" in settings or "ja-JP" in styles:
        problems.append("ja-JP 잔재")
    if re.search(r"w:(ascii|hAnsi|eastAsia|cs)[Tt]heme=", styles):
        problems.append("테마 글꼴 참조")
    if f'w:eastAsia="{FONT_NAME}"' not in styles:
        problems.append("w:eastAsia 글꼴 없음")
    for style_name in LINE_PT:  # built-in styles are stored under lower-case names ("heading 1")
        style = re.search(rf'<w:style [^>]*><w:name w:val="{re.escape(style_name)}"/>.*?</w:style>',
                          styles, re.S | re.I)
        if style is None or 'w:lineRule="exact"' not in style.group(0):
            problems.append(f"{style_name}: 고정되지 않은 줄 높이")
    if "w:updateFields" not in settings:
        problems.append("updateFields 없음")
    if f'<w:font w:name="{FONT_NAME}"><w:altName w:val="{FONT_ALT_NAME}"/>' not in fonts:
        problems.append("글꼴 표에 한글 이름 없음")
    if problems:
        raise SystemExit(f"{name}: {', '.join(problems)}")


def main() -> int:
    TEMPLATES_DIR.mkdir(parents=True, exist_ok=True)
    for key, (filename, title) in TEMPLATES.items():
        doc = build_template(key, title)
        buf = io.BytesIO()
        doc.save(buf)
        data = deterministic_zip(buf.getvalue())
        check(data, filename)
        (TEMPLATES_DIR / filename).write_bytes(data)
        print(f"wrote {TEMPLATES_DIR.relative_to(ROOT) / filename} ({len(data):,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
