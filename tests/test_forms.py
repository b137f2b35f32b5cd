"""Official forms (issue 18 items 2–5): `fill` fills a .hwpx and a .docx form built here
(tests/form_builders.py) with only the answer areas changed, checked part by part; a change
outside the areas is caught (exit 2, nothing written); budgets are reported, not cut; a .hwp is
refused; bad maps and a changed form file are refused naming the file and entry."""
from __future__ import annotations

import hashlib
import io
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from docx_helpers import isolated_store, require_libreoffice
from form_builders import CONFIRMATION, EXAMPLE_MAP, build_docx_form, build_hwpx_form, make_form_folder
from pipeline.commands import main
from pipeline.content import get_content
from pipeline.errors import FormError
from pipeline.forms import fill as fill_module
from pipeline.forms.fill import fill_form
from pipeline.forms.formmap import find_form_folder, load_form
from pipeline.publish.context import build_context

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
HP = "{http://www.hancom.co.kr/hwpml/2011/paragraph}"
BODY = {"docx": "word/document.xml", "hwpx": "Contents/section0.xml"}
PROGRAM = "sme-carbon-facility-general"
COMPANIES = ("jinju-bolt", "jinju-alu")


@pytest.fixture(scope="module")
def contexts():
    content = get_content()
    return {company: build_context(company, content, program_id=PROGRAM)[1] for company in COMPANIES}


@pytest.fixture
def folders(tmp_path):
    return {kind: make_form_folder(tmp_path / kind, kind) for kind in ("hwpx", "docx")}


def _spec(folder: Path):
    return load_form(folder, get_content().programs)


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _text(node, tag) -> str:
    return "".join(t.text or "" for t in node.iter(tag)) + "".join(
        (child.tail or "") for t in node.iter(tag) for child in t)


def _cells(root, kind):
    """Per table: {(row, col): (cell element, text)}."""
    out = []
    if kind == "docx":
        for tbl in root.iter(f"{W}tbl"):
            grid = {}
            for r, tr in enumerate(tbl.findall(f"{W}tr")):
                col = 0
                for tc in tr.findall(f"{W}tc"):
                    span = tc.find(f"{W}tcPr/{W}gridSpan")
                    grid[(r, col)] = (tc, _text(tc, f"{W}t"))
                    col += int(span.get(f"{W}val")) if span is not None else 1
            out.append(grid)
    else:
        for tbl in root.iter(f"{HP}tbl"):
            grid = {}
            for tc in tbl.iter(f"{HP}tc"):
                addr = tc.find(f"{HP}cellAddr")
                grid[(int(addr.get("rowAddr")), int(addr.get("colAddr")))] = (tc, _text(tc, f"{HP}t"))
            out.append(grid)
    return out


def _cell_props(cell, kind) -> bytes:
    """A cell without its content: what filling must leave alone."""
    keep = [c for c in cell if c.tag in (f"{W}tcPr",)] if kind == "docx" else [
        c for c in cell if c.tag != f"{HP}subList"]
    return b"".join(etree.tostring(c) for c in keep) + repr(sorted(cell.attrib.items())).encode()


# ---------------------------------------------------------------- filling, checked part by part

