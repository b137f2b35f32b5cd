"""Section texts of the three Word drafts (content/sections/): every sample company renders them.

Fast checks read the Markdown bodies from build_context(); the slow check renders plan.docx and
counts its pages with LibreOffice (10–15 A4 pages, the usual limit of a 사업계획서).
"""
from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest

from docx_helpers import ROOT, require_libreoffice

from pipeline.publish.context import build_context
from pipeline.stages.draft import safe_text

COMPANIES = sorted(p.stem for p in (ROOT / "companies").glob("*.yaml"))

# The chapter headings of the plan per program type (content/sections/plan/structure.yaml).
PLAN_HEADINGS = {
    "default": [
        "1. 사업 개요", "2. 기업 현황 및 진단 결과", "3. 추진 배경 및 필요성", "4. 사업 목표 및 내용",
        "5. 추진 체계", "6. 추진 일정", "7. 사업비 구성", "8. 성과지표 및 측정·검증 계획",
        "9. 기대효과 및 활용·확산", "10. 위험 요인 및 사후관리",
    ],
    "R&D": [
        "연구개발과제 개요", "1. 연구개발과제의 필요성", "2. 연구개발과제의 목표 및 내용",
        "3. 추진전략·방법 및 추진체계", "4. 연구개발성과의 활용방안 및 기대효과",
        "5. 연구개발성과의 사업화 전략 및 계획", "6. 연구개발 안전 및 보안조치 이행계획",
        "7. 연구개발기관 현황", "8. 연구개발비 사용에 관한 계획",
    ],
}
BAD_TEXT = re.compile(r"\b(None|nan|NaN|undefined)\b")
FIELD_NAME = re.compile(r"(?<![\\\w/:.?&=#-])[a-z][a-z0-9]*_[a-z0-9_]+")

_cache: dict[str, dict] = {}


def context_of(company: str) -> dict:
    if company not in _cache:
        _cache[company] = build_context(company)[1]
    return _cache[company]


def headings(markdown: str) -> list[str]:
    return [m.group(1).strip() for m in re.finditer(r"^# (.+)$", markdown, re.M) if not m.group(1).startswith("부록.")]


def test_there_are_sample_companies():
    assert len(COMPANIES) >= 5


@pytest.mark.parametrize("company", COMPANIES)
@pytest.mark.parametrize("doc", ["diagnosis", "matching", "plan"])
def test_document_names_company_product_and_process(company, doc):
    ctx = context_of(company)
    md = ctx["documents"][doc]["markdown"]
    assert safe_text(ctx["company"]["company"]["name"]) in md
    assert safe_text(ctx["company"]["products"][0]["name"]) in md
    assert any(safe_text(p["name"]) in md for p in ctx["company"]["processes"])


@pytest.mark.parametrize("company", COMPANIES)
@pytest.mark.parametrize("doc", ["diagnosis", "matching", "plan"])
def test_no_none_or_nan_text(company, doc):
    md = context_of(company)["documents"][doc]["markdown"]
    found = BAD_TEXT.findall(md)
    assert not found, f"{company}/{doc}: {found[:5]}"
    assert "{{" not in md and "{%" not in md
    for internal in ("참고노트", "programs-2026", "content/", ".yaml"):
        assert internal not in md, f"{company}/{doc} shows an internal reference: {internal}"
    field = FIELD_NAME.search(md)  # a profile or context field name (energy_shares_pct …)
    assert not field, f"{company}/{doc} shows a field name: {md[max(0, field.start() - 40):field.end() + 10]!r}"


@pytest.mark.parametrize("company", COMPANIES)
def test_plan_has_the_chapters_of_its_program_type(company):
    ctx = context_of(company)
    ptype = ctx["strategy"]["program_type"]
    expected = PLAN_HEADINGS.get(ptype, PLAN_HEADINGS["default"])
    assert headings(ctx["documents"]["plan"]["markdown"]) == expected


@pytest.mark.parametrize("program_id, ptype", [
    ("sme-netzero-tech-rd", "R&D"),
    ("kibo-climate-tech-guarantee", "보증"),
    ("carbon-transition-leading-project-loan", "융자"),
    ("carbon-neutral-commercialization-climate", "사업화"),
])
def test_plan_renders_for_other_program_types(program_id, ptype):
    for company in ("jinju-mold", "jinju-bolt"):
        ctx = build_context(company, program_id=program_id)[1]
        assert ctx["strategy"]["program_type"] == ptype
        md = ctx["documents"]["plan"]["markdown"]
        assert headings(md) == PLAN_HEADINGS.get(ptype, PLAN_HEADINGS["default"])
        assert not BAD_TEXT.findall(md)


@pytest.mark.parametrize("company", COMPANIES)
def test_diagnosis_and_matching_chapters(company):
    ctx = context_of(company)
    diag = headings(ctx["documents"]["diagnosis"]["markdown"])
    assert [h.split(" ")[0] for h in diag] == [f"{i}." for i in range(1, 10)]
    matching = ctx["documents"]["matching"]["markdown"]
    for m in ctx["matches"]:
        if m["recommended"]:
            assert safe_text(m["name"]) in matching


@pytest.mark.slow
@pytest.mark.parametrize("company", COMPANIES)
def test_plan_docx_is_10_to_15_pages(company):
    require_libreoffice()
    from pipeline.publish.documents import render_all
    from pipeline.render.pdf import convert_to_pdf, count_pages

    files = render_all(context_of(company))
    with tempfile.TemporaryDirectory(prefix="plan-pages-") as tmp:
        path = Path(tmp) / "plan.docx"
        path.write_bytes(files["plan.docx"])
        [pdf] = convert_to_pdf([path], Path(tmp) / "pdf")
        pages = count_pages(pdf)
    assert 10 <= pages <= 15, f"{company}: plan.docx has {pages} pages"
