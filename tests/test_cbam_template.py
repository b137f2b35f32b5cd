"""`cbam-template`: the EU CBAM communication workbook filled from a context (issue 13, part 6).

The context is built here by hand (two products sharing one purchased precursor, a second precursor
for one of them; three stationary fuels and a forklift's diesel), so these tests do not depend on how
the stages compute the SEE inputs. Fast: only the written input cells differ from the blank template
(every sheet, values and formulas, read with openpyxl; the zip members byte by byte), and the source
streams pass the template's own validations. Slow: LibreOffice Calc recalculates a copy: the
template's SEE per product agrees with the pipeline's within 1 %, each source stream's CO2e with the
pipeline's fuel line, and no direct emissions are left unattributed (Summary_Processes!K85 = 0).
"""
from __future__ import annotations

import copy
import io
import os
import re
import subprocess
import sys
import types
import warnings
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.commands import main
from pipeline.errors import ContentError, ExportError
from pipeline.exports import cbam_template
from pipeline.exports.cbam_template import communication_workbook
from pipeline.exports.xlsx import fill, read_values, sheet_parts, split_ref

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "content" / "cbam" / "communication_template.xlsx"
GRID = 0.4173

WIRE_ROD = {"name": "선재 (SWCH45F)", "cn_code": "721391", "country": "KR", "source": "supplier", "verified": True,
            "see_direct": 1.92, "see_indirect": 0.115}
BAR = {"name": "봉강", "cn_code": "7214", "country": "KR", "source": "default", "verified": False,
       "see_direct": 2.05, "see_indirect": 0.08}


def _item(pid, name, cn, activity, own, mwh, precursors):
    direct = (own + sum(p["mass_t"] * p["see_direct"] for p in precursors)) / activity
    indirect = (mwh * GRID + sum(p["mass_t"] * p["see_indirect"] for p in precursors)) / activity
    return {"id": pid, "name": name, "cn_code": cn, "covered": True, "output_t": activity,
            "see": {"activity_t": activity, "own_direct_tco2e": own, "electricity_mwh": mwh, "grid_factor": GRID,
                    "precursors": precursors, "direct_per_t": direct, "indirect_per_t": indirect}}


def _fuel_line(fuel, name_ko, amount, unit, physical_unit, ncv, ef_co2e, tj=None):  # ef: CO2 t/TJ
    """A Scope 1 line as diagnose writes it (only the fields the exporter reads matter)."""
    tj = amount * ncv / 1e6 if tj is None else tj
    return {"fuel": fuel, "name_ko": name_ko, "amount": amount, "unit": unit,
            "physical_amount": amount if unit == physical_unit else None, "physical_unit": physical_unit,
            "tj_net": tj, "calorific_revision": "kr-2022", "co2_t": tj * ef_co2e, "tco2e": tj * ef_co2e / 0.999,
            "gwp_set": "AR5"}


def synthetic_fuels() -> tuple[list[dict], list[dict]]:
    """Profile fuels and their Scope 1 lines, in the same order. The stationary ones emit exactly the
    direct emissions the two products carry (686.6 + 236.0 t); the forklift's diesel is mobile."""
    gas = _fuel_line("city_gas", "도시가스(LNG)", 380_000.0, "Nm3", "Nm3", 38.5, 56.1545)
    diesel = _fuel_line("diesel", "경유", 5_000.0, "L", "L", 35.25, 73.3857)
    kerosene = _fuel_line("kerosene", "등유", 12_000.0, "L", "L", 34.2, 72.1212)
    rest = 686.6 + 236.0 - gas["co2_t"] - kerosene["co2_t"]
    propane = _fuel_line("propane", "프로판(LPG1호)", rest / 64.6545 * 1e6 / 46.22, "kg", "kg", 46.22, 64.6545)
    fuels = [{"fuel": line["fuel"], "amount": line["amount"], "unit": line["unit"]}
             for line in (gas, diesel, kerosene, propane)]
    fuels[1]["mobile"] = True
    return fuels, [gas, diesel, kerosene, propane]


