"""`select`: stage 0, scoring the applicants and selecting the participants."""
from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option("--slots", type=int, default=None, help="선정 기업 수 (기본: 평가표 설정값)")
@click.option("--table", default=None, help="평가 기준표: 연도(예: 2025) 또는 YAML 경로 (기본: content/selection/의 최신 연도)")
def select(slots: int | None, table: str | None) -> None:
    """신청기업 평가·선정: 평가표(docx)와 CSV를 out/selection/에 씀."""
    from pipeline.selection import run_selection

    run_selection(slots=slots, table=table)


@click.command("applications-import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--year", type=int, default=None, help="모집 연도 (기본: content/selection/의 최신 평가표 연도)")
@click.option("--mapping", "mapping_path", default=None,
              help="열 제목 → 신청서 항목 매핑 YAML (기본: content/selection/application-form-<연도>.yaml)")
@click.option("--dry-run", is_flag=True, help="검사하고 바뀌는 내용만 보여 주며 저장하지 않음")
@click.option("--force", is_flag=True, help="기존 신청서와 내용이 달라도 바꿈 (평가위원 점수·note는 남고, 이전 파일은 .bak)")
def applications_import(file: Path, year: int | None, mapping_path: str | None, dry_run: bool, force: bool) -> None:
    """온라인 신청서 응답(CSV·xlsx, 한 행에 한 기업)을 applications/<연도>/<id>.yaml로. 오류가 하나라도 있으면 아무것도 쓰지 않음."""
    from pipeline.selection.form_import import apply_import, plan_import

    plan = plan_import(file, year, mapping_path=mapping_path, force=force)
    click.echo(f"{plan.table.name}: {plan.table.kind}, 응답 {len(plan.applications)}건 (매핑 {plan.mapping.path.name})")
    for warning in plan.warnings:
        click.echo(f"  경고: {warning}")
    labels = {"new": "새 신청서", "changed": "바뀜", "unchanged": "변경 없음"}
    for app in plan.applications:
        click.echo(f"  {app.row}행 {app.name} → {plan.folder.name}/{app.id}.yaml ({labels[app.status]})")
        for change in app.changes[:10]:
            click.echo(f"      {change}")
    if plan.others:
        click.echo(f"  이 파일에 없는 기존 신청서 {len(plan.others)}건은 그대로 둡니다: {', '.join(plan.others[:10])}"
                   + (" …" if len(plan.others) > 10 else ""))
    if dry_run:
        click.echo("--dry-run: 저장하지 않았습니다 (검사는 통과)")
        return
    backups = apply_import(plan)
    written = len(plan.by_status("new")) + len(plan.by_status("changed"))
    if not written:
        click.echo(f"{plan.folder}: 바뀐 신청서가 없습니다. 그대로 둡니다")
        return
    click.echo(f"저장: {plan.folder} (새 {len(plan.by_status('new'))}건, 바뀜 {len(plan.by_status('changed'))}건"
               + (f", 이전 파일 {len(backups)}건은 .bak" if backups else "") + ")")
    click.echo("  다음: 평가위원 점수표를 python -m pipeline applications-scores 점수표.xlsx로 (또는 각 신청서의 "
               "evaluations에 적고) python -m pipeline select (docs/selection.md)")


@click.command("applications-scores")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--year", type=int, default=None, help="모집 연도 (기본: content/selection/의 최신 평가표 연도)")
@click.option("--dry-run", is_flag=True, help="검사만 하고 저장하지 않음")
@click.option("--force", is_flag=True, help="이미 있는 평가위원 점수와 달라도 바꿈 (이전 파일은 .bak)")
def applications_scores(file: Path, year: int | None, dry_run: bool, force: bool) -> None:
    """평가위원 점수표(CSV·xlsx: 기업 ID, 평가위원, 정성 항목별 점수, 의견)를 각 신청서의 evaluations로."""
    from pipeline.selection.scores_import import apply_scores, plan_scores

    plan = plan_scores(file, year, force=force)
    click.echo(f"{file.name}: {plan.kind}, 신청서 {len(plan.applications) + len(plan.unchanged)}건의 점수")
    for warning in plan.warnings:
        click.echo(f"  경고: {warning}")
    for app in plan.applications:
        note = f" (바뀌는 평가위원: {', '.join(app.replaced)})" if app.replaced else ""
        click.echo(f"  {', '.join(str(r) for r in app.rows)}행 → {plan.folder.name}/{app.id}.yaml{note}")
    if plan.unchanged:
        click.echo(f"  변경 없음: {', '.join(plan.unchanged)}")
    if dry_run:
        click.echo("--dry-run: 저장하지 않았습니다 (검사는 통과)")
        return
    backups = apply_scores(plan)
    if plan.applications:
        click.echo(f"저장: {plan.folder} ({len(plan.applications)}건" + (f", 이전 파일 {len(backups)}건은 .bak" if backups else "") + ")")
        click.echo("  다음: python -m pipeline select")
