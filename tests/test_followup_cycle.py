"""Stage ⑤ (issue 19 items 3–6): the whole cycle for a sample company, with the figures checked by hand.

plan → feedback → final → report → application recorded → result → actuals for one year →
monitor → status board → calendar (.ics parsed back). Then every command's bad input: exit 2, a
Korean message, and the store byte for byte as it was.

The plan runs in a subprocess into an isolated store (tests/docx_helpers.py isolated_store); the
follow-up commands run in-process through CliRunner.
"""
from __future__ import annotations

import datetime
import json
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from click.testing import CliRunner

from docx_helpers import ROOT, docx_all_text, isolated_store

COMPANY = "jinju-bolt"  # base year 2024; electricity and city gas (and a forklift's diesel)
PROGRAM = "sme-carbon-facility-general"  # support.max_krw_million: 300

# One year of actuals: 12 × 400,000 kWh and 400,000 Nm³ of city gas, 3,000 t + 1,000 t of output.
ACTUALS = """\
year: 2026
energy:
  electricity:
    monthly_kwh: [400000, 400000, 400000, 400000, 400000, 400000, 400000, 400000, 400000, 400000, 400000, 400000]
    annual_kwh: 4800000
  fuels:
    - {fuel: city_gas, amount: 400000, unit: Nm3}
products:
  - {id: hex-bolt, annual_output: {amount: 3000, unit: t}}
  - {id: hex-nut, annual_output: {amount: 1000, unit: t}}
revenue_krw_million: 21000
"""
# By hand, content/factors (set kr-default: calorific kr-2022, fuels kr-kets, grid kr-2023, AR5):
#   Scope 2 = 4,800 MWh × 0.4173 tCO2eq/MWh                         = 2,003.04 t
#   city gas 400,000 Nm³ × 38.5 MJ/Nm³ = 15.4 TJ (net)
#     CO2 15.4 × 56,100 kg/TJ = 863.94 t; CH4 15.4 × 1 kg/TJ × 28 = 0.4312 t; N2O 15.4 × 0.1 × 265 = 0.4081 t
#   Scope 1 = 864.7793 t;  Scope 1+2 = 2,867.8193 t;  per tonne: 2,867.8193 / 4,000 t = 0.716955 t/t
HAND_SCOPE2 = 2003.04
HAND_SCOPE1 = 864.7793
HAND_TOTAL = 2867.8193


@pytest.fixture()
def env(tmp_path, monkeypatch) -> dict:
    return isolated_store(tmp_path, monkeypatch, (COMPANY,))


def cli(args: list[str]):
    from pipeline.commands import main

    return CliRunner().invoke(main, args)


def ok(args: list[str]):
    result = cli(args)
    assert result.exit_code == 0, result.output
    return result


