"""요청 자료 목록 (issue 16 item 6): every document ends with the list of what it asks the company
for; the three lists together are the CLI's list, numbered alike; a marker repeated in a table is
printed once, with a note under the table.
"""
from __future__ import annotations

import datetime
import html
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from docx_helpers import ROOT, isolated_store

from pipeline.content import get_content
from pipeline.missing import (MARKER, collapse_table_markers, distinct, due_of, in_request_order, markers_in, need_of,
                              owner_of)
from pipeline.publish.context import build_context
from pipeline.stages.draft import DOCUMENTS, REQUESTS_APPENDIX, _render, draft, make_environment

COMPANIES = sorted(p.stem for p in (ROOT / "companies").glob("*.yaml"))
RULES = yaml.safe_load((ROOT / "content" / "sections" / "shared" / "request_owners.yaml").read_text(encoding="utf-8"))
HEADING = "# 부록. 요청 자료 목록"
HEADER = ["번호", "요청 자료", "용도", "담당", "기한"]

_cache: dict[str, dict] = {}


def context_of(company: str) -> dict:
    if company not in _cache:
        _cache[company] = build_context(company)[1]
    return _cache[company]


def cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def appendix_rows(markdown: str) -> list[list[str]]:
    """The rows of the appendix table in a document's Markdown, cell text unescaped."""
    part = markdown[markdown.index(HEADING):]
    lines = [l for l in part.splitlines() if l.startswith("|")]
    if not lines:
        return []
    assert cells(lines[0]) == HEADER
    return [[need_of(c) for c in cells(l)] for l in lines[2:]]


def tables(markdown: str) -> list[list[str]]:
    """Each pipe table of a Markdown text as its lines."""
    out, current = [], []
    for line in markdown.splitlines() + [""]:
        if line.lstrip().startswith("|"):
            current.append(line)
        elif current:
            out.append(current)
            current = []
    return out


# ---------------------------------------------------------------- every sample document

@pytest.mark.parametrize("company", COMPANIES)
def test_every_document_ends_with_the_appendix_after_a_page_break(company):
    for key, doc in context_of(company)["documents"].items():
        md = doc["markdown"]
        assert md.count(HEADING) == 1, f"{company}/{key}"
        before, after = md.split(HEADING)
        # after the page break: the appendix, or first the plan's one-line note that its program has no
        # published criteria yet (a page for it alone would be wasted)
        last_page = before.rsplit("<!-- pagebreak -->", 1)[1]
        assert not last_page.strip() or (key == "plan" and last_page.strip().startswith("# 부록. 평가 기준 자체 점검")
                                         and last_page.strip().count("\n") <= 2), f"{company}/{key}: no page break before the appendix"
        assert not re.search(r"^# ", after, re.M), f"{company}/{key}: the appendix is not the last chapter"
        assert "부록. 요청 자료 목록" in doc["fields"]["toc"]
        rows = appendix_rows(md)
        assert rows, f"{company}/{key}: empty appendix"
        assert [int(r[0]) for r in rows] == sorted(int(r[0]) for r in rows)
        assert all(all(c for c in r) for r in rows), f"{company}/{key}: a row with an empty cell"


@pytest.mark.parametrize("company", COMPANIES)
def test_the_three_appendices_are_the_cli_list_numbered_alike(company):
    ctx = context_of(company)
    cli = [item["need"] for item in ctx["missing"]]
    assert len(cli) == len(set(cli)), "the CLI list repeats an item"
    union = {}
    for key, doc in ctx["documents"].items():
        rows = appendix_rows(doc["markdown"])
        assert len(rows) == len({r[1] for r in rows}), f"{company}/{key}: an item twice in one appendix"
        for number, need, *_ in rows:
            # number n is the n-th line of the CLI list, in every document
            assert cli[int(number) - 1] == need, f"{company}/{key}: {number}. {need}"
            union[need] = int(number)
        assert [r[1] for r in rows] == [r["need"] for r in doc["requests"]]
    assert set(union) == set(cli), f"{company}: CLI items in no appendix: {set(cli) - set(union)}"
    # the list follows the documents: the 진단표 asks for 1…k, the others go on from there
    first = [int(r[0]) for r in appendix_rows(ctx["documents"]["diagnosis"]["markdown"])]
    assert first == list(range(1, len(first) + 1))


