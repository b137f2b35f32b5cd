"""The EU CBAM communication template for installations (v2.1.1), filled from the context.

An EU importer asks its supplier for this workbook; the pipeline already knows most of it. One
workbook per installation (the company): each covered product with an SEE is one production process
(D_Processes, up to 10) and one Summary_Products row; each distinct purchased precursor (name, CN
code, country) is one E_PurchPrec block (up to 20), its mass entered for every process that uses it.
Each stationary fuel of the profile is one combustion source stream in B_EmInst, so the template's
installation total matches the direct emissions attributed to the processes (Summary_Processes!K85).
Only known values are written; each gap becomes a line "시트!셀: 무엇이 필요한지" for the consultant.
The cell addresses follow the template's own layout, pinned by its SHA-256.

Longer than 400 lines on purpose: the sheets are filled from one context with one key scheme (the
process and precursor names that the template joins on, the D_Processes DirEm* that the source
streams must add up to); split over modules they would pass half-built cell maps between them.
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

A, B, C, D, E, SP = ("A_InstData", "B_EmInst", "C_Emissions&Energy", "D_Processes", "E_PurchPrec",
                     "Summary_Products")
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
# B_EmInst (a) calculation-based source streams: rows 17-91; the lists CONST_MonitoringApproach,
# CONST_torkNm3 and CONST_tCO2pTJOrtCO2pt (Parameters_Constants B56, B23:C23, B47).
STREAM_FIRST_ROW, MAX_STREAMS = 17, 75
COMBUSTION, TONNES, KILO_NM3, PER_TJ = "Combustion", "t", "1000Nm3", "tCO2/TJ"
# Fuel physical unit → (template AD unit, physical units in one template unit). The template has no
# liquid volume unit: a litre-metered fuel goes in as volume (1000 m3) under "1000Nm3", the
# Regulation's "t or m3" (Annex II B.3.1.1, eq. 6); F × NCV, so the TJ and the CO2e, stay exact.
AD_UNITS = {"kg": (TONNES, 1e3), "Nm3": (KILO_NM3, 1e3), "L": (KILO_NM3, 1e6)}
FUEL_NAMES_EN = {"city_gas": "Natural gas (city gas)", "lng": "Liquefied natural gas", "propane": "Propane (LPG)",
                 "butane": "Butane (LPG)", "diesel": "Gas/diesel oil", "kerosene": "Kerosene",
                 "gasoline": "Motor gasoline", "bunker_c": "Residual fuel oil (Bunker C)"}


@dataclass
class CommunicationWorkbook:
    data: bytes
    file_name: str
    values: dict[str, dict[str, object]]  # every cell written: {sheet: {cell: value}}
    missing: list[str]  # "시트!셀: 무엇이 필요한지"
    processes: list[dict] = field(default_factory=list)  # name, product, row, direct_per_t, indirect_per_t
    precursors: list[dict] = field(default_factory=list)  # name, key, block
    streams: list[dict] = field(default_factory=list)  # row, name, fuel, tj, tco2e (B_EmInst source streams)
    unattributed_tco2e: float | None = None  # expected Summary_Processes!K85: streams less attributed DirEm


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
    values: dict[str, dict[str, object]] = {sheet: {} for sheet in (A, B, C, D, E, SP)}
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
    streams = _source_streams(context, values[B], missing)
    attributed = [values[D].get(f"L{54 + D_STEP * k}") for k in range(len(items))]
    unattributed = None
    if streams is not None and all(value is not None for value in attributed):
        unattributed = round(sum(s["tco2e"] for s in streams) - sum(attributed), 9) + 0.0  # no "-0"

    listed = []
    for j, prec in enumerate(precursors):
        listed.append(_precursor_block(j, prec, items, processes, cn_index, countries, used, values, missing))
    values = {sheet: {ref: v for ref, v in cells.items() if v is not None} for sheet, cells in values.items()}
    data = fill(template, values)
    return CommunicationWorkbook(data=data, file_name=file_name(slug), values=values, missing=missing,
                                 processes=processes, precursors=listed, streams=streams or [],
                                 unattributed_tco2e=unattributed)


def _source_streams(context: dict, cells: dict, missing: list[str]) -> list[dict] | None:
    """B_EmInst (a): one combustion source stream per stationary fuel line of Scope 1, or None when
    the fuel lines are not known. The template computes a row's CO2e as AD × NCV/1000 × EF × OxF; the EF
    written is the line's combustion CO2 per TJ (CBAM counts CO2, not the CH4 and N2O of burning fuel),
    so the row gives the pipeline's CO2 and the streams add up to the direct emissions split over the
    products. Fuel of mobile machinery for transport is outside the CBAM boundary (2025/2547 Annex II
    B.1(c)) and is not listed."""
    emissions = ((context.get("diagnosis") or {}).get("emissions") or {}).get("scope1")
    fuels = ((context.get("company") or {}).get("energy") or {}).get("fuels")
    where = f"{B}!D{STREAM_FIRST_ROW}:R{STREAM_FIRST_ROW + MAX_STREAMS - 1}"
    if not isinstance(emissions, list) or not isinstance(fuels, list) or len(emissions) != len(fuels):
        missing.append(f"{where}: 사업장 전체 배출원(연료별 활동자료·열량·배출계수). 연료별 배출량을 프로필 연료와 "
                       "맞출 수 없어 비워 둠; 없으면 Summary_Processes!K85(미배분 직접배출) 대조가 맞지 않음")
        return None
    lines = [line for line, fuel in zip(emissions, fuels)
             if isinstance(line, dict) and not (isinstance(fuel, dict) and fuel.get("mobile"))  # outside CBAM
             and (line.get("tj_net") or line.get("tco2e"))]  # a fuel not used this year: no source stream
    if len(lines) > MAX_STREAMS:
        raise ExportError(f"고정 연소 연료가 {len(lines)}건입니다: 템플릿에는 배출원(source stream)을 "
                          f"{MAX_STREAMS}개까지만 넣을 수 있습니다. 같은 연료를 합쳐 주세요")
    streams, names, content = [], set(), None
    for row, line in enumerate(lines, start=STREAM_FIRST_ROW):  # a row left for hand entry stays empty
        fuel = str(line.get("fuel") or "")
        label = FUEL_NAMES_EN.get(fuel, fuel.replace("_", " ") or "fuel")
        if line.get("name_ko"):
            label = f"{label} / {line['name_ko']}"
        name, number = label, 2
        while name.casefold() in names:
            name, number = f"{label} #{number}", number + 1
        names.add(name.casefold())
        tj = _number(line.get("tj_net"), f"연료 '{name}' tj_net")
        tco2e = _number(line.get("co2_t"), f"연료 '{name}' co2_t")  # CBAM: combustion CO2 only
        physical, unit = line.get("physical_amount"), line.get("physical_unit")
        derived = False
        if physical is None and tj and unit in AD_UNITS:  # given as energy: the amount at the NCV used
            if content is None:
                from pipeline.content import get_content
                content = get_content()
            record = content.fuels.get(fuel, {}).get("calorific_values", {}).get(line.get("calorific_revision"))
            ncv = (record or {}).get("net")
            if isinstance(ncv, (int, float)) and not isinstance(ncv, bool) and ncv > 0:
                physical, derived = tj * 1e6 / ncv, True
        physical = _number(physical, f"연료 '{name}' physical_amount")
        if not tj or tco2e is None or not physical or unit not in AD_UNITS:
            missing.append(f"{B}!F{row}:J{row}: 배출원 '{name}'의 활동자료·순발열량·배출계수 "
                           f"(사용량 {line.get('amount')} {line.get('unit')}를 템플릿 단위 t/1000Nm3로 바꿀 수 없음)")
            continue
        ad_unit, per_unit = AD_UNITS[unit]
        amount = physical / per_unit
        ncv = tj * 1e3 / amount  # GJ per template unit
        cells[f"D{row}"] = COMBUSTION
        cells[f"E{row}"] = name
        cells[f"F{row}"] = amount
        cells[f"G{row}"] = ad_unit
        cells[f"H{row}"] = _tidy(ncv)
        cells[f"J{row}"] = _tidy(tco2e / tj)  # tCO2e per TJ
        cells[f"K{row}"] = PER_TJ
        cells[f"N{row}"] = 100  # oxidation factor, %
        if unit == "L":
            missing.append(f"{B}!F{row}:H{row}: '{name}'은(는) 부피로 입력됨 ({physical / 1e3:,.1f} kL = "
                           f"{amount:g} × 1000 m3, 단위 '{KILO_NM3}'): 템플릿에 액체 부피 단위가 없음. 검증인이 질량을 "
                           "요구하면 밀도(kg/L)로 t와 GJ/t로 바꿀 것 (F×H, 곧 TJ와 배출량은 그대로)")
        if derived:
            missing.append(f"{B}!F{row}: '{name}' 활동자료는 에너지 사용량({line.get('amount')} {line.get('unit')})을 "
                           f"순발열량으로 나눈 값 ({physical:,.0f} {unit}): 계량값이 있으면 그 값으로 바꿀 것")
        streams.append({"row": row, "name": name, "fuel": fuel, "tj": tj, "tco2e": tco2e,
                        "co2_t": line.get("co2_t")})
    return streams


def _tidy(value: float) -> float:
    """12 significant digits: 38.5 rather than 38.50000000000001 (a relative change below 1e-11)."""
    return float(f"{value:.12g}")


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
    """The template's results to read after a recalculation: SEE per product, the mass balances, the
    CO2e of each source stream and the direct emissions not attributed to any process."""
    return {SP: [f"{column}{p['row']}" for p in book.processes for column in "IJ"],
            D: [f"L{42 + D_STEP * k}" for k in range(len(book.processes))],
            E: [f"L{39 + E_STEP * (p['block'] - 1)}" for p in book.precursors],
            B: [f"AU{s['row']}" for s in book.streams],
            "Summary_Processes": ["K84", "K85"]}


def _agrees(ours, theirs, tolerance: float, scale: float) -> bool | None:
    if ours is None:
        return None
    if not isinstance(theirs, (int, float)) or isinstance(theirs, bool):
        return False
    return abs(theirs - ours) <= tolerance * max(scale, 1e-9)


def compare(book: CommunicationWorkbook, recalculated: dict[str, dict[str, object]],
            tolerance: float = 0.01, stream_tolerance: float = 0.001) -> list[dict]:
    """Per product: the template's SEE (direct, indirect) beside the pipeline's; per source stream its
    CO2e (B_EmInst!AU) beside the pipeline's tco2e of that fuel line; the template's unattributed
    direct emissions (Summary_Processes!K85) beside streams − DirEm* (0 when every product is
    covered). Streams and K85 must agree within `stream_tolerance` (of the stream, of the total)."""
    rows = []
    for s in book.streams:
        theirs = recalculated.get(B, {}).get(f"AU{s['row']}")
        rows.append({"process": None, "kind": f"배출원 '{s['name']}' tCO2e", "pipeline": s["tco2e"],
                     "template": theirs, "ok": _agrees(s["tco2e"], theirs, stream_tolerance, abs(s["tco2e"])),
                     "cell": f"{B}!AU{s['row']}"})
    if book.streams:
        total = sum(s["tco2e"] for s in book.streams)
        theirs = recalculated.get("Summary_Processes", {}).get("K85")
        rows.append({"process": None, "kind": "미배분 직접배출 (Rest) tCO2e", "pipeline": book.unattributed_tco2e,
                     "template": theirs,
                     "ok": _agrees(book.unattributed_tco2e, theirs, stream_tolerance, abs(total)),
                     "cell": "Summary_Processes!K85"})
    see_rows = []
    for p in book.processes:
        for kind, column in (("direct", "I"), ("indirect", "J")):
            ours, theirs = p[f"{kind}_per_t"], recalculated.get(SP, {}).get(f"{column}{p['row']}")
            see_rows.append({"process": p["name"], "kind": kind, "pipeline": ours, "template": theirs,
                             "ok": _agrees(ours, theirs, tolerance, abs(ours or 0)),
                             "cell": f"{SP}!{column}{p['row']}"})
    return see_rows + rows
