"""CBAM Annex I classification over a wide set of codes, exceptions included."""
import pytest

from pipeline.calc.cbam import classify, cost_projection
from pipeline.content import Content

CBAM = Content().cbam

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
    assert classify("2523.29", CBAM)["covered"] is None  # 6 digits before an 8-digit line: more digits needed


def test_direct_only_vs_direct_and_indirect():
    assert classify("7318.15", CBAM)["emissions_scope"] == "direct"
    assert classify("7604.21", CBAM)["emissions_scope"] == "direct"
    assert classify("2523.29.00", CBAM)["emissions_scope"] == "direct_indirect"


def test_cost_projection_follows_the_phase_out_and_deducts_korean_price():
    cbam = {"free_allocation_phase_out": {"values": {2026: 0.975, 2034: 0.0}},
            "cost_parameters": {"ets_price_eur_per_t": {"value": 80}, "eur_krw": {"value": 1500},
                                "cross_sectoral_correction_factor": {"value": 1.0}}}
    rows = cost_projection(2.0, 0.5, "direct", 100, 1.0, cbam, korean_price_paid_krw=0)
    first, last = rows
    assert first["certificates_per_t"] == pytest.approx(2.0 - 0.975)
    assert first["cost_eur"] == pytest.approx(102.5 * 80)
    assert last["certificates_per_t"] == pytest.approx(2.0)   # indirect not counted for direct-only goods
    assert last["cost_krw_million"] == pytest.approx(200 * 80 * 1500 / 1e6)
    paid = cost_projection(2.0, 0.5, "direct", 100, 1.0, cbam, korean_price_paid_krw=15_000)
    assert paid[-1]["cost_eur"] == pytest.approx(200 * 80 - 200 * 10)
    upper = cost_projection(2.0, 0.5, "direct_indirect", 100, None, cbam, 0)
    assert upper[0]["upper_bound"] and upper[0]["certificates_per_t"] == pytest.approx(2.5)


def test_proposed_2028_extension_is_unknown_until_its_list_is_in_content():
    from pipeline.calc.cbam import proposed_extension, proposed_extension_watch

    assert proposed_extension("8481.80", {"proposed_extension": {"prefixes": []}}) is None
    assert proposed_extension("8481.80", {"proposed_extension": {"prefixes": ["8481"]}}) is True
    assert proposed_extension("8483.40", {"proposed_extension": {"prefixes": ["8481"]}}) is False
    assert proposed_extension_watch("8481.80", {"proposed_extension": {"screening_prefixes": ["84"]}})
    if not (CBAM.get("proposed_extension") or {}).get("prefixes"):
        assert proposed_extension("8481.80", CBAM) is None   # never "not covered" on a list we do not have
