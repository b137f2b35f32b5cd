"""The EU CBAM communication template for installations (v2.1.1), filled from the context.

An EU importer asks its supplier for this workbook; the pipeline already knows most of it. One
workbook per installation (the company): each covered product with an SEE is one production process
(D_Processes, up to 10) and one Summary_Products row; each distinct purchased precursor (name, CN
code, country) is one E_PurchPrec block (up to 20), its mass entered for every process that uses it.
Only known values are written; each gap becomes a line "시트!셀: 무엇이 필요한지" for the consultant.
The cell addresses follow the template's own layout, pinned by its SHA-256.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from dataclasses import dataclass, field

from pipeline.errors import ContentError, ExportError
from pipeline.exports.xlsx import fill, read_values
from pipeline.locations import content_root

TEMPLATE = "cbam/communication_template.xlsx"
TEMPLATE_SHA256 = "5a4e28fdbccfdca45a2c0520184b551a20c0c7bba3db79f87d78c9e58a6c0917"
TEMPLATE_VERSION = "v2.1.1 (2024-12-13)"
MAX_PROCESSES, MAX_PRECURSORS = 10, 20

A, C, D, E, SP = "A_InstData", "C_Emissions&Energy", "D_Processes", "E_PurchPrec", "Summary_Products"
D_STEP, E_STEP = 65, 44  # rows between two process blocks / two purchased-precursor blocks
# Aggregated goods categories whose production route must be chosen (Parameters_Constants E89:E106).
ROUTE_CATEGORIES = frozenset({"Crude steel", "Pig iron", "Hydrogen", "Ammonia", "Unwrought aluminium"})
# Categories whose indirect emissions the definitive period leaves out (Parameters_Constants C89:C106).
NO_INDIRECT_DEFINITIVE = frozenset({"Iron or steel products", "Crude steel", "Direct reduced iron", "Pig iron",
                                    "Alloys (FeMn, FeCr, FeNi)", "Hydrogen", "Ammonia", "Aluminium products",
                                    "Unwrought aluminium", "Electricity (export to EU)"})
SOURCE_LABEL = {"supplier": "Measured", "default": "Default"}  # list CONST_MeasDefaultUnknown
GRID_EF_SOURCE = "D.4(b)"  # the national grid average factor: "other publicly available data"
DEFAULT_COUNTRY = "KR"


@dataclass
class CommunicationWorkbook:
    data: bytes
    file_name: str
    values: dict[str, dict[str, object]]  # every cell written: {sheet: {cell: value}}
    missing: list[str]  # "시트!셀: 무엇이 필요한지"
    processes: list[dict] = field(default_factory=list)  # name, product, row, direct_per_t, indirect_per_t
    precursors: list[dict] = field(default_factory=list)  # name, key, block


def file_name(installation_slug: str) -> str:
    return f"cbam-communication-{installation_slug}.xlsx"


def template_bytes() -> bytes:
    """The blank template from content/, refused unless it is the version the cell map is for."""
    path = content_root() / TEMPLATE
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ContentError(f"{path}: CBAM 커뮤니케이션 템플릿을 읽을 수 없습니다 ({exc.strerror})") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != TEMPLATE_SHA256:
        raise ContentError(f"{path}: CBAM 커뮤니케이션 템플릿 {TEMPLATE_VERSION}이 아닙니다 (SHA-256 {digest[:12]}…, "
                           f"기대값 {TEMPLATE_SHA256[:12]}…). 셀 배치가 다를 수 있어 채우지 않습니다")
    return data


@functools.lru_cache(maxsize=2)
def _lookups(template: bytes) -> tuple[dict[str, str], dict[str, str]]:
    """The template's own lists: CN code (8 digits) → aggregated goods category, ISO code → country name."""
    sheets = read_values(template, {"Parameters_CNCodes": None, "c_CodeLists": None})
    cn_sheet, codes = sheets["Parameters_CNCodes"], sheets["c_CodeLists"]
    cn = {str(cn_sheet[f"D{row}"]): str(cn_sheet[f"E{row}"]) for row in range(4, 573)
          if f"D{row}" in cn_sheet and f"E{row}" in cn_sheet}
    countries = {str(codes[f"F{row}"]): str(codes[f"G{row}"]) for row in range(11, 278)
                 if f"F{row}" in codes and f"G{row}" in codes}
    return cn, countries


