"""`intake-form` and `intake`: the 자료요청서 a company fills in Excel, and turning the returned
workbook into companies/<id>.yaml (docs/intake.md)."""
from __future__ import annotations

from pathlib import Path

import click

MAX_SHOWN_CHANGES = 200


@click.command("intake-form")
@click.argument("company", required=False)
def intake_form(company: str | None) -> None:
    """자료요청서(xlsx)를 out/intake/<ID 또는 blank>-자료요청서.xlsx로 저장. ID를 주면 프로필 값으로 미리 채움."""
    from pipeline.content import get_content
    from pipeline.exports.intake_form import intake_form as build
    from pipeline.locations import out_root
    from pipeline.profile import load_profile
    from pipeline.profile.intake import build_layout
    from pipeline.store.outputs import write_output

    content = get_content()
    layout = build_layout(content)
    data, company_id = None, None
    if company:
        profile = load_profile(company, content)
        data, company_id = profile.data, profile.id
    form = build(layout, data, company_id)
    path = write_output(out_root() / "intake" / form.file_name, form.data)
    who = company_id or "빈 양식"
    click.echo(f"{who}: 자료요청서 → {path}")
    click.echo(f"  시트 {len(form.sheets)}개 ({', '.join(form.sheets)}), 입력 항목 {form.fields}개"
               + (f", 미리 채운 칸 {form.filled}개" if company_id else ""))


@click.command("intake")
@click.argument("company")
@click.argument("workbook", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="바뀌는 내용만 보여 주고 저장하지 않음")
@click.option("--force", is_flag=True,
              help="양식을 만든 뒤 프로필이 바뀌었거나, 다른 기업용·빈 양식이어도 반영 (이전 파일은 백업)")
def intake(company: str, workbook: Path, dry_run: bool, force: bool) -> None:
    """돌려받은 자료요청서(xlsx)를 companies/<ID>.yaml로 (새로 만들거나 기존 프로필에 합침). `validate`와 같은 검사."""
    from pipeline.content import get_content
    from pipeline.profile.intake import apply_intake, plan_intake

    plan = plan_intake(company, workbook, get_content(), force=force, dry_run=dry_run)
    read = plan.read
    click.echo(f"{workbook.name}: 시트 {read.sheets}개에서 값 {read.values}개를 읽었습니다")
    for warning in plan.warnings:
        click.echo(f"  경고: {warning}")
    if plan.unchanged:
        click.echo(f"{plan.path}: 바뀐 내용이 없습니다. 프로필을 그대로 둡니다")
        return
    if plan.existed:
        click.echo(f"바뀌는 내용 {len(plan.changes)}건 ({plan.path.name}):")
        for line in plan.changes[:MAX_SHOWN_CHANGES]:
            click.echo(f"  {line}")
        if len(plan.changes) > MAX_SHOWN_CHANGES:
            click.echo(f"  … 외 {len(plan.changes) - MAX_SHOWN_CHANGES}건")
    else:
        click.echo(f"새 프로필: {plan.path} (항목 {len(plan.changes)}개)")
    if dry_run:
        click.echo("--dry-run: 저장하지 않았습니다 (검사는 통과)")
        return
    backup = apply_intake(plan)
    click.echo(f"저장: {plan.path}" + (f" (이전 파일: {backup.name})" if backup else ""))
    click.echo(f"  다음: python -m pipeline validate {plan.company_id} / python -m pipeline plan {plan.company_id}")
