"""`report`: the per-company final report (기업별 최종보고서), out/<id>/report.docx.

Built from the stored revision it names (the final one, else the latest) and the feedback store;
see pipeline/publish/report.py. Every user-facing error is a PipelineError (exit 2).
"""
from __future__ import annotations

import click


@click.command()
@click.argument("company")
def report(company: str) -> None:
    """기업별 최종보고서(out/<id>/report.docx): 최종본(없으면 최신) 리비전에 저장된 수치로 작성."""
    from pipeline.commands.revisions import _company
    from pipeline.publish.report import write_report

    company_id = _company(company)
    path, source = write_report(company_id)
    state = "최종본" if source["final"] else "최신 초안"
    click.echo(f"{company_id}: {state} r{source['number']:03d} 기준 최종보고서를 {path}에 저장했습니다")
