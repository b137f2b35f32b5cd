"""Turn an enriched context into files: render the three .docx in memory, then store and publish.

Rendering happens completely before anything is written; then the revision is stored
atomically (under the store lock, with the final mark checked again right before) and out/<id>/
receives the latest copy: the folder is replaced as a whole (store/outputs.py: built beside it,
swapped in with renames), so it never holds documents of one revision beside the context.json of
another, whatever fails midway. The `.revision` marker (JSON: store, revision, stored_at) says
which revision of which store the folder holds; a newer revision of the same store that got there
first is not replaced. A missing, damaged or foreign marker (revisions/ removed, another
CARBON_REVISIONS_DIR) means the folder is replaced.
"""
from __future__ import annotations

import json
import os
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.publish.context import context_json
from pipeline.content import get_content
from pipeline.locations import PROJECT_ROOT, store_root
from pipeline.errors import PipelineError
from pipeline.store.final import final_guard
from pipeline.store.outputs import MARKER, out_folder, replace_folder
from pipeline.store.revisions import (author_name, fingerprint, read_meta, revision_numbers, revision_path,
                                      store_revision)

DOCUMENT_FILES = {"diagnosis": "diagnosis.docx", "matching": "matching.docx", "plan": "plan.docx"}
# Copies of an older revision's documents (`pdf`, `hwpx`) are not carried into a new out/<id>/.
STALE_DERIVED = {name.replace(".docx", ext) for name in DOCUMENT_FILES.values() for ext in (".pdf", ".hwpx")}


@dataclass
class Published:
    company_id: str
    out_dir: Path
    files: dict[str, Path]
    revision: int
    revision_dir: Path
    page_counts: dict[str, int] = field(default_factory=dict)


def render_all(context: dict, background_charts: bool = False, chart_worker=None,
               identity: dict | None = None) -> dict[str, bytes]:
    """The three .docx as bytes (in DOCUMENT_FILES order), charts drawn from the documents' specs;
    `identity` (company id, revision, draft id) goes into each document's custom properties.

    Documents that need fewer charts are rendered first; with `background_charts` (or a
    `chart_worker` started earlier) the missing charts are drawn meanwhile in a worker process
    (see render.charts.ChartSet).
    """
    from pipeline.render import template_path
    from pipeline.render.charts import ChartSet
    from pipeline.render.docx import render_docx_bytes

    documents = context["documents"]
    order = sorted(DOCUMENT_FILES, key=lambda key: len(documents[key]["charts"]))
    specs = {name: spec for key in order for name, spec in documents[key]["charts"].items()}
    rendered = {}
    with ChartSet(specs, background=background_charts, worker=chart_worker) as charts:
        for key in order:
            doc = documents[key]
            images = {name: charts.png(name) for name in doc["charts"]}
            rendered[key] = render_docx_bytes(template_path(key), doc["fields"], doc["markdown"], images,
                                              dict(identity, document=key) if identity else None)
    return {DOCUMENT_FILES[key]: rendered[key] for key in DOCUMENT_FILES}


def publish(profile, context: dict, author: str | None = None, note: str | None = None,
            resolves: list[str] | None = None, count_pages: bool = False,
            background_charts: bool = False, chart_worker=None, force: bool | None = None) -> Published:
    """Render, store the next revision, publish it to out/<id>/.

    `force`: store even if a final version is marked (checked again under the store lock right
    before storing); None takes what the plan gave `guard_final` when it started."""
    # The number this revision will most likely get; the draft id is what identifies it for sure
    # (a concurrent plan may take the number first: feedback then finds the revision by draft id).
    identity = {"company_id": profile.id, "revision": f"r{(revision_numbers(profile.id) or [0])[-1] + 1:03d}",
                "draft_id": uuid.uuid4().hex}
    documents = render_all(context, background_charts=background_charts, chart_worker=chart_worker, identity=identity)
    pages = page_counts_of(documents) if count_pages else {}
    files = dict(documents)
    files["context.json"] = context_json(context).encode("utf-8")
    files["profile.yaml"] = profile.path.read_bytes()
    content = get_content()
    templates_dir = PROJECT_ROOT / "templates" / "docx"
    meta = {
        "company_id": profile.id,
        "author": author_name(author),
        "note": note or "",
        "documents": sorted(documents),
        "missing": [m["need"] for m in context.get("missing", [])],
        "fingerprint": fingerprint(content.fingerprint_files() + sorted(templates_dir.glob("*.docx")), PROJECT_ROOT),
        "program_id": context["strategy"]["program_id"],
        "resolves_feedback": resolves or [],
        "page_counts": pages,
        "draft_id": identity["draft_id"],
    }
    number, folder = store_revision(profile.id, files, meta, guard=final_guard(profile.id, force))
    latest = {name: data for name, data in files.items() if name != "profile.yaml"}
    try:
        out_dir = _publish_latest(profile.id, latest, number)
    except (OSError, PipelineError) as exc:
        reason = exc.format_message() if isinstance(exc, PipelineError) else (exc.strerror or str(exc))
        raise PipelineError(
            f"리비전 r{number:03d}은(는) {folder}에 저장했지만 out/{profile.id}/에 최신본을 쓸 수 없습니다: "
            f"{reason}. 폴더를 확인하세요 (CARBON_OUT_DIR); out/{profile.id}/은(는) 이전 상태 그대로입니다"
        ) from None
    written = {name: out_dir / name for name in latest}
    return Published(profile.id, out_dir, written, number, folder, pages)