@pytest.mark.parametrize("company", COMPANIES)
@pytest.mark.parametrize("kind", ["hwpx", "docx"])
def test_fill_changes_only_the_answer_areas(kind, company, folders, contexts):
    spec = _spec(folders[kind])
    filled = fill_form(spec, contexts[company])
    original = _members(spec.form_file.read_bytes())
    result = _members(filled.data)
    assert list(result) == list(original)
    for name in original:  # every part without answer areas, byte for byte
        if name != BODY[kind]:
            assert result[name] == original[name], name
    before = etree.fromstring(original[BODY[kind]])
    after = etree.fromstring(result[BODY[kind]])
    # The tables keep their shape and every cell its properties; the labels are untouched.
    cells_before, cells_after = _cells(before, kind), _cells(after, kind)
    assert [sorted(g) for g in cells_before] == [sorted(g) for g in cells_after]
    for grid_b, grid_a in zip(cells_before, cells_after):
        for key, (cell, text) in grid_b.items():
            assert _cell_props(grid_a[key][0], kind) == _cell_props(cell, kind)
            if text.strip() and "     " not in text and not text.startswith("※"):
                assert grid_a[key][1] == text, (key, text)     # labels stay as they were
    company_data = contexts[company]["company"]["company"]
    general, money, box, schedule, closing = cells_after
    assert "□ 정량적 효과" in box[(0, 0)][1] and "구분하여 작성" not in box[(0, 0)][1]
    assert general[(1, 1)][1] == company_data["name"]
    assert general[(1, 3)][1] == "[확인 필요: 대표자 성명]"
    assert general[(2, 1)][1] == company_data["business_number"]
    assert general[(3, 3)][1] == f"{company_data['employees']}명"
    assert re.fullmatch(r"\d{4}년 \d{1,2}월 착수, \d+개월", general[(4, 1)][1].strip()), general[(4, 1)][1]
    total = contexts[company]["strategy"]["budget"]["total_krw_million"]
    assert money[(1, 1)][1] in (f"{total['low']:,.0f}–{total['high']:,.0f}", f"{total['low']:,.0f}")
    assert "추진 단계" in schedule[(1, 0)][1] and schedule[(0, 0)][1] == "추진 일정"
    assert closing[(0, 0)][1] == "신청인" and closing[(0, 1)][1] == "(인)"
    # Paragraph answers: the guide text is gone, the sections' text is in, the rest is in order.
    text = "\n".join(_text(p, f"{W}t" if kind == "docx" else f"{HP}t")
                     for p in after.iter(f"{W}p" if kind == "docx" else f"{HP}p"))
    assert "※ 사업의 목적" not in text and "※ 최종 목표" not in text
    assert "여기를 눌러" not in text                      # the field's guide went with the answer
    assert "대표자 성명: [확인 필요: 대표자 성명]" in text
    for heading in ("1. 사업 개요", "2. 추진 배경 및 필요성", "3. 사업 목표", CONFIRMATION):
        assert heading in text
    assert text.index("1. 사업 개요") < text.index("지원사업: ") < text.index("2. 추진 배경") \
        < text.index("□ 기업의 현안") < text.index("3. 사업 목표") < text.index("\n1. 20") < text.index("4. 기대효과") \
        < text.index("□ 정량적 효과") < text.index("\n추진 체계") < text.index(CONFIRMATION)
    organization = [a for a in filled.areas if a.label == "문단 '5. 추진 체계'"][0]
    assert organization.lines > 1
    # Budgets are reported, never cut: all of the goals are there although the form asks for 3 lines.
    goals = [a for a in filled.areas if a.label == "문단 '3. 사업 목표'"][0]
    assert goals.over == [f"{goals.lines}줄 / 한도 3줄"] and goals.lines > 3
    assert f"{goals.lines}. " in text
    assert filled.missing[0] == "대표자 성명"
    assert all(f"[확인 필요: {need}]" in text for need in filled.missing)   # listed and visible


