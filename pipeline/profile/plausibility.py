"""Plausibility of a profile's figures (issue 17): unit slips print impossible numbers.

Bounds are data (content/plausibility.yaml). `impossible` ones (a share above 100 %) are problems
like any schema error: exit 2, Korean message naming the fields. `unusual` ones are our screening
thresholds: a warning line in the CLI output of validate and plan, never text in a document.
Input-level facts are checked here from the profile alone; derived figures (the selected measures'
savings against the baseline) by `derived_problems` once the diagnosis exists.
"""
from __future__ import annotations


COST_FIELDS = "energy.electricity.monthly_kwh · energy.electricity.price_krw_per_kwh · company.revenue_krw_million"


def _bounds(content) -> dict:
    return content.plausibility


def input_findings(data: dict, content, problem) -> tuple[list, list[str]]:
    """(problems, warnings) of a schema-valid profile's figures."""
    bounds = _bounds(content)
    impossible, unusual = bounds.get("impossible") or {}, bounds.get("unusual") or {}
    problems, warnings = [], []
    company, electricity = data["company"], data["energy"]["electricity"]
    kwh = sum(electricity["monthly_kwh"])
    revenue = company.get("revenue_krw_million")
    cost = kwh * electricity["price_krw_per_kwh"] / 1e6 if electricity.get("price_krw_per_kwh") else 0.0
    for fuel in data["energy"].get("fuels") or []:
        if fuel.get("price_krw_per_unit"):
            cost += fuel["amount"] * fuel["price_krw_per_unit"] / 1e6
    if revenue and cost:
        share = 100 * cost / revenue
        limit = (impossible.get("energy_cost_share_pct") or {}).get("max")
        flag = (unusual.get("energy_cost_share_pct") or {}).get("max")
        shown = f"에너지 구입비 연 {cost:,.0f}백만원 = 매출 {revenue:,.0f}백만원의 {share:,.1f}%"
        if limit is not None and share > limit:
            problems.append(problem("energy.electricity.price_krw_per_kwh",
                                    f"있을 수 없는 값입니다: {shown} ({COST_FIELDS}). "
                                    f"{impossible['energy_cost_share_pct']['reason']}"))
        elif flag is not None and share > flag:
            warnings.append(f"{shown}: 선별 기준 {flag:g}%보다 큽니다. {unusual['energy_cost_share_pct']['reason']}")
    output_t = _output_tonnes(data)
    rule = unusual.get("electricity_kwh_per_t") or {}
    if output_t and kwh and rule:
        per_t = kwh / output_t
        if per_t > rule.get("max", float("inf")) or per_t < rule.get("min", 0):
            warnings.append(f"제품 1톤당 전력 {per_t:,.1f} kWh/t (전력 {kwh:,.0f} kWh ÷ 생산량 {output_t:,.1f} t): "
                            f"선별 범위 {rule.get('min', 0):g}–{rule.get('max'):g} kWh/t 밖입니다. {rule['reason']}")
    rule = unusual.get("electricity_mwh_per_employee") or {}
    if rule and company.get("employees") and kwh / 1000 / company["employees"] > rule["max"]:
        warnings.append(f"종업원 1인당 전력 {kwh / 1000 / company['employees']:,.0f} MWh/년: 선별 기준 {rule['max']:g} "
                        f"MWh보다 큽니다. {rule['reason']}")
    return problems, warnings


def _output_tonnes(data: dict) -> float | None:
    total = 0.0
    for product in data["products"]:
        output = product.get("annual_output") or {}
        if output.get("unit") == "t":
            total += output["amount"]
        elif output.get("unit") == "kg":
            total += output["amount"] / 1000
        elif output.get("amount") and product.get("unit_mass_kg"):
            total += output["amount"] * product["unit_mass_kg"] / 1000
        else:
            return None   # a product without a tonnage: no per-tonne figure
    return total or None


def derived_problems(context: dict, content) -> list[str]:
    """Messages for derived figures no plant can have: the selected measures saving more than the
    site emits or uses (a unit slip in rated_kw, operating_hours or count)."""
    limit = ((_bounds(content).get("impossible") or {}).get("reduction_share_pct") or {})
    if not limit:
        return []
    diagnosis = context.get("diagnosis") or {}
    selected = set(diagnosis.get("selected_measures") or [])
    measures = [m for m in diagnosis.get("measures") or [] if m.get("id") in selected]
    total_t = (diagnosis.get("emissions") or {}).get("total_tco2e")
    mwh = (diagnosis.get("energy") or {}).get("electricity_mwh")
    out = []
    for label, key, base, unit in (("온실가스 감축량", "saving_tco2e", total_t, "tCO2eq"), ("전력 절감량", "saving_mwh", mwh, "MWh")):
        saving = sum(_low(m.get(key)) for m in measures)
        if base and saving and 100 * saving / base > limit["max"]:
            names = ", ".join(dict.fromkeys(e for m in measures if _low(m.get(key)) for e in (m.get("equipment") or [m["id"]])))
            out.append(f"있을 수 없는 결과입니다: 선정 조치의 {label}(하한) {saving:,.1f} {unit}가 기준연도 {base:,.1f} {unit}의 "
                       f"{100 * saving / base:,.0f}%입니다. {limit['reason']}: processes[].equipment[]의 rated_kw · "
                       f"operating_hours · count ({names})")
    return out


def _low(value) -> float:
    if isinstance(value, dict):
        value = value.get("low")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0
