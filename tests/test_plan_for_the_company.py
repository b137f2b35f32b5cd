"""A plan an evaluator would score (issue 15): written for this company, in its program type's shape,
with no invented partners and none of the matcher's internals."""
from __future__ import annotations

import copy
import re

import pytest

from pipeline.content import get_content
from pipeline.profile import list_company_ids, load_profile
from pipeline.publish.context import build_context
from pipeline.stages.diagnose import diagnose
from pipeline.stages.match import match
from pipeline.stages.strategy import strategy

MIN_CHARS = 25
MAX_SHARED = 0.30


def prose_sentences(markdown: str) -> list[str]:
    """Sentences of at least MIN_CHARS outside tables and images, as a reader meets them."""
    out = []
    for line in markdown.split("\n"):
        if line.lstrip().startswith(("|", "![")):
            continue
        line = re.sub(r"\*\*|\*", "", re.sub(r"^\s*(#+|[-*]|\d+\.)\s+", "", line)).strip()
        out += [s.strip() for s in re.split(r"(?<=[.다요])\s+", line) if len(s.strip()) >= MIN_CHARS]
    return out


@pytest.fixture(scope="module")
def plans() -> dict[str, dict]:
    return {cid: build_context(cid)[1] for cid in list_company_ids()}


def test_no_plan_is_mostly_another_companys_text(plans):
    sentences = {cid: prose_sentences(ctx["documents"]["plan"]["markdown"]) for cid, ctx in plans.items()}
    for cid, mine in sentences.items():
        others = set().union(*(set(v) for k, v in sentences.items() if k != cid))
        shared = [s for s in mine if s in others]
        assert mine and len(shared) / len(mine) <= MAX_SHARED, (cid, f"{len(shared)}/{len(mine)}", shared[:5])


def test_the_plan_carries_the_consultants_input_or_asks_for_it(plans):
    for cid, ctx in plans.items():
        body = ctx["documents"]["plan"]["markdown"]
        problem = (ctx["company"].get("consulting") or {}).get("problem")
        assert problem and problem[:40] in body, cid
    # without the consultant's input the plan asks the question instead of writing generic prose
    from pipeline.stages.draft import draft

    content = get_content()
    ctx = copy.deepcopy(plans["jinju-bolt"])
    ctx["company"]["consulting"].pop("problem")
    ctx.pop("documents")
    body = draft(ctx, content)["documents"]["plan"]["markdown"]
    assert "[확인 필요: 기업이 직접 밝힌 현안" in body


def test_no_matcher_internals_in_the_plan(plans):
    for cid, ctx in plans.items():
        body = ctx["documents"]["plan"]["markdown"]
        for internal in ("적합도", "매칭 순위", "매칭 평가", "수요 부합"):
            assert internal not in body, (cid, internal)


def test_partners_are_named_never_invented_and_the_operator_is_not_one():
    content = get_content()
    data = copy.deepcopy(load_profile("jinju-bolt", content).data)
    ctx = diagnose({"company": data, "missing": []}, content)
    ctx = match(ctx, content)
    program = content.programs[strategy(copy.deepcopy(ctx), content)["strategy"]["program_id"]]
    operator = program["agency"].split("/")[-1].strip()
    data["consulting"]["partners"] = [
        {"name": operator, "kind": "consultant", "role": "사업 관리"},
        {"name": "(가상) 진주검증원", "kind": "verifier", "role": "감축량 검증", "confirmed": True},
    ]
    s = strategy(copy.deepcopy(ctx), content)["strategy"]["consortium"]
    assert [p["name"] for p in s["partners"]] == ["(가상) 진주검증원"]
    assert s["refused"] == [operator]
    kinds = content.strategy_method["partner_kinds_by_type"][program["type"]]
    assert {r["kind"] for r in s["open_roles"]} == set(kinds) - {"verifier"}
    data["consulting"]["partners"] = []
    s = strategy(copy.deepcopy(ctx), content)["strategy"]["consortium"]
    assert s["partners"] == [] and len(s["open_roles"]) == len(kinds)   # roles to fill, no names made up


def test_a_consulting_plan_budgets_the_work_not_equipment(plans):
    consulting = [ctx for ctx in plans.values() if ctx["strategy"]["program_type"] == "컨설팅/바우처"]
    assert consulting, "a sample targets a consulting/voucher program"
    for ctx in consulting:
        assert all(l["measure_id"] is None for l in ctx["strategy"]["budget"]["lines"])
        body = ctx["documents"]["plan"]["markdown"]
        assert "설치 중 생산 차질" not in body and "투자 효과" not in body and "도입 설비 관리" not in body


def test_a_defined_development_project_reaches_an_rd_program_and_its_form(plans):
    """jinju-gear recorded a development project with quantitative targets: the matcher ranks an
    R&D program first on its own, and the plan is the R&D form's, not a list of retrofits."""
    ctx = plans["jinju-gear"]
    s = ctx["strategy"]
    assert s["program_type"] == "R&D"
    body = ctx["documents"]["plan"]["markdown"]
    dev = ctx["company"]["consulting"]["development"]
    assert "## 정량 목표" in body and all(m["name"] in body for m in dev["metrics"])
    trl = next(k for k in s["kpis"] if k["id"] == "rd_trl")
    assert (trl["baseline"], trl["target"]) == (dev["trl_now"], dev["trl_target"])
    rows = s["schedule"]["rows"]
    assert max(r["end"] for r in rows) == s["duration_months"] and s["schedule"]["unit"] == "분기"
    assert all(l["measure_id"] is None for l in s["budget"]["lines"])
    for category in s["rd_cost_categories"]:
        assert category in body
