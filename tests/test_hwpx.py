"""HWPX copies of the documents (`hwpx ID`, issue 18 item 1).

Each file is checked three ways: python-hwpx's own validation (package and OWPML schemas), a
reader independent of python-hwpx (hwp-hwpx-parser: text and table cells, compared with the Word
file read by python-docx), and the OWPML XML read here with lxml (page size and margins, header,
the footer's page-number fields, fonts, header rows, markers, pictures).

Two sample companies: jinju-bolt (설비투자 plan, CBAM tables, a chart) and jinju-gear (an R&D plan).
The plans run in a subprocess into a temporary store through `hwpx` itself (no revision yet: it
makes the plan first); error cases run in-process through CliRunner on a copy of that store.
"""
from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from docx_helpers import ROOT

COMPANIES = ("jinju-bolt", "jinju-gear")
DOCS = ("plan", "diagnosis", "matching")
HP = "{http://www.hancom.co.kr/hwpml/2011/paragraph}"
HH = "{http://www.hancom.co.kr/hwpml/2011/head}"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
HWPUNIT_PER_MM = 7200 / 25.4
FONTS = {"함초롬돋움", "함초롬바탕"}


def _env(root: Path) -> dict:
    import os

    values = {"CARBON_OUT_DIR": str(root / "out"), "CARBON_REVISIONS_DIR": str(root / "revisions"),
              "CARBON_COMPANIES_DIR": str(root / "companies"), "CARBON_AUTHOR": "테스트 컨설턴트"}
    return dict(os.environ, PYTHONPATH=str(ROOT), **values)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hwpx")
    (root / "companies").mkdir()
    for company in COMPANIES:
        shutil.copy(ROOT / "companies" / f"{company}.yaml", root / "companies")
        result = subprocess.run([sys.executable, "-m", "pipeline", "hwpx", company], cwd=ROOT, env=_env(root),
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        assert "저장된 리비전이 없어 먼저 문서를 만듭니다" in result.stdout
        for doc in DOCS:
            assert f"{company}/{doc}.hwpx" in result.stdout
    return root


def files(store: Path, company: str, doc: str) -> tuple[Path, Path]:
    folder = store / "out" / company
    return folder / f"{doc}.hwpx", folder / f"{doc}.docx"


def owpml(path: Path, member: str):
    from lxml import etree

    with zipfile.ZipFile(path) as archive:
        return etree.fromstring(archive.read(member))


def squash(text: str) -> str:
    return " ".join(text.split())


def docx_tables(path: Path) -> list[list[list[str]]]:
    import docx

    return [[[squash(cell.text) for cell in row.cells] for row in table.rows] for table in docx.Document(str(path)).tables]


def docx_headings(path: Path) -> list[str]:
    import docx

    return [p.text for p in docx.Document(str(path)).paragraphs if p.style.name.startswith("Heading")]


# ---------------------------------------------------------------------- validation

@pytest.mark.parametrize("company", COMPANIES)
@pytest.mark.parametrize("doc", DOCS)
def test_the_library_validates_each_file(store, company, doc):
    from hwpx import HwpxDocument, validate_editor_open_safety, validate_package

    hwpx_path, _ = files(store, company, doc)
    data = hwpx_path.read_bytes()
    assert validate_package(data).ok, validate_package(data).errors
    assert HwpxDocument.open(io.BytesIO(data)).validate().issues == ()
    assert validate_editor_open_safety(data).ok


# ---------------------------------------------------------------------- independent reader

@pytest.mark.parametrize("company", COMPANIES)
@pytest.mark.parametrize("doc", DOCS)
def test_an_independent_reader_reads_every_heading_and_table_cell(store, company, doc):
    from hwp_hwpx_parser import Reader

    hwpx_path, docx_path = files(store, company, doc)
    with Reader(str(hwpx_path)) as reader:
        assert reader.is_valid
        lines = [squash(line) for line in reader.text.splitlines()]
        tables = [[[squash(cell) for cell in row] for row in table.rows] for table in reader.tables]
    headings = docx_headings(docx_path)
    assert len(headings) >= 5
    at = 0
    for heading in headings:  # in order, after the table of contents
        assert squash(heading) in lines[at:], heading
        at = lines.index(squash(heading), at) + 1
    expected = docx_tables(docx_path)
    assert expected, "the Word document has tables"
    assert tables == expected
    assert not any("F9" in line for line in lines)  # the Word-only TOC hint is not carried over


@pytest.mark.parametrize("company", COMPANIES)
def test_markers_and_pictures_are_carried_over(store, company):
    import docx

    hwpx_path, docx_path = files(store, company, "plan")
    section = owpml(hwpx_path, "Contents/section0.xml")
    header = owpml(hwpx_path, "Contents/header.xml")
    text = "".join(t.text or "" for t in section.iter(f"{HP}t"))
    word = docx.Document(str(docx_path))
    word_text = "".join(t.text or "" for t in word.element.body.iter(f"{W}t"))
    assert text.count("[확인 필요") == word_text.count("[확인 필요") > 0
    char_prs = {c.get("id"): c for c in header.iter(f"{HH}charPr")}
    for run in section.iter(f"{HP}run"):
        run_text = "".join(t.text or "" for t in run.iter(f"{HP}t"))
        if run_text.startswith("[확인 필요"):
            look = char_prs[run.get("charPrIDRef")]
            assert look.get("textColor") == "#C00000" and look.find(f"{HH}bold") is not None, run_text
    pictures = list(section.iter(f"{HP}pic"))
    assert len(pictures) == len(list(word.element.body.iter(f"{W}drawing"))) >= 1
    with zipfile.ZipFile(hwpx_path) as archive:
        assert [n for n in archive.namelist() if n.startswith("BinData/")]


# ---------------------------------------------------------------------- page, header, footer, fonts

@pytest.mark.parametrize("company", COMPANIES)
def test_a4_with_the_word_margins_header_and_page_number_footer(store, company):
    import docx

    hwpx_path, docx_path = files(store, company, "plan")
    section = owpml(hwpx_path, "Contents/section0.xml")
    page = section.find(f".//{HP}secPr/{HP}pagePr")
    assert abs(int(page.get("width")) - 210 * HWPUNIT_PER_MM) < 30
    assert abs(int(page.get("height")) - 297 * HWPUNIT_PER_MM) < 30
    margin = page.find(f"{HP}margin")
    word = docx.Document(str(docx_path)).sections[0]
    for name, value in (("left", word.left_margin), ("right", word.right_margin), ("top", word.top_margin),
                        ("bottom", word.bottom_margin), ("header", word.header_distance),
                        ("footer", word.footer_distance)):
        assert abs(int(margin.get(name)) - value.mm * HWPUNIT_PER_MM) < 30, name
    headers = list(section.iter(f"{HP}header"))
    footers = list(section.iter(f"{HP}footer"))
    assert len(headers) == len(footers) == 1  # one story each, inside <hp:ctrl>
    assert headers[0].getparent().tag == f"{HP}ctrl" and footers[0].getparent().tag == f"{HP}ctrl"
    company_name = docx.Document(str(docx_path)).paragraphs[3].text  # the cover's company line
    assert company_name in "".join(t.text or "" for t in headers[0].iter(f"{HP}t"))
    pieces = []
    for element in footers[0].iter(f"{HP}t", f"{HP}autoNum"):
        pieces.append(element.text or "" if element.tag == f"{HP}t" else f"<{element.get('numType')}>")
    assert "".join(pieces) == "- <PAGE> / <TOTAL_PAGE> -"
    visibility = section.find(f".//{HP}secPr/{HP}visibility")  # the cover has no header or footer, as in Word
    assert visibility.get("hideFirstHeader") in ("1", "true") and visibility.get("hideFirstFooter") in ("1", "true")


@pytest.mark.parametrize("company", COMPANIES)
def test_fonts_are_ones_hangul_has(store, company):
    hwpx_path, _ = files(store, company, "plan")
    header = owpml(hwpx_path, "Contents/header.xml")
    section = owpml(hwpx_path, "Contents/section0.xml")
    faces = {face.get("lang"): {f.get("id"): f.get("face") for f in face.iter(f"{HH}font")}
             for face in header.iter(f"{HH}fontface")}
    char_prs = {c.get("id"): c for c in header.iter(f"{HH}charPr")}
    used = {run.get("charPrIDRef") for run in section.iter(f"{HP}run") if run.find(f"{HP}t") is not None}
    seen = set()
    for ref in used:
        font = char_prs[ref].find(f"{HH}fontRef")
        for lang, attr in (("HANGUL", "hangul"), ("LATIN", "latin")):
            seen.add(faces[lang][font.get(attr)])
    assert seen == FONTS


@pytest.mark.parametrize("company", COMPANIES)
def test_tables_repeat_their_header_rows_and_keep_word_column_widths(store, company):
    import docx

    hwpx_path, docx_path = files(store, company, "plan")
    section = owpml(hwpx_path, "Contents/section0.xml")
    tables = list(section.iter(f"{HP}tbl"))
    word_tables = docx.Document(str(docx_path)).tables
    assert len(tables) == len(word_tables)
    for table, word_table in zip(tables, word_tables):
        assert table.get("repeatHeader") == "1"
        first, *rest = table.findall(f"{HP}tr")
        assert all(tc.get("header") == "1" for tc in first.findall(f"{HP}tc"))
        assert all(tc.get("header") == "0" for tr in rest for tc in tr.findall(f"{HP}tc"))
        grid = [int(g.get(f"{W}w")) for g in word_table._tbl.iterfind(f"{W}tblGrid/{W}gridCol")]
        widths = [int(tc.find(f"{HP}cellSz").get("width")) for tc in first.findall(f"{HP}tc")]
        assert [round(w / 5) for w in widths] == pytest.approx(grid, abs=2)


# ---------------------------------------------------------------------- errors, nothing half-written

@pytest.fixture()
def copy(store, tmp_path, monkeypatch) -> Path:
    """A copy of the store with one revision of jinju-bolt and no HWPX yet, used in-process."""
    root = tmp_path / "store"
    root.mkdir()
    shutil.copytree(store / "companies", root / "companies")
    shutil.copytree(store / "revisions", root / "revisions")
    (root / "out").mkdir()
    for key, value in _env(root).items():
        if key.startswith("CARBON_"):
            monkeypatch.setenv(key, value)
    return root


def cli(args: list[str]):
    from pipeline.commands import main

    return CliRunner().invoke(main, args)


def test_unknown_company_exit_2_in_korean(copy):
    result = cli(["hwpx", "jinju-nobody"])
    assert result.exit_code == 2
    assert "프로필이 없습니다" in result.output and "Traceback" not in result.output
    assert not (copy / "out" / "jinju-nobody").exists()


def test_unknown_revision_exit_2(copy):
    result = cli(["hwpx", "jinju-bolt", "--revision", "9"])
    assert result.exit_code == 2
    assert "r009" in result.output and "r001" in result.output
    assert not list((copy / "out").rglob("*.hwpx"))


def test_a_damaged_stored_document_writes_nothing(copy):
    (copy / "revisions" / "jinju-bolt" / "r001" / "matching.docx").write_bytes(b"not a zip")
    result = cli(["hwpx", "jinju-bolt"])
    assert result.exit_code == 2
    assert "matching.docx" in result.output and "손상" in result.output
    assert not list((copy / "out").rglob("*.hwpx"))  # not even plan.hwpx, built before the failure


def test_a_file_that_does_not_validate_is_not_written(copy, monkeypatch):
    import pipeline.hwpx.writer as writer

    monkeypatch.setattr(writer, "validation_problems", lambda data: ["Contents/section0.xml: schema"])
    result = cli(["hwpx", "jinju-bolt", "--doc", "plan"])
    assert result.exit_code == 2
    assert "검증을 통과하지 못해 저장하지 않았습니다" in result.output
    assert not list((copy / "out").rglob("*.hwpx"))


def test_one_document_and_a_new_plan_drops_the_stale_copies(copy):
    result = cli(["hwpx", "jinju-bolt", "--doc", "plan"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (copy / "out" / "jinju-bolt").glob("*.hwpx")) == ["plan.hwpx"]
    assert re.search(r"r001", result.output)
    env = _env(copy)
    run = subprocess.run([sys.executable, "-m", "pipeline", "plan", "jinju-bolt", "--no-page-count"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert not list((copy / "out" / "jinju-bolt").glob("*.hwpx"))  # they showed r001; out/ now holds r002
