"""Applicant evaluation and selection (평가 및 선정): `python -m pipeline select [--slots N]`.

    run_selection(slots=None, table=None) -> Selection

* The scoring table is data: `content/selection/scoring-<year>.yaml` (items, weights, the rule of
  every quantitative item, committee, tie-break, slots, source). `table` may be a path or a year;
  default: $CARBON_SELECTION_TABLE, else the newest scoring-<year>.yaml.
* Applications: `applications/<year>/<company-id>.yaml` (folder named by the table; override with
  $CARBON_APPLICATIONS_DIR), one per applicant, beside the company profile `companies/<id>.yaml`
  which supplies size class, exports, GHG inventory and customers. Format: docs/selection.md.
* Quantitative points come from the profile value through the table's rule, only if the evidence
  was submitted; missing evidence scores 0 and is listed. Qualitative points are the committee's
  scores averaged per item (rounded as the table says); totals are sums of the shown values, so
  every number in the 평가표 adds up.
* Everything is computed and rendered in memory first; then out/selection/evaluation.docx and
  evaluation.csv (UTF-8 with BOM) are written together or not at all (store.outputs.write_outputs). Invalid input → PipelineError (exit 2),
  nothing written.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import click

from pipeline.errors import ApplicationError, PendingScoresError, PipelineError
from pipeline.selection.inputs import (
    CSV_NAME,
    DOCX_NAME,
    Application,
    applications_dir,
    find_table,
    load_applications,
    load_table,
    output_dir,
)
from pipeline.selection.report import _echo_ranking, build_csv, build_markdown, pending_message
from pipeline.selection.scoring import ItemResult, Result, rank, score_application


@dataclass
class Selection:
    table: dict
    slots: int
    results: list[Result]
    docx_path: Path
    csv_path: Path

    @property
    def selected(self) -> list[Result]:
        return [r for r in self.results if r.selected]


def evaluate(slots: int | None = None, table: str | int | Path | None = None) -> tuple[dict, int, list[Result]]:
    """Load the table and the applications, score and rank (no output written)."""
    data = load_table(find_table(table))
    slots = data["slots"] if slots is None else slots
    if not isinstance(slots, int) or slots < 1:
        raise PipelineError(f"선정 기업 수(--slots)는 1 이상이어야 합니다 (지금 값: {slots})")
    apps = load_applications(data)
    scored = [score_application(a, data) for a in apps]
    pending = [r for r in scored if r.application.pending]
    if pending:  # a ranking without half the points could pass for the result: none at all
        raise PendingScoresError(pending_message(data, pending, len(scored)))
    results = rank(scored, data, slots)
    return data, slots, results


def run_selection(slots: int | None = None, table: str | int | Path | None = None, echo: bool = True) -> Selection:
    """Rank all applicants, select the top `slots`, write the 평가표 (.docx) and the CSV."""
    from pipeline.store.outputs import write_outputs
    from pipeline.render import template_path
    from pipeline.render.docx import render_docx_bytes

    data, slots, results = evaluate(slots, table)
    eligible = sum(1 for r in results if not r.ineligible)
    today = dt.date.today()
    fields = {
        "doc_title": f"{data['title']}",
        "subtitle": f"정량·정성 평가 결과 및 선정 {min(slots, eligible)}개사 (신청 {len(results)}개사)",
        "prepared_by": data.get("prepared_by") or f"{data['source'].get('publisher', '')} 평가위원회",
        "date": f"{today.year}. {today.month}. {today.day}.",
    }
    docx_bytes = render_docx_bytes(template_path("evaluation"), fields, build_markdown(data, results, slots), {})
    csv_bytes = build_csv(data, results)
    folder = output_dir()
    # Together or not at all: a 평가표 and a CSV of different runs must never sit side by side.
    docx_path, csv_path = write_outputs({folder / DOCX_NAME: docx_bytes, folder / CSV_NAME: csv_bytes})
    if echo:
        _echo_ranking(data, results, slots)
        if eligible < slots:
            click.echo(f"주의: 적격 신청 기업이 {eligible}개사로 선정 기업 수 {slots}보다 적습니다")
        click.echo(f"평가표: {docx_path}")
        click.echo(f"CSV:    {csv_path}")
    return Selection(data, slots, results, docx_path, csv_path)


# The package face: what commands and tests use.
__all__ = ["Selection", "run_selection", "evaluate", "Application", "ApplicationError", "ItemResult", "Result",
           "applications_dir", "find_table", "load_applications", "load_table", "output_dir", "rank",
           "score_application", "build_csv", "build_markdown"]