def synthetic_context() -> dict:
    bolt = _item("hex-bolt", "고장력 육각볼트 (10.9급)", "73181588", 3200.0, 686.6, 4184.1,
                 [dict(WIRE_ROD, mass_t=3380.0)])
    nut = _item("hex-nut", "육각너트", "731816", 1100.0, 236.0, 1438.3,
                [dict(WIRE_ROD, mass_t=1105.0), dict(BAR, mass_t=60.0)])
    fuels, scope1 = synthetic_fuels()
    return {
        "meta": {"company_id": "test-bolt"},
        "company": {"base_year": 2024,
                    "company": {"name": "(주)테스트볼트", "address": "경상남도 진주시 상평동 1", "city": "진주시",
                                "main_business": "볼트·너트 제조"},
                    "products": [], "energy": {"fuels": fuels}},
        "missing": [],
        "diagnosis": {"emissions": {"scope1": scope1}, "cbam": {"covered": True, "products": [
            bolt,
            {"id": "washer", "name": "와셔", "cn_code": "731822", "covered": False, "see": None},
            {"id": "pin", "name": "핀", "cn_code": "731824", "covered": True, "see": None},
            nut,
        ]}},
    }


@pytest.fixture(scope="module")
def book():
    return communication_workbook(synthetic_context())


def _load(data: bytes):
    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "extension is not supported" for the x14 parts
        return openpyxl.load_workbook(io.BytesIO(data))


@pytest.fixture(scope="module")
def workbooks(book):
    return _load(TEMPLATE.read_bytes()), _load(book.data)


def _cell_map(ws) -> dict[str, object]:
    """Every stored cell of a sheet: coordinate → value (formulas as text, array formulas as tuples)."""
    from openpyxl.utils import get_column_letter

    out = {}
    for (row, column), cell in ws._cells.items():
        value = cell.value
        if value is None:
            continue
        if hasattr(value, "text") and hasattr(value, "ref"):  # ArrayFormula
            value = ("array", str(value.ref), value.text)
        elif not isinstance(value, (str, int, float, bool)) and hasattr(value, "__dict__"):
            value = (type(value).__name__, sorted(vars(value).items()))
        out[f"{get_column_letter(column)}{row}"] = value
    return out


# ----------------------------------------------------------------------------- fast: what was written
def test_written_cells_follow_the_template_layout(book):
    v = book.values
    names = [p["name"] for p in book.processes]
    assert names == ["고장력 육각볼트 (10.9급) (7318 15 88)", "육각너트 (7318 16)"]
    assert v["A_InstData"]["L83"] == names[0] and v["A_InstData"]["L84"] == names[1]
    assert v["A_InstData"]["E62"] == "Iron or steel products" and "E63" not in v["A_InstData"]
    assert v["A_InstData"]["I26"] == "Korea, Republic of" and v["A_InstData"]["I19"] == "(주)테스트볼트"
    assert v["Summary_Products"]["D10"] == names[0] and v["Summary_Products"]["F10"] == "73181588"
    assert v["Summary_Products"]["D11"] == names[1] and "F11" not in v["Summary_Products"]  # 6 digits: ambiguous
    d = v["D_Processes"]
    assert (d["L16"], d["L54"], d["L65"], d["L66"]) == (3200.0, 686.6, 4184.1, GRID)
    assert (d["L81"], d["L119"], d["L130"]) == (1100.0, 236.0, 1438.3)  # block 2 = block 1 + 65 rows
    assert v["C_Emissions&Energy"]["M26"] == pytest.approx((4184.1 + 1438.3) * GRID)
    e = v["E_PurchPrec"]
    # wire rod: one block, its mass in the row of each process that uses it
    assert v["A_InstData"]["L102"] == "선재 (SWCH45F) (7213 91, KR)" and v["A_InstData"]["F102"] == "KR"
    assert (e["L17"], e["L28"], e["L29"], e["L38"]) == (4485.0, 3380.0, 1105.0, 0)
    assert (e["L49"], e["M49"]) == (1.92, "Measured")
    assert e["L50"] * e["L51"] == pytest.approx(0.115) and e["L51"] == GRID
    # the bar: block 2 (44 rows on), used by process 2 only, EU default values
    assert v["A_InstData"]["L103"] == "봉강 (7214, KR)"
    assert (e["L61"], e["L73"], e["L93"], e["M93"]) == (60.0, 60.0, 2.05, "Default") and "L72" not in e
    assert len(book.processes) == 2 and len(book.precursors) == 2
    assert book.file_name == "cbam-communication-test-bolt.xlsx"