def test_formatting_is_the_forms_own(folders, contexts):
    """Runs copy the area's first run; a content control's placeholder state and style go; a
    누름틀's value sits in its begin run, the red guide run removed."""
    spec = _spec(folders["docx"])
    root = etree.fromstring(_members(fill_form(spec, contexts["jinju-bolt"]).data)["word/document.xml"])
    sdt = next(root.iter(f"{W}sdt"))
    assert sdt.find(f"{W}sdtPr/{W}showingPlcHdr") is None
    run = sdt.find(f"{W}sdtContent/{W}r")
    assert run.find(f"{W}rPr/{W}b") is not None and run.find(f"{W}rPr/{W}rStyle") is None
    field_runs = [r for r in root.iter(f"{W}r") if r.find(f"{W}rPr/{W}noProof") is not None]
    assert [r.findtext(f"{W}t") for r in field_runs] == ["2027년 4월 착수, 9개월"]   # in the form field's result
    guide_answer = [p for p in root.iter(f"{W}p") if (p.findtext(f"{W}r/{W}t") or "").startswith("지원사업: ")][0]
    assert guide_answer.find(f"{W}r/{W}rPr/{W}i") is not None     # the guide run's formatting, as the form set it

    spec = _spec(folders["hwpx"])
    root = etree.fromstring(_members(fill_form(spec, contexts["jinju-bolt"]).data)["Contents/section0.xml"])
    begin = next(b for b in root.iter(f"{HP}fieldBegin") if b.get("name") == "대표자")
    begin_run = begin.getparent().getparent()
    assert [t.text for t in begin_run.findall(f"{HP}t")] == ["[확인 필요: 대표자 성명]"]
    paragraph = begin_run.getparent()
    assert all(r.get("charPrIDRef") != "7" for r in paragraph.findall(f"{HP}run"))  # the red guide run
    named = next(tc for tc in root.iter(f"{HP}tc") if tc.get("name") == "사업기간")
    assert _text(named, f"{HP}t") == "2027년 4월 착수, 9개월"
    for p in root.iter(f"{HP}p"):  # every paragraph, new ones too, has its shape references
        assert p.get("paraPrIDRef") is not None and p.get("styleIDRef") is not None


def test_plain_formatting_leaves_the_guides_look_behind(folders, contexts):
    """`formatting: plain`: the answer in the paragraph's own character shape, not the guide's italics."""
    folder = folders["docx"]
    (folder / "map.yaml").write_text("answers:\n  - after: 1. 사업 개요\n    from: section:overview\n"
                                     "    formatting: plain\n", encoding="utf-8")
    root = etree.fromstring(_members(fill_form(_spec(folder), contexts["jinju-bolt"]).data)["word/document.xml"])
    answer = [p for p in root.iter(f"{W}p") if (p.findtext(f"{W}r/{W}t") or "").startswith("지원사업: ")][0]
    assert answer.find(f"{W}r/{W}rPr") is None


@pytest.mark.parametrize("kind", ["hwpx", "docx"])
def test_other_readers_see_the_answers(kind, folders, contexts, tmp_path):
    """Read back by other software: python-hwpx sees the 누름틀 and named cell filled (not
    placeholders); python-docx opens the Word form and sees the answers in the cells."""
    spec = _spec(folders[kind])
    out = tmp_path / f"filled.{kind}"
    out.write_bytes(fill_form(spec, contexts["jinju-alu"]).data)
    name = contexts["jinju-alu"]["company"]["company"]["name"]
    if kind == "hwpx":
        from hwpx import HwpxDocument

        document = HwpxDocument.open(str(out))
        fields = {f.name: f for f in document.fields.all}
        assert fields["대표자"].value == "[확인 필요: 대표자 성명]" and not fields["대표자"].is_placeholder
        assert {c.name: c.text for c in document.fields.cells}["사업기간"] == "2027년 4월 착수, 9개월"
        from hwpx.tools.validator import validate_document

        report = validate_document(out)                     # the OWPML schemas python-hwpx ships
        assert report.ok, [str(issue) for issue in report.errors]
    else:
        import docx

        document = docx.Document(str(out))
        assert document.tables[0].cell(1, 1).text == name
        assert document.tables[1].cell(1, 1).text.replace(",", "").replace("–", "").strip()


@pytest.mark.slow
def test_filled_docx_opens_in_libreoffice(folders, contexts, tmp_path):
    require_libreoffice()
    from pypdf import PdfReader

    from pipeline.render.pdf import convert_to_pdf

    out = tmp_path / "filled.docx"
    out.write_bytes(fill_form(_spec(folders["docx"]), contexts["jinju-bolt"]).data)
    pdf = convert_to_pdf([out], tmp_path)[0]
    text = re.sub(r"\s+", "", "".join(page.extract_text() for page in PdfReader(str(pdf)).pages))
    assert re.sub(r"\s+", "", contexts["jinju-bolt"]["company"]["company"]["name"]) in text
    assert "1.사업개요" in text and "지원사업:" in text and re.sub(r"\s+", "", CONFIRMATION) in text