@pytest.mark.parametrize("company", COMPANIES)
def test_each_appendix_lists_every_marker_of_its_document(company):
    for key, doc in context_of(company)["documents"].items():
        body = doc["markdown"].split(HEADING)[0]
        listed = {r[1] for r in appendix_rows(doc["markdown"])}
        marked = {need_of(shown) for shown in markers_in(body)}
        assert marked <= listed, f"{company}/{key}: marked but not requested: {marked - listed}"


@pytest.mark.parametrize("company", COMPANIES)
def test_owner_and_deadline_of_every_row(company):
    ctx = context_of(company)
    owners = {r["owner"] for r in RULES["owners"]["fields"] + RULES["owners"]["needs"]} | {RULES["owners"]["default"]}
    for key, doc in ctx["documents"].items():
        rows = appendix_rows(doc["markdown"])
        assert {r[3] for r in rows} <= owners
        dues = {r[4] for r in rows}
        assert len(dues) == 1  # one target program per company
        due = dues.pop()
        assert due == RULES["deadline"]["otherwise"] or re.fullmatch(r"20\d\d\.\d{1,2}\.\d{1,2}\.", due), due


@pytest.mark.parametrize("company", COMPANIES)
def test_no_marker_twice_in_one_table_and_every_note_names_its_number(company):
    ctx = context_of(company)
    by_number = {n: item["need"] for n, item in enumerate(ctx["missing"], 1)}
    for key, doc in ctx["documents"].items():
        md = doc["markdown"]
        for table in tables(md):
            found = MARKER.findall("\n".join(table))
            assert len(found) == len(set(found)), f"{company}/{key}: a marker repeated in a table: {table[0]}"
        for note in re.finditer(r"^※[①-⑮]? (.+) — 요청 자료 목록 (\d+)번$", md, re.M):
            assert by_number[int(note.group(2))] == need_of(note.group(1)), note.group(0)


def test_the_samples_have_tables_with_repeated_markers():
    """So that the check above is not vacuous: jinju-bolt's 추진 내용 table repeats two markers."""
    md = context_of("jinju-bolt")["documents"]["plan"]["markdown"]
    assert re.search(r"^※① .+ — 요청 자료 목록 \d+번$", md, re.M)
    assert re.search(r"\| ※①% \| ※② \|", md)


# ---------------------------------------------------------------- the parts, on made-up input

TABLE = """본문

| 항목 | 값 | 비용 |
|---|---:|---:|
| A | [확인 필요: 환율] | [확인 필요: 환율] |
| B | 3 | [확인 필요: 환율] |
| C | [확인 필요: 단가]% | [확인 필요: 단가] |
다음 문단

| 다른 표 | 값 |
|---|---|
| D | [확인 필요: 환율] |
"""


def test_a_marker_repeated_in_a_table_is_printed_once_with_a_note():
    out = collapse_table_markers(TABLE, {"환율": 7, "단가": 12})
    first, second = tables(out)
    text = "\n".join(first)
    assert text.count("[확인 필요: 환율]") == 1 and text.count("[확인 필요: 단가]") == 1
    assert first[2] == "| A | [확인 필요: 환율] | ※① |"   # the first cell keeps it
    assert first[3] == "| B | 3 | ※① |"
    assert first[4] == "| C | [확인 필요: 단가]% | ※② |"
    assert "※① 환율 — 요청 자료 목록 7번\n\n※② 단가 — 요청 자료 목록 12번\n\n다음 문단" in out
    assert second == ["| 다른 표 | 값 |", "|---|---|", "| D | [확인 필요: 환율] |"]  # once there: unchanged


