"""EU CBAM exposure: Annex I classification, embedded emissions with precursors, the importer's cost.

The rules (prefixes and exceptions, the 50 t threshold, the free-allocation phase-out, prices)
are data in content/regulations/cbam.yaml; this module only applies them.
"""
from __future__ import annotations

import datetime
import re

from pipeline.calc.factors import cite


def normalise_code(code: str) -> str:
    return re.sub(r"[^0-9]", "", str(code))


def _undivided(digits: str) -> str:
    """Drop trailing '00' pairs past the heading: in the HS/CN nomenclature '00' means 'not
    subdivided', so the Annex I line 2523 29 00 is the whole subheading 2523.29 and 7309 00 the
    whole heading 7309. A 6-digit code of such a line is therefore decided."""
    while len(digits) > 4 and len(digits) % 2 == 0 and digits.endswith("00"):
        digits = digits[:-2]
    return digits


def classify(code: str, cbam: dict) -> dict:
    """Classify one CN/HS code: covered True/False, or None when more digits are needed."""
    digits = _undivided(normalise_code(code))
    sectors = cbam.get("sectors", {})
    undecided = None
    for rule in cbam.get("rules", []):
        prefix = _undivided(normalise_code(rule["prefix"]))
        exceptions = [_undivided(normalise_code(e)) for e in rule.get("except", []) or []]
        if digits.startswith(prefix):
            hit = next((e for e in exceptions if digits.startswith(e)), None)
            if hit:
                continue
            shorter = [e for e in exceptions if e.startswith(digits)]
            if rule.get("condition"):
                shorter = shorter or ["(조건)"]  # a condition the code cannot show: ask, never guess
            sector = rule["sector"]
            emissions = rule.get("emissions") or sectors.get(sector, {}).get("emissions")
            result = {
                "hs_code": code,
                "digits": digits,
                "covered": None if shorter else True,
                "sector": sector,
                "sector_ko": sectors.get(sector, {}).get("name_ko", sector),
                "emissions_scope": emissions,
                "rule": rule["prefix"],
                "reason": (
                    f"Annex I '{rule['prefix']}' 조건 확인 필요: {rule['condition']}" if rule.get("condition") else
                    f"Annex I '{rule['prefix']}'에 해당하나 예외 {', '.join(shorter)} 여부를 판단하려면 더 긴 코드가 필요"
                    if shorter else f"Annex I '{rule['prefix']}' 해당"
                ),
            }
            if not shorter:
                return result
            undecided = result
        elif prefix.startswith(digits) and undecided is None:
            undecided = {
                "hs_code": code, "digits": digits, "covered": None, "sector": rule["sector"],
                "sector_ko": sectors.get(rule["sector"], {}).get("name_ko", rule["sector"]),
                "emissions_scope": rule.get("emissions") or sectors.get(rule["sector"], {}).get("emissions"),
                "rule": rule["prefix"],
                "reason": f"Annex I는 '{rule['prefix']}'만 대상: 판단하려면 더 긴 코드가 필요",
            }
    if undecided:
        return undecided
    return {"hs_code": code, "digits": digits, "covered": False, "sector": None, "sector_ko": None,
            "emissions_scope": None, "rule": None, "reason": "Annex I 목록에 없음"}


def proposed_extension(code: str, cbam: dict) -> bool | None:
    """On the Commission's proposed 2028 downstream list? None while that list is not in content."""
    digits = normalise_code(code)
    prefixes = (cbam.get("proposed_extension") or {}).get("prefixes") or []
    if not prefixes:
        return None
    return any(digits.startswith(normalise_code(p)) for p in prefixes)


def proposed_extension_watch(code: str, cbam: dict) -> bool:
    """On the unverified chapter-level watch list kept until the proposal's CN list is known."""
    digits = normalise_code(code)
    prefixes = (cbam.get("proposed_extension") or {}).get("screening_prefixes") or []
    return any(digits.startswith(normalise_code(p)) for p in prefixes)


