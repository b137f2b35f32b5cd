"""Each eligibility rule type of the matching stage, on a synthetic program and company facts."""
import pytest

from pipeline.stages.match import _eligibility, _next_call


def facts(**change):
    base = {
        "size": "중소", "ksic": "25941", "region": "경남", "in_complex": True, "exports": True, "eu_export": True,
        "cbam_covered": True, "k_ets": "none", "certs": {"ISO14001"}, "inventory": "internal", "prior": set(),
        "toe": 1200.0, "years": 20, "ksic_sections": {"C": {"from": 10, "to": 34}},
    }
    base.update(change)
    return base


def verdict(rule: dict, **change):
    checks = _eligibility({"id": "p", "eligibility": rule}, facts(**change))
    assert len(checks) == 1, checks
    return checks[0]


CASES = [
    ({"size_classes": ["중소"]}, {}, True), ({"size_classes": ["중소"]}, {"size": "중견"}, False),
    ({"industries_ksic_prefixes": ["C"]}, {}, True), ({"industries_ksic_prefixes": ["C"]}, {"ksic": "46101"}, False),
    ({"industries_ksic_prefixes": ["24"]}, {}, False),
    ({"regions": ["경남"]}, {}, True), ({"regions": ["경남"]}, {"region": "서울"}, False),
    ({"requires_export": True}, {}, True), ({"requires_export": True}, {"exports": False}, False),
    ({"requires_eu_export": True}, {}, True), ({"requires_eu_export": True}, {"eu_export": False}, False),
    ({"requires_cbam_goods": True}, {}, True), ({"requires_cbam_goods": True}, {"cbam_covered": False}, False),
    ({"requires_cbam_goods": True}, {"cbam_covered": None}, None),
    ({"exclude_k_ets": True}, {}, True), ({"exclude_k_ets": True}, {"k_ets": "allocated"}, False),
    ({"exclude_k_ets": True}, {"k_ets": "target_management"}, False), ({"exclude_k_ets": True}, {"k_ets": None}, None),
    ({"only_k_ets": True}, {"k_ets": "allocated"}, True), ({"only_k_ets": True}, {}, False),
    ({"only_k_ets": True}, {"k_ets": None}, None),
    ({"required_certifications": ["ISO 14001"]}, {}, True), ({"required_certifications": ["녹색인증"]}, {}, False),
    ({"requires_emissions_data": True}, {}, True), ({"requires_emissions_data": True}, {"inventory": "none"}, False),
    ({"requires_emissions_data": True}, {"inventory": None}, None),
    ({"requires_consortium": True}, {}, None),
    ({"requires_prior_program": ["a", "b"]}, {"prior": {"b"}}, True), ({"requires_prior_program": ["a"]}, {}, False),
    ({"energy_toe_min": 500, "energy_toe_max": 2000}, {}, True),
    ({"energy_toe_min": 500, "energy_toe_max": 2000}, {"toe": 2000.0}, False),  # the maximum is exclusive ('미만')
    ({"energy_toe_max": 10000}, {"toe": 300.0}, True),
    ({"min_years_in_business": 3}, {}, True), ({"min_years_in_business": 3}, {"years": 2}, False),
    ({"min_years_in_business": 3}, {"years": None}, None),
    ({"excludes_prior_participation": True}, {"prior": {"p"}}, False),
]


@pytest.mark.parametrize("rule,change,expected", CASES)
def test_rule(rule, change, expected):
    check = verdict(rule, **change)
    assert check["ok"] is expected, check
    if expected is None:
        assert check["need"], "an unknown answer names what is needed"


def test_no_rule_no_check():
    assert _eligibility({"id": "p", "eligibility": {"other": ["공고문 확인"]}}, facts()) == []


def test_next_call_uses_notice_dates_then_usual_months():
    import datetime

    today = datetime.date(2026, 11, 26)
    assert _next_call({"open": "2027-02-10", "recurring": "annual"}, today)["month"] == 2
    estimated = _next_call({"open": "2026-02-10", "typical_months": [2, 3], "recurring": "annual"}, today)
    assert (estimated["year"], estimated["month"], estimated["estimated"]) == (2027, 2, True)
    assert _next_call({"recurring": "monthly"}, today)["months_ahead"] == 0
    assert _next_call({}, today)["months_ahead"] is None
