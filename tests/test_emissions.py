"""Hand-calculated GHG cases: each fuel and unit, under two GWP sets.

Expected values are worked out by hand from the content records named in each case
(content/factors/fuels.yaml kr-2022/kr-2017 calorific values, kr-kets factors, gwp.yaml), so a
changed factor or a broken conversion fails here.
"""
import pytest

from pipeline.calc.emissions import fuel_emissions, fuel_energy, scope2
from pipeline.calc.factors import choose_factors
from pipeline.content import Content
from pipeline.errors import CalculationError

CONTENT = Content()


def tco2e(fuel: dict, gwp: str) -> tuple[float, float]:
    factors = choose_factors({"gwp_set": gwp}, CONTENT)
    line = fuel_emissions(fuel_energy(fuel, CONTENT, factors.calorific), CONTENT, factors)
    return line["tj_net"], line["tco2e"]


def expected(tj, co2, ch4, n2o, gwp_ch4, gwp_n2o):
    """kg/TJ factors → tCO2e."""
    return tj * (co2 + ch4 * gwp_ch4 + n2o * gwp_n2o) / 1000


CASES = [
    # fuel, amount, unit, basis, net TJ by hand, (co2, ch4, n2o) kg/TJ
    ("city_gas", 1_000_000, "Nm3", None, 1_000_000 * 38.5 / 1e6, (56100, 1, 0.1)),
    ("city_gas", 1_000_000, "m3", None, 38.5, (56100, 1, 0.1)),
    ("city_gas", 42_700_000, "MJ", "gross", 42.7 * 38.5 / 42.7, (56100, 1, 0.1)),
    ("city_gas", 42_700, "GJ", "gross", 38.5, (56100, 1, 0.1)),
    ("city_gas", 38.5, "TJ", "net", 38.5, (56100, 1, 0.1)),
    ("city_gas", 10_000, "Gcal", "gross", 10_000 * 4.1868e-3 * 38.5 / 42.7, (56100, 1, 0.1)),
    ("city_gas", 1_000, "toe", "gross", 1_000 * 41.868e-3 * 38.5 / 42.7, (56100, 1, 0.1)),
    ("city_gas", 1_000_000, "kWh", "net", 3.6, (56100, 1, 0.1)),
    ("city_gas", 1_000, "MWh", "gross", 3.6 * 38.5 / 42.7, (56100, 1, 0.1)),
    ("lng", 500, "t", None, 500_000 * 49.4 / 1e6, (56100, 1, 0.1)),
    ("lng", 2_000, "kg", None, 2_000 * 49.4 / 1e6, (56100, 1, 0.1)),
    ("propane", 10_000, "kg", None, 10_000 * 46.22 / 1e6, (64600, 1, 0.1)),
    ("butane", 3, "t", None, 3_000 * 45.55 / 1e6, (66300, 1, 0.1)),
    ("diesel", 20_000, "L", None, 20_000 * 35.25 / 1e6, (73200, 3, 0.6)),
    ("diesel", 20, "kL", None, 20_000 * 35.25 / 1e6, (73200, 3, 0.6)),
    ("kerosene", 5_000, "L", None, 5_000 * 34.12 / 1e6, (73200, 3, 0.6)),
    # kr-2022 has no published gasoline / B-C value: the 2017 revision is used (and traced).
    ("gasoline", 8_000, "L", None, 8_000 * 30.4 / 1e6, (71600, 3, 0.6)),
    ("bunker_c", 100, "kL", None, 100_000 * 39.2 / 1e6, (80300, 3, 0.6)),
]


@pytest.mark.parametrize("gwp,gwp_ch4,gwp_n2o", [("AR5", 28, 265), ("SAR", 21, 310), ("AR6", 27.9, 273)])
@pytest.mark.parametrize("fuel,amount,unit,basis,tj,factors", CASES)
def test_fuel_by_hand(fuel, amount, unit, basis, tj, factors, gwp, gwp_ch4, gwp_n2o):
    line = {"fuel": fuel, "amount": amount, "unit": unit}
    if basis:
        line["basis"] = basis
    got_tj, got_t = tco2e(line, gwp)
    assert got_tj == pytest.approx(tj, rel=1e-9)
    assert got_t == pytest.approx(expected(tj, *factors, gwp_ch4, gwp_n2o), rel=1e-9)


def test_city_gas_worked_example_ar5():
    # 1,000,000 Nm³ × 38.5 MJ/Nm³ = 38.5 TJ; CO2 38.5 × 56,100 kg = 2,159.85 t;
    # CH4 38.5 kg × 28 = 1.078 t; N2O 3.85 kg × 265 = 1.02025 t → 2,161.94825 tCO2e
    _, t = tco2e({"fuel": "city_gas", "amount": 1_000_000, "unit": "Nm3"}, "AR5")
    assert t == pytest.approx(2161.94825, abs=1e-6)
    _, t_sar = tco2e({"fuel": "city_gas", "amount": 1_000_000, "unit": "Nm3"}, "SAR")
    assert t_sar == pytest.approx(2159.85 + 0.0385 * 21 + 0.00385 * 310, abs=1e-6)


def test_trace_names_factor_records():
    factors = choose_factors({}, CONTENT)
    line = fuel_emissions(fuel_energy({"fuel": "gasoline", "amount": 1000, "unit": "L"}, CONTENT, factors.calorific), CONTENT, factors)
    assert "2017년 기준" in line["trace"] and "GWP" in line["trace"]   # the record as a reader names it, no id
    assert line["calorific_note"] and "kr-2017" in line["calorific_note"]
    assert line["emission_factor_set"] == "kr-kets" and line["emission_factor_source"]


def test_incompatible_unit_is_an_error_not_a_guess():
    factors = choose_factors({}, CONTENT)
    with pytest.raises(CalculationError):
        fuel_energy({"fuel": "city_gas", "amount": 10, "unit": "L"}, CONTENT, factors.calorific)


def test_scope2_location_and_market_based():
    factors = choose_factors({}, CONTENT)
    grid = CONTENT.electricity["grid"][factors.grid_id]["value"]
    profile = {"energy": {
        "electricity": {"monthly_kwh": [100_000] * 12},
        "onsite_renewables": [{"type": "solar", "kwh": 50_000}],
        "renewable_purchases": [{"instrument": "rec", "mwh": 200}, {"instrument": "green_premium", "mwh": 100}],
    }}
    s2 = scope2(profile, CONTENT, factors)
    assert s2["grid_mwh"] == pytest.approx(1200)
    assert s2["consumption_mwh"] == pytest.approx(1250)
    assert s2["location_tco2e"] == pytest.approx(1200 * grid)
    assert s2["market_tco2e"] == pytest.approx((1200 - 300) * grid)
    older = choose_factors({"factor_set": "kr-kets-phase4"}, CONTENT)
    assert scope2(profile, CONTENT, older)["location_tco2e"] == pytest.approx(1200 * 0.4541)
