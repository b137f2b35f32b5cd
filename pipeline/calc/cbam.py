"""EU CBAM exposure: Annex I classification, per-customer threshold, embedded emissions and cost.

The rules (prefixes and exceptions, the 50 t threshold, the free-allocation phase-out, prices)
are data in content/regulations/cbam.yaml; this module only applies them.
"""
from __future__ import annotations

import re

from pipeline.calc.factors import cite


def normalise_code(code: str) -> str:
    return re.sub(r"[^0-9]", "", str(code))


def classify(code: str, cbam: dict) -> dict:
    """Classify one CN/HS code: covered True/False, or None when more digits are needed."""
    digits = normalise_code(code)
    sectors = cbam.get("sectors", {})
    undecided = None
    for rule in cbam.get("rules", []):
        prefix = normalise_code(rule["prefix"])
        exceptions = [normalise_code(e) for e in rule.get("except", []) or []]
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


def cost_projection(see_direct: float, see_indirect: float | None, emissions_scope: str, tonnes: float,
                    benchmark: float | None, cbam: dict, korean_price_paid_krw: float) -> list[dict]:
    """Certificates and cost per year 2026–2034 for `tonnes` a year of one good into the EU.

    certificates/t = embedded − benchmark × CBAM factor(year) × CSCF (not below 0); the carbon price
    paid in Korea is deducted. Prices and benchmark are stated parameters from content.
    """
    params = cbam.get("cost_parameters", {})
    price_eur = float(params["ets_price_eur_per_t"]["value"])
    eur_krw = (params.get("eur_krw") or {}).get("value")  # None: KRW figures stay unknown
    cscf = float((params.get("cross_sectoral_correction_factor") or {}).get("value") or 1.0)
    factors = (cbam.get("free_allocation_phase_out") or {}).get("values", {})
    indirect = (see_indirect or 0.0) if emissions_scope == "direct_indirect" else 0.0
    embedded = see_direct + indirect
    rows = []
    for year in sorted(int(y) for y in factors):
        # Without a sourced benchmark the free-allocation deduction is unknown: the row is then an
        # upper bound (no deduction), flagged as such, never a guessed benchmark.
        free = benchmark * float(factors[year] if year in factors else factors[str(year)]) * cscf if benchmark is not None else None
        per_t = max(embedded - (free or 0.0), 0.0)
        certificates = per_t * tonnes
        gross_eur = certificates * price_eur
        deduction_eur = min(certificates * korean_price_paid_krw / eur_krw, gross_eur) if eur_krw else 0.0
        net_eur = gross_eur - deduction_eur
        rows.append({
            "year": year,
            "cbam_factor": float(factors[year] if year in factors else factors[str(year)]),
            "free_allocation_tco2_per_t": free,
            "certificates_per_t": per_t,
            "certificates": certificates,
            "cost_eur": net_eur,
            "upper_bound": free is None,
            "cost_krw_million": net_eur * eur_krw / 1e6 if eur_krw else None,
        })
    return rows


def parameters_used(cbam: dict) -> list[dict]:
    params = cbam.get("cost_parameters", {})
    out = []
    for key in ("ets_price_eur_per_t", "eur_krw", "cross_sectoral_correction_factor"):
        rec = params.get(key)
        if rec:
            out.append({"name": key, "value": rec.get("value"), "basis": rec.get("basis"), "source": cite(rec.get("source"))})
    return out
