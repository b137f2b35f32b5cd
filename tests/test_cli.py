"""The consultant's commands end to end: validate, context, plan (documents opened and read)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from docx_helpers import docx_all_text, docx_part_xml, require_libreoffice
from pipeline.commands import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def workspace(tmp_path, monkeypatch):
    """Isolated companies/, out/ and revisions/ for one test."""
    companies = tmp_path / "companies"
    companies.mkdir()
    for name in ("jinju-bolt.yaml", "jinju-aero.yaml"):
        (companies / name).write_bytes((ROOT / "companies" / name).read_bytes())
    monkeypatch.setenv("CARBON_COMPANIES_DIR", str(companies))
    monkeypatch.setenv("CARBON_OUT_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("CARBON_REVISIONS_DIR", str(tmp_path / "revisions"))
    return tmp_path


def run(*args):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result


def test_validate_all_sample_profiles():
    result = run("validate")
    assert result.exit_code == 0, result.output
    assert "정상: jinju-bolt" in result.output


def test_validate_reports_every_problem_with_file_line_field(workspace):
    bad = workspace / "companies" / "bad-co.yaml"
    text = (workspace / "companies" / "jinju-bolt.yaml").read_text(encoding="utf-8")
    text = text.replace("size_class: 중소", "size_class: 대기업", 1).replace("employees: 62", "employees: 예순둘", 1)
    bad.write_text(text, encoding="utf-8")
    result = run("validate", "bad-co")
    assert result.exit_code == 2
    lines = text.splitlines()
    size_line = next(i for i, l in enumerate(lines, 1) if "size_class: 대기업" in l)
    assert f"bad-co.yaml:{size_line} [company.size_class]" in result.output
    assert "중소, 중견" in result.output
    assert "[company.employees]" in result.output and "정수" in result.output
    assert "Traceback" not in result.output
    assert not (workspace / "out").exists()


def test_unknown_company_and_unsafe_id(workspace):
    assert run("plan", "no-such-co").exit_code == 2
    result = run("plan", "../etc/passwd")
    assert result.exit_code == 2 and "쓸 수 없습니다" in result.output


def test_context_json_is_utf8_and_complete(workspace):
    result = run("context", "jinju-bolt")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert {"company", "diagnosis", "matches", "strategy"} <= set(data)
    assert data["company"]["company"]["name"] in result.output  # Korean written as is, not \u-escaped


def test_plan_writes_three_documents_and_a_revision(workspace):
    result = run("plan", "jinju-bolt", "--no-page-count", "--author", "테스트 컨설턴트", "--note", "1차 초안")
    assert result.exit_code == 0, result.output
    out = workspace / "out" / "jinju-bolt"
    name = yaml.safe_load((workspace / "companies" / "jinju-bolt.yaml").read_text(encoding="utf-8"))["company"]["name"]
    for doc in ("diagnosis.docx", "matching.docx", "plan.docx"):
        text = docx_all_text(out / doc)
        assert name in text
        assert "{{" not in text and "{%" not in text
        from pipeline.render import FONT_NAME

        assert f'w:eastAsia="{FONT_NAME}"' in docx_part_xml(out / doc, "word/styles.xml")
    assert json.loads((out / "context.json").read_text(encoding="utf-8"))["strategy"]["program_id"]
    # the diagnosis carries its charts as pictures with Korean captions
    import docx

    diagnosis = docx.Document(str(out / "diagnosis.docx"))
    assert len(diagnosis.inline_shapes) >= 4
    captions = [p.text for p in diagnosis.paragraphs if p.style.name == "Caption"]
    assert any("Scope" in c for c in captions) and any("월별" in c for c in captions)
    assert len(docx.Document(str(out / "plan.docx")).inline_shapes) >= 1
    revision = workspace / "revisions" / "jinju-bolt" / "r001"
    meta = json.loads((revision / "revision.json").read_text(encoding="utf-8"))
    assert meta["author"] == "테스트 컨설턴트" and meta["note"] == "1차 초안" and meta["fingerprint"]
    assert (revision / "profile.yaml").read_bytes() == (workspace / "companies" / "jinju-bolt.yaml").read_bytes()
    assert "확인 필요" in result.output
    assert run("plan", "jinju-bolt", "--no-page-count").exit_code == 0
    assert (workspace / "revisions" / "jinju-bolt" / "r002").is_dir()


def test_company_name_with_xml_specials_renders_verbatim(workspace):
    path = workspace / "companies" / "jinju-bolt.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["company"]["name"] = "(주)진주 & <정밀> *별표* |파이프|"
    (workspace / "companies" / "special-co.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = run("plan", "special-co", "--no-page-count")
    assert result.exit_code == 0, result.output
    for doc in ("diagnosis.docx", "matching.docx", "plan.docx"):
        assert "(주)진주 & <정밀> *별표* |파이프|" in docx_all_text(workspace / "out" / "special-co" / doc)


def test_help_has_no_traceback_and_lists_commands():
    proc = subprocess.run([sys.executable, "-m", "pipeline", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0
    for command in ("plan", "validate", "context", "pdf", "all", "select", "history"):
        assert command in proc.stdout


@pytest.mark.slow
def test_plan_documents_convert_to_pdf_with_page_numbers(workspace):
    require_libreoffice()
    result = run("plan", "jinju-aero")
    assert result.exit_code == 0, result.output
    assert "쪽수 (LibreOffice)" in result.output
    pdf_result = run("pdf", "jinju-aero")
    assert pdf_result.exit_code == 0, pdf_result.output
    from pypdf import PdfReader

    for name in ("diagnosis", "matching", "plan"):
        reader = PdfReader(str(workspace / "out" / "jinju-aero" / f"{name}.pdf"))
        assert len(reader.pages) >= 2
        pages = len(reader.pages)
        assert f"- {pages} / {pages} -" in reader.pages[-1].extract_text()   # footer: PAGE / NUMPAGES
        assert f"- 2 / {pages} -" in reader.pages[1].extract_text()


def test_bad_overrides_are_reported_before_any_work(workspace):
    path = workspace / "companies" / "jinju-bolt.yaml"
    text = path.read_text(encoding="utf-8") + (
        "\noverrides:\n  kpi_targets: {ghg_reduction: 많이, nope: 3}\n"
        "  investment_krw_million: {inverter_compressor: {low: 90, high: 80}}\n  program: no-such\n"
    )
    (workspace / "companies" / "over-co.yaml").write_text(text, encoding="utf-8")
    result = run("plan", "over-co", "--no-page-count")
    assert result.exit_code == 2
    assert "[overrides.kpi_targets.ghg_reduction] 숫자" in result.output
    assert "[overrides.program]" in result.output
    assert "Traceback" not in result.output and not (workspace / "revisions").exists()


def test_quotes_in_overrides_feed_payback_and_budget(workspace):
    path = workspace / "companies" / "jinju-bolt.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    from pipeline.publish.context import build_context

    plain = build_context("jinju-bolt", with_documents=False)[1]
    chosen = [m["id"] for m in plain["strategy"]["measures"]]
    data["overrides"] = {"investment_krw_million": {mid: {"low": 100, "high": 150} for mid in chosen}}
    (workspace / "companies" / "quote-co.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    ctx = build_context("quote-co", with_documents=False)[1]
    budget = ctx["strategy"]["budget"]
    if ctx["strategy"]["program_type"] == "설비":
        assert budget["total_krw_million"] == {"low": 100.0 * len(chosen), "high": 150.0 * len(chosen)}
        assert budget["gov_krw_million"]["low"] + budget["company_krw_million"]["low"] == pytest.approx(100.0 * len(chosen))
    priced = [m for m in ctx["diagnosis"]["measures"] if m["id"] in chosen and m["saving_krw_million"]]
    assert priced and all(m["payback_years"] for m in priced)
