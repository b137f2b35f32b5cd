"""GHG inventory: Scope 1 (stationary combustion), Scope 2 (location and market based), Scope 3 screening.

Every figure carries a trace: activity × calorific value × factor × GWP → tCO2e, naming the
factor records used, so a consultant can defend each number.
"""
from __future__ import annotations

from pipeline.calc.factors import FactorChoice, cite, edition, revision_with_value
from pipeline.content import Content
from pipeline.errors import CalculationError
from pipeline.profile.units import is_energy_unit, mj_per_energy_unit, physical_multiplier


def fuel_energy(fuel: dict, content: Content, calorific_revision: str) -> dict:
    """Energy content of one fuel line: TJ net (for emissions) and TJ gross (for toe), with trace."""
    record = content.fuels.get(fuel["fuel"])
    if record is None:
        raise CalculationError(f"알 수 없는 연료 '{fuel['fuel']}'")
    unit, amount = fuel["unit"], float(fuel["amount"])
    rev_id, cv = revision_with_value(record["calorific_values"], calorific_revision, "net")
    note = None if rev_id == calorific_revision else f"{calorific_revision}에 값이 없어 {rev_id} 발열량 적용"
    if is_energy_unit(unit):
        mj = amount * mj_per_energy_unit(unit, content.units)
        if fuel.get("basis") == "net":
            tj_net = mj / 1e6
            tj_gross = tj_net * cv["gross"] / cv["net"] if cv.get("gross") else None
        else:
            if not cv.get("gross"):
                raise CalculationError(
                    f"'{fuel['fuel']}'의 총발열량이 content에 없어 총발열량({unit}) 기준 사용량을 순발열량으로 바꿀 수 없습니다"
                )
            tj_gross = mj / 1e6
            tj_net = tj_gross * cv["net"] / cv["gross"]
        trace = (
            f"{amount:,.0f} {unit} ({'순' if fuel.get('basis') == 'net' else '총'}발열량) = {mj / 1e6:,.3f} TJ"
            + ("" if fuel.get("basis") == "net" else f" × 순/총 비율 {cv['net']}/{cv['gross']} ({rev_id}) = {tj_net:,.3f} TJ(순)")
        )
        physical = None
    else:
        multiplier = physical_multiplier(unit, record["physical_unit"])
        if multiplier is None:
            raise CalculationError(f"'{fuel['fuel']}'에 단위 '{unit}'를 쓸 수 없습니다")
        physical = amount * multiplier
        tj_net = physical * cv["net"] / 1e6
        tj_gross = physical * cv["gross"] / 1e6 if cv.get("gross") else None
        trace = (
            f"{amount:,.0f} {unit}"
            + (f" = {physical:,.0f} {record['physical_unit']}" if multiplier != 1 else "")
            + f" × {cv['net']} {cv['unit']} (순발열량, {edition(rev_id)}) = {tj_net:,.3f} TJ"
        )
    return {
        "fuel": fuel["fuel"],
        "name_ko": record.get("name_ko", fuel["fuel"]),
        "amount": amount,
        "unit": unit,
        "price_krw_per_unit": fuel.get("price_krw_per_unit"),
        "use": fuel.get("use"),
        "physical_amount": physical,
        "physical_unit": record["physical_unit"],
        "tj_net": tj_net,
        "tj_gross": tj_gross,
        "calorific_revision": rev_id,
        "calorific_source": cite(cv.get("source")),
        "calorific_note": note,
        "trace": trace,
    }


def fuel_emissions(energy: dict, content: Content, factors: FactorChoice) -> dict:
    record = content.fuels[energy["fuel"]]
    ef_sets = record["emission_factors"]
    if factors.fuel_ef not in ef_sets:
        raise CalculationError(f"'{energy['fuel']}'에 배출계수 세트 '{factors.fuel_ef}'가 없습니다")
    ef = ef_sets[factors.fuel_ef]
    tj = energy["tj_net"]
    co2 = tj * ef["co2"] / 1000.0
    ch4 = tj * ef["ch4"] / 1000.0
    n2o = tj * ef["n2o"] / 1000.0
    gwp_ch4, gwp_n2o = factors.gwp_ch4, factors.gwp["n2o"]
    total = co2 + ch4 * gwp_ch4 + n2o * gwp_n2o
    trace = (
        f"{energy['trace']}; CO2 {tj:,.3f} TJ × {ef['co2']:,} kg/TJ = {co2:,.2f} t; "
        f"CH4 {tj:,.3f} × {ef['ch4']} kg/TJ × GWP {gwp_ch4} = {ch4 * gwp_ch4:,.3f} t; "
        f"N2O {tj:,.3f} × {ef['n2o']} kg/TJ × GWP {gwp_n2o} = {n2o * gwp_n2o:,.3f} t → {total:,.2f} tCO2e"
    )
    return {
        **energy,
        "co2_t": co2,
        "ch4_t": ch4,
        "n2o_t": n2o,
        "tco2e": total,
        "emission_factor_set": factors.fuel_ef,
        "emission_factor": {"co2": ef["co2"], "ch4": ef["ch4"], "n2o": ef["n2o"], "unit": ef.get("unit", "kg/TJ")},
        "emission_factor_source": cite(ef.get("source")),
        "gwp_set": factors.gwp_id,
        "trace": trace,
    }


def scope1(profile: dict, content: Content, factors: FactorChoice) -> list[dict]:
    return [
        fuel_emissions(fuel_energy(fuel, content, factors.calorific), content, factors)
        for fuel in profile["energy"].get("fuels", [])
    ]


