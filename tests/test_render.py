"""Rendering layer: templates, Markdown body → Word, charts, LibreOffice PDF export."""
from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from docx_helpers import docx_all_text, docx_part_xml, require_libreoffice
from pipeline.errors import RenderError
from pipeline.render import FONT_NAME, MARKER_STYLE, TEMPLATES, TEMPLATES_DIR, template_path

COMPANY = "(주)진주 & <정밀>"
FIELDS = {
    "company_name": COMPANY,
    "subtitle": "2026년 탄소중립 진단 (가상 기업 예시)",
    "prepared_by": "진주 탄소중립 컨설팅 지원단",
    "date": "2026-03-02",
    "toc": "1. 기업 개요\n    1.1 에너지 사용",
}
# As the Markdown stage writes it: &, <, > HTML-escaped.
BODY = """# 1. 기업 개요

(주)진주 &amp; &lt;정밀&gt;은 진주시의 **볼트 제조** 기업이며 *가상의 예시*입니다.
전력 사용량은 [확인 필요: 2025년 한전 고지서 원본] 기준입니다.

## 1.1 에너지 사용

- 전력: 주 공정
- LNG: 열처리로
    - 1호기
    - 2호기

우선 과제:

1. 공기압축기 누설 점검
2. 인버터 설치
    1. 1단계
    2. 2단계

| 에너지원 | 사용량 | 단위 |
|:---|---:|:---:|
| 전력 | 1,234.5 | MWh |
| LNG | 56 | 천m³ |
| **합계** | [확인 필요: 합계 검증] | tCO₂eq |

![그림 1. 월별 전력 사용량](image:monthly)

<!-- pagebreak -->

### 1.1.1 세부 내용

고객사 (주)진주 &amp; &lt;정밀&gt;의 세부 내용입니다.
"""

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


@pytest.fixture(scope="module")
def chart_png() -> bytes:
    from pipeline.render.charts import monthly_chart

    return monthly_chart([100, 120, 130, None, 90, 80, 150, 160, 140, 110, 100, 95],
                         "월별 전력 사용량", "MWh")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, chart_png) -> dict[str, Path]:
    from pipeline.render.docx import render_docx

    out = tmp_path_factory.mktemp("docx")
    docs = {}
    for key in TEMPLATES:
        fields = dict(FIELDS)
        if key == "evaluation":
            fields.pop("company_name")
        docs[key] = render_docx(template_path(key), fields, BODY, {"monthly": chart_png},
                                out / f"{key}.docx")
    return docs


# ----------------------------------------------------------------------------- templates
@pytest.mark.parametrize("key", list(TEMPLATES))
def test_template_files_are_clean(key):
    path = TEMPLATES_DIR / TEMPLATES[key][0]
    assert path.is_file(), "run: python tools/make_templates.py"
    styles = docx_part_xml(path, "word/styles.xml")
    settings = docx_part_xml(path, "word/settings.xml")
    assert "ja-JP" not in styles + settings
    assert not re.search(r'w:(ascii|hAnsi|eastAsia|cs)[Tt]heme="', styles)
    assert '<w:updateFields w:val="true"/>' in settings
    document = docx_part_xml(path, "word/document.xml")
    if key != "evaluation":
        assert 'TOC \\o "1-3" \\h \\z \\u' in document
        assert "{{ toc }}" in document
    assert "{{p body }}" in document


