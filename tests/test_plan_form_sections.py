"""Sections a real 사업계획서 form has (issue 15): 재무현황, 기존 ↔ 도입 설비 명세, R&D 국내외 기술·특허
현황 / 참여 연구원 / 연구시설, the ministries' current names, and exports that are unknown, not 'none'."""
from __future__ import annotations

import copy
import html
import re

import pytest

from pipeline.calc.finance import financial_summary
from pipeline.content import get_content
from pipeline.profile import list_company_ids, load_profile
from pipeline.publish.context import build_context
from pipeline.stages import STAGES
from pipeline.stages.match import current_ministry


def context_from_profile(data: dict) -> dict:
    """The stages on an edited copy of a sample profile (validated samples, edited in memory)."""
    context = {"meta": {"company_id": "test"}, "company": data, "missing": []}
    for stage in STAGES:
        context = stage(context, get_content())
    return context


@pytest.fixture(scope="module")
def plans() -> dict[str, dict]:
    return {cid: build_context(cid)[1] for cid in list_company_ids()}


def _plan(ctx) -> str:
    return ctx["documents"]["plan"]["markdown"]


def test_financial_ratios_by_hand():
    # 부채비율 = 부채총계 ÷ 자본총계 × 100; 영업이익률 = 영업이익 ÷ 매출액 × 100
    out = financial_summary([
        {"year": 2024, "revenue_krw_million": 21800, "operating_profit_krw_million": 910,
         "total_liabilities_krw_million": 11200, "total_equity_krw_million": 8420},
        {"year": 2022, "revenue_krw_million": 19650, "operating_profit_krw_million": 820,
         "total_liabilities_krw_million": 10400, "total_equity_krw_million": 7350},
        {"year": 2023, "revenue_krw_million": 20900, "operating_profit_krw_million": -760,
         "total_liabilities_krw_million": 10900, "total_equity_krw_million": -10},
    ])
    assert [y["year"] for y in out["years"]] == [2022, 2023, 2024]          # oldest first
    assert out["years"][2]["debt_ratio_pct"] == pytest.approx(133.017, abs=1e-3)   # 11,200 / 8,420
    assert out["years"][2]["operating_margin_pct"] == pytest.approx(4.174, abs=1e-3)  # 910 / 21,800
    assert out["years"][1]["debt_ratio_pct"] is None and out["years"][1]["capital_impaired"]
    assert out["years"][1]["operating_margin_pct"] == pytest.approx(-3.636, abs=1e-3)
    assert out["revenue_avg_krw_million"] == pytest.approx((19650 + 20900 + 21800) / 3)
    assert out["complete"]


def test_financials_incomplete_or_absent_are_asked():
    assert not financial_summary(None)["complete"]
    two = financial_summary([{"year": 2023, "revenue_krw_million": 1.0}, {"year": 2024, "revenue_krw_million": 2.0}])
    assert not two["complete"] and two["revenue_avg_krw_million"] is None


def test_plan_shows_the_financial_table_or_asks_for_it(plans):
    bolt = _plan(plans["jinju-bolt"])
    assert "재무 현황" in bolt and "| 부채비율 (%) | 141.5 | 139.6 | 133.0 |" in bolt
    profile = copy.deepcopy(load_profile("jinju-mold", get_content()).data)
    profile["company"].pop("financials")
    mold = context_from_profile(profile)
    assert "[확인 필요: 최근 3개 사업연도 재무현황" in _plan(mold)
    assert any(m["field"] == "company.financials" for m in mold["missing"])


def test_facility_plan_lists_existing_beside_new_equipment(plans):
    ctx = plans["jinju-bolt"]
    assert ctx["strategy"]["program_type"] == "설비"
    spec = ctx["strategy"]["equipment_spec"]
    furnace = next(r for r in spec if r["measure_id"] == "furnace_replacement")
    assert furnace["existing"]["count"] == 2 and furnace["existing"]["rated_kw"] == 450
    assert furnace["existing"]["year_installed"] == 2009 and furnace["planned"]
    # operating practices change no equipment: not in the 설비 명세
    assert all(m["kind"] != "operation" for m in ctx["strategy"]["measures"] if m["id"] in {r["measure_id"] for r in spec})
    text = _plan(ctx)
    assert "## 기존 설비와 도입 설비 명세" in text
    assert "연속식 메쉬벨트 담금질로 (도시가스 라디언트튜브): 2대, 정격 450 kW, 2009년 설치" in text


