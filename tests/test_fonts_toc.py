"""Issue 16 items 4-5: fonts the reader's PC has, a TOC with page numbers, the 진단 요약 page.

* The templates name Malgun Gothic (shipped with Windows) in every style and in the font table,
  and fix every line's height, so the page count LibreOffice measures with NanumGothic standing
  in (pipeline/render/pdf.py's fontconfig alias) is the one Word shows with Malgun Gothic.
* The PDF export updates the table of contents: entries carry the page number where the heading
  is, and the "(쪽 번호: … F9로 갱신)" hint of the cached field text is gone (slow tests).
* The diagnosis opens with its one-page summary on page 2, between the cover and the TOC.
"""
from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from docx_helpers import docx_all_text, docx_part_xml, require_libreoffice

from pipeline.render import (
    FONT_ALT_NAME,
    FONT_FALLBACK,
    FONT_NAME,
    SUMMARY_TITLE_STYLE,
    TABLE_TEXT_STYLE,
    TEMPLATES,
    TEMPLATES_DIR,
)

COMPANY = "jinju-bolt"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
# Paragraph styles the documents use (cover, TOC, body, tables, header/footer).
USED_STYLES = ("Normal", "Title", "Subtitle", "heading 1", "heading 2", "heading 3", "TOC Heading",
               "toc 1", "toc 2", "toc 3", "List Bullet", "List Number", "caption", "header", "footer",
               TABLE_TEXT_STYLE, SUMMARY_TITLE_STYLE, "표지 회사명", "표지 정보")

_rendered: dict[str, bytes] = {}


def rendered() -> dict[str, bytes]:
    """The three documents of one sample company, rendered once per test session."""
    if not _rendered:
        from pipeline.publish.context import build_context
        from pipeline.publish.documents import render_all

        _rendered.update({k: v for k, v in render_all(build_context(COMPANY)[1]).items() if k.endswith(".docx")})
    return _rendered


def part(data: bytes, member: str) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.read(member).decode("utf-8")


def styles_by_name(styles_xml: str) -> dict[str, str]:
    return {m.group(1): m.group(0) for m in
            re.finditer(r'<w:style [^>]*>\s*<w:name w:val="([^"]+)"/>.*?</w:style>', styles_xml, re.S)}


# ----------------------------------------------------------------------------- fonts
@pytest.mark.parametrize("key", list(TEMPLATES))
def test_styles_name_the_chosen_font_for_every_script(key):
    styles = docx_part_xml(TEMPLATES_DIR / TEMPLATES[key][0], "word/styles.xml")
    fonts = re.findall(r"<w:rFonts ([^>]*)/>", styles)
    assert fonts
    for attrs in fonts:
        for script in ("ascii", "hAnsi", "eastAsia", "cs"):
            assert f'w:{script}="{FONT_NAME}"' in attrs, attrs
        assert "Theme=" not in attrs
    by_name = styles_by_name(styles)
    default = styles.split("</w:docDefaults>")[0]
    assert f'w:eastAsia="{FONT_NAME}"' in default
    for name in ("Normal", "heading 1", TABLE_TEXT_STYLE):
        assert f'w:eastAsia="{FONT_NAME}"' in by_name[name], name
    assert "NanumGothic" not in styles  # LibreOffice's stand-in is not named in the documents


@pytest.mark.parametrize("key", list(TEMPLATES))
def test_font_table_describes_malgun_gothic(key):
    table = docx_part_xml(TEMPLATES_DIR / TEMPLATES[key][0], "word/fontTable.xml")
    entry = re.search(rf'<w:font w:name="{FONT_NAME}">.*?</w:font>', table, re.S)
    assert entry, table
    for piece in (f'<w:altName w:val="{FONT_ALT_NAME}"/>', '<w:panose1 w:val="020B0503020000020004"/>',
                  '<w:charset w:val="81"/>', '<w:pitch w:val="variable"/>'):
        assert piece in entry.group(0)
    assert "ＭＳ" not in table  # the default template's Japanese fonts are gone


@pytest.mark.parametrize("key", list(TEMPLATES))
def test_line_heights_do_not_depend_on_the_font(key):
    """Word sets Malgun Gothic lines taller than LibreOffice sets NanumGothic ones; fixed heights
    make both lay out the same lines, so the CI page count holds in Word."""
    by_name = styles_by_name(docx_part_xml(TEMPLATES_DIR / TEMPLATES[key][0], "word/styles.xml"))
    for name in USED_STYLES:
        style = by_name[name]
        own = re.search(r'<w:pPr>.*?<w:spacing ([^>]*)/>', style, re.S)
        if name in ("List Bullet", "List Number", "toc 1", "toc 2", "toc 3"):
            assert own is None or "w:line=" not in own.group(1), name  # inherits Normal's
            continue
        assert own and 'w:lineRule="exact"' in own.group(1), f"{name}: {own and own.group(1)}"