def test_templates_are_reproducible(tmp_path):
    """tools/make_templates.py regenerates the committed templates byte for byte."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "make_templates", TEMPLATES_DIR.parents[1] / "tools" / "make_templates.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    import io

    for key, (filename, title) in TEMPLATES.items():
        buf = io.BytesIO()
        mod.build_template(key, title).save(buf)
        assert mod.deterministic_zip(buf.getvalue()) == (TEMPLATES_DIR / filename).read_bytes(), (
            f"{filename} is stale: run python tools/make_templates.py")


# ----------------------------------------------------------------------------- rendered docs
@pytest.mark.parametrize("key", list(TEMPLATES))
def test_rendered_document(rendered, key):
    import docx
    from docx.shared import Mm

    path = rendered[key]
    document = docx.Document(str(path))  # opens
    text = docx_all_text(path)
    assert COMPANY in text  # body (and header/cover) keep & < > verbatim
    assert "{{" not in text and "{%" not in text
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.endswith(".xml"):
                xml = z.read(name).decode("utf-8")
                assert "{{" not in xml and "{%" not in xml, name

    section = document.sections[0]
    assert abs(section.page_width - Mm(210)) < Mm(1)
    assert abs(section.page_height - Mm(297)) < Mm(1)

    styles = docx_part_xml(path, "word/styles.xml")
    assert f'w:eastAsia="{FONT_NAME}"' in styles
    assert 'w:eastAsia="ko-KR"' in styles and 'w:val="ko-KR"' in styles
    settings = docx_part_xml(path, "word/settings.xml")
    assert "ja-JP" not in settings
    assert re.search(r'<w:themeFontLang [^>]*w:eastAsia="ko-KR"', settings)

    footer_xml = section.footer._element.xml
    assert 'w:fldCharType="begin"' in footer_xml and 'w:fldCharType="end"' in footer_xml
    assert re.search(r"<w:instrText[^>]*>\s*PAGE\s*</w:instrText>", footer_xml)
    assert re.search(r"<w:instrText[^>]*>\s*NUMPAGES\s*</w:instrText>", footer_xml)

    header_text = "\n".join(p.text for p in section.header.paragraphs)
    if key == "evaluation":
        assert header_text.strip() == TEMPLATES[key][1]
    else:
        assert header_text.strip() == f"{COMPANY} · {TEMPLATES[key][1]}"

    headings = {p.text: p.style.name for p in document.paragraphs if p.style.name.startswith("Heading")}
    assert headings["1. 기업 개요"] == "Heading 1"
    assert headings["1.1 에너지 사용"] == "Heading 2"
    assert headings["1.1.1 세부 내용"] == "Heading 3"

    assert len(document.inline_shapes) == 1
    captions = [p.text for p in document.paragraphs if p.style.name == "Caption"]
    assert captions == ["그림 1. 월별 전력 사용량"]

    assert document.core_properties.language == "ko-KR"
    assert document.core_properties.title == TEMPLATES[key][1]


def test_lists_tables_and_markers(rendered):
    import docx

    document = docx.Document(str(rendered["diagnosis"]))
    by_style: dict[str, list[str]] = {}
    for p in document.paragraphs:
        by_style.setdefault(p.style.name, []).append(p.text)
    assert by_style["List Bullet"] == ["전력: 주 공정", "LNG: 열처리로"]
    assert by_style["List Bullet 2"] == ["1호기", "2호기"]
    assert by_style["List Number"] == ["공기압축기 누설 점검", "인버터 설치"]
    assert by_style["List Number 2"] == ["1단계", "2단계"]

    (table,) = document.tables
    assert table.style.name == "탄소 표"
    assert [c.text for c in table.rows[0].cells] == ["에너지원", "사용량", "단위"]
    first_row = table.rows[0]._tr
    assert first_row.find(f"{W}trPr/{W}tblHeader") is not None  # repeated header row
    assert all(r.bold for c in first_row.iterchildren(f"{W}tc") for r in
               docx.text.paragraph.Paragraph(c.find(f"{W}p"), None).runs)
    assert table.rows[3].cells[1].text == "[확인 필요: 합계 검증]"
    assert table.rows[1].cells[1].paragraphs[0].alignment == 2  # right-aligned numbers

    marker_runs = [r.text for p in document.paragraphs for r in p.runs
                   if r.style is not None and r.style.name == MARKER_STYLE]
    assert "".join(marker_runs) == "[확인 필요: 2025년 한전 고지서 원본]"
    body_xml = document.element.body.xml
    assert 'w:type="page"' in body_xml  # <!-- pagebreak -->


def test_numbered_lists_restart():
    from docxtpl import DocxTemplate

    from pipeline.render.markdown_docx import markdown_to_subdoc

    tpl = DocxTemplate(str(template_path("plan")))
    sub = markdown_to_subdoc(tpl, "1. 가\n2. 나\n\n문단\n\n1. 다\n2. 라\n", {})
    num_ids = [p._p.pPr.numPr.numId.val for p in sub.subdocx.paragraphs if p._p.pPr.numPr is not None]
    assert len(num_ids) == 4 and num_ids[0] == num_ids[1] != num_ids[2] == num_ids[3]


def test_raw_special_characters_round_trip(tmp_path):
    """Unescaped & < > in the Markdown (not produced by our stage, but tolerated) stay verbatim."""
    from pipeline.render.docx import render_docx

    out = render_docx(template_path("evaluation"), {**FIELDS, "doc_title": "평가표 & <검토>"},
                      "본문: (주)진주 & <정밀> 1 < 2 > 0", {}, tmp_path / "e.docx")
    text = docx_all_text(out)
    assert "본문: (주)진주 & <정밀> 1 < 2 > 0" in text
    assert "평가표 & <검토>" in text


def test_missing_field_names_variable(tmp_path):
    from pipeline.render.docx import render_docx

    fields = dict(FIELDS)
    fields.pop("prepared_by")
    out = tmp_path / "x.docx"
    with pytest.raises(RenderError) as err:
        render_docx(template_path("diagnosis"), fields, "본문", {}, out)
    assert "diagnosis.docx" in str(err.value) and "'prepared_by'" in str(err.value)
    assert not out.exists() and not list(tmp_path.iterdir())  # nothing half-written


def test_none_field_is_an_error(tmp_path):
    from pipeline.render.docx import render_docx

    with pytest.raises(RenderError, match="'date'"):
        render_docx(template_path("matching"), {**FIELDS, "date": None}, "본문", {}, tmp_path / "m.docx")


def test_unknown_image_key(tmp_path):
    from pipeline.render.docx import render_docx

    with pytest.raises(RenderError, match="'nope'"):
        render_docx(template_path("plan"), FIELDS, "![캡션](image:nope)", {"a": b""}, tmp_path / "p.docx")


def test_charts_png_deterministic():
    from pipeline.render import charts

    a = charts.bar_chart(["전력", "LNG", "경유"], [1234.5, 560, 32.1], "에너지원별 배출량", "tCO₂eq")
    assert a[:8] == b"\x89PNG\r\n\x1a\n"
    assert a == charts.bar_chart(["전력", "LNG", "경유"], [1234.5, 560, 32.1], "에너지원별 배출량", "tCO₂eq")
    assert b"tIME" not in a and b"matplotlib" not in a  # no timestamp / software metadata
    pie = charts.stacked_or_pie_chart(["전력", "LNG"], [70, 30], "배출 비중", "tCO₂eq")
    bars = charts.stacked_or_pie_chart([f"항목{i}" for i in range(8)], list(range(1, 9)), "비중", "t")
    month = charts.monthly_chart([1] * 11 + [None], "월별", "MWh")
    for png in (pie, bars, month):
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) < 200_000
    with pytest.raises(RenderError):
        charts.monthly_chart([1, 2, 3], "월별", "MWh")
    assert charts.korean_font_family() == "NanumGothic"


def test_import_pipeline_stays_light():
    code = ("import sys, pipeline, pipeline.render, pipeline.errors; "
            "heavy = [m for m in ('docx', 'docxtpl', 'matplotlib', 'pypdf', 'markdown') if m in sys.modules]; "
            "print(heavy); sys.exit(1 if heavy else 0)")
    import sys

    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=TEMPLATES_DIR.parents[1])
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ----------------------------------------------------------------------------- LibreOffice
@pytest.mark.slow
def test_pdf_export(rendered, tmp_path):
    require_libreoffice()
    from pipeline.render.pdf import convert_to_pdf, count_pages, pdf_fonts

    pdfs = convert_to_pdf(list(rendered.values()), tmp_path)
    assert [p.name for p in pdfs] == [f"{k}.pdf" for k in rendered]
    for pdf in pdfs:
        pages = count_pages(pdf)
        assert pages >= 1
        if shutil.which("pdffonts"):
            listing = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True).stdout
            embedded = [ln for ln in listing.splitlines() if "Nanum" in ln and " yes " in ln]
            assert embedded, f"{pdf.name}: no embedded Nanum font\n{listing}"
        else:
            assert any("Nanum" in f for f in pdf_fonts(pdf)), pdf.name
        if pdf.stem != "evaluation":
            assert pages >= 3  # cover, TOC, body


@pytest.mark.slow
def test_pdf_conversion_error(tmp_path):
    require_libreoffice()
    from pipeline.errors import ConversionError
    from pipeline.render.pdf import convert_to_pdf

    bad = tmp_path / "broken.docx"
    bad.write_bytes(b"PK\x03\x04 not really a docx")
    with pytest.raises(ConversionError):
        convert_to_pdf([bad], tmp_path / "out")


def test_columns_are_at_least_as_wide_as_their_longest_number_or_code():
    """Issue 16: widths come from the widest unbreakable token (numbers, ranges, codes, short labels)."""
    from pipeline.render.markdown_docx import CELL_MARGINS_TWIPS, _Cell, column_widths, text_twips, unbreakable_tokens

    def cell(text, header=False):
        c = _Cell(header, None)
        c.segments = [(text, header, False)]
        return c

    rows = [[cell("구분", True), cell("2026", True), cell("목표값", True)],
            [cell("고장력 육각·플랜지 볼트 (M8–M24, 8.8/10.9급) 실제값 비용"), cell("1,380–1,520"), cell("3,170.19")]]
    widths = column_widths(rows, 3, 9000)
    assert sum(widths) <= 9000
    for c, width in enumerate(widths):
        longest = max(text_twips(t, r[c].header) for r in rows for t in unbreakable_tokens(r[c].text))
        assert width >= longest + CELL_MARGINS_TWIPS
    assert unbreakable_tokens("충족") == ["충족"] and "7318 15 88" not in unbreakable_tokens("7318 15 88")


def test_adjacent_tables_stay_apart_and_rows_do_not_split():
    from pipeline.render import template_path
    from pipeline.render.docx import render_docx_bytes

    md = "| a | b |\n|---|---|\n| 1 | 2 |\n\n| c | d |\n|---|---|\n| 3 | 4 |\n"
    fields = {k: "t" for k in ("doc_title", "subtitle", "company_name", "date", "prepared_by")}
    fields["toc"] = ""
    data = render_docx_bytes(template_path("plan"), fields, md, {})
    import io
    import zipfile

    xml = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml").decode()
    assert "</w:tbl><w:tbl>" not in xml and "<w:cantSplit/>" in xml


def test_every_table_of_every_sample_fits_its_widest_token():
    """Issue 16: measured over every table of every sample document (column widths from the
    document's own XML against the widest unbreakable token of each cell)."""
    import io
    import re
    import zipfile

    from pipeline.profile import list_company_ids
    from pipeline.publish.context import build_context
    from pipeline.publish.documents import render_all
    from pipeline.render.markdown_docx import CELL_MARGINS_TWIPS, text_twips, unbreakable_tokens

    tight = 0
    for company in list_company_ids():
        _, ctx = build_context(company)
        for name, data in render_all(ctx).items():
            xml = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml").decode()
            for table in re.findall(r"<w:tbl>.*?</w:tbl>", xml, re.S):
                widths = [int(w) for w in re.findall(r'<w:gridCol w:w="(\d+)"/>', table)]
                for row in re.findall(r"<w:tr>.*?</w:tr>", table, re.S):
                    for c, cell in enumerate(re.findall(r"<w:tc>.*?</w:tc>", row, re.S)):
                        text = "".join(re.findall(r"<w:t[^>]*>([^<]*)</w:t>", cell))
                        numbers = [t for t in unbreakable_tokens(text) if any(ch.isdigit() for ch in t)]
                        # the cell margins themselves (CELL_MARGINS_TWIPS less its 60-twip slack)
                        need = max((text_twips(t, "<w:b/>" in cell) for t in numbers), default=0) + CELL_MARGINS_TWIPS - 60
                        if c < len(widths) and need > widths[c]:
                            tight += 1
    assert tight == 0, f"{tight} cells narrower than the number or code they hold"
