"""The per-company final report (`report ID`, issue 19 item 1): out/<id>/report.docx from the stored
revision it names — the final one, else the latest — never from the current profile.

Plans run in a subprocess into a temporary store, out/ and companies/ folder (a copy of the
sample profile, so the test can change it); `report` runs in-process through CliRunner.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from docx_helpers import ROOT, docx_all_text, isolated_store

COMPANY = "jinju-bolt"  # two CBAM products with a direct SEE in the stored context
NEW_NAME = "(주)이름바뀐볼트 (가상)"


@pytest.fixture()
def env(tmp_path, monkeypatch) -> dict:
    return isolated_store(tmp_path, monkeypatch, (COMPANY,))


def run_plan(env: dict) -> None:
    result = subprocess.run([sys.executable, "-m", "pipeline", "plan", COMPANY, "--no-page-count"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr


def cli(args: list[str]):
    from pipeline.commands import main

    return CliRunner().invoke(main, args)


def stored(env: dict, number: int) -> tuple[dict, dict]:
    folder = Path(env["CARBON_REVISIONS_DIR"]) / COMPANY / f"r{number:03d}"
    context = json.loads((folder / "context.json").read_text(encoding="utf-8"))
    meta = json.loads((folder / "revision.json").read_text(encoding="utf-8"))
    return context, meta


def see_figures(context: dict) -> list[str]:
    return [f"{p['see']['direct_per_t']:,.3f}" for p in context["diagnosis"]["cbam"]["products"] if p.get("see")]


def change_profile(env: dict) -> None:
    path = Path(env["CARBON_COMPANIES_DIR"]) / f"{COMPANY}.yaml"
    text = path.read_text(encoding="utf-8")
    assert "annual_output: {amount: 3200, unit: t}" in text
    text = text.replace("annual_output: {amount: 3200, unit: t}", "annual_output: {amount: 6400, unit: t}")
    text = text.replace("name: (주)상평하이텐볼트 (가상)", f"name: {NEW_NAME}", 1)
    path.write_text(text, encoding="utf-8")


def test_report_uses_the_stored_revision(env):
    run_plan(env)
    context, meta = stored(env, 1)
    figures = see_figures(context)
    assert len(figures) == 2

    # a returned comment, resolved with a note: the report says what was asked and how it was handled
    from pipeline.store.feedback import set_status, store_feedback

    draft = SimpleNamespace(name="회신.docx", sha256="0" * 64, size=1, document="plan", changes=[],
                            comments=[{"kind": "comment", "author": "기업 담당자", "text": "열처리로 교체 시기를 8월로 바꿔 주세요",
                                       "anchor": "일정"},
                                      {"kind": "comment", "author": "기업 담당자", "text": "LED 수량 확인 요청", "anchor": "LED"}])
    _, items = store_feedback(COMPANY, 1, draft)
    set_status(COMPANY, [items[0]["id"]], "resolved", note="일정표를 8월 휴가 기간으로 수정")

    result = cli(["report", COMPANY])
    assert result.exit_code == 0, result.output
    report = Path(env["CARBON_OUT_DIR"]) / COMPANY / "report.docx"
    text = docx_all_text(report)
    assert "r001" in text and "최신 초안" in text
    for figure in figures:
        assert figure in text
    assert meta["fingerprint"] in text
    assert f"{context['diagnosis']['emissions']['scope1_tco2e']:,.1f}" in text
    assert context["strategy"]["program_name"] in text
    assert "열처리로 교체 시기를 8월로 바꿔 주세요" in text and "일정표를 8월 휴가 기간으로 수정" in text
    assert "미처리 피드백: 1건 (전체 2건)" in text
    assert context["company"]["company"]["name"] in text

    # the profile changes afterwards: the report still shows the stored figures
    change_profile(env)
    assert cli(["report", COMPANY]).exit_code == 0
    text = docx_all_text(report)
    assert NEW_NAME not in text and context["company"]["company"]["name"] in text
    for figure in figures:
        assert figure in text

    # mark r001 final, plan r002 from the changed profile (--force): report.docx is carried over in
    # out/<id>/, and the report keeps describing the final r001
    assert cli(["final", COMPANY, "1"]).exit_code == 0
    result = subprocess.run([sys.executable, "-m", "pipeline", "plan", COMPANY, "--no-page-count", "--force"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    assert report.is_file()  # carried over by the plan's folder swap
    new_context, _ = stored(env, 2)
    new_figures = see_figures(new_context)
    assert new_figures != figures
    assert cli(["report", COMPANY]).exit_code == 0
    text = docx_all_text(report)
    assert "r001" in text and "최종본" in text and "r002" not in text  # history stops at the final one
    for figure in figures:
        assert figure in text
    assert NEW_NAME not in text


def test_report_latest_when_no_final(env):
    run_plan(env)
    change_profile(env)
    run_plan(env)
    new_context, _ = stored(env, 2)
    assert cli(["report", COMPANY]).exit_code == 0
    text = docx_all_text(Path(env["CARBON_OUT_DIR"]) / COMPANY / "report.docx")
    assert "r002" in text and NEW_NAME in text
    for figure in see_figures(new_context):
        assert figure in text


def test_report_errors(env):
    unknown = cli(["report", "no-such-company"])
    assert unknown.exit_code == 2 and "오류" in unknown.output
    no_revision = cli(["report", COMPANY])
    assert no_revision.exit_code == 2 and "리비전이 없습니다" in no_revision.output
    assert not (Path(env["CARBON_OUT_DIR"]) / COMPANY / "report.docx").exists()


def test_report_refuses_a_damaged_stored_context(env):
    run_plan(env)
    (Path(env["CARBON_REVISIONS_DIR"]) / COMPANY / "r001" / "context.json").write_text("{", encoding="utf-8")
    result = cli(["report", COMPANY])
    assert result.exit_code == 2 and "context.json" in result.output
    assert not (Path(env["CARBON_OUT_DIR"]) / COMPANY / "report.docx").exists()
