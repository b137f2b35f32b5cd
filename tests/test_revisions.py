"""The revision loop: concurrent plans, feedback → override → plan → diff, final, history, status.

Every run writes to tmp_path (CARBON_OUT_DIR, CARBON_REVISIONS_DIR, CARBON_COMPANIES_DIR) and uses
--no-page-count, so no LibreOffice is needed and the checkout's revisions/ and out/ stay untouched.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_feedback import make_returned_draft, pipeline_env, run_cli  # noqa: E402

COMPANY = "jinju-mold"
REVISION_FILES = {"diagnosis.docx", "matching.docx", "plan.docx", "context.json", "profile.yaml", "revision.json"}


@pytest.fixture()
def env(tmp_path) -> dict:
    companies = tmp_path / "companies"
    companies.mkdir()
    shutil.copy(ROOT / "companies" / f"{COMPANY}.yaml", companies / f"{COMPANY}.yaml")
    return pipeline_env(tmp_path, companies)


def store(env: dict) -> Path:
    return Path(env["CARBON_REVISIONS_DIR"]) / COMPANY


def plan(env: dict, *extra: str) -> subprocess.CompletedProcess:
    return run_cli(["plan", COMPANY, "--no-page-count", *extra], env)


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


@pytest.mark.hardening
def test_concurrent_plans_get_distinct_revisions(env):
    runs = 4
    procs = [subprocess.Popen([sys.executable, "-m", "pipeline", "plan", COMPANY, "--no-page-count", "--note", f"run {i}"],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(runs)]
    outputs = [p.communicate(timeout=300) for p in procs]
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, out + err
    folder = store(env)
    names = sorted(p.name for p in folder.iterdir() if p.name.startswith("r"))
    assert names == [f"r{n:03d}" for n in range(1, runs + 1)]
    assert not list(folder.glob(".tmp-*"))
    notes = set()
    for name in names:
        revision = folder / name
        assert {p.name for p in revision.iterdir()} == REVISION_FILES
        meta = json.loads((revision / "revision.json").read_text(encoding="utf-8"))
        assert meta["revision"] == int(name[1:]) and meta["company_id"] == COMPANY
        notes.add(meta["note"])
        json.loads((revision / "context.json").read_text(encoding="utf-8"))
        for doc in ("diagnosis.docx", "matching.docx", "plan.docx"):
            with zipfile.ZipFile(revision / doc) as archive:
                assert archive.testzip() is None
    assert notes == {f"run {i}" for i in range(runs)}  # each run stored its own revision


def _plan_heading(plan_docx: Path) -> str:
    """A Heading 1 of the rendered plan whose text is plain (so it is also the Markdown heading)."""
    import re

    import docx

    headings = [p.text.strip() for p in docx.Document(str(plan_docx)).paragraphs
                if p.style.name == "Heading 1" and p.text.strip() and not re.search(r"[\\*_\[\]`#{}]", p.text)]
    assert headings, "plan.docx has no Heading 1"
    return headings[-1]


def test_round_trip_feedback_override_plan_diff(env, tmp_path):
    ok(plan(env, "--note", "초안"))
    r001 = store(env) / "r001"

    # the company returns the draft with a comment and tracked changes
    returned = tmp_path / "회신_사업계획서.docx"
    make_returned_draft(r001 / "plan.docx", returned)
    out = ok(run_cli(["feedback", COMPANY, str(returned)], env))
    assert "r001-c1" in out and "r001-i1" in out and "r001-d1" in out

    # the consultant answers with overrides in the profile (a copy in tmp_path) ...
    heading = _plan_heading(r001 / "plan.docx")
    context = json.loads((r001 / "context.json").read_text(encoding="utf-8"))
    kpi_id = context["strategy"]["kpis"][0]["id"]
    profile = Path(env["CARBON_COMPANIES_DIR"]) / f"{COMPANY}.yaml"
    text = profile.read_text(encoding="utf-8")
    assert "\noverrides:" not in text
    added = "컨설턴트 보완: 회사 의견에 따라 1단계 목표만 반영함"
    profile.write_text(text.rstrip() + "\n\noverrides:\n  sections:\n    plan:\n      "
                       + json.dumps(heading, ensure_ascii=False) + ": {mode: append, text: "
                       + json.dumps(added, ensure_ascii=False) + "}\n  kpi_targets:\n    " + kpi_id + ": 12345\n",
                       encoding="utf-8")

    # ... marks the items and regenerates
    ok(run_cli(["feedback-resolve", COMPANY, "r001-c1", "r001-i1", "--status", "resolved", "--note", "overrides"], env))
    ok(run_cli(["feedback-resolve", COMPANY, "r001-d1", "--status", "wont-fix"], env))
    ok(plan(env, "--note", "피드백 반영"))
    meta = json.loads((store(env) / "r002" / "revision.json").read_text(encoding="utf-8"))
    assert meta["resolves_feedback"] == ["r001-c1", "r001-i1"]
    assert meta["note"] == "피드백 반영" and meta["author"] == "테스트 컨설턴트"
    assert (store(env) / "r001" / "plan.docx").read_bytes() == (r001 / "plan.docx").read_bytes()

    # a further run does not claim the same items again
    ok(plan(env, "--note", "재생성"))
    assert json.loads((store(env) / "r003" / "revision.json").read_text(encoding="utf-8"))["resolves_feedback"] == []

    # diff shows the change: redline with tracked changes, summary names the section and the KPI
    out = ok(run_cli(["diff", COMPANY, "1", "2"], env))
    redline = Path(env["CARBON_OUT_DIR"]) / COMPANY / "diff-r001-r002.docx"
    assert redline.is_file()
    assert heading in out
    assert f"strategy.kpis[{kpi_id}].target" in out and "12,345" in out
    xml = zipfile.ZipFile(redline).read("word/document.xml").decode("utf-8")
    assert "<w:ins " in xml
    assert "컨설턴트 보완" in xml

    # the python-docx fallback gives a readable redline too
    fallback = tmp_path / "fallback.docx"
    out = ok(run_cli(["diff", COMPANY, "1", "2", "--engine", "docx", "--out", str(fallback)], env))
    assert "python-docx" in out
    xml = zipfile.ZipFile(fallback).read("word/document.xml").decode("utf-8")
    assert "<w:ins " in xml and "컨설턴트 보완" in xml
    import docx

    docx.Document(str(fallback))

    # history: open feedback per revision and what each resolved
    out = ok(run_cli(["history", COMPANY], env))
    lines = [line for line in out.splitlines() if line.startswith("r00")]
    assert len(lines) == 3 and "open 피드백 0" in lines[0] and "해결 2건" in lines[1]


def test_final_blocks_plan_without_force(env):
    ok(plan(env))
    out = ok(run_cli(["final", COMPANY, "1", "--note", "제출"], env))
    assert "r001" in out
    final = json.loads((store(env) / "final.json").read_text(encoding="utf-8"))
    assert final["revision"] == 1 and final["marked_by"] == "테스트 컨설턴트"

    blocked = plan(env)
    assert blocked.returncode == 2 and "Traceback" not in blocked.stderr
    assert "최종본" in blocked.stderr and "--force" in blocked.stderr
    assert not (store(env) / "r002").exists()

    again = run_cli(["final", COMPANY, "1"], env)
    assert again.returncode == 2 and "--force" in again.stderr

    ok(plan(env, "--force", "--note", "제출 후 수정"))
    assert (store(env) / "r002").is_dir()
    assert json.loads((store(env) / "final.json").read_text(encoding="utf-8"))["revision"] == 1

    ok(run_cli(["final", COMPANY, "2", "--force"], env))
    assert json.loads((store(env) / "final.json").read_text(encoding="utf-8"))["revision"] == 2
    log = (store(env) / "final.log.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["revision"] for line in log] == [1, 2]
    out = ok(run_cli(["history", COMPANY], env))
    assert "r002 ★최종" in out

    unknown = run_cli(["final", COMPANY, "9", "--force"], env)
    assert unknown.returncode == 2 and "r009" in unknown.stderr


def test_status_table_and_html(env, tmp_path):
    companies = Path(env["CARBON_COMPANIES_DIR"])
    (companies / "evil-co.yaml").write_text(
        'company:\n  name: "<script>alert(1)</script> & 주식회사"\n', encoding="utf-8")
    ok(plan(env))
    returned = tmp_path / "returned.docx"
    make_returned_draft(store(env) / "r001" / "plan.docx", returned)
    ok(run_cli(["feedback", COMPANY, str(returned)], env))
    page = tmp_path / "status" / "index.html"
    out = ok(run_cli(["status", "--html", str(page)], env))
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith(("evil-co", COMPANY))}
    assert "profile" in rows["evil-co"]
    assert "feedback (open 3)" in rows[COMPANY]
    html_text = page.read_text(encoding="utf-8")
    assert "<script>alert" not in html_text and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; 주식회사" in html_text
    assert "feedback (open 3)" in html_text and "<script" not in html_text.lower().replace("&lt;script", "")

    ok(run_cli(["final", COMPANY, "1"], env))
    out = ok(run_cli(["status"], env))
    assert "final r001" in out


def test_number_changes_cover_the_listed_paths():
    from pipeline.review.redline import number_changes

    def ctx(total, toe, target, program, first):
        return {"diagnosis": {"emissions": {"total_tco2e": total, "scope1": [{"fuel": "lng", "tco2e": total / 2}]},
                              "energy": {"total_toe": toe}},
                "strategy": {"program_id": program, "kpis": [{"id": "ghg_reduction", "target": target, "baseline": 0.0}]},
                "matches": [{"program_id": first, "score": 90}, {"program_id": "b", "score": 80}]}

    changes = {c["path"]: (c["old"], c["new"]) for c in number_changes(ctx(100.0, 5.0, 10.0, "p1", "a"),
                                                                       ctx(120.0, 5.0, 12.0, "p2", "b"))}
    assert changes["diagnosis.emissions.total_tco2e"] == (100.0, 120.0)
    assert changes["diagnosis.emissions.scope1[lng].tco2e"] == (50.0, 60.0)
    assert "diagnosis.energy.total_toe" not in changes
    assert changes["strategy.kpis[ghg_reduction].target"] == (10.0, 12.0)
    assert changes["strategy.program_id"] == ("p1", "p2")
    assert changes["matches[1].program_id"] == ("a", "b")
    assert number_changes(ctx(1.0, 1.0, 1.0, "p", "a"), ctx(1.0, 1.0, 1.0, "p", "a")) == []


def test_redline_falls_back_to_python_docx(monkeypatch):
    import io

    import docx
    import python_redlines

    from pipeline.review.redline import make_redline

    def document(texts):
        d = docx.Document()
        for text in texts:
            d.add_paragraph(text)
        buffer = io.BytesIO()
        d.save(buffer)
        return buffer.getvalue()

    class Broken:
        def __init__(self, *a, **k):
            raise python_redlines.EngineNotInstalledError("no binary for this platform")

    monkeypatch.setattr(python_redlines, "DocxodusEngine", Broken)
    old, new = document(["유지되는 문단", "삭제될 문단"]), document(["유지되는 문단", "새 문단"])
    result = make_redline(old, new, "테스트")
    assert result.engine == "python-docx (fallback)" and "no binary" in result.fallback_reason
    xml = zipfile.ZipFile(io.BytesIO(result.data)).read("word/document.xml").decode("utf-8")
    assert "<w:delText>삭제될 문단</w:delText>" in xml and "새 문단" in xml and "<w:ins " in xml
    assert xml.count("유지되는 문단") == 1
