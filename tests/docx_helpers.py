"""Shared helpers for tests that read Word files and need LibreOffice (a plain module, no fixtures).

    from docx_helpers import docx_all_text, docx_part_xml, require_libreoffice
"""
from __future__ import annotations

import os
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _block_text(container) -> list[str]:
    """Text of paragraphs and (nested) tables of a body, cell, header or footer, in order."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    out: list[str] = []
    for child in container._element.iterchildren():
        if child.tag == f"{{{W_NS}}}p":
            out.append(Paragraph(child, container).text)
        elif child.tag == f"{{{W_NS}}}tbl":
            for row in Table(child, container).rows:
                for cell in row.cells:
                    out.extend(_block_text(cell))
    return out


def docx_all_text(path: Path) -> str:
    """All visible text of a .docx: body (tables included), headers and footers of every section.

    Lines are joined with newlines. Text inside tracked insertions is not read (python-docx limit).
    """
    import docx

    document = docx.Document(str(path))
    parts = _block_text(document._body)
    for section in document.sections:
        for hf in (section.header, section.first_page_header, section.even_page_header,
                   section.footer, section.first_page_footer, section.even_page_footer):
            if not hf.is_linked_to_previous:
                parts.extend(_block_text(hf))
    return "\n".join(parts)


def docx_part_xml(path: Path, member: str) -> str:
    """Raw XML of one part of a .docx, e.g. 'word/styles.xml'."""
    with zipfile.ZipFile(path) as z:
        return z.read(member).decode("utf-8")


def docx_members(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as z:
        return z.namelist()


def require_libreoffice() -> str:
    """Path of soffice; skip the test locally if it is missing, fail in CI (CI=true)."""
    from pipeline.render.pdf import libreoffice_path

    return require_tool(libreoffice_path(), "LibreOffice (soffice) is not installed", "libreoffice-writer-nogui")


def require_tool(found: str | None, message: str, package: str) -> str:
    """A program a test needs: skip locally if it is missing, fail in CI (CI=true)."""
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI must install {package}")
        pytest.skip(message)
    return found


def isolated_store(tmp_path: Path, monkeypatch, companies: tuple[str, ...] | None = ("jinju-bolt",)) -> dict:
    """Point out/ and revisions/ at tmp_path; with `companies`, also copy those sample profiles into
    tmp_path/companies and read profiles there (None: the project's companies/). Returns the
    environment for subprocesses (the same variables, PYTHONPATH set)."""
    values = {"CARBON_OUT_DIR": str(tmp_path / "out"), "CARBON_REVISIONS_DIR": str(tmp_path / "revisions"),
              "CARBON_AUTHOR": "테스트 컨설턴트"}
    if companies is not None:
        folder = tmp_path / "companies"
        folder.mkdir(exist_ok=True)
        for company in companies:
            (folder / f"{company}.yaml").write_bytes((ROOT / "companies" / f"{company}.yaml").read_bytes())
        values["CARBON_COMPANIES_DIR"] = str(folder)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return dict(os.environ, PYTHONPATH=str(ROOT), **values)
