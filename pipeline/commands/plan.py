"""`plan` (one company → three Word drafts, stored as a revision) and `pdf` (export them).

`_plan_one` is the one code path of a plan; `all` (commands/batch.py) runs it per company.
"""
from __future__ import annotations

import click

from pipeline.errors import PipelineError


def _echo_missing(items: list[dict]) -> None:
    if not items:
        click.echo("확인 필요 항목: 없음")
        return
    click.echo(f"확인 필요 항목 {len(items)}건 (문서에 [확인 필요: …]로 표시됨):")
    for n, item in enumerate(items, 1):   # n = the item's number in the documents' 요청 자료 목록
        click.echo(f"  {n}. {item['need']}  ← {item['field']} ({item['used_for']})")


@click.command()
@click.argument("company")
@click.option("--program", "program_id", default=None, help="매칭 1순위 대신 이 지원사업 id로 사업계획서 작성")
@click.option("--author", default=None, help="리비전 작성자 (기본: $CARBON_AUTHOR 또는 사용자 이름)")
@click.option("--note", default=None, help="리비전 메모")
@click.option("--force", is_flag=True, help="최종본으로 지정된 기업도 새 리비전을 만듦")
@click.option("--page-count/--no-page-count", default=True, help="LibreOffice가 있으면 쪽수를 셈 (기본: 셈)")
def plan(company: str, program_id, author, note, force: bool, page_count: bool) -> None:
    """진단 → 매칭 → 전략 → 초안: 세 Word 문서를 만들고 리비전으로 저장."""
    # One company at a time here: the other CPU can draw the charts meanwhile. (`all` keeps
    # every CPU busy with companies, so it draws in-process.)
    _plan_one(company, program_id, author, note, force, page_count, background_charts=True)


def _plan_one(company, program_id=None, author=None, note=None, force=False, page_count=True, quiet=False,
              background_charts=False):
    from pipeline.publish.context import build_context
    from pipeline.store.feedback import guard_final, items_resolved_by
    from pipeline.profile import resolve_profile_path
    from pipeline.publish.documents import publish
    from pipeline.render.pdf import libreoffice_path

    company_id, profile_path = resolve_profile_path(company)
    guard_final(company_id, force)  # before any work: a final version is final
    worker = None
    if background_charts and _charts_likely_drawn(company_id, profile_path):
        # Start the chart worker now, so matplotlib's import overlaps loading and the stages.
        from pipeline.render.charts import ChartWorker

        worker = ChartWorker.start()
    try:
        profile, ctx = build_context(company, program_id=program_id)
        count = page_count and libreoffice_path() is not None
        result = publish(profile, ctx, author=author, note=note, resolves=items_resolved_by(profile.id, ctx),
                         count_pages=count, background_charts=background_charts, chart_worker=worker, force=force)
    finally:
        if worker is not None:
            worker.stop()
    if quiet:
        return result, ctx
    click.echo(f"{result.company_id}: 리비전 r{result.revision:03d} 저장 → {result.revision_dir}")
    for path in result.files.values():
        click.echo(f"  {path}")
    if result.page_counts:
        click.echo("쪽수 (LibreOffice): " + ", ".join(f"{k} {v}쪽" for k, v in result.page_counts.items()))
    elif page_count:
        click.echo("쪽수: LibreOffice가 없어 세지 않음")
    _echo_missing(ctx.get("missing", []))
    for warning in ctx.get("meta", {}).get("warnings") or []:
        click.echo(f"확인 권고 (선별 기준, 문서에는 쓰지 않음): {warning}")
    return result, ctx


def _charts_likely_drawn(company_id: str, profile_path) -> bool:
    """A first plan, or one after the profile changed, most likely draws charts; a re-plan of
    the same profile finds them in the chart cache (and then imports no matplotlib at all)."""
    from pipeline.store.revisions import latest_profile

    stored = latest_profile(company_id)
    if stored is None:
        return True
    try:  # sizes first: the profile is not validated yet and may be huge (load_profile refuses it)
        return profile_path.stat().st_size != len(stored) or profile_path.read_bytes() != stored
    except OSError:
        return False  # load_profile reports an unreadable profile


@click.command()
@click.argument("company")
def pdf(company: str) -> None:
    """out/<id>/의 세 문서를 PDF로 내보냄 (LibreOffice 필요)."""
    import tempfile
    from pathlib import Path

    from pipeline.profile import resolve_profile_path
    from pipeline.locations import out_root
    from pipeline.publish.documents import DOCUMENT_FILES
    from pipeline.render.pdf import convert_to_pdf, count_pages
    from pipeline.store.outputs import write_outputs

    company_id, _ = resolve_profile_path(company)
    folder = out_root() / company_id
    docs = [folder / name for name in DOCUMENT_FILES.values()]
    absent = [str(p) for p in docs if not p.is_file()]
    if absent:
        raise PipelineError(f"먼저 `make plan COMPANY={company_id}`로 문서를 만드세요. 없는 파일: {', '.join(absent)}")
    with tempfile.TemporaryDirectory(prefix="carbon-pdf-") as tmp:  # converted privately, then placed together
        pdfs = convert_to_pdf(docs, Path(tmp))
        pages = {pdf.name: count_pages(pdf) for pdf in pdfs}
        written = write_outputs({folder / pdf.name: pdf.read_bytes() for pdf in pdfs})
    for pdf_path in written:
        click.echo(f"{pdf_path} ({pages[pdf_path.name]}쪽)")
