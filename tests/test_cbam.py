"""CBAM Annex I classification over a wide set of codes, exceptions included."""
import pytest

from pipeline.calc.cbam import classify, cost_paths, embedded_emissions
from pipeline.calc.cbam_tables import benchmark, default_value
from pipeline.content import Content

CONTENT = Content()
CBAM = CONTENT.cbam

COVERED = {
    "7318.15": "iron_steel", "7318.16": "iron_steel", "731814": "iron_steel", "7326.19": "iron_steel",
    "7308.90": "iron_steel", "7208.51": "iron_steel", "7213.91": "iron_steel", "7304.19": "iron_steel",
    "7202.11": "iron_steel",  # ferro-manganese: only the listed ferro-alloys are excepted
    "7202.41": "iron_steel", "7202.60": "iron_steel", "2601.12": "iron_steel",
    "7604.21": "aluminium", "7604.29": "aluminium", "7601.10": "aluminium", "7610.10": "aluminium",
    "7616.99": "aluminium", "7606.12": "aluminium",
    "2523.29.00": "cement", "3102.10": "fertilisers", "2814.10": "fertilisers", "2804.10.00": "hydrogen",
    "2716.00.00": "electricity",
}
NOT_COVERED = [
    "7202.21.00", "7202.30", "7202.50", "7202.70", "7202.80", "7202.91", "7202.92", "7202.93",
    "7204.21", "7204.49", "7320.20", "7325.10", "7602.00", "7615.10", "8481.80", "8481.30",
    "8482.10", "8483.40", "8708.99", "8803.30", "7415.33", "3926.90", "7312.10", "7315.11",
    "7317.00", "3105.60.00", "2601.11",
]


@pytest.mark.parametrize("code,sector", sorted(COVERED.items()))
def test_covered(code, sector):
    verdict = classify(code, CBAM)
    assert verdict["covered"] is True, verdict
    assert verdict["sector"] == sector


@pytest.mark.parametrize("code", NOT_COVERED)
def test_not_covered(code):
    assert classify(code, CBAM)["covered"] is False


def test_short_code_that_straddles_an_exception_needs_more_digits():
    verdict = classify("7202", CBAM)
    assert verdict["covered"] is None
    assert "더 긴 코드" in verdict["reason"]


def test_condition_that_the_code_cannot_show_is_asked():
    verdict = classify("2507.00.80", CBAM)
    assert verdict["covered"] is None and "조건" in verdict["reason"]



def test_annex_lines_ending_in_00_are_whole_subheadings():
    """2523 29 00 has no CN subdivision below 2523.29, so the 6-digit code decides (issue 13 item 4)."""
    for code in ("2523.29", "2804.10", "7309.00", "7611.00", "2716"):
        assert classify(code, CBAM)["covered"] is True, code
    assert classify("3105.60", CBAM)["covered"] is False      # the exception 3105 60 00, likewise whole
    assert classify("3105", CBAM)["covered"] is None          # the heading straddles that exception
    assert classify("2507.00", CBAM)["covered"] is None       # ex 2507 00 80: a real sub-line and a condition


def test_direct_only_vs_direct_and_indirect():
    assert classify("7318.15", CBAM)["emissions_scope"] == "direct"
    assert classify("7604.21", CBAM)["emissions_scope"] == "direct"
    assert classify("2523.29.00", CBAM)["emissions_scope"] == "direct_indirect"


def test_see_of_a_complex_good_counts_its_precursors():
    """Eq. 59–60 of 2025/2547 Annex III B, by hand: 1,000 t bolts, 150 t own direct emissions,
    1,080 t of Korean wire rod (7213) at its default 2.11847619 → (150 + 1,080 × 2.11847619) / 1,000."""
    rod = default_value("7213.91", "KR", CONTENT.cbam_default_values, CBAM)
    assert rod["value"] == pytest.approx(2.11847619) and rod["route"] == ["C"]
    see = embedded_emissions(1000, 150.0, 500.0, 0.4173, [{"mass_t": 1080, "see_direct": rod["value"], "see_indirect": None}])
    assert see["direct_per_t"] == pytest.approx((150 + 1080 * 2.11847619) / 1000)   # 2.43795
    assert see["own_direct_per_t"] == pytest.approx(0.15)
    assert see["indirect_per_t"] == pytest.approx(500 * 0.4173 / 1000)
    assert see["precursors"][0]["mass_per_t"] == pytest.approx(1.08)


def test_default_values_and_benchmarks_from_the_eu_tables():
    bolts = default_value("7318.15.88", "KR", CONTENT.cbam_default_values, CBAM)
    assert bolts["value"] == pytest.approx(3.474) and bolts["route"] == ["C"] and not bolts["fallback"]
    assert benchmark("7318.15.88", "A", ["C"], 2026, CONTENT.cbam_benchmarks)["value"] == pytest.approx(0.038)
    assert benchmark("7318.15.88", "B", ["C"], 2026, CONTENT.cbam_benchmarks)["value"] == pytest.approx(1.364)
    # 7318 15 holds stainless lines with other Column B values: the 6-digit code cannot decide it
    assert benchmark("7318.15", "B", ["C"], 2026, CONTENT.cbam_benchmarks)["value"] is None
    # Korean aluminium is route (L): Column B 0.152 for profiles, not the primary-route 1.493
    alu = default_value("7604.29.90", "KR", CONTENT.cbam_default_values, CBAM)
    assert alu["route"] == ["L"]
    assert benchmark("7604.29.90", "B", alu["route"], 2026, CONTENT.cbam_benchmarks)["value"] == pytest.approx(0.152)
    # several alloy grades for one code (7227 90 95, route C/F): the highest of the year, by production year
    assert benchmark("7227.90.95", "B", ["C", "F"], 2026, CONTENT.cbam_benchmarks)["value"] == pytest.approx(1.613)
    assert benchmark("7227.90.95", "B", ["C", "F"], 2029, CONTENT.cbam_benchmarks)["value"] == pytest.approx(1.446)
    # an origin whose table the content does not hold is asked, never replaced by the fallback
    assert default_value("7601.20", "AE", CONTENT.cbam_default_values, CBAM)["value"] is None


