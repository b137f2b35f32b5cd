"""The 자료요청서 (issue 20 items 1–3): the Excel form generated from the profile schema, and a
returned workbook read back into companies/<id>.yaml with cell-precise problems.

Workbooks are edited the way a company's spreadsheet program saves them: openpyxl load → change
cells → save (and, marked slow, a real LibreOffice Calc re-save). Every expected cell is looked up
in the workbook by its hidden key, then checked in the message as `시트!셀`.
"""
from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest
import yaml
from click.testing import CliRunner

from pipeline.commands import main
from pipeline.content import get_content
from pipeline.exports.intake_form import intake_form
from pipeline.profile import list_company_ids, load_profile
from pipeline.profile.intake import (
    BOOLEAN,
    IntakeError,
    MARKER_SHEET,
    Field,
    apply_intake,
    build_layout,
    cell_to_value,
    parse_number,
    plan_intake,
)
from pipeline.profile.yamlsafe import load_yaml

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = list_company_ids(ROOT / "companies")
pytestmark = pytest.mark.hardening


@pytest.fixture(scope="module")
def content():
    return get_content()


@pytest.fixture(scope="module")
def layout(content):
    return build_layout(content)


@pytest.fixture
def companies(tmp_path, monkeypatch):
    """A private copy of companies/ (intake writes there)."""
    folder = tmp_path / "companies"
    shutil.copytree(ROOT / "companies", folder)
    monkeypatch.setenv("CARBON_COMPANIES_DIR", str(folder))
    return folder


def form_for(layout, content, company: str | None, folder: Path) -> Path:
    data = load_profile(company, content, ROOT / "companies").data if company else None
    form = intake_form(layout, data, company)
    path = folder / form.file_name
    path.write_bytes(form.data)
    return path


class Book:
    """A workbook opened for editing, with the cells found by their hidden keys."""

    def __init__(self, path: Path):
        self.path = path
        self.wb = openpyxl.load_workbook(path)

    def cell(self, sheet: str, key: str, index: int = 0) -> str:
        """The cell of a form field (`key` = data path) or of a table column (`key`) in data row `index`."""
        ws = self.wb[sheet]
        for row in ws.iter_rows(max_col=1):
            if row[0].value == key:
                return f"C{row[0].row}"
        for row in ws.iter_rows():
            marker = row[0].value
            if isinstance(marker, str) and marker.startswith("#"):
                for c in row[1:]:
                    if c.value == key:
                        first = row[0].row + 1
                        while isinstance(ws.cell(first, 1).value, str) and ws.cell(first, 1).value.startswith("^"):
                            first += 1
                        return f"{c.column_letter}{first + index}"
        raise KeyError((sheet, key))

    def set(self, sheet: str, key: str, value, index: int = 0) -> str:
        ref = self.cell(sheet, key, index)
        self.wb[sheet][ref].value = value
        return f"{sheet}!{ref}"

    def get(self, sheet: str, key: str, index: int = 0):
        return self.wb[sheet][self.cell(sheet, key, index)].value

    def save(self, name: str = "returned.xlsx") -> Path:
        out = self.path.with_name(name)
        self.wb.save(out)
        return out


def problems_of(company: str, workbook: Path, content) -> list[str]:
    with pytest.raises(IntakeError) as caught:
        plan_intake(company, workbook, content)
    return [str(p) for p in caught.value.problems] or [caught.value.message]


# ============================================================ layout from the schema
def test_every_schema_field_has_korean_words_and_no_stale_ones(layout):
    words = yaml.safe_load((ROOT / "content/intake/fields.yaml").read_text(encoding="utf-8"))
    generic = set()
    for block in layout.blocks.values():
        generic.add(block.id)
        generic.update(f.generic for f in block.fields)
    parts = {str(p) for s in layout.texts["sheets"] for p in s["parts"]}
    missing = sorted(g for g in generic | parts if g not in words)
    assert not missing, f"content/intake/fields.yaml has no label for {missing}"
    stale = sorted(k for k in words if k not in generic and k not in parts)
    assert not stale, f"content/intake/fields.yaml names paths the schema no longer has: {stale}"


