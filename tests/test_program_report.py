"""The center's program report (`program-report`, issue 19 item 2): out/program-report-<year>.docx.

Two companies are planned in a subprocess into a temporary store and out/; the report runs in-process."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from docx_helpers import ROOT, docx_all_text, isolated_store

COMPANIES = ("jinju-bolt", "jinju-gear")


@pytest.fixture()
def env(tmp_path, monkeypatch) -> dict:
    return isolated_store(tmp_path, monkeypatch, companies=None)   # the applicants' profiles are needed too


def cli(args: list[str]):
    from pipeline.commands import main

    return CliRunner().invoke(main, args)


def test_program_report_two_companies(env):
    for company in COMPANIES:
        result = subprocess.run([sys.executable, "-m", "pipeline", "plan", company, "--no-page-count"], cwd=ROOT,
                                env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
    result = cli(["program-report", "--year", "2025"])
    assert result.exit_code == 0, result.output
    path = Path(env["CARBON_OUT_DIR"]) / "program-report-2025.docx"
    assert path.is_file()
    text = docx_all_text(path)
    for company in COMPANIES:
        folder = Path(env["CARBON_REVISIONS_DIR"]) / company / "r001"
        context = json.loads((folder / "context.json").read_text(encoding="utf-8"))
        assert context["company"]["company"]["name"] in text
        if company == "jinju-bolt":       # selected in 2025: a participant with its stored figures
            assert f"{context['diagnosis']['emissions']['total_tco2e']:,.1f}" in text
        else:                             # not selected: named apart, not in the cohort's figures
            assert f"선정 외 컨설팅 기업 (이 보고서의 합계에서 제외): {context['company']['company']['name']}" in text
            assert f"{context['diagnosis']['emissions']['total_tco2e']:,.1f}" not in text
    from pipeline.selection import evaluate

    _, _, results = evaluate(table=2025)
    for r in results:
        if r.selected:
            assert r.name in text
    assert "기록된 신청이 없습니다" in text
    # stage ⑤ as recorded: an application and its result show with the totals
    for args in (["followup-apply", "jinju-bolt", "--program", "sme-carbon-facility-general", "--call", "2026-1",
                  "--submitted", "2026-03-04"],
                 ["followup-result", "jinju-bolt", "--application", "A1", "--result", "selected",
                  "--amount-krw-million", "120", "--date", "2026-05-20"],
                 ["followup-apply", "jinju-gear", "--program", "sme-tech-innovation-export", "--call", "2026-1",
                  "--submitted", "2026-04-01"]):
        result = cli(args)
        assert result.exit_code == 0, result.output
    assert cli(["program-report", "--year", "2025"]).exit_code == 0
    text = docx_all_text(path)
    assert "2026. 3. 4." in text
    # the participant's application counts; the non-selected company's does not
    assert "신청 1건, 선정 1건, 지원금 합계 120백만원" in text and "결과 대기" not in text


def test_program_report_without_revisions(env):
    result = cli(["program-report"])
    assert result.exit_code == 0, result.output
    files = list(Path(env["CARBON_OUT_DIR"]).glob("program-report-*.docx"))
    assert len(files) == 1
    assert "저장된 리비전이 있는 기업이 아직 없습니다" in docx_all_text(files[0])


@pytest.mark.parametrize("year", ["abc", "1999"])
def test_bad_year(env, year):
    result = cli(["program-report", "--year", year])
    assert result.exit_code == 2
    assert "연도" in result.output or "평가표" in result.output
    assert not list(Path(env["CARBON_OUT_DIR"]).glob("program-report-*.docx")) if Path(env["CARBON_OUT_DIR"]).exists() else True


def test_schedule_is_compared_by_date_with_the_plan_in_content():
    import datetime

    from pipeline.publish.program_report import _against, load_schedule

    schedule = load_schedule(2025)
    steps = {s["key"]: s for s in schedule["steps"]}
    consulting = steps["consulting"]
    inside = [datetime.date(2025, 9, 3), datetime.date(2025, 10, 31)]
    assert _against("진단·컨설팅", inside, consulting, "x").endswith("계획(9~10월 말) 안")
    # the same months a year later are outside the plan (the year counts, not only the month)
    later = [datetime.date(2026, 9, 3)]
    assert "계획보다 늦은 1건" in _against("진단·컨설팅", later, consulting, "x")
    assert "계획보다 이른 1건" in _against("진단·컨설팅", [datetime.date(2025, 8, 20)], consulting, "x")
    assert load_schedule(1999) is None