def _stream_co2e(cells: dict, row: int) -> float:
    """B_EmInst!BD (combustion, fossil): F × (H/1000 if K = tCO2/TJ) × J × N/100 × (1 − R/100)."""
    per_tj = cells[f"H{row}"] / 1000 if cells[f"K{row}"] == "tCO2/TJ" else 1
    return (cells[f"F{row}"] * per_tj * cells[f"J{row}"] * cells.get(f"N{row}", 100) / 100
            * (1 - cells.get(f"R{row}", 0) / 100))


def test_stationary_fuels_are_the_source_streams(book):
    b = book.values["B_EmInst"]
    _fuels, (gas, _diesel, kerosene, propane) = synthetic_fuels()
    assert sorted({int(ref[1:]) for ref in b}) == [17, 18, 19]  # the forklift's diesel is not listed
    assert not any("diesel" in str(v).lower() or "경유" in str(v) for v in b.values())
    assert [b[f"E{r}"] for r in (17, 18, 19)] == ["Natural gas (city gas) / 도시가스(LNG)", "Kerosene / 등유",
                                                    "Propane (LPG) / 프로판(LPG1호)"]
    assert all(b[f"D{r}"] == "Combustion" and b[f"K{r}"] == "tCO2/TJ" and b[f"N{r}"] == 100 for r in (17, 18, 19))
    # activity in the template's units: 1000 Nm3 of gas, litres as 1000 m3 (no liquid unit), kg as t
    assert (b["F17"], b["G17"], b["H17"]) == (380.0, "1000Nm3", 38.5)
    assert (b["F18"], b["G18"], b["H18"]) == (pytest.approx(0.012), "1000Nm3", pytest.approx(34_200.0))
    assert (b["G19"], b["H19"]) == ("t", pytest.approx(46.22)) and b["F19"] == pytest.approx(propane["amount"] / 1e3)
    for row, line in ((17, gas), (18, kerosene), (19, propane)):
        assert b[f"F{row}"] * b[f"H{row}"] / 1000 == pytest.approx(line["tj_net"], rel=1e-9)  # TJ
        assert _stream_co2e(b, row) == pytest.approx(line["co2_t"], rel=1e-9)  # the template's formula
    assert [s["row"] for s in book.streams] == [17, 18, 19]
    assert sum(s["tco2e"] for s in book.streams) == pytest.approx(686.6 + 236.0, rel=1e-12)
    assert book.unattributed_tco2e == pytest.approx(0, abs=1e-9)
    text = "\n".join(book.missing)
    assert "B_EmInst!F18:H18: 'Kerosene / 등유'은(는) 부피로 입력됨" in text
    assert "B_EmInst!J17" not in text  # the EF is the line's own CO2 per TJ: nothing to confirm
    assert "B_EmInst!D17:R91" not in text  # no longer missing


def _defined_names(template: bytes) -> dict[str, tuple[str, str]]:
    with zipfile.ZipFile(io.BytesIO(template)) as z:
        workbook = z.read("xl/workbook.xml").decode()
    return {name: (sheet.strip("'"), ref.replace("$", ""))
            for name, sheet, ref in re.findall(r'<definedName name="([^"]+)"[^>]*>([^<!]+)!([^<]+)</definedName>',
                                               workbook)}


