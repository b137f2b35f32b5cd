"""`program-report`: the center's program report for the city (사업 결과보고서), out/program-report-<year>.docx.

The selection part is recomputed by stage 0 in memory; each company's figures come from its stored
revision (final, else latest); see pipeline/publish/program_report.py. Errors are PipelineErrors (exit 2).
"""
from __future__ import annotations

import click


@click.command("program-report")
@click.option("--year", default=None, help="사업 연도(평가표 scoring-<연도>.yaml; 기본: 최신 연도)")
def program_report(year: str | None) -> None:
    """센터의 사업 결과보고서(out/program-report-<연도>.docx): 선정 결과와 참여 기업의 저장된 수치."""
    from pipeline.publish.program_report import check_year, write_program_report
    from pipeline.selection import evaluate

    call_year = check_year(year)
    path, summary = write_program_report(evaluate(table=call_year), call_year)
    click.echo(f"{summary['year']}년 사업 결과보고서: 신청 {summary['applicants']}개사, 선정 {summary['selected']}개사, "
               f"리비전이 있는 기업 {len(summary['companies'])}개사 → {path}")
    if summary["unreadable"]:
        click.echo(f"주의: 리비전을 읽지 못한 기업: {', '.join(summary['unreadable'])}")