def test_rendered_documents_use_the_font_and_keep_pictures_whole():
    for name, data in rendered().items():
        assert f'w:eastAsia="{FONT_NAME}"' in part(data, "word/styles.xml"), name
        body = part(data, "word/document.xml")
        for p in re.findall(r"<w:p[ >].*?</w:p>", body, re.S):
            if "<w:drawing" in p:  # a fixed line height would show one line of the picture
                assert re.search(r'<w:spacing [^>]*w:lineRule="auto"', p), name
    assert "<w:drawing" in part(rendered()["diagnosis.docx"], "word/document.xml")


def test_text_after_a_table_keeps_its_distance():
    from pipeline.render.docx import TABLE_GAP_PT

    seen = 0
    for name, data in rendered().items():
        body = part(data, "word/document.xml")
        for m in re.finditer(r"</w:tbl>(<w:p[ >].*?</w:p>)", body, re.S):
            p = m.group(1)
            if re.search(r'<w:pStyle w:val="Heading\d"/>', p):
                continue  # headings have their own space before
            before = re.search(r'<w:spacing [^>]*w:before="(\d+)"', p)
            assert before and int(before.group(1)) >= TABLE_GAP_PT * 20, (name, p[:200])
            seen += 1
    assert seen


def test_fontconfig_maps_malgun_gothic_to_the_fallback(tmp_path):
    from pipeline.render.pdf import fontconfig_file

    conf = fontconfig_file(tmp_path).read_text(encoding="utf-8")
    for name in (FONT_NAME, FONT_ALT_NAME):
        assert f"<string>{name}</string>" in conf
    assert f"<string>{FONT_FALLBACK}</string>" in conf
    if not shutil.which("fc-match"):
        pytest.skip("fc-match (fontconfig) is not installed")
    listed = subprocess.run(["fc-list", ":", "family"], capture_output=True, text=True).stdout
    if FONT_FALLBACK not in listed:
        require_libreoffice()  # in CI fonts-nanum comes with LibreOffice
        pytest.skip(f"{FONT_FALLBACK} is not installed")
    env = {"FONTCONFIG_FILE": str(tmp_path / "fonts.conf"), "PATH": "/usr/bin:/bin"}
    for name in (FONT_NAME, FONT_ALT_NAME):
        found = subprocess.run(["fc-match", "-f", "%{family}", name], capture_output=True, text=True, env=env).stdout
        assert FONT_FALLBACK in found, (name, found)


# ----------------------------------------------------------------------------- TOC in Word
@pytest.mark.parametrize("key", ["diagnosis", "matching", "plan"])
def test_word_updates_the_toc_on_open(key):
    path = TEMPLATES_DIR / TEMPLATES[key][0]
    settings = docx_part_xml(path, "word/settings.xml")
    assert '<w:updateFields w:val="true"/>' in settings
    # CT_Settings order: updateFields directly before compat (Word refuses a misplaced element)
    assert re.search(r'<w:updateFields w:val="true"/><w:compat>', settings)
    document = docx_part_xml(path, "word/document.xml")
    toc = re.search(r'<w:fldChar w:fldCharType="begin" w:dirty="true"/>.*?TOC \\o "1-3"', document, re.S)
    assert toc, "the TOC field is marked dirty"
    by_name = styles_by_name(docx_part_xml(path, "word/styles.xml"))
    for level in (1, 2, 3):  # page numbers at a dotted right tab
        tabs = re.findall(r"<w:tab [^>]*>", by_name[f"toc {level}"])
        assert any('w:val="right"' in t and 'w:leader="dot"' in t for t in tabs), tabs


# ----------------------------------------------------------------------------- summary page
def test_summary_block_is_cut_out_of_the_body():
    from pipeline.render.docx import split_summary

    body = "<!-- summary: 진단 요약 -->\n요약 문단\n\n| a | b |\n|---|---|\n| 1 | 2 |\n<!-- /summary -->\n\n# 1. 개요\n본문\n"
    title, summary, rest = split_summary(body)
    assert title == "진단 요약"
    assert "요약 문단" in summary and "| 1 | 2 |" in summary
    assert rest.startswith("# 1. 개요") and "summary" not in rest
    assert split_summary("# 1. 개요\n") == ("", "", "# 1. 개요\n")


def test_diagnosis_summary_sits_between_cover_and_toc():
    import docx

    data = rendered()["diagnosis.docx"]
    document = docx.Document(io.BytesIO(data))
    body = document.element.body
    order = []
    for el in body.iterchildren():
        if el.tag == f"{W}p":
            style = el.find(f"{W}pPr/{W}pStyle")
            text = "".join(t.text or "" for t in el.iter(f"{W}t"))
            if style is not None and style.get(f"{W}val") == "SummaryTitle":
                order.append(("summary", text))
            elif "TOC \\o" in "".join(t.text or "" for t in el.iter(f"{W}instrText")):
                order.append(("toc", text))
            elif style is not None and style.get(f"{W}val") == "Heading1":
                order.append(("h1", text))
    kinds = [k for k, _ in order]
    assert kinds[:3] == ["summary", "toc", "h1"], order[:4]
    assert order[0][1] == "진단 요약"
    assert order[2][1].startswith("1. ")
    text = docx_all_text_bytes(data)
    assert "<!--" not in text and "summary" not in text
    # the figures of the summary: Scope 1/2, energy, CBAM SEE, measures, findings
    for needle in ("Scope 1", "Scope 2", "toe", "SEE", "사업계획서에 담는 개선 조치", "주요 발견사항"):
        assert needle in text.split("목차")[0], needle
    # the other documents have no summary page and no leftover slot
    for key in ("matching.docx", "plan.docx"):
        assert SUMMARY_TITLE_STYLE not in docx_all_text_bytes(rendered()[key])
        assert "{{" not in part(rendered()[key], "word/document.xml")


