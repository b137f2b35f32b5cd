"""`cbam-template`: the EU CBAM communication workbook an importer asks its supplier for, filled
from the same context as the documents, with the gaps listed for the consultant to complete."""
from __future__ import annotations

import click


def _echo_missing(lines: list[str]) -> None:
    if not lines:
        click.echo("확인 필요 항목: 없음")
        return
    click.echo(f"확인 필요 항목 {len(lines)}건 (템플릿에서 직접 입력):")
    for line in lines:
        click.echo(f"  - {line}")


def _number(value) -> str:
    return f"{value:.4f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


@click.command("cbam-template")
@click.argument("company")
@click.option("--check", is_flag=True,
              help="LibreOffice Calc으로 재계산해 템플릿의 SEE를 파이프라인 값과 비교 (1% 이내여야 함)")
def cbam_template(company: str, check: bool) -> None:
    """EU CBAM 커뮤니케이션 템플릿(설비용 v2.1.1)을 채워 out/<id>/cbam-communication-<id>.xlsx로 저장."""
    from pipeline.errors import ExportError
    from pipeline.exports.cbam_template import TEMPLATE_VERSION, communication_workbook
    from pipeline.locations import out_root
    from pipeline.publish.context import build_context
    from pipeline.store.outputs import write_output

    profile, ctx = build_context(company, with_documents=False)
    book = communication_workbook(ctx, installation_slug=profile.id)
    path = write_output(out_root() / profile.id / book.file_name, book.data)
    cells = sum(len(c) for c in book.values.values())
    click.echo(f"{profile.id}: CBAM 커뮤니케이션 템플릿 {TEMPLATE_VERSION} → {path}")
    click.echo(f"  생산 공정 {len(book.processes)}개, 구매 전구물질 {len(book.precursors)}종, 입력 셀 {cells}개 "
               "(Excel에서 열면 재계산됨)")
    for p in book.processes:
        click.echo(f"  Summary_Products {p['row']}행 {p['name']}: SEE 직접 {_number(p['direct_per_t'])} · "
                   f"간접 {_number(p['indirect_per_t'])} tCO2e/t (파이프라인)")
    _echo_missing(book.missing)
    if check:
        from pipeline.exports.cbam_template import check_cells, compare
        from pipeline.exports.recalc import recalculate

        rows = compare(book, recalculate(book.data, check_cells(book)))
        click.echo("재계산 (LibreOffice Calc):")
        for row in rows:
            mark = {True: "일치", False: "불일치", None: "비교 불가 (파이프라인 값 없음)"}[row["ok"]]
            click.echo(f"  {row['cell']} {row['kind']}: 템플릿 {_number(row['template'])} / "
                       f"파이프라인 {_number(row['pipeline'])} → {mark}")
        bad = [row["cell"] for row in rows if row["ok"] is False]
        if bad:
            raise ExportError(f"템플릿의 SEE가 파이프라인 값과 1% 넘게 다릅니다: {', '.join(bad)} "
                              f"(파일은 저장됨: {path})")