def test_new_equipment_specs_from_the_quote_replace_the_marker():
    profile = copy.deepcopy(load_profile("jinju-bolt", get_content()).data)
    for plan in profile["planned_investments"]:
        if plan.get("measure") == "furnace_replacement":
            plan.update(model="MB-1200 연속식 메쉬벨트로", capacity="1.2 t/h", efficiency="열효율 85 %", quantity=1,
                        location="열처리동 2라인")
    text = context_from_profile(profile)["documents"]["plan"]["markdown"]
    spec = text.split("## 기존 설비와 도입 설비 명세")[1].split("\n## ")[0]
    row = next(line for line in spec.split("\n") if line.startswith("| 노후 공업로"))
    assert "MB-1200 연속식 메쉬벨트로, 1.2 t/h, 열효율 85 %, 1대" in row and "열처리동 2라인" in row
    assert "확인 필요" not in row.split("|")[3]


def test_service_and_rd_plans_have_no_equipment_spec(plans):
    for ctx in plans.values():
        if ctx["strategy"]["program_type"] not in ("설비", "융자", "보증"):
            assert ctx["strategy"]["equipment_spec"] == []
            assert "기존 설비와 도입 설비 명세" not in _plan(ctx)


def test_rd_plan_has_prior_art_team_and_facilities(plans):
    gear = plans["jinju-gear"]
    assert gear["strategy"]["program_type"] == "R&D"
    text = _plan(gear)
    assert "## 국내외 기술·특허 현황" in text and "[확인 필요: 국내외 선행 특허·논문·제품 조사 결과" in text
    assert "| 합계 | 5 |" in text                        # 1 + 2 + 2 researchers in the profile
    assert "| 기어 측정기 (치형·리드·피치) | 자사 기술연구소 |" in text
    profile = copy.deepcopy(load_profile("jinju-gear", get_content()).data)
    profile["consulting"]["development"]["prior_art"] = [
        {"kind": "특허", "title": "헬리컬 기어의 치형 수정 방법", "holder": "가상특허(주)", "country": "KR",
         "number": "10-0000000", "year": 2020, "difference": "리드 크라우닝 없이 팁 릴리프만 적용"}]
    text = context_from_profile(profile)["documents"]["plan"]["markdown"]
    assert "| 특허 | 헬리컬 기어의 치형 수정 방법 | 가상특허(주) (KR) | 10-0000000, 2020 | 리드 크라우닝 없이" in text


def test_current_ministry_names_both_ways():
    ministries = get_content().ministries
    old = {"id": "x", "ministry": "환경부", "ministry_as_of": "2025-01"}
    assert current_ministry(old, ministries) == "기후에너지환경부"
    assert current_ministry({"id": "x", "ministry": "산업통상자원부", "ministry_as_of": "2024-12"}, ministries) == "산업통상부"
    # an energy program moved to the climate-energy ministry with the function, not with the name
    assert current_ministry({"id": "energy-audit-subsidy", "ministry": "산업통상자원부", "ministry_as_of": "2023-03"},
                            ministries) == "기후에너지환경부"
    # a record already after the change keeps its name
    assert current_ministry({"id": "x", "ministry": "산업통상부", "ministry_as_of": "2026-01"}, ministries) == "산업통상부"
    assert current_ministry({"id": "x", "ministry": "중소벤처기업부", "ministry_as_of": "2022-03"}, ministries) == "중소벤처기업부"


def test_documents_use_current_ministry_names(plans):
    old = re.compile(r"(?<!기후에너지)환경부|산업통상자원부")
    for cid, ctx in plans.items():
        for key in ("plan", "matching"):
            for line in ctx["documents"][key]["markdown"].split("\n"):
                for hit in old.finditer(line):
                    # the old name only where a past notice is quoted
                    assert "공고 당시 " + hit.group(0) in line or "고시" in line[hit.end():hit.end() + 12], (cid, key, line)


