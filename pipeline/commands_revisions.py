"""CLI commands of the feedback loop: history (more are registered here as they land)."""
from __future__ import annotations

import click


def register(main: click.Group) -> None:
    main.add_command(history)


@click.command()
@click.argument("company")
def history(company: str) -> None:
    """리비전 목록: 시각, 작성자, 메모, 쪽수."""
    from pipeline.profile import resolve_profile_path
    from pipeline.revisions import read_meta, revision_numbers

    company_id, _ = resolve_profile_path(company)
    numbers = revision_numbers(company_id)
    if not numbers:
        click.echo(f"{company_id}: 리비전 없음 (make plan COMPANY={company_id})")
        return
    for number in numbers:
        meta = read_meta(company_id, number)
        pages = meta.get("page_counts") or {}
        pages_text = ", ".join(f"{k} {v}쪽" for k, v in pages.items()) or "쪽수 미측정"
        click.echo(f"r{number:03d}  {meta.get('stored_at')}  {meta.get('author')}  {pages_text}  {meta.get('note') or ''}")