def _cells_in(ref: str) -> list[str]:
    from openpyxl.utils import get_column_letter

    first, _, last = ref.partition(":")
    (c1, r1), (c2, r2) = split_ref(first), split_ref(last or first)
    return [f"{get_column_letter(c)}{r}" for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)]


def test_source_streams_pass_the_templates_validations(book):
    """Every B_EmInst value satisfies the sheet's own data validation (drop-down lists from their
    named ranges in Parameters_Constants, decimal bounds), and every written cell has one."""
    template = TEMPLATE.read_bytes()
    names = _defined_names(template)
    with zipfile.ZipFile(io.BytesIO(template)) as z:
        xml = z.read(sheet_parts(z)["B_EmInst"]).decode()
    constants = read_values(template, {"Parameters_Constants": None})["Parameters_Constants"]
    checked = set()
    for attrs, body in re.findall(r"<dataValidation\b([^>]*?)>(.*?)</dataValidation>", xml, re.S):
        kind = re.search(r'type="([^"]+)"', attrs).group(1)
        formulas = re.findall(r"<formula[12]>([^<]*)</formula[12]>", body)
        covered = {cell for part in re.search(r'sqref="([^"]+)"', attrs).group(1).split() for cell in _cells_in(part)}
        for ref in covered & set(book.values["B_EmInst"]):
            value = book.values["B_EmInst"][ref]
            if kind == "list":
                sheet, where = names[formulas[0]]
                assert sheet == "Parameters_Constants", formulas[0]
                allowed = [constants[cell] for cell in _cells_in(where) if cell in constants]
                assert value in allowed, (ref, value, allowed)
            else:
                assert kind == "decimal" and isinstance(value, (int, float)), (ref, value)
                assert value >= float(formulas[0]), (ref, value)
                if len(formulas) > 1:
                    assert value <= float(formulas[1]), (ref, value)
            checked.add(ref)
    unvalidated = set(book.values["B_EmInst"]) - checked
    assert {ref[0] for ref in unvalidated} <= {"E", "F"}, sorted(unvalidated)  # name, activity: free entries


def test_fuel_given_as_energy_is_entered_at_its_calorific_value():
    context = synthetic_context()
    gas = context["diagnosis"]["emissions"]["scope1"][0]
    gas.update(amount=gas["tj_net"] * 1e6, unit="MJ", physical_amount=None)  # a bill in MJ (net)
    book = communication_workbook(context)
    b = book.values["B_EmInst"]
    assert (b["F17"], b["G17"]) == (pytest.approx(380.0), "1000Nm3") and b["H17"] == pytest.approx(38.5)
    assert _stream_co2e(b, 17) == pytest.approx(gas["co2_t"], rel=1e-9)
    assert "B_EmInst!F17: 'Natural gas (city gas) / 도시가스(LNG)' 활동자료는 에너지 사용량" in "\n".join(book.missing)


def test_source_streams_that_cannot_be_matched_are_left_empty_and_listed():
    context = synthetic_context()
    context["company"]["energy"]["fuels"].pop()  # three profile fuels, four Scope 1 lines: order unknown
    book = communication_workbook(context)
    assert "B_EmInst" not in book.values or not book.values["B_EmInst"]
    assert book.streams == [] and book.unattributed_tco2e is None
    assert "B_EmInst!D17:R91: 사업장 전체 배출원" in "\n".join(book.missing)
    context = synthetic_context()
    context["diagnosis"]["emissions"]["scope1"][2]["physical_unit"] = "GJ"  # no template unit for it
    book = communication_workbook(context)
    assert "F18" not in book.values["B_EmInst"] and "F19" in book.values["B_EmInst"]  # its row stays empty
    assert "B_EmInst!F18:J18: 배출원 'Kerosene / 등유'의 활동자료" in "\n".join(book.missing)