def test_the_form_covers_every_schema_leaf(layout):
    """Walk the schema independently: every scalar leaf outside the consultant's parts is a cell."""
    schema = layout.schema
    defs = schema["$defs"]

    def resolve(node):
        while "$ref" in node:
            node = {**defs[node["$ref"].rsplit("/", 1)[-1]], **{k: v for k, v in node.items() if k != "$ref"}}
        return node

    leaves = []

    def walk(node, path):
        node = resolve(node)
        types = node.get("type")
        types = types if isinstance(types, list) else [types]
        if "object" in types and "properties" in node:
            for name, child in node["properties"].items():
                walk(child, f"{path}.{name}" if path else name)
        elif "object" in types:
            leaves.append(path + ".<value>")
        elif "array" in types:
            walk(node.get("items", {}), path + "[]")
        else:
            leaves.append(path)

    walk(schema, "")
    held = {f.generic for b in layout.blocks.values() for f in b.fields}
    expected = [p for p in leaves if p.split(".")[0].split("[")[0] not in layout.consultant_only]
    assert sorted(set(expected) - held) == []
    assert set(layout.consultant_only) == {"settings", "overrides"}


def test_sheets_named_as_the_issue_asks(layout):
    names = [name for name, _note, _blocks in layout.sheets]
    for part in ("일반현황", "제품", "수출·고객사", "고객 요구", "공정·설비", "전력(월별)", "연료", "재생에너지",
                 "원자재·운송(Scope 3)", "인증·준비도", "컨설팅 면담"):
        assert part in names
    assert {"전구물질(CBAM)", "설비"} <= set(names)  # the nested lists' own sheets


def test_workbook_has_dropdowns_for_every_enum_numbers_as_numbers_and_protection(tmp_path, layout, content):
    path = form_for(layout, content, "jinju-bolt", tmp_path)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[0] == "안내"
    assert wb[MARKER_SHEET].sheet_state == "veryHidden"
    assert wb.security.lockStructure
    book = Book(path)
    for block in layout.blocks.values():
        ws = wb[block.sheet]
        assert ws.protection.sheet and ws.column_dimensions["A"].hidden
        ranges = {}
        for dv in ws.data_validations.dataValidation:
            for cells in str(dv.sqref).split():
                ranges[cells.split(":")[0]] = dv
        for f in block.fields:
            if f.choices is None or f.shape == "list":
                continue
            ref = book.cell(block.sheet, f.key)
            assert ref in ranges and ranges[ref].type == "list", f"no drop-down for {block.sheet} {f.key} ({ref})"
            assert ws[ref].protection.locked is False
        header = ws.cell(ws[book.cell(block.sheet, block.fields[0].key)].row - 1, 2)
        assert header.protection.locked  # header rows stay locked
    # enum values of the schema are all offered (with their Korean names)
    equipment = next(b for b in layout.blocks.values() if b.id == "processes[].equipment")
    kinds = equipment.field("type").choices
    assert [c for c, _s in kinds.options] == layout.schema["properties"]["processes"]["items"]["properties"]["equipment"]["items"]["properties"]["type"]["enum"]
    assert book.get("설비", "type") == "프레스·단조기 [press]"
    # numbers are numbers, codes are text
    assert isinstance(book.get("연료", "amount"), int)
    assert isinstance(book.get("전력(월별)", "energy.electricity.monthly_kwh[0]"), int)
    assert book.get("일반현황", "company.ksic") == "25941"
    assert book.get("제품", "hs_code") == "7318.15"
    assert book.get("전구물질(CBAM)", "@parent") == "hex-bolt"  # nested list keyed by its parent's id


def test_blank_form_has_examples_but_no_data(tmp_path, layout, content):
    path = form_for(layout, content, None, tmp_path)
    assert path.name == "blank-자료요청서.xlsx"
    book = Book(path)
    assert book.get("연료", "amount") is None
    assert book.get("일반현황", "company.name") is None
    ws = book.wb["연료"]
    assert any(isinstance(c.value, str) and c.value.startswith("예)") for row in ws.iter_rows() for c in row)


