"""`select`: stage 0, scoring the applicants and selecting the participants."""
from __future__ import annotations

import click


@click.command()
@click.option("--slots", type=int, default=None, help="선정 기업 수 (기본: 평가표 설정값)")
@click.option("--table", default=None, help="평가 기준표: 연도(예: 2025) 또는 YAML 경로 (기본: content/selection/의 최신 연도)")
def select(slots: int | None, table: str | None) -> None:
    """신청기업 평가·선정: 평가표(docx)와 CSV를 out/selection/에 씀."""
    from pipeline.selection import run_selection

    run_selection(slots=slots, table=table)