def test_one_repeated_marker_gets_a_plain_reference_and_text_outside_tables_is_left_alone():
    md = "[확인 필요: 환율] [확인 필요: 환율]\n\n| a | b |\n|---|---|\n| [확인 필요: 환율] | [확인 필요: 환율] |\n"
    out = collapse_table_markers(md, {"환율": 3})
    assert out.startswith("[확인 필요: 환율] [확인 필요: 환율]\n")
    assert "| [확인 필요: 환율] | ※ |" in out
    assert out.rstrip().endswith("※ 환율 — 요청 자료 목록 3번")
    assert collapse_table_markers("| a |\n|---|\n| [확인 필요: x] |\n", {}) == "| a |\n|---|\n| [확인 필요: x] |\n"


def test_escaped_markers_are_matched_to_their_need():
    md = "| a | b |\n|---|---|\n| [확인 필요: R&amp;D 비용\\_합계] | [확인 필요: R&amp;D 비용\\_합계] |"
    out = collapse_table_markers(md, {"R&D 비용_합계": 5})
    assert out.endswith("※ R&amp;D 비용\\_합계 — 요청 자료 목록 5번")


@pytest.mark.parametrize("field, need, owner", [
    ("energy.electricity.price_krw_per_kwh", "전력 평균 단가(원/kWh)", "설비·에너지"),
    ("processes[].equipment[]", "공기압축기: 인버터 방식입니까?", "설비·에너지"),
    ("exports[].volume_t", "EU 수출량", "영업·수출"),
    ("customer_demands[].deadline", "고객사 요구 기한", "영업·수출"),
    ("products[].annual_output", "제품별 연간 생산량", "생산·구매"),
    ("products[].precursors[]", "전구물질 공급사", "생산·구매"),
    ("company.employees", "상시근로자 수", "경영지원"),
    ("readiness.esg_report", "ESG 보고서 발간 현황", "경영지원"),
    ("overrides.kpi_targets.payback_years", "투자회수기간 목표값", "컨설턴트"),
    ("overrides.investment_krw_million.led_lighting", "LED 조명 견적(2곳 이상)", "설비·에너지"),
    ("문서: matching", "EERS 지원 비율(공고문)", "컨설턴트"),
    ("문서: plan", "인버터 공기압축기 도입 사양·수량(실시설계)", "설비·에너지"),
    ("문서: diagnosis", "탄소강 환봉의 EU 고객사별 연간 수입량(톤)", "영업·수출"),
    ("문서: diagnosis", "2028년 CBAM 하류제품 확대 제안의 CN 코드 목록", "컨설턴트"),
    ("문서: plan", "무엇인지 모를 항목", "컨설턴트"),
])
def test_who_answers_an_item(field, need, owner):
    assert owner_of({"field": field, "need": need, "used_for": ""}, RULES["owners"]) == owner


TODAY = datetime.date(2026, 12, 1)
DAYS = RULES["deadline"]["days_before_opening"]


def test_deadline_from_the_window_the_next_call_or_none():
    ahead = {"name": "사업", "window": {"open": "2027-03-02"}, "next_call": {"year": 2027, "month": 2, "estimated": True}}
    due, note = due_of(ahead, RULES["deadline"], TODAY)
    expected = datetime.date(2027, 3, 2) - datetime.timedelta(days=DAYS)
    assert due == f"{expected.year}.{expected.month}.{expected.day}." and note["opening"] == "2027.3.2."

    passed = {"name": "사업", "window": {"open": datetime.date(2026, 2, 10)},
              "next_call": {"year": 2027, "month": 2, "estimated": True}}
    due, note = due_of(passed, RULES["deadline"], TODAY)
    expected = datetime.date(2027, 2, 1) - datetime.timedelta(days=DAYS)
    assert due == f"{expected.year}.{expected.month}.{expected.day}." and note["opening"] == "2027년 2월경 예상"

    always_open = {"name": "상시 접수 사업", "window": {"open": None}, "next_call": {"year": None, "month": None}}
    assert due_of(always_open, RULES["deadline"], TODAY) == (RULES["deadline"]["otherwise"], None)
    too_close = {"name": "사업", "window": {"open": TODAY + datetime.timedelta(days=DAYS - 1)}}
    assert due_of(too_close, RULES["deadline"], TODAY) == (RULES["deadline"]["otherwise"], None)