@pytest.mark.parametrize("kind", ["hwpx", "docx"])
def test_fill_command_writes_the_form(kind, folders, tmp_path, monkeypatch):
    isolated_store(tmp_path, monkeypatch, companies=("jinju-bolt",))
    result = CliRunner().invoke(main, ["fill", "jinju-bolt", "--form", str(folders[kind])])
    assert result.exit_code == 0, result.output
    out = tmp_path / "out" / "jinju-bolt" / f"{PROGRAM}-양식.{kind}"
    assert out.is_file()
    assert "부분별 검증 통과" in result.output
    assert "분량 초과" in result.output and "잘라내지 않았습니다" in result.output
    assert "map.yaml:" in result.output                       # where the budget is set
    assert "대표자 성명" in result.output                     # the gaps, listed


def test_strict_fails_on_budget_and_writes_nothing(folders, tmp_path, monkeypatch):
    isolated_store(tmp_path, monkeypatch, companies=("jinju-bolt",))
    result = CliRunner().invoke(main, ["fill", "jinju-bolt", "--form", str(folders["docx"]), "--strict"])
    assert result.exit_code == 2 and "--strict" in result.output
    assert not (tmp_path / "out" / "jinju-bolt").exists() or not list((tmp_path / "out" / "jinju-bolt").iterdir())


def test_form_found_by_program_id(tmp_path, monkeypatch):
    make_form_folder(tmp_path / "forms", "hwpx", year=2025)
    newest = make_form_folder(tmp_path / "forms", "docx", year=2026)
    monkeypatch.setattr("pipeline.forms.formmap.content_root", lambda: tmp_path)
    assert find_form_folder(PROGRAM) == newest
    assert find_form_folder(PROGRAM, 2025).name == "2025"
    with pytest.raises(FormError, match="2024년 양식이 없습니다"):
        find_form_folder(PROGRAM, 2024)
    with pytest.raises(FormError, match="등록되어 있지 않습니다"):
        find_form_folder("eco-startup")


# ---------------------------------------------------------------- the proof catches what it must

def _forge_attribute(root, kind):
    cell = next(root.iter(f"{W}tc" if kind == "docx" else f"{HP}tc"))   # the title cell, outside every area
    target = cell.find(f"{W}tcPr") if kind == "docx" else cell
    target.set("forged", "1")


def _forge_text(root, kind):
    tag = f"{W}t" if kind == "docx" else f"{HP}t"
    node = next(t for t in root.iter(tag) if t.text == CONFIRMATION)
    node.text = CONFIRMATION.replace("확인합니다", "확인함")


def _forge_removal(root, kind):
    tag = f"{W}tbl" if kind == "docx" else f"{HP}tbl"
    closing = list(root.iter(tag))[-1]
    closing.getparent().remove(closing)


def _forge_label(root, kind):
    tag = f"{W}t" if kind == "docx" else f"{HP}t"
    node = next(t for t in root.iter(tag) if t.text == "업종(KSIC)")
    node.text = "업종"


@pytest.mark.parametrize("forge", [_forge_attribute, _forge_text, _forge_removal, _forge_label])
@pytest.mark.parametrize("kind", ["hwpx", "docx"])
def test_a_change_outside_the_answer_areas_is_caught(kind, forge, folders, tmp_path, monkeypatch):
    """A filler that also touches the form elsewhere (here: monkeypatched) fails the command."""
    real = fill_module.fill_area
    forged = []

    def forging(dialect, area):
        real(dialect, area)
        if not forged:
            forge(area.slots[0].parent.getroottree().getroot(), kind)
            forged.append(area)

    monkeypatch.setattr(fill_module, "fill_area", forging)
    isolated_store(tmp_path, monkeypatch, companies=("jinju-bolt",))
    result = CliRunner().invoke(main, ["fill", "jinju-bolt", "--form", str(folders[kind])])
    assert forged
    assert result.exit_code == 2, result.output
    assert "양식 보존 검증 실패" in result.output and BODY[kind] in result.output
    assert "Traceback" not in result.output
    assert not list((tmp_path / "out").rglob(f"*.{kind}"))