# ============================================================ the round trip
@pytest.mark.parametrize("company", SAMPLES)
def test_round_trip_unchanged_workbook_gives_the_same_profile(company, tmp_path, companies, layout, content):
    path = form_for(layout, content, company, tmp_path)
    returned = Book(path).save()  # opened and saved again, as a company would
    plan = plan_intake(company, returned, content)
    original = load_yaml((ROOT / "companies" / f"{company}.yaml").read_bytes()).data
    assert plan.data == original
    assert plan.unchanged and plan.changes == []
    # into an empty folder: a new profile that `validate` accepts, equal apart from the consultant's parts
    empty = tmp_path / "new"
    empty.mkdir()
    fresh = plan_intake(company, returned, content, folder=empty)
    apply_intake(fresh)
    written = load_profile(company, content, empty).data
    expected = {k: v for k, v in original.items() if k not in layout.consultant_only}
    assert _without_empties(written) == _without_empties(expected)


def _without_empties(node):
    if isinstance(node, dict):
        return {k: _without_empties(v) for k, v in node.items() if v not in (None, [], {})}
    if isinstance(node, list):
        return [_without_empties(v) for v in node]
    return node


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("soffice"), reason="needs LibreOffice")
@pytest.mark.parametrize("company", ["jinju-alu", "jinju-bolt"])
def test_round_trip_through_a_libreoffice_calc_save(company, tmp_path, companies, layout, content):
    path = form_for(layout, content, company, tmp_path)
    out = tmp_path / "calc"
    subprocess.run(["soffice", "--headless", "--calc", "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir",
                    str(out), str(path)], check=True, capture_output=True, timeout=180,
                   env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    plan = plan_intake(company, out / path.name, content)
    assert plan.unchanged


def test_changes_show_as_a_diff_and_dry_run_writes_nothing(tmp_path, companies, layout, content):
    book = Book(form_for(layout, content, "jinju-bolt", tmp_path))
    amount = book.set("연료", "amount", 420000)
    book.set("일반현황", "company.employees", 64)
    book.set("연료", "fuel", None, index=1)   # a whole row emptied: the diesel line goes
    for key in ("amount", "unit", "price_krw_per_unit", "use", "mobile"):
        book.set("연료", key, None, index=1)
    returned = book.save()
    before = (companies / "jinju-bolt.yaml").read_bytes()
    result = CliRunner().invoke(main, ["intake", "jinju-bolt", str(returned), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert f"~ {amount} [연간 사용량] energy.fuels[0].amount: 415000 → 420000" in result.output
    assert "company.employees: 62 → 64" in result.output
    assert "- [연료] energy.fuels[1].fuel: diesel (삭제)" in result.output
    assert "--dry-run" in result.output
    assert (companies / "jinju-bolt.yaml").read_bytes() == before
    assert not list(companies.glob("*.bak"))


def test_intake_keeps_overrides_and_a_backup_and_writes_atomically(tmp_path, companies, layout, content):
    book = Book(form_for(layout, content, "jinju-bolt", tmp_path))
    book.set("일반현황", "company.employees", 70)
    returned = book.save()
    before = (companies / "jinju-bolt.yaml").read_bytes()
    result = CliRunner().invoke(main, ["intake", "jinju-bolt", str(returned)])
    assert result.exit_code == 0, result.output
    backups = list(companies.glob("jinju-bolt.yaml.*.bak"))
    assert len(backups) == 1 and backups[0].read_bytes() == before
    data = load_profile("jinju-bolt", content, companies).data
    old = yaml.safe_load(before)
    assert data["company"]["employees"] == 70
    assert data["overrides"] == old["overrides"]  # the consultant's part is kept
    assert not list(companies.glob(".*.part"))
    assert list_company_ids(companies) == SAMPLES  # the backup is not taken for a profile


def test_a_profile_changed_since_the_form_was_made_is_not_overwritten_without_force(tmp_path, companies, layout,
                                                                                   content):
    returned = Book(form_for(layout, content, "jinju-gear", tmp_path)).save()
    profile = companies / "jinju-gear.yaml"
    profile.write_text(profile.read_text(encoding="utf-8").replace("employees: ", "employees: 1", 1), encoding="utf-8")
    changed = profile.read_bytes()
    result = CliRunner().invoke(main, ["intake", "jinju-gear", str(returned)])
    assert result.exit_code == 2 and "양식을 만든 뒤" in result.output and "--force" in result.output
    assert profile.read_bytes() == changed
    result = CliRunner().invoke(main, ["intake", "jinju-gear", str(returned), "--dry-run"])
    assert result.exit_code == 0 and "반영하려면 --force 필요" in result.output and "company.employees" in result.output
    assert profile.read_bytes() == changed
    result = CliRunner().invoke(main, ["intake", "jinju-gear", str(returned), "--force"])
    assert result.exit_code == 0, result.output
    assert list(companies.glob("jinju-gear.yaml.*.bak"))[0].read_bytes() == changed


def test_a_form_for_another_company_or_a_blank_form_over_a_profile_needs_force(tmp_path, companies, layout, content):
    returned = Book(form_for(layout, content, "jinju-bolt", tmp_path)).save()
    assert "'jinju-bolt'용" in problems_of("jinju-gear", returned, content)[0]
    blank = Book(form_for(layout, content, None, tmp_path)).save("blank-returned.xlsx")
    assert "빈 양식" in problems_of("jinju-gear", blank, content)[0]
    # the same workbook again after the profile took it: nothing changes, so no --force is needed
    apply_intake(plan_intake("jinju-bolt", returned, content))
    assert plan_intake("jinju-bolt", returned, content).unchanged


def test_blank_form_filled_in_becomes_a_new_valid_profile(tmp_path, companies, layout, content):
    book = Book(form_for(layout, content, None, tmp_path))
    values = {("일반현황", "base_year"): 2024, ("일반현황", "company.name"): "(주)새회사 (가상)",
              ("일반현황", "company.size_class"): "중소", ("일반현황", "company.employees"): "45명",
              ("일반현황", "company.revenue_krw_million"): "12,300", ("일반현황", "company.region"): "경남",
              ("일반현황", "company.ksic"): 25941, ("제품", "id"): "flange", ("제품", "name"): "플랜지",
              ("제품", "hs_code"): "7307.91", ("제품", "processes"): "machining",
              ("공정·설비", "id"): "machining", ("공정·설비", "name"): "가공", ("공정·설비", "energy_sources"): "전력",
              ("설비", "@parent"): "machining", ("설비", "name"): "CNC 선반", ("설비", "type"): "가공기",
              ("설비", "count"): "3", ("연료", "fuel"): "도시가스(LNG) [city_gas]", ("연료", "amount"): "1.234,5",
              ("연료", "unit"): "nm3"}
    for (sheet, key), value in values.items():
        book.set(sheet, key, value)
    for month in range(12):
        book.set("전력(월별)", f"energy.electricity.monthly_kwh[{month}]", 10000 + month)
    returned = book.save()
    plan = plan_intake("new-company", returned, content)
    assert not plan.existed
    apply_intake(plan)
    data = load_profile("new-company", content, companies).data
    assert data["company"]["revenue_krw_million"] == 12300          # thousands separator typed as text
    assert data["company"]["ksic"] == "25941"                       # a code typed as a number
    assert data["company"]["employees"] == 45                       # a number stored as text
    assert data["processes"][0]["energy_sources"] == ["electricity"]  # the Korean name of a code
    assert data["processes"][0]["equipment"][0]["type"] == "machining"
    assert data["energy"]["fuels"][0] == {"fuel": "city_gas", "amount": 1234.5, "unit": "Nm3"}  # decimal comma


# ============================================================ robust to other programs' saves
def test_blank_rows_merged_parent_cells_dates_and_percent_cells(tmp_path, companies, layout, content):
    book = Book(form_for(layout, content, "jinju-bolt", tmp_path))
    ws = book.wb["설비"]
    # the process id written once over the two 'forging' rows, as a merged cell
    parent = book.cell("설비", "@parent", 0)
    column, first = parent[0], int(parent[1:])
    assert ws[f"{column}{first}"].value == ws[f"{column}{first + 1}"].value == "forging"
    ws[f"{column}{first + 1}"].value = None
    ws.merge_cells(f"{column}{first}:{column}{first + 1}")
    # an empty row in the middle of the table (the rows below move down one)
    ws.insert_rows(first + 4)
    # Excel took '2026-06' for a date; a share typed as 55 % in a percent cell
    demands = book.wb["고객 요구"]
    import datetime as dt
    deadline = book.cell("고객 요구", "deadline", 0)
    demands[deadline].value = dt.datetime(2026, 6, 1)
    demands[deadline].number_format = "mmm-yy"
    share = book.cell("제품", "export_share_pct", 0)
    book.wb["제품"][share].value = 0.19
    book.wb["제품"][share].number_format = "0%"
    returned = book.save()
    plan = plan_intake("jinju-bolt", returned, content)
    assert plan.unchanged, plan.changes


def test_formulas_are_read_as_their_cached_values_with_a_warning(tmp_path, companies, layout, content):
    book = Book(form_for(layout, content, "jinju-bolt", tmp_path))
    ref = book.set("일반현황", "company.employees", "=60+2")
    returned = book.save()
    # openpyxl stores no cached value; put one in as Excel would
    data = _with_cached_value(returned, "일반현황", ref.split("!")[1], "62")
    returned.write_bytes(data)
    plan = plan_intake("jinju-bolt", returned, content)
    assert plan.unchanged
    assert any(ref in w and "수식" in w for w in plan.warnings)


def _with_cached_value(path: Path, sheet: str, cell: str, value: str) -> bytes:
    import re

    src = zipfile.ZipFile(path)
    workbook = src.read("xl/workbook.xml").decode()
    rels = src.read("xl/_rels/workbook.xml.rels").decode()
    rid = re.search(rf'<sheet[^>]*name="{re.escape(sheet)}"[^>]*r:id="([^"]+)"', workbook).group(1)
    target = re.search(rf'<Relationship[^>]*Id="{rid}"[^>]*Target="([^"]+)"', rels) or \
        re.search(rf'<Relationship[^>]*Target="([^"]+)"[^>]*Id="{rid}"', rels)
    member = "xl/" + target.group(1).lstrip("/").removeprefix("xl/")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == member:
                text = data.decode()
                text = re.sub(rf'(<c r="{cell}"[^>]*>)(<f>[^<]*</f>)(<v>[^<]*</v>|<v\s*/>)?',
                              lambda m: f"{m.group(1)}{m.group(2)}<v>{value}</v>", text)
                data = text.encode()
            dst.writestr(info, data)
    return out.getvalue()


@pytest.mark.parametrize("text, expected", [
    ("21,800", 21800), ("3,5", 3.5), ("1.234,5", 1234.5), ("1 234", 1234), ("５５%", 55), ("0.12", 0.12),
    ("1,234,567.5", 1234567.5), ("-4", -4), ("1.234.567", 1234567),
])
def test_numbers_typed_as_text(text, expected):
    assert parse_number(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["12 kWh", "약 300", "1,2,3", "", "--1", "1e400"])
def test_text_that_is_not_a_number(text):
    with pytest.raises(ValueError):
        parse_number(text)


def test_a_number_with_its_own_unit_reads_other_text_does_not():
    f = Field(key="x", parts=("x",), generic="x", schema={"type": "integer"}, unit="명")
    assert cell_to_value(f, "62명") == 62 and cell_to_value(f, " 1,062 명 ") == 1062
    from pipeline.profile.intake import CellProblem
    with pytest.raises(CellProblem):
        cell_to_value(f, "62개")


def test_control_characters_in_text_are_a_cell_problem():
    from pipeline.profile.intake import CellProblem

    f = Field(key="x", parts=("x",), generic="x", schema={"type": "string"})
    with pytest.raises(CellProblem, match="제어 문자"):
        cell_to_value(f, "볼트\x0b제조")


def test_yes_no_cells():
    f = Field(key="x", parts=("x",), generic="x", schema={"type": "boolean"}, choices=BOOLEAN)
    assert [cell_to_value(f, v) for v in ("예", "아니오", "Y", "no", True, 0, "TRUE")] == [True, False, True, False, True, False, True]


# ============================================================ broken workbooks: one problem class each
# (sheet, key, data row, value written) → a part of the message. The expected cell is looked up
# in the workbook by its hidden key and must appear as 시트!셀 with the Korean label.
BROKEN = [
    ("text in a number cell", "연료", "amount", 0, "많이", "[연간 사용량] 숫자여야 합니다"),
    ("decimal in an integer cell", "일반현황", "company.employees", 0, 62.5, "[상시근로자 수] 정수여야 합니다"),
    ("required cell emptied", "일반현황", "company.name", 0, None, "[상호] 필수 항목입니다"),
    ("required table cell emptied", "제품", "hs_code", 1, None, "[HS 코드] 필수 항목입니다"),
    ("value not in the drop-down", "설비", "type", 2, "로켓", "[설비 종류] 목록에 없는 값입니다"),
    ("unknown unit", "연료", "unit", 0, "gallon", "[사용량 단위] 목록에 없는 값입니다"),
    ("yes/no cell", "연료", "mobile", 1, "아마", "[이동 장비용] '예' 또는 '아니오'여야 합니다"),
    ("out of range", "제품", "export_share_pct", 1, 150, "[수출 비중] 100 이하여야 합니다"),
    ("wrong format", "제품", "hs_code", 0, "73", "[HS 코드] 형식이 맞지 않습니다"),
    ("unknown parent id", "설비", "@parent", 3, "nowhere", "[공정 id] 공정·설비 시트에 공정 id 'nowhere'가 없습니다"),
    ("duplicate id", "공정·설비", "id", 1, "forging", "[공정 id] 공정 id 'forging'가 중복됩니다"),
    ("month left blank", "전력(월별)", "energy.electricity.monthly_kwh[4]", 0, None, "[5월] 12개 모두 적어야 합니다"),
    ("date in a number cell", "연료", "amount", 0, "DATE", "날짜·시간으로 저장되어 있습니다"),
    ("error value", "연료", "amount", 0, "#N/A", "계산 오류 값"),
    ("unknown id in a list cell", "제품", "processes", 0, "forging, painting", "[거치는 공정 id] 공정 id 'painting'가 processes에 없습니다"),
    ("annual total does not match", "전력(월별)", "energy.electricity.annual_kwh", 0, 1000, "[연간 합계] 연간 전력량 1,000 kWh가"),
    ("fuel and unit do not fit", "연료", "unit", 1, "Nm3", "[사용량 단위] 'diesel'에는 단위 'Nm3'를 쓸 수 없습니다"),
    ("map row without its value", "공정별 에너지 비중", "~value", 0, None, "[비중] 비중을(를) 적어 주세요"),
    ("unknown code in a list cell", "공정·설비", "energy_sources", 0, "electricity, steam", "[쓰는 에너지원] 알 수 없는 값 'steam'"),
    ("text too long", "고객 요구", "note", 0, "가" * 2001, "[내용] 2000자 이하여야 합니다"),
    # a new fuel row with only the fuel chosen: the problem is on the empty amount next to it
    ("required cell of a new row", "연료", "fuel>amount", 2, "경유 [diesel]", "[연간 사용량] 필수 항목입니다"),
]


@pytest.mark.parametrize("what, sheet, key, index, value, message", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_workbook_names_sheet_cell_label_and_what_is_expected(what, sheet, key, index, value, message,
                                                                     tmp_path, companies, layout, content):
    import datetime as dt

    book = Book(form_for(layout, content, "jinju-bolt", tmp_path))
    if value == "DATE":
        value = dt.datetime(2024, 3, 5)
    key, _, reported = key.partition(">")
    where = book.set(sheet, key, value, index)
    if reported:
        where = f"{sheet}!{book.cell(sheet, reported, index)}"
    returned = book.save()
    before = (companies / "jinju-bolt.yaml").read_bytes()
    result = CliRunner().invoke(main, ["intake", "jinju-bolt", str(returned)])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)  # no traceback
    assert result.output.startswith("오류: ")
    lines = [line for line in result.output.splitlines() if line.startswith("  - ")]
    assert any(line.startswith(f"  - {where} ") and message in line for line in lines), (where, result.output)
    assert "저장하지 않았습니다" in result.output
    assert (companies / "jinju-bolt.yaml").read_bytes() == before
    assert not list(companies.glob("*.bak"))


def test_several_problems_are_all_reported_in_workbook_order(tmp_path, companies, layout, content):
    book = Book(form_for(layout, content, "jinju-bolt", tmp_path))
    first = book.set("연료", "amount", "x")
    second = book.set("일반현황", "company.employees", "y")
    lines = problems_of("jinju-bolt", book.save(), content)
    assert [line.split(" ")[0] for line in lines] == [second, first]


# ============================================================ not ours, or not safe
def _plain_workbook(path: Path) -> Path:
    wb = openpyxl.Workbook()
    wb.active["A1"] = "상호"
    wb.active["B1"] = "(주)다른양식"
    wb.save(path)
    return path


def test_a_foreign_workbook_is_refused(tmp_path, companies, content):
    message = problems_of("jinju-bolt", _plain_workbook(tmp_path / "other.xlsx"), content)[0]
    assert "이 파이프라인이 만든 자료요청서가 아닙니다" in message


def test_a_marker_of_another_format_is_refused(tmp_path, companies, layout, content):
    book = Book(form_for(layout, content, "jinju-bolt", tmp_path))
    book.wb[MARKER_SHEET]["B1"] = "someone-else/form"
    assert "양식 표시가 맞지 않습니다" in problems_of("jinju-bolt", book.save(), content)[0]


def test_another_schema_version_reads_by_keys_with_a_warning(tmp_path, companies, layout, content):
    book = Book(form_for(layout, content, "jinju-bolt", tmp_path))
    book.wb[MARKER_SHEET]["B3"] = "0000000000000000"
    plan = plan_intake("jinju-bolt", book.save(), content)
    assert plan.unchanged and any("다른 버전" in w for w in plan.warnings)


def test_a_column_the_schema_does_not_know_is_an_error(tmp_path, companies, layout, content):
    book = Book(form_for(layout, content, "jinju-bolt", tmp_path))
    ws = book.wb["연료"]
    marker_row = next(r[0].row for r in ws.iter_rows(max_col=1) if str(r[0].value).startswith("#table"))
    ws.cell(marker_row, 3).value = "amount_gallons"
    message = problems_of("jinju-bolt", book.save(), content)[0]
    assert message.startswith(f"연료!C{marker_row} ") and "지금 양식에 없는 열" in message


@pytest.mark.parametrize("name, build, expected", [
    ("not-a-zip.xlsx", lambda p: p.write_bytes(b"PK\x03\x04 not really a zip"), ".xlsx(zip) 파일이 아닙니다"),
    ("form.xlsm", lambda p: p.write_bytes(b"PK"), "매크로 사용 통합 문서"),
    ("form.xls", lambda p: p.write_bytes(b"\xd0\xcf\x11\xe0"), "'Excel 통합 문서(*.xlsx)'"),
    ("form.ods", lambda p: p.write_bytes(b"PK"), "'Excel 통합 문서(*.xlsx)'"),
])
def test_files_that_are_not_xlsx_are_refused(name, build, expected, tmp_path, companies, content):
    path = tmp_path / name
    build(path)
    assert expected in problems_of("jinju-bolt", path, content)[0]


def test_macros_inside_an_xlsx_are_refused(tmp_path, companies, layout, content):
    path = form_for(layout, content, "jinju-bolt", tmp_path)
    out = tmp_path / "with-macro.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info.filename))
        dst.writestr("xl/vbaProject.bin", b"\x00" * 100)
    assert "매크로(VBA)" in problems_of("jinju-bolt", out, content)[0]


def test_zip_bomb_and_size_limits(tmp_path, companies, layout, content, monkeypatch):
    import pipeline.profile.intake as intake

    path = form_for(layout, content, "jinju-bolt", tmp_path)
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info.filename))
        dst.writestr("xl/filler.xml", b"<a>" + b" " * (30 * 1024 * 1024) + b"</a>")
    assert "압축 폭탄" in problems_of("jinju-bolt", bomb, content)[0]
    # a picture compresses as well as it likes (a blank one is 1,000:1): not a bomb, the sizes bound it
    media = tmp_path / "media.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(media, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info.filename))
        dst.writestr("xl/media/image1.png", b"\x00" * (8 * 1024 * 1024))
    assert plan_intake("jinju-bolt", media, content).unchanged
    monkeypatch.setattr(intake, "MAX_FILE_BYTES", 1000)
    assert "파일이 너무 큽니다" in problems_of("jinju-bolt", path, content)[0]


def test_intake_form_command_writes_out_intake(tmp_path, monkeypatch):
    monkeypatch.setenv("CARBON_OUT_DIR", str(tmp_path))
    result = CliRunner().invoke(main, ["intake-form", "jinju-bolt"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "intake" / "jinju-bolt-자료요청서.xlsx").is_file()
    result = CliRunner().invoke(main, ["intake-form"])
    assert result.exit_code == 0 and (tmp_path / "intake" / "blank-자료요청서.xlsx").is_file()
    result = CliRunner().invoke(main, ["intake-form", "../etc"])
    assert result.exit_code == 2 and "쓸 수 없습니다" in result.output
