"""평가 기준 자체 점검 (issue 15 item 3): every criterion of the target program is mapped to the plan
sections that answer it, with a status from what those sections still leave open."""
from __future__ import annotations

import shutil

import pytest
import yaml

from pipeline.content import Content
from pipeline.publish.context import build_context
from pipeline.stages.criteria_check import criteria_rows, includes


def test_rows_by_hand():
    sections = [
        {"stem": "01_overview", "includes": [], "text": "# 1. 사업 개요\n\n내용"},
        {"stem": "rd_01_need", "includes": ["03_background", "02_company"],
         "text": "# 1. 연구개발과제의 필요성\n\n[확인 필요: 재무현황] [확인 필요: 수출국] [확인 필요: A] [확인 필요: B]"},
    ]
    rows = criteria_rows([
        {"criterion": "사업 목적의 명확성", "points": 20, "answered_by": ["01_overview"]},
        {"criterion": "기업 역량", "points": 30, "answered_by": ["02_company"]},    # through the R&D section
        {"criterion": "사업화 계획", "points": 50, "answered_by": ["rd_05_commercialization"]},
    ], sections)
    assert [r["status"] for r in rows] == ["작성", "보완 필요", "해당 장 없음"]
    assert rows[0]["sections"] == ["1. 사업 개요"]
    assert rows[1]["sections"] == ["1. 연구개발과제의 필요성"]
    assert rows[1]["open_items"] == ["재무현황", "수출국", "A"] and rows[1]["more_open"] == 1
    assert rows[2]["sections"] == []


def test_includes_are_read_from_the_template_source():
    assert includes("{% set sub = true %}\n{% include 'plan/03_background.md' %}\n{%- include \"plan/02_company.md\" %}") == [
        "03_background", "02_company"]


def _content_where_bolts_program(tmp_path, criteria) -> tuple[Content, str]:
    """A copy of content/ where the target program of jinju-bolt has these evaluation criteria."""
    root = tmp_path / "content"
    shutil.copytree(Content().root, root)
    _, ctx = build_context("jinju-bolt", content=Content(root), with_documents=False)
    program_id = ctx["strategy"]["program_id"]
    path = root / "programs" / f"{program_id}.yaml"
    record = yaml.safe_load(path.read_text(encoding="utf-8"))
    record["evaluation_criteria"] = criteria
    path.write_text(yaml.safe_dump(record, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return Content(root), program_id


@pytest.fixture
def content_with_criteria(tmp_path):
    return _content_where_bolts_program(tmp_path, {
        "source": {"publisher": "중소벤처기업진흥공단", "title": "시험용 평가표", "year": 2026},
        "items": [
            {"criterion": "사업 필요성", "points": 30, "answered_by": ["03_background"]},
            {"criterion": "사업비 적정성", "points": 40, "answered_by": ["07_budget"]},
            {"criterion": "연구개발 역량", "points": 30, "answered_by": ["rd_07_institution"]},
        ],
    })


def test_plan_appendix_maps_every_criterion(content_with_criteria):
    content, _program_id = content_with_criteria
    _, ctx = build_context("jinju-bolt", content=content)
    text = ctx["documents"]["plan"]["markdown"]
    appendix = text.split("# 부록. 평가 기준 자체 점검")[1].split("# 부록. 요청 자료 목록")[0]
    rows = [line for line in appendix.split("\n") if line.startswith("| ") and "---" not in line][1:]
    assert len(rows) == 4                                         # three criteria and the total
    assert rows[0].startswith("| 사업 필요성 | 30 | 3. 추진 배경 및 필요성 |")
    assert "| 7. 사업비 구성 | 보완 필요 |" in rows[1]              # bolt's budget still asks for items
    assert rows[2].startswith("| 연구개발 역량 | 30 | – | 해당 장 없음 |")   # a facility plan has no R&D chapter
    assert rows[3].startswith("| 합계 | 100 |")
    assert "시험용 평가표" in appendix and "[확인 필요:" not in appendix
    # its place in the document: after the body, before the requests list, in the TOC
    assert "부록. 평가 기준 자체 점검" in ctx["documents"]["plan"]["fields"]["toc"]


def test_without_published_criteria_the_plan_asks_for_them(tmp_path):
    content, _program_id = _content_where_bolts_program(tmp_path, None)
    _, ctx = build_context("jinju-bolt", content=content)
    text = ctx["documents"]["plan"]["markdown"]
    name = ctx["strategy"]["program_name"]
    assert f"[확인 필요: {name} 평가 항목과 배점(공고문 평가표)]" in text.replace("\\(", "(").replace("\\)", ")")
    assert any(m["need"] == f"{name} 평가 항목과 배점(공고문 평가표)" for m in ctx["missing"])