def test_markup_values_equal_the_commission_columns():
    """value_2026/2027/2028 of the Excel equal total × (1 + mark-up) for steel and aluminium rows."""
    from pipeline.calc.cbam_tables import _number, markup

    checked = 0
    for row in CONTENT.cbam_default_values:
        total = _number(row["total"])
        if total is None or row["sector"] not in ("Iron and steel", "Aluminium"):
            continue
        for year in (2026, 2027, 2028):
            assert _number(row[f"value_{year}"]) == pytest.approx(total * (1 + markup(year, "iron_steel", CBAM)))
        checked += 1
    assert checked > 500


def test_two_cost_paths_by_hand():
    """Korean bolts 7318 15 88, 2026, 100 t to the EU. Default path: 3.474 × 1.10 − 0.975 × 1.364 =
    2.49150 certificates/t (× €75.36 = €187.76/t). Actual path with the precursor above:
    SEE 2.43795 − 0.975 × (0.038 + 1.08 × 1.364) = 0.96461/t."""
    price = CBAM["cost_parameters"]["certificate_price_eur_per_t"]["value"]
    assert price == pytest.approx(75.36)
    default = default_value("7318.15.88", "KR", CONTENT.cbam_default_values, CBAM)
    years = list(CBAM["free_allocation_phase_out"]["values"])
    marks = {"A": {y: 0.038 for y in years}, "B": {y: 1.364 for y in years}}
    precursors = [{"mass_per_t": 1.08, "column_b": {y: 1.364 for y in years}}]
    rows = cost_paths(2.43795, default, marks, precursors, 100, CBAM, "iron_steel")
    first = rows[0]
    assert first["year"] == 2026 and first["cbam_factor"] == pytest.approx(0.975)
    assert first["default"]["certificates_per_t"] == pytest.approx(3.474 * 1.1 - 0.975 * 1.364)
    assert first["default"]["cost_eur_per_t"] == pytest.approx(187.76, abs=0.01)
    assert first["actual"]["certificates_per_t"] == pytest.approx(2.43795 - 0.975 * (0.038 + 1.08 * 1.364))
    assert first["actual"]["cost_krw_million"] == pytest.approx(first["actual"]["cost_eur"] * 1475.40 / 1e6)
    last = rows[-1]   # 2034: no free allocation left, mark-up 30 %
    assert last["default"]["certificates_per_t"] == pytest.approx(3.474 * 1.3)
    assert last["actual"]["certificates_per_t"] == pytest.approx(2.43795)
    # a SEE below the deduction costs nothing, never a negative number
    low = cost_paths(0.1, default, marks, precursors, 100, CBAM, "iron_steel")
    assert low[0]["actual"]["cost_eur"] == 0.0


def test_proposed_2028_extension_is_unknown_until_its_list_is_in_content():
    from pipeline.calc.cbam import proposed_extension, proposed_extension_watch

    assert proposed_extension("8481.80", {"proposed_extension": {"prefixes": []}}) is None
    assert proposed_extension("8481.80", {"proposed_extension": {"prefixes": ["8481"]}}) is True
    assert proposed_extension("8483.40", {"proposed_extension": {"prefixes": ["8481"]}}) is False
    assert proposed_extension_watch("8481.80", {"proposed_extension": {"screening_prefixes": ["84"]}})
    if not (CBAM.get("proposed_extension") or {}).get("prefixes"):
        assert proposed_extension("8481.80", CBAM) is None   # never "not covered" on a list we do not have


def test_the_report_can_set_its_own_exchange_rate():
    """settings.eur_krw replaces content's rate in every KRW figure and is cited as given."""
    import copy

    from pipeline.profile import load_profile
    from pipeline.stages.diagnose import diagnose

    data = copy.deepcopy(load_profile("jinju-bolt", CONTENT).data)
    base = diagnose({"company": copy.deepcopy(data), "missing": []}, CONTENT)["diagnosis"]["cbam"]
    data.setdefault("settings", {})["eur_krw"] = {"value": 1600.0, "source": "한국은행 ECOS 원/유로 2025 연평균", "date": "2025"}
    own = diagnose({"company": data, "missing": []}, CONTENT)["diagnosis"]["cbam"]
    a = next(p for p in base["products"] if p.get("cost_paths"))["cost_paths"][0]["default"]
    b = next(p for p in own["products"] if p.get("cost_paths"))["cost_paths"][0]["default"]
    assert b["cost_eur"] == pytest.approx(a["cost_eur"])
    assert b["cost_krw_million"] == pytest.approx(a["cost_eur"] * 1600.0 / 1e6)
    rate = next(p for p in own["parameters"] if p["name"] == "eur_krw")
    assert rate["value"] == 1600.0 and "ECOS" in rate["source"]