def _digits(code) -> str:
    return re.sub(r"[^0-9]", "", str(code or ""))


def _cn_label(digits: str) -> str:
    """'73181588' → '7318 15 88' (the spacing of the CN nomenclature)."""
    return " ".join([digits[:4]] + [digits[i:i + 2] for i in range(4, len(digits), 2)])


def _resolve_cn(code, cn_index: dict[str, str]) -> tuple[str | None, str | None, list[str]]:
    """(8-digit code or None, category or None, the template's codes that start with `code`)."""
    digits = _digits(code)
    if len(digits) < 4:
        return None, None, []
    matches = [key for key in cn_index if key.startswith(digits)]
    categories = {cn_index[key] for key in matches}
    category = categories.pop() if len(categories) == 1 else None
    return (matches[0] if len(matches) == 1 else None), category, matches


def _number(value, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value < 0:
        raise ExportError(f"{what}: 0 이상의 숫자여야 합니다 (값: {value!r})")
    return float(value)


def _key_name(text, suffix: str, used: set[str]) -> str:
    """A process or precursor name the template can use as its key (SUMIF/MATCH criteria): no
    wildcards (* ? ~), no leading comparison sign, unique ignoring case, with the CN code in it."""
    base = re.sub(r"[*?~]", "-", " ".join(str(text or "").split())).lstrip("=<> ")[:80] or "?"
    name = base = f"{base} ({suffix})"
    number = 2
    while name.casefold() in used:
        name, number = f"{base} #{number}", number + 1
    used.add(name.casefold())
    return name


def _covered_items(context: dict) -> list[dict]:
    cbam = (context.get("diagnosis") or {}).get("cbam") or {}
    covered = [item for item in cbam.get("products") or [] if item.get("covered") is True]
    if not covered:
        raise ExportError("CBAM 대상 제품이 없습니다: 커뮤니케이션 템플릿을 채울 제품이 없습니다")
    items = [item for item in covered if item.get("see") is not None]
    if not items:
        names = ", ".join(str(item.get("name") or item.get("id")) for item in covered)
        raise ExportError(f"CBAM 대상 제품({names})의 SEE(제품별 내재배출량) 계산 결과가 없습니다")
    if len(items) > MAX_PROCESSES:
        raise ExportError(f"CBAM 대상 제품이 {len(items)}개입니다: 템플릿에는 생산 공정을 {MAX_PROCESSES}개까지만 "
                          "넣을 수 있습니다. 제품을 공정별로 묶거나 설비별로 나누어 주세요")
    return items


def _precursor_table(items: list[dict]) -> list[dict]:
    """Distinct purchased precursors (same name, CN code and country), with mass per process index."""
    table: dict[tuple, dict] = {}
    for index, item in enumerate(items):
        for prec in item["see"].get("precursors") or []:
            key = (str(prec.get("name") or "").strip(), _digits(prec.get("cn_code")),
                   str(prec.get("country") or "").strip().upper())
            entry = table.setdefault(key, {"key": key, "first": prec, "mass": {}, "items": []})
            mass = _number(prec.get("mass_t"), f"{item.get('name')}: 전구물질 '{key[0]}' mass_t")
            if index in entry["mass"]:  # listed twice for one product: the masses add up
                before = entry["mass"][index]
                mass = None if before is None or mass is None else before + mass
            entry["mass"][index] = mass
            entry["items"].append(prec)
    if len(table) > MAX_PRECURSORS:
        raise ExportError(f"구매 전구물질이 {len(table)}종입니다: 템플릿에는 {MAX_PRECURSORS}종까지만 넣을 수 있습니다 "
                          "(같은 이름·CN 코드·원산지는 한 종으로 셉니다)")
    return list(table.values())


def communication_workbook(context: dict, installation_slug: str | None = None,
                           template: bytes | None = None) -> CommunicationWorkbook:
    """Fill the template from the enriched context (profile in context["company"], the SEE
    inputs in context["diagnosis"]["cbam"]["products"][*]["see"])."""
    items = _covered_items(context)
    precursors = _precursor_table(items)
    template = template if template is not None else template_bytes()
    cn_index, countries = _lookups(template)
    profile = context.get("company") or {}
    company = profile.get("company") or {}
    slug = installation_slug or (context.get("meta") or {}).get("company_id") or "installation"
    values: dict[str, dict[str, object]] = {sheet: {} for sheet in (A, C, D, E, SP)}
    missing: list[str] = []

    def put(sheet: str, ref: str, value) -> None:
        values[sheet][ref] = value

    # A_InstData: the installation
    year = profile.get("base_year")
    if isinstance(year, int) and not isinstance(year, bool) and 2000 <= year <= 2100:
        put(A, "I9", dt.date(year, 1, 1))
        put(A, "L9", dt.date(year, 12, 31))
    else:
        missing.append(f"{A}!I9:L9: 보고기간 (프로필 base_year가 없음)")
    put(A, "I19", company.get("name"))
    if company.get("name_en"):
        put(A, "I20", company["name_en"])
    else:
        missing.append(f"{A}!I20: 설비(사업장) 영문 명칭 (필수)")
    put(A, "I21", company.get("address"))
    put(A, "I22", company.get("main_business"))
    put(A, "I25", company.get("city"))
    country = str(company.get("country") or DEFAULT_COUNTRY).upper()
    if country in countries:
        put(A, "I26", countries[country])
    else:
        missing.append(f"{A}!I26: 설비 소재국 (템플릿 국가 목록에 없는 코드 '{country}')")
    missing.append(f"{A}!I30:I32: 담당자 이름·이메일·전화")

    used: set[str] = set()
    categories: list[str] = []
    processes = []
    for k, item in enumerate(items):
        label = item.get("name") or item.get("id")
        cn8, category, matches = _resolve_cn(item.get("cn_code"), cn_index)
        if category is None:
            raise ExportError(f"제품 '{label}'의 CN 코드 '{item.get('cn_code')}'가 CBAM 템플릿의 CN 목록에 없거나 "
                              "품목 분류가 하나로 정해지지 않습니다")
        if category not in categories:
            categories.append(category)
            g = len(categories) - 1
            put(A, f"E{62 + g}", category)
            if category in ROUTE_CATEGORIES:
                missing.append(f"{A}!I{62 + g}: '{category}'의 생산 경로 선택")
        name = _key_name(label, _cn_label(cn8 or _digits(item.get("cn_code"))), used)
        put(A, f"E{83 + k}", category)
        put(A, f"F{83 + k}", "Only direct production")
        put(A, f"L{83 + k}", name)
        processes.append({"name": name, "product": item.get("id"), "label": label, "row": 10 + k,
                          "direct_per_t": item["see"].get("direct_per_t"),
                          "indirect_per_t": item["see"].get("indirect_per_t")})
        put(SP, f"D{10 + k}", name)
        put(SP, f"H{10 + k}", label)
        if cn8:
            put(SP, f"F{10 + k}", cn8)
        else:
            shown = ", ".join(matches[:6]) + (" …" if len(matches) > 6 else "")
            missing.append(f"{SP}!F{10 + k}: '{label}'의 8자리 CN 코드 선택 (후보: {shown})")
        _process_block(k, item, label, values[D], missing)

    indirect = [(item["see"].get("electricity_mwh"), item["see"].get("grid_factor")) for item in items]
    if all(mwh is not None and ef is not None for mwh, ef in indirect):
        put(C, "M26", sum(float(mwh) * float(ef) for mwh, ef in indirect))
    else:
        missing.append(f"{C}!M26: 사업장 전체 간접배출량 (모든 공정의 전력 사용량·배출계수가 있어야 계산됨)")
    missing.append("B_EmInst!D17:R91: 사업장 전체 배출원(연료별 활동자료·열량·배출계수). SEE에는 쓰이지 않으나 "
                   "없으면 Summary_Processes!K85(미배분 직접배출) 대조가 맞지 않음")

    listed = []
    for j, prec in enumerate(precursors):
        listed.append(_precursor_block(j, prec, items, processes, cn_index, countries, used, values, missing))
    values = {sheet: {ref: v for ref, v in cells.items() if v is not None} for sheet, cells in values.items()}
    data = fill(template, values)
    return CommunicationWorkbook(data=data, file_name=file_name(slug), values=values, missing=missing,
                                 processes=processes, precursors=listed)


def _process_block(k: int, item: dict, label: str, cells: dict, missing: list[str]) -> None:
    """D_Processes block k (0-based): production, attributed direct emissions, electricity."""
    see = item["see"]

    def ref(column: str, row: int) -> str:
        return f"{column}{row + D_STEP * k}"

    activity = _number(see.get("activity_t"), f"{label}: see.activity_t")
    if activity:
        cells[ref("L", 16)] = activity  # (a) production, route 1 = the activity level
        cells[ref("L", 27)] = activity  # (b) all of it produced for the market
    else:
        missing.append(f"{D}!{ref('L', 16)}: '{label}' 보고연도 생산량(t)")
    cells[ref("K", 50)] = False  # (f) no measurable heat imported or exported
    cells[ref("L", 50)] = False  # (f) no waste gases
    direct = _number(see.get("own_direct_tco2e"), f"{label}: see.own_direct_tco2e")
    if direct is None:
        missing.append(f"{D}!{ref('L', 54)}: '{label}' 공정의 직접배출량 DirEm*(tCO2e)")
    cells[ref("L", 54)] = direct
    mwh = _number(see.get("electricity_mwh"), f"{label}: see.electricity_mwh")
    if mwh is None:
        missing.append(f"{D}!{ref('L', 65)}: '{label}' 공정의 전력 사용량(MWh)")
    cells[ref("L", 65)] = mwh
    factor = _number(see.get("grid_factor"), f"{label}: see.grid_factor")
    if factor is None:
        missing.append(f"{D}!{ref('L', 66)}: '{label}' 공정의 전력 배출계수(tCO2/MWh)")
    else:
        cells[ref("L", 66)] = factor
        cells[ref("L", 67)] = GRID_EF_SOURCE
    cells[ref("L", 71)] = 0  # (k) no electricity exported


def _precursor_block(j, prec, items, processes, cn_index, countries, used, values, missing) -> dict:
    """A_InstData row 102+j and E_PurchPrec block j (0-based) of one purchased precursor."""
    name, cn, country = prec["key"]
    first = prec["first"]
    label = name or "(이름 없음)"

    def ref(column: str, row: int) -> str:
        return f"{column}{row + E_STEP * j}"

    _cn8, category, _matches = _resolve_cn(cn, cn_index)
    if category is None:
        raise ExportError(f"전구물질 '{label}'의 CN 코드 '{cn}'가 CBAM 템플릿의 CN 목록에 없거나 "
                          "품목 분류가 하나로 정해지지 않습니다")
    key = _key_name(label, ", ".join(part for part in (_cn_label(cn) if cn else "", country) if part), used)
    values[A][f"E{102 + j}"] = category
    values[A][f"L{102 + j}"] = key
    if country in countries:
        values[A][f"F{102 + j}"] = country
    else:
        missing.append(f"{A}!F{102 + j}: 전구물질 '{label}'의 원산지 국가 코드 (값: '{country or '없음'}')")
    if category in ROUTE_CATEGORIES:
        missing.append(f"{A}!G{102 + j}: 전구물질 '{label}'({category})의 생산 경로 선택")

    cells = values[E]
    total = 0.0
    for index, mass in sorted(prec["mass"].items()):
        if mass is None:
            missing.append(f"{E}!{ref('L', 28 + index)}: '{processes[index]['label']}' 공정의 '{label}' 사용량(t)")
            total = None
            continue
        cells[ref("L", 28 + index)] = mass  # (b) consumed in production process index+1
        total = None if total is None else total + mass
    if total is not None:
        cells[ref("L", 17)] = total  # (a) purchased = consumed
        cells[ref("L", 38)] = 0  # (c) nothing else
    else:
        missing.append(f"{E}!{ref('L', 17)}: 전구물질 '{label}' 구매량(t)")

    for part in ("see_direct", "see_indirect", "source"):
        seen = {repr(other.get(part)) for other in prec["items"]}
        if len(seen) > 1:  # the template holds one value per precursor; the first one is written
            missing.append(f"{E}!{ref('L', 49)}: 전구물질 '{label}'의 {part} 값이 제품마다 다름 "
                           f"({', '.join(sorted(seen))}): 한 값으로 정해야 함")
    source = SOURCE_LABEL.get(str(first.get("source") or "").lower(), "Unknown")
    see_direct = _number(first.get("see_direct"), f"전구물질 '{label}' see_direct")
    if see_direct is None:
        missing.append(f"{E}!{ref('L', 49)}: 전구물질 '{label}'의 직접 SEE(tCO2e/t)")
    else:
        cells[ref("L", 49)] = see_direct
        cells[ref("M", 49)] = source
    see_indirect = _number(first.get("see_indirect"), f"전구물질 '{label}' see_indirect")
    # The template takes an indirect SEE only as electricity (MWh/t) × its factor (tCO2/MWh). For a
    # precursor from the installation's own country the grid factor is known; the MWh/t follows.
    factor = next((items[i]["see"].get("grid_factor") for i in sorted(prec["mass"])), None)
    if see_indirect is not None and (see_indirect == 0 or (country == DEFAULT_COUNTRY and factor)):
        factor = float(factor) if factor else 0.0
        cells[ref("L", 50)] = see_indirect / factor if factor else 0.0
        cells[ref("M", 50)] = source
        cells[ref("L", 51)] = factor
        cells[ref("M", 51)] = GRID_EF_SOURCE
    else:
        if see_indirect is not None:
            why = f" (간접 SEE {see_indirect:g} tCO2e/t는 두 값의 곱으로만 입력됨)"
        elif category in NO_INDIRECT_DEFINITIVE:
            why = " (선택: 확정기간 CBAM에서는 이 품목의 간접배출을 묻지 않음)"
        else:
            why = ""
        missing.append(f"{E}!{ref('L', 50)}:{ref('L', 51)}: 전구물질 '{label}'의 전력 원단위(MWh/t)와 "
                       f"전력 배출계수(tCO2/MWh){why}")
    if source == "Default":
        missing.append(f"{E}!{ref('K', 54)}: 전구물질 '{label}'에 기본값을 쓴 사유 (목록에서 선택)")
    return {"name": key, "key": prec["key"], "block": j + 1}


def check_cells(book: CommunicationWorkbook) -> dict[str, list[str]]:
    """The template's results to read after a recalculation: SEE per product, the mass balances."""
    return {SP: [f"{column}{p['row']}" for p in book.processes for column in "IJ"],
            D: [f"L{42 + D_STEP * k}" for k in range(len(book.processes))],
            E: [f"L{39 + E_STEP * (p['block'] - 1)}" for p in book.precursors]}


def compare(book: CommunicationWorkbook, recalculated: dict[str, dict[str, object]],
            tolerance: float = 0.01) -> list[dict]:
    """Per product: the template's SEE (direct, indirect) beside the pipeline's, and whether they agree."""
    rows = []
    for p in book.processes:
        for kind, column in (("direct", "I"), ("indirect", "J")):
            ours, theirs = p[f"{kind}_per_t"], recalculated.get(SP, {}).get(f"{column}{p['row']}")
            if ours is None:
                ok = None
            elif isinstance(theirs, (int, float)) and not isinstance(theirs, bool):
                ok = abs(theirs - ours) <= tolerance * max(abs(ours), 1e-9)
            else:
                ok = False
            rows.append({"process": p["name"], "kind": kind, "pipeline": ours, "template": theirs, "ok": ok,
                         "cell": f"{SP}!{column}{p['row']}"})
    return rows