def test_missing_values_are_left_empty_and_listed():
    context = synthetic_context()
    nut = context["diagnosis"]["cbam"]["products"][3]["see"]
    nut["own_direct_tco2e"] = None
    nut["electricity_mwh"] = None
    nut["precursors"][1]["see_direct"] = None
    book = communication_workbook(context)
    assert "L119" not in book.values["D_Processes"] and "L130" not in book.values["D_Processes"]
    assert "M26" not in book.values["C_Emissions&Energy"]
    assert "L93" not in book.values["E_PurchPrec"]
    assert book.unattributed_tco2e is None  # DirEm* of one process unknown: no expected rest
    text = "\n".join(book.missing)
    for where in ("D_Processes!L119:", "D_Processes!L130:", "C_Emissions&Energy!M26:", "E_PurchPrec!L93:",
                  "A_InstData!I20:", "Summary_Products!F11:", "E_PurchPrec!K98:"):
        assert where in text, where
    assert "직접배출량" in text and "73181631" in text  # what is needed, and the CN candidates


# ----------------------------------------------------------------------------- fast: nothing else changed
def test_only_the_written_input_cells_differ_from_the_blank_template(book, workbooks):
    blank, filled = workbooks
    assert blank.sheetnames == filled.sheetnames
    written = {(sheet, ref) for sheet, cells in book.values.items() for ref in cells}
    compared = 0
    for name in blank.sheetnames:
        before, after = _cell_map(blank[name]), _cell_map(filled[name])
        assert blank[name].sheet_state == filled[name].sheet_state
        for ref in set(before) | set(after):
            if (name, ref) in written:
                assert ref not in before, f"{name}!{ref}: input cell was not empty in the template"
                continue
            assert before.get(ref) == after.get(ref), f"{name}!{ref}: {before.get(ref)!r} → {after.get(ref)!r}"
            compared += 1
        for ref in (r for s, r in written if s == name):
            assert after.get(ref) is not None, f"{name}!{ref} was not written"
    assert compared > 60_000


def test_every_formula_of_the_template_is_unchanged(workbooks):
    blank, filled = workbooks
    count = 0
    for name in blank.sheetnames:
        after = _cell_map(filled[name])
        for ref, value in _cell_map(blank[name]).items():
            if (isinstance(value, str) and value.startswith("=")) or isinstance(value, tuple):
                assert after.get(ref) == value, f"{name}!{ref}"
                count += 1
    assert count > 50_000


def test_validations_protection_and_formatting_are_preserved(book, workbooks):
    blank, filled = workbooks
    for name in blank.sheetnames:
        dv = lambda ws: sorted(repr((d.type, d.operator, str(d.sqref), d.formula1, d.formula2, d.allow_blank,
                                     d.showDropDown)) for d in ws.data_validations.dataValidation)
        assert dv(blank[name]) == dv(filled[name]), name
        assert vars(blank[name].protection) == vars(filled[name].protection), name
        assert filled[name].protection.sheet, name
    # and in the XML itself: validations, protection, conditional formats and the x14 extensions
    with zipfile.ZipFile(TEMPLATE) as a, zipfile.ZipFile(io.BytesIO(book.data)) as b:
        for sheet, part in sheet_parts(a).items():
            xa, xb = a.read(part).decode(), b.read(part).decode()
            for pattern in (r"<dataValidations\b.*?</dataValidations>", r"<sheetProtection\b[^>]*/>",
                            r"<conditionalFormatting\b.*?</conditionalFormatting>", r"<extLst>.*?</extLst>",
                            r"<mergeCells\b.*?</mergeCells>"):
                assert re.findall(pattern, xa, re.S) == re.findall(pattern, xb, re.S), (sheet, pattern)


