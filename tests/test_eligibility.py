"""Each eligibility rule type of the matching stage, on a synthetic program and company facts, and the
rules that follow from a whole profile (소기업 by industry, exports absent or empty, routing vs ranking)."""
import copy
import datetime

import pytest

from pipeline.calc import company_size
from pipeline.calc.eligibility import condition
from pipeline.content import get_content
from pipeline.profile import list_company_ids, load_profile
from pipeline.stages import STAGES
from pipeline.stages.diagnose import diagnose
from pipeline.stages.match import _eligibility, _next_call, match

LEVELS = ["없음", "기초", "중간1", "중간2", "고도화"]
SECTIONS = get_content().sme_size["ksic_sections"]


def facts(**change):
    base = {
        "size": "중소", "ksic": "25941", "region": "경남", "city": "진주시", "in_complex": True, "exports": True,
        "eu_export": True, "cbam_covered": True, "k_ets": "none", "certs": {"ISO14001"}, "inventory": "internal",
        "prior": set(), "toe": 1200.0, "years": 20, "age_now": (19, 21), "ksic_sections": SECTIONS,
        "small": {"ok": True, "why": "소기업"}, "micro": {"ok": False, "why": "소상공인 아님"},
        "revenue": {"last_year": 9000.0, "3yr_average": 8500.0}, "base_year": 2024,
        "smart_factory": "중간1", "smart_factory_levels": LEVELS, "demands": set(), "capital_region": {"서울", "경기", "인천"},
    }
    base.update(change)
    return base


def verdict(rule: dict, **change):
    checks = _eligibility({"id": "p", "eligibility": rule}, facts(**change))
    assert len(checks) == 1, checks
    return checks[0]


