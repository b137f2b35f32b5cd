"""Commands that read profiles without rendering: `validate` and `context`."""
from __future__ import annotations

import sys

import click

from pipeline.errors import PipelineError


@click.command()
@click.argument("companies", nargs=-1)
def validate(companies: tuple[str, ...]) -> None:
    """프로필 검사 (렌더링 없음). ID가 없으면 companies/의 모든 프로필."""
    from pipeline.content import get_content
    from pipeline.profile import list_company_ids, unusable_profile_names, validate_companies

    ids = list(companies) or list_company_ids()
    if not companies:
        for name in unusable_profile_names():
            click.echo(f"경고: companies/{name}은(는) 이름이 기업 id가 아니라 읽지 않았습니다 "
                       "(소문자 영문·숫자·하이픈 id로 파일 이름을 바꿔 주세요)", err=True)
    if not ids:
        raise PipelineError("검사할 프로필이 없습니다 (companies/*.yaml)")
    warnings: list[str] = []
    valid, problems = validate_companies(ids, get_content(), warnings=warnings)
    for company in valid:
        click.echo(f"정상: {company}")
    for warning in warnings:
        click.echo(f"확인 권고: {warning}")
    if problems:
        click.echo(f"오류: 프로필 오류 {len(problems)}건", err=True)
        for problem in problems:
            click.echo(f"  - {problem}", err=True)
        sys.exit(2)


@click.command()
@click.argument("company")
@click.option("--program", "program_id", default=None, help="매칭 1순위 대신 이 지원사업 id로 전략 수립")
def context(company: str, program_id: str | None) -> None:
    """진단·매칭·전략이 추가된 컨텍스트를 JSON으로 출력."""
    from pipeline.publish.context import build_context, context_json

    _profile, ctx = build_context(company, program_id=program_id, with_documents=False)
    click.echo(context_json(ctx))