def embedded_emissions(activity_t: float, own_direct_t: float | None, electricity_mwh: float | None,
                       grid_factor: float, precursors: list[dict]) -> dict:
    """SEE of a good by Implementing Regulation (EU) 2025/2547, Annex III B, equations 59–60:
    SEE = (attributed emissions of the process + Σ mass of precursor i × SEE of precursor i) ÷ activity level.

    Each precursor is {mass_t, see_direct, see_indirect, ...}: its mass is all that entered the
    process in the year (cut-offs and scrap included). Direct and indirect stay apart; whether the
    indirect part counts for the good is the caller's rule (Annex II of Regulation (EU) 2023/956).
    """
    parts, direct, indirect = [], own_direct_t, None
    if electricity_mwh is not None:
        indirect = electricity_mwh * grid_factor
    for p in precursors:
        embedded_direct = p["mass_t"] * p["see_direct"] if p.get("see_direct") is not None else None
        embedded_indirect = p["mass_t"] * p["see_indirect"] if p.get("see_indirect") is not None else 0.0
        parts.append({**p, "mass_per_t": p["mass_t"] / activity_t, "embedded_direct_t": embedded_direct,
                      "embedded_direct_per_t": None if embedded_direct is None else embedded_direct / activity_t})
        direct = None if direct is None or embedded_direct is None else direct + embedded_direct
        indirect = None if indirect is None else indirect + embedded_indirect
    return {
        "activity_t": activity_t,
        "own_direct_tco2e": own_direct_t,
        "own_direct_per_t": None if own_direct_t is None else own_direct_t / activity_t,
        "electricity_mwh": electricity_mwh,
        "grid_factor": grid_factor,
        "precursors": parts,
        "direct_per_t": None if direct is None else direct / activity_t,
        "indirect_per_t": None if indirect is None else indirect / activity_t,
    }


def _factor(table: dict, year: int) -> float:
    return float(table[year] if year in table else table[str(year)])


def report_parameters(cbam: dict, settings: dict | None) -> dict:
    """The cost parameters of this report: content's records, with a rate the profile sets
    (settings.eur_krw: value, source, date) in place of the content's EUR/KRW."""
    params = dict(cbam["cost_parameters"])
    own = (settings or {}).get("eur_krw")
    if own:
        basis = f"보고서 지정 환율 ({own.get('date') or '기준일 미기재'})"
        params["eur_krw"] = {"value": own["value"], "unit": "KRW/EUR", "basis": basis, "basis_ko": basis,
                             "source": own["source"], "override": True}
    return params


def cost_paths(see_actual: float | None, default: dict, benchmarks: dict, precursors: list[dict], tonnes: float,
               cbam: dict, sector: str, korean_price_paid_krw: float = 0.0, params: dict | None = None) -> list[dict]:
    """What the EU importer pays per year 2026–2034 for `tonnes` of the good, on two paths.

    actual:  certificates/t = SEE − SEFA, SEFA = CBAM factor × CSCF × (Column A of the good's process
             + Σ mass per t × Column B of each precursor) (2025/2620 Annex points 3.1, 3.3);
    default: certificates/t = default × (1 + mark-up) − CBAM factor × CSCF × Column B of the good
             (2025/2620 Art. 3, Annex point 4; mark-up per 2025/2621).
    Never below zero. A carbon price paid in Korea (K-ETS) is deducted on both paths (Art. 9 of
    Regulation (EU) 2023/956). Missing inputs leave that path None, never a guess.
    """
    from pipeline.calc.cbam_tables import markup

    params = params or cbam["cost_parameters"]
    price = float(params["certificate_price_eur_per_t"]["value"])
    eur_krw = float(params["eur_krw"]["value"]) if (params.get("eur_krw") or {}).get("value") else None
    cscf_table = (params.get("cross_sectoral_correction_factor") or {}).get("values") or {}
    factors = cbam["free_allocation_phase_out"]["values"]
    rows = []
    for year in sorted(int(y) for y in factors):
        factor = _factor(factors, year)
        cscf = float(cscf_table.get(year, cscf_table.get(str(year), 1.0)))
        col_a = benchmarks["A"].get(year)
        actual = None
        if see_actual is not None and col_a is not None and all(p.get("column_b", {}).get(year) is not None for p in precursors):
            sefa = factor * cscf * (col_a + sum(p["mass_per_t"] * p["column_b"][year] for p in precursors))
            actual = _path(see_actual, sefa, tonnes, price, eur_krw, korean_price_paid_krw)
        default_path = None
        col_b = benchmarks["B"].get(year)
        if default.get("value") is not None and col_b is not None:
            declared = default["value"] * (1 + markup(year, sector, cbam))
            default_path = _path(declared, factor * cscf * col_b, tonnes, price, eur_krw, korean_price_paid_krw)
            default_path["declared_per_t"] = declared
        saving = (default_path["cost_eur_per_t"] - actual["cost_eur_per_t"]) if actual and default_path else None
        rows.append({"year": year, "cbam_factor": factor, "cscf": cscf, "price_eur": price,
                     "actual": actual, "default": default_path, "actual_saves_eur_per_t": saving})
    return rows