def test_other_zip_members_are_byte_identical(book):
    with zipfile.ZipFile(TEMPLATE) as a, zipfile.ZipFile(io.BytesIO(book.data)) as b:
        assert a.namelist() == b.namelist()
        parts = sheet_parts(a)
        edited = {parts[sheet] for sheet, cells in book.values.items() if cells} | {"xl/workbook.xml"}
        for info in a.infolist():
            same = a.read(info) == b.read(info.filename)
            assert same != (info.filename in edited), info.filename
        # inside an edited sheet every other <c> (its cached value too) is unchanged, byte for byte
        cell = re.compile(r'<c r="([A-Z]+[0-9]+)"(?=[\s/>])[^>]*?(?:/>|>.*?</c>)', re.S)
        for sheet, cells in book.values.items():
            xa, xb = (dict((m.group(1), m.group(0)) for m in cell.finditer(z.read(parts[sheet]).decode()))
                      for z in (a, b))
            assert set(xa) == set(xb), sheet
            changed = {ref for ref in xa if xa[ref] != xb[ref]}
            assert changed == set(cells), (sheet, sorted(changed ^ set(cells))[:5])
            outside = [(m.start(), m.end()) for m in cell.finditer(b.read(parts[sheet]).decode())]
            assert outside  # the text between cells is compared through the cell-free remainder:
            assert cell.sub("", a.read(parts[sheet]).decode()) == cell.sub("", b.read(parts[sheet]).decode())
        wa, wb = a.read("xl/workbook.xml").decode(), b.read("xl/workbook.xml").decode()
        assert 'fullCalcOnLoad="1"' in wb
        assert re.sub(r"<calcPr\b[^>]*/>", "", wa) == re.sub(r"<calcPr\b[^>]*/>", "", wb)


def test_the_filler_refuses_formula_locked_and_hidden_merged_cells():
    template = TEMPLATE.read_bytes()
    with pytest.raises(ExportError, match="수식 셀"):
        fill(template, {"Summary_Products": {"I10": 1.0}})
    with pytest.raises(ExportError, match="잠긴 셀"):
        fill(template, {"A_InstData": {"P1": "x"}})  # a constant of the template
    with pytest.raises(ExportError, match="병합"):
        fill(template, {"A_InstData": {"M83": "x"}})
    with pytest.raises(ExportError, match="시트가 없습니다"):
        fill(template, {"Nope": {"A1": 1}})


def test_limits_of_the_template_are_clear_errors():
    context = synthetic_context()
    products = context["diagnosis"]["cbam"]["products"]
    bolt = products[0]
    products[:] = [dict(copy.deepcopy(bolt), id=f"p{i}") for i in range(11)]
    with pytest.raises(ExportError, match="10개까지만"):
        communication_workbook(context)
    context = synthetic_context()
    context["diagnosis"]["cbam"]["products"][0]["see"]["precursors"] = [
        dict(WIRE_ROD, name=f"선재 {i}", mass_t=10.0) for i in range(21)]
    with pytest.raises(ExportError, match="20종까지만"):
        communication_workbook(context)
    context = synthetic_context()
    context["diagnosis"]["cbam"]["products"] = [{"id": "x", "name": "x", "covered": True, "see": None}]
    with pytest.raises(ExportError, match="SEE"):
        communication_workbook(context)


def test_another_template_file_is_refused(tmp_path, monkeypatch):
    (tmp_path / "cbam").mkdir()
    data = bytearray(TEMPLATE.read_bytes())
    data[-1] ^= 1
    (tmp_path / "cbam" / "communication_template.xlsx").write_bytes(bytes(data))
    monkeypatch.setenv("CARBON_CONTENT_DIR", str(tmp_path))
    with pytest.raises(ContentError, match="SHA-256"):
        cbam_template.template_bytes()


# ----------------------------------------------------------------------------- slow: the template computes the same
def _require_calc() -> None:
    from pipeline.exports.recalc import calc_path

    if calc_path() is None:
        message = "LibreOffice Calc (soffice with Calc) is not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI must install libreoffice-calc-nogui")
        pytest.skip(message)