CASES = [
    ({"size_classes": ["중소"]}, {}, True), ({"size_classes": ["중소"]}, {"size": "중견"}, False),
    # 소기업 / 소상공인: derived (see the tests on the real table below), unknown stays unknown
    ({"size_classes": ["소기업"]}, {}, True),
    ({"size_classes": ["소기업"]}, {"small": {"ok": False, "why": "초과"}}, False),
    ({"size_classes": ["소기업"]}, {"small": {"ok": None, "why": "미기재", "need": "평균매출액"}}, None),
    ({"size_classes": ["소기업"]}, {"size": "중견"}, False),
    ({"size_classes": ["소상공인"]}, {}, False),
    ({"industries_ksic_prefixes": ["C"]}, {}, True), ({"industries_ksic_prefixes": ["C"]}, {"ksic": "46101"}, False),
    ({"industries_ksic_prefixes": ["24"]}, {}, False),
    ({"regions": ["경남"]}, {}, True), ({"regions": ["경남"]}, {"region": "서울"}, False),
    ({"cities": ["진주시"]}, {}, True), ({"cities": ["진주시"]}, {"city": "사천시"}, False),
    ({"cities": ["진주시"]}, {"city": None}, None),
    # revenue ceilings (억원, 이하) on the basis the notice names
    ({"revenue_max_krw_100m": 120, "revenue_basis": "3yr_average"}, {}, True),
    ({"revenue_max_krw_100m": 120, "revenue_basis": "3yr_average"}, {"revenue": {"last_year": 9000.0, "3yr_average": 12000.0}}, True),
    ({"revenue_max_krw_100m": 120, "revenue_basis": "3yr_average"}, {"revenue": {"last_year": 9000.0, "3yr_average": 12001.0}}, False),
    ({"revenue_max_krw_100m": 120, "revenue_basis": "3yr_average"}, {"revenue": {"last_year": 21800.0, "3yr_average": None}}, None),
    ({"revenue_max_krw_100m": 120, "revenue_basis": "last_year"}, {"revenue": {"last_year": 21800.0, "3yr_average": None}}, False),
    ({"revenue_max_krw_100m": 120, "revenue_basis": "last_year"}, {"revenue": {"last_year": 11000.0, "3yr_average": None}}, True),
    ({"requires_export": True}, {}, True), ({"requires_export": True}, {"exports": False}, False),
    ({"requires_export": True}, {"exports": None}, None),
    ({"requires_eu_export": True}, {}, True), ({"requires_eu_export": True}, {"eu_export": False}, False),
    ({"requires_eu_export": True}, {"eu_export": None}, None),
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
    ({"requires_industrial_complex": True}, {}, True), ({"requires_industrial_complex": True}, {"in_complex": False}, False),
    ({"requires_industrial_complex": True}, {"in_complex": None}, None),
    # a prerequisite the profile does not record is asked, never a hard exclusion
    ({"requires_prior_program": ["a", "b"]}, {"prior": {"b"}}, True), ({"requires_prior_program": ["a"]}, {}, None),
    ({"smart_factory_level_min": "중간1"}, {}, True), ({"smart_factory_level_min": "중간1"}, {"smart_factory": "고도화"}, True),
    ({"smart_factory_level_min": "중간1"}, {"smart_factory": "기초"}, False),
    ({"smart_factory_level_min": "중간1"}, {"smart_factory": None}, None),
    ({"energy_toe_min": 500, "energy_toe_max": 2000}, {}, True),
    ({"energy_toe_min": 500, "energy_toe_max": 2000}, {"toe": 2000.0}, False),  # the maximum is exclusive ('미만')
    ({"energy_toe_max": 10000}, {"toe": 300.0}, True),
    ({"min_years_in_business": 3}, {}, True), ({"min_years_in_business": 3}, {"years": 2}, False),
    ({"min_years_in_business": 3}, {"years": None}, None),
    # 업력 N년 이내, from the founding year: decided where the founding date cannot change it
    ({"years_in_business_max": 7}, {"age_now": company_size.years_in_business(2020, 2026)}, True),
    ({"years_in_business_max": 7}, {"age_now": company_size.years_in_business(2019, 2026)}, None),
    ({"years_in_business_max": 7}, {"age_now": company_size.years_in_business(2018, 2026)}, False),
    ({"years_in_business_max": 7}, {"age_now": company_size.years_in_business(1996, 2026)}, False),
    ({"years_in_business_max": 7}, {"age_now": None}, None),
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


# ---------------------------------------------------------------- 소기업 by industry (별표 3)
TABLE = get_content().sme_size


@pytest.mark.parametrize("ksic,avg,expected,limit", [
    ("25941", 11000, True, 120),   # 금속가공제품 (C25): 120억 이하
    ("25941", 12100, False, 120),
    ("31322", 11000, False, 80),   # 그 밖의 운송장비 (C31, 항공기 부품): 80억 이하 — same revenue, not 소기업
    ("31322", 7900, True, 80),
    ("22191", 8000, True, 80),     # 고무·플라스틱 (C22): 80억, inclusive
    ("36010", 12000, True, 120),   # 수도업 (36) before 수도·하수·폐기물 (E 37–39, 30억)
    ("38110", 3100, False, 30),
    ("46101", 4900, True, 50),     # 도매 (G)
    ("25941", None, None, 120),    # no 평균매출액: unknown, asked
])
def test_small_enterprise_by_industry(ksic, avg, expected, limit):
    result = company_size.small_enterprise("중소", ksic, avg, TABLE)
    assert result["ok"] is expected and result["threshold"] == limit, result
    if expected is None:
        assert result["need"]


def test_midsize_is_never_small_and_micro_needs_few_employees():
    assert company_size.small_enterprise("중견", "25941", 5000, TABLE)["ok"] is False
    small = company_size.small_enterprise("중소", "25941", 5000, TABLE)
    assert company_size.micro_enterprise(small, "25941", 9, TABLE)["ok"] is True      # 제조업: 10명 미만
    assert company_size.micro_enterprise(small, "25941", 10, TABLE)["ok"] is False
    assert company_size.micro_enterprise(small, "46101", 5, TABLE)["ok"] is False     # 도매: 5명 미만
    unknown = company_size.small_enterprise("중소", "25941", None, TABLE)
    assert company_size.micro_enterprise(unknown, "25941", 9, TABLE)["ok"] is None


# ---------------------------------------------------------------- 가점 conditions
@pytest.mark.parametrize("when,change,expected", [
    ({"in_industrial_complex": False}, {"in_complex": False}, True),   # 산단 비입주 가점: earned outside
    ({"in_industrial_complex": False}, {"in_complex": True}, False),   # not earned inside a complex
    ({"in_industrial_complex": False}, {"in_complex": None}, None),    # unknown: asked
    ({"capital_region": False}, {}, True), ({"capital_region": False}, {"region": "경기"}, False),
    ({"ksic_prefixes": ["24", "25"]}, {}, True), ({"ksic_prefixes": ["24"]}, {}, False),
    ({"certifications_any": ["뿌리기업"]}, {"certs": {"뿌리기업"}}, True), ({"certifications_any": ["뿌리기업"]}, {}, False),
    ({"smart_factory_level_min": "중간1"}, {"smart_factory": "기초"}, False),
    ({"cbam_exporter": True}, {}, True), ({"cbam_exporter": True}, {"eu_export": False}, False),
    ({"cbam_exporter": True}, {"eu_export": None}, None),
    ({"customer_demands": True}, {"demands": {"re100"}}, True), ({"customer_demands": True}, {}, False),
    ({"prior_programs_any": ["x"]}, {"prior": {"x"}}, True), ({"prior_programs_any": ["x"]}, {}, None),
    (None, {}, None),                                                  # wording only: check the notice
])
def test_preference_condition(when, change, expected):
    assert condition(when, facts(**change)) is expected


# ---------------------------------------------------------------- whole profiles
def _context(profile_id, change=None, documents=False):
    content = get_content()
    data = copy.deepcopy(load_profile(profile_id, content).data)
    if change:
        change(data)
    context = {"meta": {"company_id": profile_id}, "company": data, "missing": []}
    for stage in STAGES if documents else ():
        context = stage(context, content)
    return context if documents else match(diagnose(context, content), content)


def _by_id(ctx):
    return {m["program_id"]: m for m in ctx["matches"]}


def _programs_with(predicate):
    return [pid for pid, p in get_content().programs.items() if predicate(p)]


def test_revenue_ceiling_and_small_enterprise_from_the_profile():
    vouchers = _programs_with(lambda p: p["eligibility"].get("revenue_max_krw_100m"))
    assert vouchers
    def no_average(d):
        d["company"].pop("average_revenue_krw_million", None)
        d["company"].pop("financials", None)
    unknown = _by_id(_context("jinju-bolt", no_average))
    assert all(unknown[pid]["eligible"] is None and unknown[pid]["missing"] for pid in vouchers)
    # without the 중소기업확인서 figure, the average of the three fiscal years on record decides:
    # bolt (19,650 + 20,900 + 21,800) / 3 = 20,783백만원 = 208억 원 > 120억 원
    derived = _by_id(_context("jinju-bolt", lambda d: d["company"].pop("average_revenue_krw_million", None)))
    assert all(derived[pid]["eligible"] is False for pid in vouchers)
    assert any("208억 원" in x for pid in vouchers for x in derived[pid]["exclusions"])
    large = _by_id(_context("jinju-bolt", lambda d: d["company"].update(average_revenue_krw_million=21000)))
    assert all(large[pid]["eligible"] is False for pid in vouchers)
    assert any("억 원" in x for pid in vouchers for x in large[pid]["exclusions"])
    small = _by_id(_context("jinju-bolt", lambda d: d["company"].update(average_revenue_krw_million=9000)))
    assert all(small[pid]["eligible"] is not False for pid in vouchers)


def test_industry_decides_small_enterprise_at_the_same_revenue():
    small_only = _programs_with(lambda p: p["eligibility"]["size_classes"] == ["소기업"])
    assert small_only
    metal = _by_id(_context("jinju-bolt", lambda d: d["company"].update(average_revenue_krw_million=10000)))
    aircraft = _by_id(_context("jinju-bolt", lambda d: d["company"].update(average_revenue_krw_million=10000, ksic="31322")))
    for pid in small_only:
        assert not any("소기업" in x for x in metal[pid]["exclusions"]), metal[pid]
        assert any("소기업" in x for x in aircraft[pid]["exclusions"]), aircraft[pid]


def test_maximum_age_from_the_founding_year():
    young = _programs_with(lambda p: p["eligibility"].get("years_in_business_max"))
    assert young
    this_year = datetime.date.today().year
    old = _by_id(_context("jinju-bolt", lambda d: d["company"].update(founded=1996)))
    new = _by_id(_context("jinju-bolt", lambda d: d["company"].update(founded=this_year - 1)))
    none = _by_id(_context("jinju-bolt", lambda d: d["company"].pop("founded")))
    for pid in young:
        assert old[pid]["eligible"] is False and any("업력" in x for x in old[pid]["exclusions"])
        assert not any("업력" in x for x in new[pid]["exclusions"])
        assert none[pid]["eligible"] is not True and "설립연도" in none[pid]["missing"]


def test_industrial_complex_bonus_is_earned_only_outside_a_complex():
    with_bonus = _programs_with(lambda p: any((x.get("when") or {}).get("in_industrial_complex") is False for x in p["preferences"]))
    assert with_bonus
    inside = _by_id(_context("jinju-bolt", lambda d: d["company"].update(industrial_complex={"member": True, "name": "상평일반산업단지"})))
    outside = _by_id(_context("jinju-bolt", lambda d: d["company"].update(industrial_complex={"member": False, "name": None})))
    unknown = _by_id(_context("jinju-bolt", lambda d: d["company"].pop("industrial_complex")))
    for pid in with_bonus:
        texts = [x["text"] for x in get_content().programs[pid]["preferences"] if (x.get("when") or {}).get("in_industrial_complex") is False]
        assert not set(texts) & set(inside[pid]["preferences_earned"] + inside[pid]["preferences_to_confirm"])
        assert set(texts) <= set(outside[pid]["preferences_earned"])
        assert set(texts) <= set(unknown[pid]["preferences_to_confirm"])
        assert len(outside[pid]["preferences_earned"]) > len(inside[pid]["preferences_earned"])
        assert _points(outside[pid], "가점 요건") >= _points(inside[pid], "가점 요건")


def _points(item, part):
    return next(p["points"] for p in item["score_parts"] if p["name"] == part)


def test_unverified_prerequisite_is_asked_not_excluded():
    tracks = _programs_with(lambda p: p["eligibility"]["requires_prior_program"])
    assert tracks
    ctx = _by_id(_context("jinju-alu"))  # smart-factory level 중간1, no prior program recorded
    for pid in tracks:
        assert not any("선행" in x for x in ctx[pid]["exclusions"]), ctx[pid]
        assert any("선정 이력" in x for x in ctx[pid]["missing"])
    advanced = [pid for pid in tracks if get_content().programs[pid]["eligibility"].get("smart_factory_level_min")]
    assert advanced and all(ctx[pid]["eligible"] is None for pid in advanced)
    prior = get_content().programs[advanced[0]]["eligibility"]["requires_prior_program"]
    done = _by_id(_context("jinju-alu", lambda d: d["consulting"].update(prior_programs=prior[:1])))
    assert done[advanced[0]]["eligible"] is True


def test_absent_exports_are_unknown_and_an_empty_list_is_no_exports():
    export_rules = _programs_with(lambda p: p["eligibility"]["requires_export"])
    assert export_rules
    absent = _context("jinju-bolt", lambda d: d.pop("exports"))
    empty = _context("jinju-bolt", lambda d: d.update(exports=[]))
    assert absent["diagnosis"]["cbam"]["eu_export"] is None and empty["diagnosis"]["cbam"]["eu_export"] is False
    for pid in export_rules:
        assert _by_id(absent)[pid]["eligible"] is not False and any("수출" in x for x in _by_id(absent)[pid]["missing"])
        assert _by_id(empty)[pid]["eligible"] is False
    assert any(m["field"] == "exports" for m in absent["missing"])
    assert not any(m["field"] == "exports" for m in empty["missing"])


def test_documents_never_call_unknown_exports_none():
    ctx = _context("jinju-gear", lambda d: d.pop("exports"), documents=True)
    text = ctx["documents"]["diagnosis"]["markdown"]
    assert "직접 수출 실적이 없습니다" not in text and "EU 수출 없음" not in text
    assert "수출 실적(수출국별 매출 비중" in text
    empty = _context("jinju-gear", lambda d: d.update(exports=[]), documents=True)
    assert "직접 수출 실적이 없습니다" in empty["documents"]["diagnosis"]["markdown"]


# ---------------------------------------------------------------- routing agrees with the ranking
def _assert_routing_agrees(ctx):
    by_id = _by_id(ctx)
    for rule in ctx["routing"]:
        assert rule["programs"], rule
        for pid in rule["programs"]:
            assert by_id[pid]["eligible"] is not False, (rule["id"], pid)
        assert rule["ranks"] == [by_id[pid]["rank"] for pid in rule["programs"]]
        if rule["sequence"]:
            assert rule["ranks"] == sorted(rule["ranks"]), rule


@pytest.mark.parametrize("company", list_company_ids())
def test_routing_agrees_with_the_ranking_on_every_sample(company):
    _assert_routing_agrees(_context(company))


def test_routing_drops_a_sequence_with_a_closed_step_and_keeps_order():
    method = get_content().matching_method
    sequences = [r for r in method["routing"] if r.get("sequence")]
    assert sequences
    rule = sequences[0]
    # The first step open, the next one unknown: the later step never ranks above the first.
    ctx = _context("jinju-alu")
    _assert_routing_agrees(ctx)
    shown = [r for r in ctx["routing"] if r["id"] == rule["id"]]
    assert shown and shown[0]["programs"] == rule["sequence"]
    # A company whose first step is closed (a mid-sized firm for an SME-only step) gets no such advice.
    mid = _context("jinju-alu", lambda d: d["company"].update(size_class="중견"))
    assert _by_id(mid)[rule["sequence"][0]]["eligible"] is False
    assert rule["id"] not in [r["id"] for r in mid["routing"]]
    _assert_routing_agrees(mid)


def test_a_later_step_ranked_higher_moves_after_the_step_it_follows():
    from pipeline.stages.match import _follow_sequences

    ranked = [{"program_id": x} for x in ["y", "a", "x", "b"]]
    routing = [{"sequence": True, "programs": ["x", "y"]}, {"sequence": False, "programs": ["b", "a"]}]
    assert [m["program_id"] for m in _follow_sequences(ranked, routing)] == ["a", "x", "y", "b"]


def test_routing_text_without_order_does_not_say_first():
    for rule in get_content().matching_method["routing"]:
        if not rule.get("sequence"):
            assert "먼저" not in rule["text"] and "우선" not in rule["text"], rule["id"]


def test_next_call_uses_notice_dates_then_usual_months():
    today = datetime.date(2026, 11, 26)
    assert _next_call({"open": "2027-02-10", "recurring": "annual"}, today)["month"] == 2
    estimated = _next_call({"open": "2026-02-10", "typical_months": [2, 3], "recurring": "annual"}, today)
    assert (estimated["year"], estimated["month"], estimated["estimated"]) == (2027, 2, True)
    assert _next_call({"recurring": "monthly"}, today)["months_ahead"] == 0
    assert _next_call({}, today)["months_ahead"] is None