def test_the_list_is_put_in_the_order_of_the_appendices():
    items = [{"field": "a", "need": "가", "used_for": "x"}, {"field": "b", "need": "나", "used_for": "y"},
             {"field": "c", "need": "다", "used_for": "z"}, {"field": "d", "need": "나", "used_for": "w"}]
    merged = distinct(items)
    assert [i["need"] for i in merged] == ["가", "나", "다"] and merged[1]["used_for"] == "y · w"
    ordered = in_request_order(merged, {"diagnosis": ["다"], "matching": ["나", "다"], "plan": []})
    assert [i["need"] for i in ordered] == ["다", "나", "가"]


def test_an_appendix_without_items_says_so():
    content = get_content()
    env = make_environment(content)
    text = _render(env, content, REQUESTS_APPENDIX,
                               {"rows": [], "due_note": None, "otherwise": "1차 보완 시"})
    assert HEADING in text and "|" not in text and "요청드릴 자료가 없습니다" in text


def test_overrides_land_under_their_heading_in_the_body_or_the_appendix():
    ctx = build_context("jinju-bolt")[1]
    ctx["company"].setdefault("overrides", {})["sections"] = {"plan": {
        "10. 위험 요인 및 사후관리": {"mode": "append", "text": "마지막 장에 덧붙인 문장"},
        "부록. 요청 자료 목록": {"mode": "append", "text": "자료는 메일로 보내 주십시오"},
    }}
    md = draft(ctx, get_content())["documents"]["plan"]["markdown"]
    body, appendix = md.split(HEADING)
    assert "마지막 장에 덧붙인 문장" in body.split("<!-- pagebreak -->")[-2]
    assert appendix.rstrip().endswith("자료는 메일로 보내 주십시오")


# ---------------------------------------------------------------- the CLI and the Word files agree

@pytest.fixture()
def workspace(tmp_path, monkeypatch):
    isolated_store(tmp_path, monkeypatch)
    return tmp_path


def word_appendix(path: Path) -> list[list[str]]:
    import docx

    for table in docx.Document(str(path)).tables:
        rows = [[cell.text.strip() for cell in row.cells] for row in table.rows]
        if rows and rows[0] == HEADER:
            return rows[1:]
    raise AssertionError(f"{path}: no 요청 자료 목록 table")


def test_cli_list_and_the_word_appendices_agree(workspace):
    from pipeline.commands import main

    result = CliRunner().invoke(main, ["plan", "jinju-bolt", "--no-page-count"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.output.split("확인 필요 항목", 1)[1].splitlines()[1:]
    numbered = [re.match(r"^  (\d+)\. (.*)$", line) for line in lines]
    numbered = [m for m in numbered if m]
    assert [int(m.group(1)) for m in numbered] == list(range(1, len(numbered) + 1)), "the CLI numbers its list"
    cli = [html.unescape(m.group(2).split("  ← ")[0]) for m in numbered]
    assert cli
    seen = {}
    for key in DOCUMENTS:
        for number, need, used_for, owner, due in word_appendix(workspace / "out" / "jinju-bolt" / f"{key}.docx"):
            assert cli[int(number) - 1] == need, f"{key}: {number}. {need}"
            seen[int(number)] = need
    assert sorted(seen) == list(range(1, len(cli) + 1))