def _publish_latest(company_id: str, files: dict[str, bytes], number: int) -> Path:
    """Replace out/<id>/ by this revision's files unless a newer revision of the same store got there first.

    The folder lock (out/.<id>.lock) keeps concurrent runs apart; the folder is swapped as a whole.
    Files other runs or commands left there (diff-*.docx, a CBAM workbook) are carried over;
    hidden leftovers and PDFs of the previous documents are not."""
    identity = {"company_id": company_id, "revision": number, "store": _store_id(),
                "stored_at": _stored_at(company_id, number)}
    with out_folder(company_id) as out_dir:
        if _newer_is_published(out_dir, company_id, number):
            return out_dir
        marker = json.dumps(identity, ensure_ascii=False).encode("utf-8")
        replace_folder(out_dir, dict(files, **{MARKER: marker}),
                       carry=lambda name: not name.startswith(".") and name not in STALE_DERIVED)
    return out_dir


def _store_id() -> str:
    return os.path.abspath(store_root())


def _stored_at(company_id: str, number: int) -> str | None:
    try:
        return read_meta(company_id, number).get("stored_at")
    except (OSError, ValueError, PipelineError):
        return None


def _newer_is_published(out_dir: Path, company_id: str, number: int) -> bool:
    """Whether out/<id>/ holds a revision of this store newer than `number` that still exists.

    Anything else — no marker, a damaged one, another store's, a revision no longer stored —
    means the folder is stale and is replaced."""
    try:
        text = (out_dir / MARKER).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return False
    try:
        marker = json.loads(text)
    except ValueError:
        return False
    if isinstance(marker, int) and not isinstance(marker, bool):  # the marker of earlier versions: a number
        marker = {"revision": marker, "store": _store_id()}
    if not isinstance(marker, dict):
        return False
    current = marker.get("revision")
    if not isinstance(current, int) or isinstance(current, bool) or current <= number:
        return False
    if marker.get("store") != _store_id() or marker.get("company_id", company_id) != company_id:
        return False
    try:
        revision_path(company_id, current)
    except PipelineError:
        return False  # the store was emptied or replaced since
    return "stored_at" not in marker or marker["stored_at"] == _stored_at(company_id, current)


def page_counts_of(documents: dict[str, bytes]) -> dict[str, int]:
    """Pages of each rendered document through LibreOffice, or {} when LibreOffice is absent.

    Counting pages is optional: when an installed LibreOffice fails (crash, timeout, a broken
    profile, no room for the temporary PDFs), the drafts and the revision are still written and a
    warning on stderr says why the pages were not counted."""
    from pipeline.render.pdf import convert_to_pdf, count_pages, libreoffice_path

    if not libreoffice_path():
        return {}
    try:
        with tempfile.TemporaryDirectory(prefix="carbon-pages-") as tmp:
            paths = []
            for name, data in documents.items():
                path = Path(tmp) / name
                path.write_bytes(data)
                paths.append(path)
            pdfs = convert_to_pdf(paths, Path(tmp) / "pdf")
            return {pdf.stem: count_pages(pdf) for pdf in pdfs}
    except (PipelineError, OSError, ValueError, RuntimeError) as exc:
        import click

        reason = exc.format_message() if isinstance(exc, PipelineError) else f"{type(exc).__name__}: {exc}"
        click.echo(f"경고: LibreOffice로 쪽수를 세지 못했습니다 (문서와 리비전은 그대로 저장합니다): {reason}", err=True)
        return {}
