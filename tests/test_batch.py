"""`python -m pipeline all`: parallel batch, one failure does not stop the others, summary, exit code."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "companies" / "jinju-bolt.yaml"


def _env(tmp_path: Path) -> dict:
    env = dict(os.environ)
    env.update(CARBON_COMPANIES_DIR=str(tmp_path / "companies"), CARBON_OUT_DIR=str(tmp_path / "out"),
               CARBON_REVISIONS_DIR=str(tmp_path / "revisions"), CARBON_AUTHOR="test")
    return env


def test_all_runs_in_parallel_and_reports_the_broken_profile(tmp_path):
    companies = tmp_path / "companies"
    companies.mkdir()
    for name in ("copy-a", "copy-b"):
        shutil.copy(SAMPLE, companies / f"{name}.yaml")
    text = SAMPLE.read_text(encoding="utf-8")
    # base_year must be an integer: a schema error in an otherwise complete profile
    broken = "\n".join("base_year: 이천이십사" if line.startswith("base_year:") else line
                       for line in text.splitlines()) + "\n"
    assert broken != text + "\n" and "base_year: 이천이십사" in broken
    (companies / "copy-broken.yaml").write_text(broken, encoding="utf-8")

    proc = subprocess.run([sys.executable, "-m", "pipeline", "all", "--jobs", "2"], cwd=ROOT,
                          env=_env(tmp_path), capture_output=True, text=True, timeout=300)
    out = proc.stdout
    assert proc.returncode == 2, out + proc.stderr
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.startswith("copy-")}
    assert rows["copy-a"][1] == "완료" and rows["copy-a"][2] == "r001", out
    assert rows["copy-b"][1] == "완료" and rows["copy-b"][2] == "r001", out
    assert rows["copy-broken"][1] == "실패" and rows["copy-broken"][2] == "-", out
    assert "완료 2개, 실패 1개 / 전체 3개" in out
    reason = out.split("실패 사유:", 1)[1]
    assert "copy-broken" in reason and "프로필 오류" in reason and "base_year" in reason, out
    assert "Traceback" not in out + proc.stderr
    for name in ("copy-a", "copy-b"):
        assert (tmp_path / "out" / name / "plan.docx").is_file()
        assert (tmp_path / "revisions" / name / "r001" / "revision.json").is_file()
    assert not (tmp_path / "out" / "copy-broken").exists()


def test_summary_lists_done_companies_with_revision_and_time(tmp_path):
    from pipeline.commands.batch import Outcome, summary_table

    table = summary_table([Outcome("a-co", True, 0.5, revision=3), Outcome("b-co", True, 0.25, revision=1)], 0.8, 2)
    assert "a-co" in table and "r003" in table and "0.50" in table
    assert "완료 2개, 실패 0개 / 전체 2개" in table and "실패 사유" not in table


def test_summary_names_the_failure_reason():
    from pipeline.commands.batch import Outcome, summary_table

    table = summary_table([Outcome("bad-co", False, 0.1, reason="프로필 오류 1건:\n  - x.yaml:3 [base_year] 정수")], 0.2, 1)
    assert "실패 1개" in table and "bad-co: 프로필 오류 1건" in table and "[base_year] 정수" in table


def test_a_worker_never_raises(tmp_path, monkeypatch):
    from pipeline.commands.batch import plan_company

    monkeypatch.setenv("CARBON_COMPANIES_DIR", str(tmp_path))
    outcome = plan_company("no-such-company")
    assert not outcome.ok and "no-such-company" in outcome.reason and outcome.revision is None
