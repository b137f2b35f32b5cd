"""`preview` (issue 16 item 7): PNG pages of the documents, LibreOffice → PDF → pdftoppm."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from docx_helpers import isolated_store, require_libreoffice, require_tool

from pipeline.commands import main
from pipeline.commands import preview as preview_module

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture()
def workspace(tmp_path, monkeypatch):
    isolated_store(tmp_path, monkeypatch)
    return tmp_path


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def require_pdftoppm() -> str:
    return require_tool(preview_module.pdftoppm_path(), "pdftoppm (poppler-utils) is not installed", "poppler-utils")


def test_preview_needs_the_documents_first(workspace):
    result = run("preview", "jinju-bolt")
    assert result.exit_code == 2
    assert "make plan COMPANY=jinju-bolt" in result.output and "diagnosis.docx" in result.output


def test_preview_without_pdftoppm_names_the_package(workspace, monkeypatch):
    folder = workspace / "out" / "jinju-bolt"
    folder.mkdir(parents=True)
    for name in ("diagnosis.docx", "matching.docx", "plan.docx"):
        (folder / name).write_bytes(b"not converted")
    monkeypatch.setattr(preview_module, "pdftoppm_path", lambda: None)
    monkeypatch.setattr("pipeline.render.pdf.convert_to_pdf",
                        lambda *a, **k: pytest.fail("converted although pdftoppm is missing"))
    result = run("preview", "jinju-bolt")
    assert result.exit_code == 2
    assert "poppler-utils" in result.output and "pdftoppm" in result.output and "Traceback" not in result.output
    assert not (folder / "preview").exists()


def test_preview_refuses_an_unknown_company(workspace):
    assert run("preview", "no-such-co").exit_code == 2


@pytest.mark.slow
def test_preview_writes_one_png_per_page_and_replaces_old_pages(workspace):
    require_libreoffice()
    require_pdftoppm()
    from pipeline.render.pdf import count_pages

    assert run("plan", "jinju-bolt", "--no-page-count").exit_code == 0
    folder = workspace / "out" / "jinju-bolt" / "preview"
    folder.mkdir(parents=True)
    (folder / "matching-99.png").write_bytes(b"a page of an earlier, longer version")
    (folder / "plan-1.png").write_bytes(b"a page of another document: kept")

    result = run("preview", "jinju-bolt", "--doc", "matching", "--dpi", "50")
    assert result.exit_code == 0, result.output
    printed = [Path(line) for line in result.output.splitlines()]
    pages = count_pages(folder / "matching.pdf")
    assert len(printed) == pages >= 2
    assert printed == sorted(folder.glob("matching-*.png"))   # the old page 99 is gone
    assert [p.name for p in printed][:2] == [f"matching-{1:0{len(str(pages))}d}.png", f"matching-{2:0{len(str(pages))}d}.png"]
    for png in printed:
        data = png.read_bytes()
        assert data[:8] == PNG_SIGNATURE
        width = int.from_bytes(data[16:20], "big")
        assert 400 <= width <= 420  # A4 (210 mm) at 50 dpi
    assert (folder / "plan-1.png").read_bytes() == b"a page of another document: kept"
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporary folder left