def test_a_changed_part_without_areas_is_caught(folders, contexts, monkeypatch):
    real = fill_module.write_package

    def forging(form, replaced):
        return real(form, dict(replaced, **{"word/styles.xml": form.read("word/styles.xml") + b" "}))

    monkeypatch.setattr(fill_module, "write_package", forging)
    with pytest.raises(FormError, match=r"word/styles\.xml.*답변 칸이 없는 부분인데"):
        fill_form(_spec(folders["docx"]), contexts["jinju-bolt"])


# ---------------------------------------------------------------- refused inputs

def test_hwp_binary_is_refused_with_the_way_to_convert(folders, tmp_path, monkeypatch):
    from hwpx.hwp5.writer import write_hwp5

    folder = folders["hwpx"]
    hwpx = folder / "사업계획서_양식.hwpx"
    hwp = folder / "사업계획서_양식.hwp"
    hwp.write_bytes(write_hwp5(_members(hwpx.read_bytes())))
    assert hwp.read_bytes()[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    source = (folder / "source.yaml").read_text(encoding="utf-8")
    source = re.sub(r"sha256: \w+", f"sha256: {hashlib.sha256(hwp.read_bytes()).hexdigest()}", source)
    (folder / "source.yaml").write_text(source.replace(hwpx.name, hwp.name), encoding="utf-8")
    isolated_store(tmp_path, monkeypatch, companies=("jinju-bolt",))
    result = CliRunner().invoke(main, ["fill", "jinju-bolt", "--form", str(folder)])
    assert result.exit_code == 2
    assert "다른 이름으로 저장" in result.output and "hwpx" in result.output and "form-convert" in result.output
    assert not (tmp_path / "out" / "jinju-bolt").exists() or not list((tmp_path / "out" / "jinju-bolt").iterdir())
    # The converter the message names runs here; its result can be filled once recorded as the form.
    converted = tmp_path / "out" / "converted.hwpx"
    result = CliRunner().invoke(main, ["form-convert", str(hwp), str(converted)])
    assert result.exit_code == 0, result.output
    assert "한글" in result.output
    shutil.copyfile(converted, hwpx)
    source = re.sub(r"sha256: \w+", f"sha256: {hashlib.sha256(hwpx.read_bytes()).hexdigest()}", source)
    (folder / "source.yaml").write_text(source, encoding="utf-8")
    result = CliRunner().invoke(main, ["fill", "jinju-bolt", "--form", str(folder)])
    assert result.exit_code == 0, result.output


def test_changed_form_file_is_refused(folders, contexts):
    spec = _spec(folders["docx"])
    build_docx_form(spec.form_file, title="2027년 양식 (개정)")
    with pytest.raises(FormError, match="SHA-256이 source.yaml과 다릅니다.*아무것도 쓰지 않았습니다"):
        fill_form(spec, contexts["jinju-bolt"])


BAD_ENTRIES = [
    ("  - after: 1. 사업 개요\n    from: section:overviw\n", "계획서에 없는 섹션 id 'overviw'"),
    ("  - after: 3. 사업 목표\n    from: section:goals/없는 제목\n", "제목 '없는 제목'이(가) 없습니다"),
    ("  - cell: 일반현황 > 설립일자\n    from: company.company.founded\n", "라벨 칸 '일반현황 > 설립일자'을(를) 찾을 수 없습니다"),
    ("  - cell: 일반현황 > 기업명\n    from: company.company.nmae\n", "알 수 없는 경로 'company.company.nmae'"),
    ("  - cell: 일반현황 > 기업명\n    from: strategy.budgett.total\n", "알 수 없는 경로 'strategy.budgett.total'"),
    ("  - field: 없는필드\n    from: company.company.name\n", "이름이 '없는필드'인 누름틀"),
    ("  - after: 1. 사업 개요\n    cell: 기업명\n    from: company.company.name\n", "정확히 하나"),
    ("  - after: 1. 사업 개요\n    from: section:overview\n    max_chars: -3\n", "양의 정수"),
    ("  - after: 1. 사업 개요\n    from: section:overview\n    colour: red\n", "알 수 없는 항목 'colour'"),
    ("  - cell: 일반현황 > 기업명\n    from: company.company.name\n  - cell: 일반현황 > 기업명\n    text: 두 번\n", "겹칩니다"),
]


@pytest.mark.parametrize("entry,message", BAD_ENTRIES)
def test_bad_map_entry_names_the_file_and_entry(entry, message, folders, tmp_path, monkeypatch):
    folder = folders["hwpx"]
    (folder / "map.yaml").write_text("answers:\n  - cell: 일반현황 > 소재지\n    from: company.company.address\n"
                                     + entry, encoding="utf-8")
    isolated_store(tmp_path, monkeypatch, companies=("jinju-bolt",))
    result = CliRunner().invoke(main, ["fill", "jinju-bolt", "--form", str(folder)])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert re.search(r"map\.yaml:\d+ \[answers\[1\]", result.output), result.output
    assert "Traceback" not in result.output
    assert not list((tmp_path / "out").rglob("*.hwpx"))


def test_ambiguous_label_asks_for_a_path(folders, contexts):
    import docx

    folder = folders["docx"]
    form = folder / "사업계획서_양식.docx"
    document = docx.Document(str(form))
    extra = document.add_table(rows=1, cols=2)
    extra.cell(0, 0).text = "기업명"
    document.save(str(form))
    source = folder / "source.yaml"
    source.write_text(re.sub(r"sha256: \w+", f"sha256: {hashlib.sha256(form.read_bytes()).hexdigest()}",
                             source.read_text(encoding="utf-8")), encoding="utf-8")
    (folder / "map.yaml").write_text("answers:\n  - cell: 기업명\n    from: company.company.name\n", encoding="utf-8")
    with pytest.raises(FormError, match=r"map\.yaml:2 \[answers\[0\]\].*2곳 있습니다.*일반현황 > 기업명"):
        fill_form(_spec(folder), contexts["jinju-bolt"])
    (folder / "map.yaml").write_text("answers:\n  - cell: 일반현황 > 기업명\n    from: company.company.name\n",
                                     encoding="utf-8")
    filled = fill_form(_spec(folder), contexts["jinju-bolt"])
    cells = _cells(etree.fromstring(_members(filled.data)["word/document.xml"]), "docx")
    assert cells[0][(1, 1)][1] == contexts["jinju-bolt"]["company"]["company"]["name"]
    assert cells[-1][(0, 1)][1] == ""                      # the other 기업명's neighbour stays empty


def test_bad_source_yaml(folders):
    folder = folders["docx"]
    source = folder / "source.yaml"
    text = source.read_text(encoding="utf-8")
    source.write_text(text.replace(f"program: {PROGRAM}", "program: no-such-program"), encoding="utf-8")
    with pytest.raises(FormError, match=r"source\.yaml:1 \[program\] content/programs/에 없는 사업 id"):
        _spec(folder)
    source.write_text(re.sub(r"sha256: \w+", "sha256: 1234", text), encoding="utf-8")
    with pytest.raises(FormError, match=r"\[sha256\] 16진수 64자리"):
        _spec(folder)


def test_hostile_form_parts_are_refused(folders, contexts):
    spec = _spec(folders["docx"])
    members = _members(spec.form_file.read_bytes())
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><w:document xmlns:w="%s"/>' % W[1:-1].encode()
    members["word/document.xml"] = bomb
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    spec.form_file.write_bytes(buffer.getvalue())
    spec.sha256 = hashlib.sha256(buffer.getvalue()).hexdigest()
    with pytest.raises(FormError, match="DTD·엔터티"):
        fill_form(spec, contexts["jinju-bolt"])
    spec.form_file.write_bytes(b"not a zip at all")
    spec.sha256 = hashlib.sha256(b"not a zip at all").hexdigest()
    with pytest.raises(FormError, match="zip"):
        fill_form(spec, contexts["jinju-bolt"])


def test_plan_sections_have_stable_ids(contexts):
    sections = contexts["jinju-bolt"]["documents"]["plan"]["sections"]
    assert [s["id"] for s in sections] == ["overview", "company", "background", "goals", "organization",
                                           "schedule", "budget", "kpi", "effects", "risks"]
    assert sections[0]["markdown"].lstrip().startswith("# 1. 사업 개요")


def test_example_map_is_the_documented_one():
    text = EXAMPLE_MAP.read_text(encoding="utf-8")
    readme = (Path(__file__).resolve().parents[1] / "content" / "forms" / "README.md").read_text(encoding="utf-8")
    for key in ("cell:", "after:", "field:", "below:", "max_chars:", "max_lines:", "section:", "ask:"):
        assert key in text or key in readme
        assert key in readme


def _variant_docx(path: Path) -> Path:
    """Other structures real Word forms use: a block-level content control holding paragraphs, a
    label merged over two rows (w:vMerge) with sub-labels, and a table nested in a cell."""
    import docx
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    doc = docx.Document()
    doc.add_paragraph("사업계획서", style="Title")
    table = doc.add_table(rows=2, cols=3)
    table.style = "Table Grid"
    table.cell(0, 0).merge(table.cell(1, 0)).text = "사업비"
    table.cell(0, 1).text = "정부지원금"
    table.cell(1, 1).text = "기업부담금"
    outer = doc.add_table(rows=1, cols=1)
    inner = outer.cell(0, 0).add_table(rows=1, cols=2)
    inner.cell(0, 0).text = "과제명"
    doc.element.body.insert(len(doc.element.body) - 1, parse_xml(
        '<w:sdt {0}><w:sdtPr><w:tag w:val="사업목적"/><w:showingPlcHdr/></w:sdtPr><w:sdtContent>'
        '<w:p><w:pPr><w:jc w:val="both"/></w:pPr><w:r><w:rPr><w:color w:val="808080"/></w:rPr>'
        '<w:t>사업의 목적을 입력하십시오.</w:t></w:r></w:p></w:sdtContent></w:sdt>'.format(nsdecls("w"))))
    doc.add_paragraph("끝.")
    doc.save(str(path))
    return path


def test_other_word_structures(tmp_path, contexts):
    folder = make_form_folder(tmp_path, "docx", builder=_variant_docx)
    (folder / "map.yaml").write_text(
        "answers:\n"
        "  - cell: 사업비 > 정부지원금\n    from: strategy.budget.gov_krw_million\n"
        "  - cell: 사업비 > 기업부담금\n    from: strategy.budget.company_krw_million\n"
        "  - cell: 과제명\n    text: 탄소중립 설비 전환\n"
        "  - field: 사업목적\n    from: section:goals/최종 목표\n", encoding="utf-8")
    filled = fill_form(_spec(folder), contexts["jinju-alu"])
    root = etree.fromstring(_members(filled.data)["word/document.xml"])
    tables = [_cells(t, "docx")[0] for t in root.iter(f"{W}tbl") if t.getparent().tag == f"{W}body"]
    assert tables[0][(0, 2)][1] == "300" and tables[0][(1, 2)][1]
    nested = _cells(next(t for t in root.iter(f"{W}tbl") if t.getparent().tag == f"{W}tc"), "docx")[0]
    assert nested[(0, 1)][1] == "탄소중립 설비 전환"
    sdt = next(root.iter(f"{W}sdt"))
    paragraphs = sdt.findall(f"{W}sdtContent/{W}p")
    assert len(paragraphs) == filled.areas[3].lines > 1
    assert all(p.find(f"{W}pPr/{W}jc") is not None for p in paragraphs)      # the control's paragraph look
    assert sdt.find(f"{W}sdtPr/{W}showingPlcHdr") is None
    assert all(p.find(f"{W}r/{W}rPr") is None for p in paragraphs)     # not the placeholder's gray
    assert "입력하십시오" not in _text(root, f"{W}t") and "끝." in _text(root, f"{W}t")


BOMBS = {
    "bomb": lambda z: z.writestr(zipfile.ZipInfo("word/document.xml"), b"<a/>" + b" " * (30 * 1024 * 1024),
                                 compress_type=zipfile.ZIP_DEFLATED),
    "members": lambda z: [z.writestr(f"x/{i}.xml", b"") for i in range(5001)],
    "duplicate": lambda z: (z.writestr("word/document.xml", b"<a/>"), z.writestr("word/document.xml", b"<b/>")),
}


@pytest.mark.hardening
@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_hostile_zip_forms_are_refused_before_reading(kind, tmp_path):
    import warnings

    from pipeline.forms.package import read_form

    path = tmp_path / "form.docx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name: that is the point
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("[Content_Types].xml", b"<Types/>")
            BOMBS[kind](archive)
    expected = {"bomb": "압축 폭탄", "members": "항목이 너무 많습니다", "duplicate": "같은 이름"}[kind]
    with pytest.raises(FormError, match=expected):
        read_form(path)


def _variant_hwpx(path: Path) -> Path:
    """A label merged over two rows with sub-labels, a 누름틀 inside a table cell, two sections' worth
    of text before and after."""
    from hwpx import HwpxDocument

    doc = HwpxDocument.new()
    doc.add_paragraph("사업계획서")
    table = doc.add_table(2, 3)
    table.cell(0, 0).text = "사 업 비"
    table.merge_cells(0, 0, 1, 0)
    table.cell(0, 1).text = "정부지원금"
    table.cell(1, 1).text = "기업부담금"
    box = doc.add_table(1, 2)
    box.cell(0, 0).text = "대표자"
    cell_paragraph = box.cell(0, 1).paragraphs[0]
    doc.fields.add("대표자서명", prompt="성명 입력", paragraph=cell_paragraph)
    doc.add_paragraph("끝.")
    doc.save_to_path(str(path))
    return path


def test_other_hwpx_structures(tmp_path, contexts):
    folder = make_form_folder(tmp_path, "hwpx", builder=_variant_hwpx)
    (folder / "map.yaml").write_text(
        "answers:\n"
        "  - cell: 사업비 > 정부지원금\n    from: strategy.budget.gov_krw_million\n"
        "  - cell: 사업비 > 기업부담금\n    from: strategy.budget.company_krw_million\n"
        "  - field: 대표자서명\n    from: ask:대표자 성명\n", encoding="utf-8")
    filled = fill_form(_spec(folder), contexts["jinju-alu"])
    root = etree.fromstring(_members(filled.data)["Contents/section0.xml"])
    money, signature = _cells(root, "hwpx")
    assert money[(0, 2)][1] == "300" and money[(1, 2)][1] and money[(0, 0)][1] == "사 업 비"
    assert signature[(0, 1)][1] == "[확인 필요: 대표자 성명]"
    # The same cell addressed as a table cell and by its field overlaps: refused, naming both entries.
    (folder / "map.yaml").write_text(
        "answers:\n  - cell: 대표자\n    text: a\n  - field: 대표자서명\n    text: b\n", encoding="utf-8")
    with pytest.raises(FormError, match=r"answers\[1\].*겹칩니다"):
        fill_form(_spec(folder), contexts["jinju-alu"])