def run_plan(env: dict) -> None:
    result = subprocess.run([sys.executable, "-m", "pipeline", "plan", COMPANY, "--no-page-count"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr


def store_bytes(env: dict) -> dict[str, bytes]:
    root = Path(env["CARBON_REVISIONS_DIR"])
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture()
def planned(env, tmp_path) -> dict:
    """A company through stage ④: plan r001, a comment returned and resolved, r001 final, the report."""
    run_plan(env)
    from pipeline.store.feedback import set_status, store_feedback

    draft = SimpleNamespace(name="회신.docx", sha256="1" * 64, size=1, document="plan", changes=[],
                            comments=[{"kind": "comment", "author": "기업 담당자", "text": "설치 시기를 8월로", "anchor": "일정"}])
    _, items = store_feedback(COMPANY, 1, draft)
    set_status(COMPANY, [items[0]["id"]], "resolved", note="일정표 수정")
    ok(["final", COMPANY, "1"])
    ok(["report", COMPANY])
    context = json.loads((Path(env["CARBON_REVISIONS_DIR"]) / COMPANY / "r001" / "context.json").read_text(encoding="utf-8"))
    return {"env": env, "context": context, "actuals": write(tmp_path, "실적-2026.yaml", ACTUALS)}


def test_full_cycle(planned, tmp_path):
    env, context = planned["env"], planned["context"]
    out = Path(env["CARBON_OUT_DIR"]) / COMPANY
    assert (out / "report.docx").is_file()

    result = ok(["followup-apply", COMPANY, "--program", PROGRAM, "--call", "2026-1", "--submitted", "2026-03-04",
                 "--revision", "r001"])
    assert "A1" in result.output and "r001" in result.output
    status = ok(["status"]).output
    assert "applied" in status and "선정 결과 기록 A1" in status

    ok(["followup-result", COMPANY, "--application", "A1", "--result", "선정", "--amount-krw-million", "120",
        "--date", "2026-05-20"])
    assert "selected" in ok(["status"]).output

    ok(["followup-actuals", COMPANY, str(planned["actuals"]), "--year", "2026"])
    result = ok(["monitor", COMPANY])
    assert "2026년 실적" in result.output

    data = json.loads((out / "monitoring-2026.json").read_text(encoding="utf-8"))
    year = data["years"]["2026"]
    assert year["scope2_location_tco2e"] == pytest.approx(HAND_SCOPE2, abs=1e-6)
    assert year["scope1_tco2e"] == pytest.approx(HAND_SCOPE1, abs=1e-3)
    assert year["total_tco2e"] == pytest.approx(HAND_TOTAL, abs=1e-3)
    assert year["electricity_mwh"] == pytest.approx(4800.0)
    assert year["output_t"] == pytest.approx(4000.0)
    # the same figures from the factor files themselves (the plan's factor set)
    factors = context["diagnosis"]["factors"]
    grid = yaml.safe_load((ROOT / "content/factors/electricity.yaml").read_text(encoding="utf-8"))["grid"][factors["grid_factor_id"]]
    assert year["scope2_location_tco2e"] == pytest.approx(4800 * grid["value"])
    assert data["factors"]["factor_set"] == factors["factor_set"]

    kpis = {k["id"]: k for k in data["kpis"]}
    plan_kpis = {k["id"]: k for k in context["strategy"]["kpis"]}
    assert set(kpis) == set(plan_kpis)
    ghg = kpis["ghg_reduction"]
    baseline, target = plan_kpis["ghg_reduction"]["baseline"], plan_kpis["ghg_reduction"]["target"]
    assert ghg["baseline"] == baseline and ghg["target"] == target  # from the stored plan, never recomputed
    assert ghg["actual"] == pytest.approx(HAND_TOTAL, abs=1e-3)
    assert ghg["progress_pct"] == pytest.approx(100 * (baseline - HAND_TOTAL) / (baseline - target), abs=1e-2)
    assert ghg["status"] == "achieved"
    assert kpis["energy_saving_mwh"]["actual"] == pytest.approx(4800.0)
    assert kpis["emission_intensity_output"]["actual"] == pytest.approx(HAND_TOTAL / 4000, abs=1e-6)

    text = docx_all_text(out / "monitoring-2026.docx")
    assert "성과 모니터링 보고서" in text and "r001" in text and "최종본" in text
    assert f"{HAND_TOTAL:,.1f}" in text and f"{baseline:,.1f}" in text and f"{target:,.1f}" in text
    assert "4,800.0 MWh × 0.4173" in text
    assert "선정" in text and "120" in text
    # nothing internal (tests/test_documents_reader.py's rules): no ids, file names or commands
    assert not re.search(r"(?<![\w/.-])[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+", text)
    for internal in (".yaml", "python -m", PROGRAM, factors["factor_set"], factors["grid_factor_id"], "content/"):
        assert internal not in text, internal

    board = ok(["status"]).output
    assert "monitoring 1년차 (2026년)" in board and "2027년 실적 제출" in board
    html_file = tmp_path / "status.html"
    ok(["status", "--html", str(html_file)])
    page = html_file.read_text(encoding="utf-8")
    assert "monitoring 1년차 (2026년)" in page and "다음 할 일" in page

    # a correction: the year entered again is a new version; the latest counts, the first is kept
    corrected = write(tmp_path, "실적-2026-수정.yaml", ACTUALS.replace("400000, unit: Nm3", "300000, unit: Nm3"))
    assert "이전 판을 대체" in ok(["followup-actuals", COMPANY, str(corrected), "--year", "2026"]).output
    ok(["monitor", COMPANY, "--year", "2026"])
    # a unit slip (MWh typed where kWh is asked: 1/1000) is recorded, but pointed out
    slip = write(tmp_path, "실적-2026-단위.yaml", ACTUALS.replace("400000, " * 11 + "400000", "400, " * 11 + "400")
                 .replace("annual_kwh: 4800000", "annual_kwh: 4800"))
    result = cli(["followup-actuals", COMPANY, str(slip), "--year", "2026"])
    assert result.exit_code == 0 and "단위(kWh)를 확인" in result.stderr, result.output
    ok(["followup-actuals", COMPANY, str(corrected), "--year", "2026"])
    ok(["monitor", COMPANY, "--year", "2026"])
    data = json.loads((out / "monitoring-2026.json").read_text(encoding="utf-8"))
    assert data["years"]["2026"]["version"] == 4
    assert data["years"]["2026"]["scope1_tco2e"] == pytest.approx(HAND_SCOPE1 * 0.75, abs=1e-3)
    from pipeline.store.followup import records, state

    assert [r["version"] for r in records(COMPANY) if r["kind"] == "actuals"] == [1, 2, 3, 4]
    assert len(state(COMPANY)["actuals"][2026]["versions"]) == 4


def test_calendar_ics(planned, tmp_path):
    from icalendar import Calendar

    ok(["followup-apply", COMPANY, "--program", PROGRAM, "--call", "2026-1", "--submitted", "2026-03-04"])
    ok(["followup-result", COMPANY, "--application", "A1", "--result", "selected", "--amount-krw-million", "120",
        "--date", "2026-05-20"])
    target = tmp_path / "일정.ics"
    ok(["calendar", COMPANY, "--out", str(target)])
    events = [c for c in Calendar.from_ical(target.read_bytes()).walk("VEVENT")]
    by_uid = {str(e["UID"]): e for e in events}
    assert len(by_uid) == len(events)  # unique UIDs

    result = by_uid[f"{COMPANY}-A1-result@jinju-carbon-pipeline"]
    assert result.decoded("DTSTART") == datetime.date(2026, 3, 4) + datetime.timedelta(days=60)
    assert "선정 결과 확인" in str(result["SUMMARY"]) and "(완료)" in str(result["SUMMARY"])
    due = by_uid[f"{COMPANY}-actuals-2026@jinju-carbon-pipeline"]
    assert due.decoded("DTSTART") == datetime.date(2027, 1, 31)  # content/followup.yaml actuals_due
    assert due.decoded("DTEND") == datetime.date(2027, 2, 1)  # all-day: DTEND exclusive
    assert not isinstance(due.decoded("DTSTART"), datetime.datetime)
    assert "실적 제출 기한" in str(due["SUMMARY"])
    context = planned["context"]
    dated = [c for c in context["calendar"] if c.get("year") and c.get("month")]
    calls = [e for e in events if "-call-" in str(e["UID"])]
    assert len(calls) == len(dated) and all("공고" in str(e["SUMMARY"]) for e in calls)

    # exporting again gives the same UIDs: a re-import updates instead of duplicating
    again = tmp_path / "again.ics"
    ok(["calendar", COMPANY, "--out", str(again)])
    assert {str(e["UID"]) for e in Calendar.from_ical(again.read_bytes()).walk("VEVENT")} == set(by_uid)


BAD_ACTUALS = {
    "eleven months": (ACTUALS.replace("[400000, 400000, ", "[400000, "), "monthly_kwh", "12개"),
    "unknown fuel": (ACTUALS.replace("fuel: city_gas", "fuel: moonshine"), "energy.fuels[0].fuel", "알 수 없는 연료"),
    "unit of another fuel": (ACTUALS.replace("unit: Nm3}", "unit: L}"), "energy.fuels[0].unit", "단위"),
    "annual total off": (ACTUALS.replace("annual_kwh: 4800000", "annual_kwh: 5800000"), "annual_kwh", "월별 합계"),
    "unknown product": (ACTUALS.replace("id: hex-nut", "id: hex-washer"), "products[1].id", "제품"),
    "other year in file": (ACTUALS.replace("year: 2026", "year: 2025"), "year", "--year"),
    "text as number": (ACTUALS.replace("amount: 3000", "amount: 삼천"), "products[0].annual_output.amount", "숫자"),
    "yaml syntax": (ACTUALS.replace("fuels:\n", "fuels: [\n"), "", ""),
    "negative": (ACTUALS.replace("amount: 400000", "amount: -5"), "energy.fuels[0].amount", "이상"),
}


def test_bad_input_changes_nothing(planned, tmp_path):
    env = planned["env"]
    ok(["followup-apply", COMPANY, "--program", PROGRAM, "--call", "2026-1", "--submitted", "2026-03-04"])
    future = (datetime.date.today() + datetime.timedelta(days=3)).isoformat()
    cases = [
        (["followup-apply", COMPANY, "--program", "no-such-program", "--call", "1", "--submitted", "2026-03-04"], "지원사업"),
        (["followup-apply", COMPANY, "--program", PROGRAM, "--call", "2", "--submitted", "2026/03/04"], "YYYY-MM-DD"),
        (["followup-apply", COMPANY, "--program", PROGRAM, "--call", "2", "--submitted", future], "오지 않은"),
        (["followup-apply", COMPANY, "--program", PROGRAM, "--call", "2", "--submitted", "2026-03-04", "--revision", "r009"], "r009"),
        (["followup-apply", COMPANY, "--program", PROGRAM, "--call", "2026-1", "--submitted", "2026-03-05"], "이미 A1"),
        (["followup-apply", COMPANY, "--program", PROGRAM, "--call", "2", "--submitted", "2026-03-04", "--correct", "A7"], "A7"),
        (["followup-result", COMPANY, "--application", "A9", "--result", "selected", "--date", "2026-05-20"], "A9"),
        (["followup-result", COMPANY, "--application", "A1", "--result", "won", "--date", "2026-05-20"], "selected(선정)"),
        (["followup-result", COMPANY, "--application", "A1", "--result", "selected", "--date", "2026-05-20",
          "--amount-krw-million", "-3"], "0 이상"),
        (["followup-result", COMPANY, "--application", "A1", "--result", "selected", "--date", "2026-05-20",
          "--amount-krw-million", "500"], "지원한도 300"),
        (["followup-result", COMPANY, "--application", "A1", "--result", "selected", "--date", "2026-05-20",
          "--amount-krw-million", "일억"], "숫자"),
        (["followup-result", COMPANY, "--application", "A1", "--result", "not-selected", "--date", "2026-05-20",
          "--amount-krw-million", "50"], "선정된 경우에만"),
        (["followup-result", COMPANY, "--application", "A1", "--result", "selected", "--date", "2026-01-02"], "제출일"),
        (["followup-actuals", COMPANY, str(planned["actuals"]), "--year", "2024"], "기준연도(2024)"),
        (["followup-actuals", COMPANY, str(planned["actuals"]), "--year", "twenty"], "네 자리"),
        (["followup-actuals", COMPANY, str(tmp_path / "없는파일.yaml"), "--year", "2026"], "읽을 수 없습니다"),
        (["monitor", COMPANY], "실적이 없습니다"),
        (["followup-apply", COMPANY, "--call", "3"], "--program, --submitted"),
        (["followup-actuals", COMPANY], "--year"),
        (["followup-actuals", COMPANY, str(tmp_path), "--year", "2026"], "폴더"),
        (["calendar", COMPANY, "--out", str(Path(env["CARBON_COMPANIES_DIR"]) / f"{COMPANY}.yaml")], ""),
    ]
    for name, (text, field, words) in BAD_ACTUALS.items():
        cases.append((["followup-actuals", COMPANY, str(write(tmp_path, f"bad-{len(cases)}.yaml", text)), "--year", "2026"],
                      (field, words)))
    before = store_bytes(env)
    for args, expected in cases:
        result = cli(args)
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output and "오류" in result.output, (args, result.output)
        for part in (expected if isinstance(expected, tuple) else (expected,)):
            assert part in result.output, (args, part, result.output)
        assert store_bytes(env) == before, args
    # file:line in the actuals messages
    bad = write(tmp_path, "bad-line.yaml", ACTUALS.replace("fuel: city_gas", "fuel: moonshine"))
    output = cli(["followup-actuals", COMPANY, str(bad), "--year", "2026"]).output
    line = ACTUALS.splitlines().index("    - {fuel: city_gas, amount: 400000, unit: Nm3}") + 1
    assert f"bad-line.yaml:{line}" in output


def test_judge_by_hand():
    """The status rule: a straight path from 0 % the year before the start to 100 % in the target year."""
    from pipeline.publish.monitor import judge

    kpi = {"baseline": 1000.0, "target": 900.0, "target_year": 2028}
    # start 2026, target 2028: 2026 expects 1/3 of the way (33.3 %); 20 t of 100 t is 20 % → behind
    row = judge(kpi, 980.0, 2026, 2026)
    assert row["progress_pct"] == pytest.approx(20.0) and row["expected_pct"] == pytest.approx(100 / 3)
    assert row["status"] == "behind"
    assert judge(kpi, 960.0, 2026, 2026)["status"] == "on-track"  # 40 % ≥ 33.3 %
    assert judge(kpi, 950.0, 2028, 2026)["status"] == "not-achieved"  # target year, 50 %
    assert judge(kpi, 890.0, 2028, 2026)["status"] == "achieved"
    assert judge(kpi, 990.0, 2025, 2026)["status"] == "before-start"
    assert judge(kpi, None, 2026, 2026)["status"] == "no-data"
    assert judge({"baseline": None, "target": 900.0, "target_year": 2028}, 950.0, 2026, 2026)["status"] == "no-baseline"
    assert judge({"baseline": 1000.0, "target": None, "target_year": 2028}, 950.0, 2026, 2026)["status"] == "no-target"
    share = {"baseline": 0.0, "target": 30.0, "target_year": 2028}  # a KPI that goes up (renewable share)
    assert judge(share, 15.0, 2027, 2026)["progress_pct"] == pytest.approx(50.0)


def test_not_selected_then_next_call_and_concurrent_ids(planned):
    """Not selected: the board says so and points to the next call; applications recorded at the same
    time get distinct ids (the company's store lock)."""
    import threading

    from pipeline.content import get_content
    from pipeline.publish.followup import record_application

    ok(["followup-apply", COMPANY, "--program", PROGRAM, "--call", "2026-1", "--submitted", "2026-03-04"])
    ok(["followup-result", COMPANY, "--application", "A1", "--result", "미선정", "--date", "2026-05-20"])
    board = ok(["status"]).output
    assert "not selected" in board and "다음 공고" in board
    ids, errors = [], []

    def apply(n):
        try:
            ids.append(record_application(COMPANY, get_content(), PROGRAM, f"2027-{n}", "2026-06-01")["id"])
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=apply, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and sorted(ids) == [f"A{n}" for n in range(2, 8)]
    # the same program and call again is refused; after a withdrawal it may be recorded again
    assert cli(["followup-apply", COMPANY, "--program", PROGRAM, "--call", "2027-0", "--submitted", "2026-06-02"]).exit_code == 2
    from pipeline.store.followup import state

    first = next(a["id"] for a in state(COMPANY)["applications"] if a["call"] == "2027-0")
    ok(["followup-result", COMPANY, "--application", first, "--result", "withdrawn", "--date", "2026-06-03"])
    ok(["followup-apply", COMPANY, "--program", PROGRAM, "--call", "2027-0", "--submitted", "2026-06-04"])
    result = ok(["followup-apply", COMPANY, "--program", PROGRAM, "--call", "2027-0", "--submitted", "2026-06-05",
                 "--correct", "A8"])
    assert "A8 2판" in result.output