@pytest.mark.slow
def test_recalculated_template_agrees_with_the_pipeline_see(book):
    from pipeline.exports.cbam_template import check_cells, compare
    from pipeline.exports.recalc import recalculate

    _require_calc()
    shipped = bytes(book.data)
    results = recalculate(book.data, check_cells(book))
    rows = compare(book, results)
    assert len(rows) == 4 + 3 + 1 and all(row["ok"] for row in rows), rows
    for p in book.processes:  # the template's own numbers, not just "within 1 %" of each other
        assert results["Summary_Products"][f"I{p['row']}"] == pytest.approx(p["direct_per_t"], rel=1e-6)
        assert results["Summary_Products"][f"J{p['row']}"] == pytest.approx(p["indirect_per_t"], rel=1e-6)
    assert all(value == 0 for value in results["D_Processes"].values()), results["D_Processes"]  # mass balances
    assert all(value == 0 for value in results["E_PurchPrec"].values()), results["E_PurchPrec"]
    # the source streams: each one's CO2e is the pipeline's fuel line, and all of it is attributed
    _fuels, (gas, _diesel, kerosene, propane) = synthetic_fuels()
    for row, line in ((17, gas), (18, kerosene), (19, propane)):
        assert results["B_EmInst"][f"AU{row}"] == pytest.approx(line["co2_t"], rel=1e-6), row
    assert results["Summary_Processes"]["K84"] == pytest.approx(686.6 + 236.0, rel=1e-9)
    assert results["Summary_Processes"]["K85"] == pytest.approx(0, abs=1e-6)
    assert book.data == shipped  # LibreOffice's re-saved copy is read, never shipped


# ----------------------------------------------------------------------------- CLI
def test_cli_unknown_or_unsafe_company_is_a_korean_error(tmp_path, monkeypatch):
    monkeypatch.setenv("CARBON_OUT_DIR", str(tmp_path / "out"))
    for company, words in (("no-such-co", "프로필이 없습니다"), ("../etc/passwd", "쓸 수 없습니다")):
        result = CliRunner().invoke(main, ["cbam-template", company])
        assert result.exit_code == 2, result.output
        assert "오류:" in result.output and words in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_cli_writes_the_workbook_and_lists_what_is_missing(tmp_path, monkeypatch):
    import pipeline.publish.context

    context = synthetic_context()
    context["diagnosis"]["cbam"]["products"][0]["see"]["own_direct_tco2e"] = None
    monkeypatch.setattr(pipeline.publish.context, "build_context",
                        lambda company, **kw: (types.SimpleNamespace(id="test-bolt"), context))
    monkeypatch.setenv("CARBON_OUT_DIR", str(tmp_path / "out"))
    result = CliRunner().invoke(main, ["cbam-template", "test-bolt"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    path = tmp_path / "out" / "test-bolt" / "cbam-communication-test-bolt.xlsx"
    assert path.is_file() and str(path) in result.output
    assert "확인 필요 항목" in result.output
    assert "D_Processes!L54: '고장력 육각볼트 (10.9급)' 공정의 직접배출량" in result.output
    assert "A_InstData!I20:" in result.output
    assert not list(path.parent.glob("*.part"))


def test_cli_too_many_processes_exits_2(tmp_path, monkeypatch):
    import pipeline.publish.context

    context = synthetic_context()
    products = context["diagnosis"]["cbam"]["products"]
    products[:] = [dict(copy.deepcopy(products[0]), id=f"p{i}") for i in range(11)]
    monkeypatch.setattr(pipeline.publish.context, "build_context",
                        lambda company, **kw: (types.SimpleNamespace(id="test-bolt"), context))
    monkeypatch.setenv("CARBON_OUT_DIR", str(tmp_path / "out"))
    result = CliRunner().invoke(main, ["cbam-template", "test-bolt"])
    assert result.exit_code == 2 and "10개까지만" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_cbam_template_help_imports_no_heavy_library():
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "pipeline", "cbam-template", "--help"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    names = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines()
             if line.startswith("import time:") and "|" in line}
    heavy = sorted(n for n in names if n.split(".")[0] in
                   ("openpyxl", "lxml", "defusedxml", "docxtpl", "docx", "matplotlib", "jsonschema"))
    assert "pipeline.commands" in names and not heavy, heavy