def docx_all_text_bytes(data: bytes) -> str:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "doc.docx"
        path.write_bytes(data)
        return docx_all_text(path)


# ----------------------------------------------------------------------------- LibreOffice PDF
_pdfs: dict[str, list[str]] = {}


def pdf_pages(tmp_root: Path) -> dict[str, list[str]]:
    """Text of every page of the three PDFs (LibreOffice), converted once."""
    if not _pdfs:
        from pypdf import PdfReader

        from pipeline.render.pdf import convert_to_pdf, pdf_fonts

        paths = []
        for name, data in rendered().items():
            path = tmp_root / name
            path.write_bytes(data)
            paths.append(path)
        for pdf in convert_to_pdf(paths, tmp_root / "pdf"):
            assert any(FONT_FALLBACK in f for f in pdf_fonts(pdf)), pdf.name  # the alias took
            _pdfs[pdf.stem] = [page.extract_text() or "" for page in PdfReader(str(pdf)).pages]
    return _pdfs


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


TOC_LINE = re.compile(r"^(?P<title>\S.*?)\s*\.{3,}\s*(?P<page>\d+)\s*$")


@pytest.mark.slow
@pytest.mark.parametrize("key", ["diagnosis", "matching", "plan"])
def test_pdf_toc_has_page_numbers_and_no_hint(key, tmp_path_factory):
    require_libreoffice()
    pages = pdf_pages(tmp_path_factory.mktemp("pdf"))[key]
    everything = "\n".join(pages)
    assert "F9" not in everything and "쪽 번호:" not in everything
    toc_index = next(i for i, page in enumerate(pages) if re.search(r"^\s*목차\s*$", page, re.M))
    entries = [m for m in (TOC_LINE.match(line.strip()) for line in pages[toc_index].splitlines()) if m]
    assert len(entries) >= 5, pages[toc_index]
    for m in entries:
        number = int(m.group("page"))
        assert toc_index + 1 < number <= len(pages), m.group(0)
        title = squash(m.group("title"))
        # the heading is on the page the TOC names (page numbers count from the cover, 1)
        assert title in squash(pages[number - 1]), f"{m.group(0)!r} not on page {number}"
        # a whole line equal to the heading on an earlier page (a substring may be another heading:
        # '활용·확산' is inside '9. 기대효과 및 활용·확산')
        earlier = [i + 1 for i in range(toc_index + 1, number - 1)
                   if any(squash(line) == title for line in pages[i].splitlines())]
        assert not earlier, f"{m.group(0)!r} found earlier on page(s) {earlier}"


@pytest.mark.slow
def test_pdf_diagnosis_opens_with_the_summary(tmp_path_factory):
    require_libreoffice()
    pages = pdf_pages(tmp_path_factory.mktemp("pdf"))["diagnosis"]
    summary = next(i for i, page in enumerate(pages[:2]) if "진단 요약" in page)
    assert summary <= 1  # page 1 or 2 (the cover is page 1)
    text = squash(pages[summary])
    for needle in ("Scope1", "Scope2", "toe", "SEE", "주요발견사항"):
        assert needle in text, needle
    assert "목차" in pages[summary + 1]  # one page: the TOC follows on the next page


@pytest.mark.slow
def test_conversion_errors_are_korean_and_bounded(tmp_path):
    import time

    require_libreoffice()
    from pipeline.errors import ConversionError
    from pipeline.render.pdf import convert_to_pdf

    path = tmp_path / "plan.docx"
    path.write_bytes(rendered()["plan.docx"])
    started = time.monotonic()
    with pytest.raises(ConversionError, match="초 안에 끝나지 않았습니다"):
        convert_to_pdf([path], tmp_path / "pdf", timeout=0.2)
    assert time.monotonic() - started < 20  # the whole LibreOffice process group was killed


@pytest.mark.slow
def test_conversion_falls_back_when_the_macro_does_not_run(tmp_path, monkeypatch, capsys):
    """Without the macro (e.g. LibreOffice changed how a new profile is set up), the files are
    still converted, with the TOC as cached in the file, and a note says so."""
    require_libreoffice()
    from pipeline.render import pdf

    monkeypatch.setattr(pdf, "_write_macro", lambda profile, jobs: None)
    path = tmp_path / "matching.docx"
    path.write_bytes(rendered()["matching.docx"])
    [out] = pdf.convert_to_pdf([path], tmp_path / "pdf")
    assert pdf.count_pages(out) >= 3
    assert "목차 쪽 번호 없이" in capsys.readouterr().err
