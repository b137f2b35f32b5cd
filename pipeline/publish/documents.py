"""Turn an enriched context into files: render the three .docx in memory, then store and publish.

Rendering happens completely before anything is written; then the revision is stored
atomically and out/<id>/ receives the latest copy (each file replaced atomically).
"""
from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.store.atomic import write_atomic
from pipeline.publish.context import context_json
from pipeline.content import get_content
from pipeline.locations import PROJECT_ROOT, out_root
from pipeline.errors import PipelineError
from pipeline.store.revisions import author_name, fingerprint, store_revision

DOCUMENT_FILES = {"diagnosis": "diagnosis.docx", "matching": "matching.docx", "plan": "plan.docx"}


@dataclass
class Published:
    company_id: str
    out_dir: Path
    files: dict[str, Path]
    revision: int
    revision_dir: Path
    page_counts: dict[str, int] = field(default_factory=dict)


def render_all(context: dict, background_charts: bool = False, chart_worker=None) -> dict[str, bytes]:
    """The three .docx as bytes (in DOCUMENT_FILES order), charts drawn from the documents' specs.

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
            rendered[key] = render_docx_bytes(template_path(key), doc["fields"], doc["markdown"], images)
    return {DOCUMENT_FILES[key]: rendered[key] for key in DOCUMENT_FILES}


def publish(profile, context: dict, author: str | None = None, note: str | None = None,
            resolves: list[str] | None = None, count_pages: bool = False,
            background_charts: bool = False, chart_worker=None) -> Published:
    documents = render_all(context, background_charts=background_charts, chart_worker=chart_worker)
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
    }
    number, folder = store_revision(profile.id, files, meta)
    out_dir = out_root() / profile.id
    latest = {name: data for name, data in files.items() if name != "profile.yaml"}
    try:
        written = _publish_latest(out_dir, latest, number)
    except OSError as exc:
        raise PipelineError(
            f"리비전 r{number:03d}은(는) {folder}에 저장했지만 {out_dir}에 최신본을 쓸 수 없습니다: "
            f"{exc.strerror or exc}. 폴더를 확인하세요 (CARBON_OUT_DIR)"
        ) from None
    return Published(profile.id, out_dir, written, number, folder, pages)


def _publish_latest(out_dir: Path, files: dict[str, bytes], number: int) -> dict[str, Path]:
    """Copy a revision's files to out/<id>/ unless a newer revision got there first.

    A lock per company keeps concurrent runs from mixing files of different revisions; the
    `.revision` marker says which revision the folder holds.
    """
    import fcntl

    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        marker = out_dir / ".revision"
        current = int(marker.read_text() or 0) if marker.is_file() else 0
        paths = {name: out_dir / name for name in files}
        if number < current:
            return paths
        _clean_stale_parts(out_dir)
        for name, data in files.items():
            write_atomic(paths[name], data)
        write_atomic(marker, str(number).encode())
        return paths


def _clean_stale_parts(folder: Path) -> None:
    """Temporary files left by a run that was killed while writing (older than an hour)."""
    now = time.time()
    for path in folder.glob(".*.part"):
        try:
            if now - path.stat().st_mtime > 3600:
                path.unlink()
        except FileNotFoundError:
            pass


def page_counts_of(documents: dict[str, bytes]) -> dict[str, int]:
    """Pages of each rendered document through LibreOffice, or {} when LibreOffice is absent."""
    from pipeline.render.pdf import convert_to_pdf, count_pages, libreoffice_path

    if not libreoffice_path():
        return {}
    with tempfile.TemporaryDirectory(prefix="carbon-pages-") as tmp:
        paths = []
        for name, data in documents.items():
            path = Path(tmp) / name
            path.write_bytes(data)
            paths.append(path)
        pdfs = convert_to_pdf(paths, Path(tmp) / "pdf")
        return {pdf.stem: count_pages(pdf) for pdf in pdfs}