def test_absent_exports_are_unknown_not_none():
    profile = copy.deepcopy(load_profile("jinju-mold", get_content()).data)
    profile.pop("exports", None)
    text = context_from_profile(profile)["documents"]["plan"]["markdown"]
    row = next(line for line in text.split("\n") if "| 수출국 |" in line)
    assert "[확인 필요: 수출 여부와 수출국" in row and "없음(내수)" not in row
    profile["exports"] = []
    text = context_from_profile(profile)["documents"]["plan"]["markdown"]
    row = next(line for line in text.split("\n") if "| 수출국 |" in line)
    assert "없음(내수)" in row


def test_bonus_points_with_their_evidence_and_none_the_company_misses(plans):
    evidence = get_content().strategy_method["bonus_evidence"]
    for cid, ctx in plans.items():
        target = next(m for m in ctx["matches"] if m["program_id"] == ctx["strategy"]["program_id"])
        text = _plan(ctx)
        for p in target["preferences"]:
            row = f"| {html.escape(p['text'], quote=False)} |"
            if p["earned"] is False:
                assert row not in text, (cid, p["text"])       # a 가점 not met is not claimed
            elif p["earned"] and p.get("key") in evidence:
                assert f"{row} 해당 | {evidence[p['key']]} |" in text, cid
    bolt = plans["jinju-bolt"]
    assert "**가점 해당 항목과 증빙**" in _plan(bolt)


def test_a_loan_plan_says_what_the_lender_asks():
    _, ctx = build_context("jinju-bolt", program_id="energy-rationalization-fund")
    assert ctx["strategy"]["program_type"] == "융자"
    text = _plan(ctx)
    section = text.split("## 융자 신청과 상환 계획")[1].split("\n#")[0]
    assert "소요 자금: 1,583–1,758백만원" in section                 # the quotes' sum
    assert "최근 사업연도 영업이익 910백만원" in section              # bolt's 2024 statements
    assert "[확인 필요: 에너지이용합리화자금" in section and "금리·거치·상환 기간" in section
    assert "## 자부담 조달 방안" not in text                          # the loan is the financing
    _, facility = build_context("jinju-bolt")
    assert "## 자부담 조달 방안" in _plan(facility) and "상환 계획" not in _plan(facility)


def test_rd_plan_commercialization_and_hiring_from_the_profile(plans):
    text = _plan(plans["jinju-gear"])
    part = text.split("# 5. 연구개발성과의 사업화 전략 및 계획")[1].split("\n# ")[0]
    assert "| 2029 | 1,800 |" in part and "| 2030 | 4,200 |" in part
    assert "| 합계 | | 4 |" in part                          # 1 + 3 hires in the profile
    assert "원청의 2029년 양산 e-액슬 감속기" in part
    profile = copy.deepcopy(load_profile("jinju-gear", get_content()).data)
    profile["consulting"]["development"].pop("commercialization")
    part = _plan(context_from_profile(profile)).split("# 5. 연구개발성과의 사업화 전략 및 계획")[1].split("\n# ")[0]
    assert "[확인 필요: 사업화 매출 전망(연도별, 근거)]" in part and "[확인 필요: 과제 수행·사업화에 따른 신규 고용 계획" in part


def test_tables_and_headings_never_run_into_the_line_above(plans):
    """A table or a paragraph right under a list line without a blank line is read by Markdown as
    part of it (the table printed as '| … |' text, a bold title glued to the last bullet)."""
    for cid, ctx in plans.items():
        for key, doc in ctx["documents"].items():
            lines = doc["markdown"].split("\n")
            for above, line in zip(lines, lines[1:]):
                if line.startswith("|"):
                    assert not above.strip() or above.startswith("|"), (cid, key, above, line)
                if re.match(r"^\s*(- |\d+\. )", above) and line.strip():
                    assert re.match(r"^\s*(- |\d+\. )|^ {2,}|^<!--", line), (cid, key, above, line)


def test_the_lead_companys_role_fits_the_program_type(plans):
    roles = get_content().strategy_method["lead_roles"]
    for cid, ctx in plans.items():
        ptype = ctx["strategy"]["program_type"]
        assert ctx["strategy"]["consortium"]["lead_role"] == (roles.get(ptype) or roles["default"])
        if not ctx["strategy"]["equipment_program"]:     # a service or R&D plan installs no equipment
            assert "설비 도입" not in ctx["strategy"]["consortium"]["lead_role"], cid
