"""HWPX (한글) copies of the Word documents of a stored revision.

The revision's .docx is read back (docx_source.py) and written with python-hwpx (writer.py), so
the HWPX says exactly what the Word file says; every file is validated before anything is saved.
"""
from __future__ import annotations

from pipeline.render import TEMPLATES

DOCUMENTS = ("plan", "diagnosis", "matching")


def hwpx_name(key: str) -> str:
    """out/<id>/ file name of a document's HWPX copy: plan.hwpx beside plan.docx."""
    return TEMPLATES[key][0].replace(".docx", ".hwpx")


def revision_hwpx(company_id: str, number: int, keys) -> dict[str, bytes]:
    """{file name: HWPX bytes} of documents `keys` of revision `number`, all built (and validated)
    before the caller writes any; RevisionError or ExportError (Korean) otherwise."""
    from pipeline.hwpx.docx_source import read_word
    from pipeline.hwpx.writer import hwpx_bytes
    from pipeline.store.revisions import read_document

    files = {}
    for key in keys:
        docx_name = TEMPLATES[key][0]
        label = f"{company_id} r{number:03d} {docx_name}"
        word = read_word(read_document(company_id, number, docx_name), label)
        files[hwpx_name(key)] = hwpx_bytes(word, label)
    return files