def scope2(profile: dict, content: Content, factors: FactorChoice) -> dict:
    """Location-based: grid kWh × national factor. Market-based: grid kWh less RE instruments that count.

    Korea publishes no residual mix, so the market-based figure applies the national factor to the
    electricity not covered by a qualifying instrument, and says so.
    """
    energy = profile["energy"]
    grid_mwh = sum(energy["electricity"]["monthly_kwh"]) / 1000.0
    onsite_mwh = sum(r["kwh"] for r in energy.get("onsite_renewables", [])) / 1000.0
    factor = float(factors.grid["value"])
    location = grid_mwh * factor
    instruments = content.re100.get("instruments", {})
    covered_mwh, instrument_lines = 0.0, []
    for purchase in energy.get("renewable_purchases", []):
        info = instruments.get(purchase["instrument"], {})
        counts = bool(info.get("counts_for_re100", True))
        mwh = float(purchase["mwh"])
        if counts:
            covered_mwh += mwh
        instrument_lines.append({"instrument": purchase["instrument"], "name_ko": info.get("name_ko", purchase["instrument"]), "mwh": mwh, "zero_rated": counts})
    covered_mwh = min(covered_mwh, grid_mwh)
    market = (grid_mwh - covered_mwh) * factor
    return {
        "grid_mwh": grid_mwh,
        "onsite_renewable_mwh": onsite_mwh,
        "consumption_mwh": grid_mwh + onsite_mwh,
        "instruments": instrument_lines,
        "instrument_mwh": covered_mwh,
        "location_tco2e": location,
        "market_tco2e": market,
        "grid_factor": factor,
        "grid_factor_id": factors.grid_id,
        "trace_location": f"{grid_mwh:,.1f} MWh × {factor} tCO2eq/MWh ({factors.grid.get('basis')}) = {location:,.1f} tCO2e",
        "trace_market": (
            f"({grid_mwh:,.1f} − 재생에너지 인정분 {covered_mwh:,.1f}) MWh × {factor} tCO2eq/MWh = {market:,.1f} tCO2e "
            "(국내 잔여배출계수 미공표로 국가계수 적용)"
        ),
    }


def scope3(profile: dict, content: Content) -> list[dict]:
    """Screening by category with the method each line uses; only where the profile has data."""
    data = profile.get("scope3") or {}
    s3 = content.scope3
    names = s3.get("categories", {})
    lines: list[dict] = []

    def line(category, method, label, activity, factor_record, tco2e, trace):
        if factor_record.get("value") is None:
            tco2e, trace = None, f"{activity}: 배출계수 미확보 — 공급사 자료 또는 공인 배출계수 확인 필요"
        cat_name = names.get(category) or names.get(str(category)) or {}
        lines.append({
            "category": category,
            "category_name": cat_name.get("name_ko") if isinstance(cat_name, dict) else cat_name,
            "method": method,
            "item": label,
            "activity": activity,
            "factor": factor_record.get("value"),
            "factor_unit": factor_record.get("unit"),
            "factor_source": cite(factor_record.get("source")),
            "tco2e": tco2e,
            "trace": trace,
        })

    for item in data.get("purchased_materials", []):
        rec = s3["materials"][item["material"]]
        t = item["mass_t"] * float(rec["value"] or 0)
        line(1, "average-data", rec.get("name_ko", item["material"]), f"{item['mass_t']:,.0f} t", rec, t,
             f"{item['mass_t']:,.1f} t × {rec['value']} {rec['unit']} = {t:,.1f} tCO2e")
    for item in data.get("purchased_spend", []):
        rec = s3["spend"][item["category"]]
        rate = _currency_rate(s3, rec)
        if rate is None:
            rec = {**rec, "value": None}
            rate = float("nan")
        t = item["krw_million"] * 1e6 / rate * float(rec["value"] or 0) / 1000.0
        category = rec.get("category", 1)
        line(category if isinstance(category, int) else 1, "spend-based", rec.get("name_ko", item["category"]),
             f"{item['krw_million']:,.0f} 백만원", rec, t,
             f"{item['krw_million']:,.0f} 백만원 ÷ {rate:,.0f} KRW/{rec.get('currency', 'USD')} × {rec['value']} {rec['unit']} = {t:,.1f} tCO2e")
    for item in data.get("transport", []):
        rec = s3["transport"][item["mode"]]
        t = item["tonne_km"] * float(rec["value"] or 0) / 1000.0
        line(item["category"], "distance-based", rec.get("name_ko", item["mode"]) + (f" ({item['note']})" if item.get("note") else ""),
             f"{item['tonne_km']:,.0f} t·km", rec, t,
             f"{item['tonne_km']:,.0f} t·km × {rec['value']} {rec['unit']} = {t:,.1f} tCO2e")
    for item in data.get("waste", []):
        rec = s3["waste"][item["type"]]
        t = item["mass_t"] * float(rec["value"] or 0)
        line(5, "waste-type-specific", rec.get("name_ko", item["type"]), f"{item['mass_t']:,.0f} t", rec, t,
             f"{item['mass_t']:,.1f} t × {rec['value']} {rec['unit']} = {t:,.1f} tCO2e")
    return lines


def _currency_rate(s3: dict, record: dict) -> float:
    currency = record.get("currency", "USD").lower()
    rates = s3.get("currency", {})
    rate = rates.get(f"{currency}_krw")
    value = rate.get("value") if isinstance(rate, dict) else rate
    return float(value) if value else None