def _path(see: float, sefa: float, tonnes: float, price: float, eur_krw: float | None, paid_krw: float) -> dict:
    per_t = max(see - sefa, 0.0)
    eur_per_t = per_t * price
    if paid_krw and eur_krw:
        eur_per_t = max(eur_per_t - per_t * paid_krw / eur_krw, 0.0)
    return {
        "see_per_t": see, "sefa_per_t": sefa, "certificates_per_t": per_t, "certificates": per_t * tonnes,
        "cost_eur_per_t": eur_per_t, "cost_eur": eur_per_t * tonnes,
        "cost_krw_million": eur_per_t * tonnes * eur_krw / 1e6 if eur_krw else None,
    }


def parameters_used(cbam: dict, params: dict | None = None) -> list[dict]:
    params = params or cbam.get("cost_parameters", {})
    out = []
    for key in ("certificate_price_eur_per_t", "eur_krw", "cross_sectoral_correction_factor"):
        rec = params.get(key)
        if rec:
            out.append({"name": key, "value": rec.get("value"), "basis": rec.get("basis"), "basis_ko": rec.get("basis_ko"),
                        "source": cite(rec.get("source"))})
    return out


def cheaper_path(rows: list[dict]) -> dict | None:
    """Which path costs the importer less, over the years both can be computed."""
    both = [r for r in rows if r["actual"] and r["default"]]
    if not both:
        return None
    actual = sum(r["actual"]["cost_eur"] for r in both)
    default = sum(r["default"]["cost_eur"] for r in both)
    first = both[0]
    return {
        "path": "actual" if actual < default else "default" if default < actual else "equal",
        "actual_eur": actual, "default_eur": default, "years": [r["year"] for r in both],
        "first_year": first["year"],
        "first_year_saving_eur_per_t": first["actual_saves_eur_per_t"],
        "see_actual": first["actual"]["see_per_t"], "see_default": first["default"]["declared_per_t"],
    }


def _deadline_end(value, today: datetime.date) -> datetime.date | None:
    """The last day a customer's deadline allows: 'YYYY-MM' → month end, 'YYYY' → 31 December."""
    text = str(value).strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return datetime.date.fromisoformat(text)
        if re.fullmatch(r"\d{4}-\d{2}", text):
            year, month = int(text[:4]), int(text[5:])
            following = datetime.date(year + month // 12, month % 12 + 1, 1)
            return following - datetime.timedelta(days=1)
        if re.fullmatch(r"\d{4}", text):
            return datetime.date(int(text), 12, 31)
    except ValueError:
        return None
    return None


def deadlines(company: dict, cbam: dict, today: datetime.date) -> dict:
    """The importer's declaration date for this year's imports, and each customer's CBAM data request
    against today (an overdue request is said to be overdue)."""
    rule = cbam["deadlines"]["declaration"]
    month, day = (int(x) for x in rule["month_day"].split("-"))
    first = datetime.date.fromisoformat(str(rule["first"]))
    import_year = max(today.year, first.year - 1)
    declaration = datetime.date(import_year + 1, month, day)
    requests = []
    for demand in company.get("customer_demands") or []:
        if "cbam_data" not in demand.get("demands", []):
            continue
        end = _deadline_end(demand.get("deadline"), today) if demand.get("deadline") is not None else None
        requests.append({
            "customer": demand["customer"], "deadline": demand.get("deadline"),
            "status": None if end is None else "overdue" if end < today else "open",
            "days_left": None if end is None else (end - today).days,
        })
    return {"rule_ko": rule["rule_ko"], "import_year": import_year, "declaration_due": declaration.isoformat(),
            "first_due": first.isoformat(), "customer_requests": requests, "today": today.isoformat()}
