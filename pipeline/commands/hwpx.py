"""`hwpx`: HWPX (한글) copies of a company's documents in out/<id>/ (plan.hwpx, …).

Made from the Word files of the latest stored revision (or `--revision N`), so they say what
out/<id>/*.docx says; with no revision yet, the plan is made first. Every file is validated
before any is written (pipeline/hwpx/); `plan` drops them when it publishes a newer revision.
"""
from __future__ import annotations

import click

CHOICES = ("plan", "diagnosis", "matching", "all")


@click.command()
@click.argument("company")
@click.option("--doc", "doc", type=click.Choice(CHOICES), default="all", show_default=True,
              help="이 문서만 HWPX로 (plan: 사업계획서, diagnosis: 기업 진단표, matching: 매칭 제안서)")
@click.option("--revision", "number", type=click.IntRange(min=1), default=None,
              help="이 리비전 번호의 문서로 (기본: 최신 리비전)")
def hwpx(company: str, doc: str, number: int | None) -> None:
    """한글(HWPX) 문서: 최신 리비전의 Word 문서와 같은 내용을 out/<id>/*.hwpx로 저장."""
    from pipeline.commands.revisions import _company
    from pipeline.hwpx import DOCUMENTS, revision_hwpx
    from pipeline.locations import out_root
    from pipeline.store.outputs import write_output
    from pipeline.store.revisions import revision_numbers, revision_path

    company_id = _company(company)
    numbers = revision_numbers(company_id)
    if number is None and not numbers:
        from pipeline.commands.plan import _plan_one

        click.echo(f"{company_id}: 저장된 리비전이 없어 먼저 문서를 만듭니다 (plan)")
        _plan_one(company_id, page_count=False, quiet=True)
        numbers = revision_numbers(company_id)
    if number is None:
        number = numbers[-1]
    revision_path(company_id, number)  # RevisionError naming the revisions there are
    keys = DOCUMENTS if doc == "all" else (doc,)
    files = revision_hwpx(company_id, number, keys)  # every file built and validated before any is written
    click.echo(f"{company_id}: 리비전 r{number:03d}의 문서 → HWPX (검증 통과)")
    for name, data in files.items():
        click.echo(f"  {write_output(out_root() / company_id / name, data)}")
