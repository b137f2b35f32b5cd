"""`fill`: a program's official form (사업계획서 양식) filled from the plan; `form-convert`: .hwp → .hwpx.

Only the form's answer areas change; the proof (pipeline/forms/proof.py) runs on every fill and
nothing is written when it fails. See content/forms/README.md for adding a program's form.
"""
from __future__ import annotations

from pathlib import Path

import click


@click.command("fill")
@click.argument("company")
@click.option("--form", "form", required=True,
              help="양식: content/forms/의 사업 id (예: sme-carbon-facility-general) 또는 source.yaml이 있는 폴더")
@click.option("--year", type=int, default=None, help="양식 연도 (없으면 가장 최근 연도)")
@click.option("--strict", is_flag=True, help="분량 한도를 넘는 답변이 있으면 파일을 쓰지 않고 실패")
def fill(company: str, form: str, year: int | None, strict: bool) -> None:
    """지원사업 공식 양식(.hwpx/.docx)의 답변 칸만 채워 out/<id>/<사업>-양식.hwpx(.docx)로 저장."""
    from pipeline.content import get_content
    from pipeline.errors import FormError
    from pipeline.forms.fill import fill_form
    from pipeline.forms.formmap import find_form_folder, load_form
    from pipeline.locations import out_root
    from pipeline.publish.context import build_context
    from pipeline.store.outputs import write_output

    content = get_content()
    spec = load_form(find_form_folder(form, year), content.programs)
    profile, ctx = build_context(company, content, program_id=spec.program)
    filled = fill_form(spec, ctx)
    over = filled.over_budget
    click.echo(f"{profile.id}: {spec.title or spec.program} ({spec.year}) 답변 칸 {len(filled.areas)}곳 채움, "
               "양식의 다른 부분은 그대로 (부분별 검증 통과)")
    for area in filled.areas:
        mark = f"  ← 분량 초과: {', '.join(area.over)}" if area.over else ""
        click.echo(f"  - {area.label}: {area.lines}줄, {area.chars:,}자{mark}")
    if over:
        click.echo(f"분량 한도를 넘은 답변 {len(over)}곳 (잘라내지 않았습니다; 양식에서 줄이세요):")
        for area in over:
            click.echo(f"  - {area.label}: {', '.join(area.over)} ({area.where})")
        if strict:
            raise FormError(f"--strict: 분량 한도를 넘은 답변이 {len(over)}곳 있어 파일을 쓰지 않았습니다")
    path = write_output(out_root() / profile.id / f"{spec.program}-양식{filled.suffix}", filled.data)
    click.echo(f"→ {path}")
    if filled.missing:
        click.echo(f"확인 필요 항목 {len(filled.missing)}건 (양식에 [확인 필요: …]로 표시):")
        for need in filled.missing:
            click.echo(f"  - {need}")
    else:
        click.echo("확인 필요 항목: 없음")


@click.command("form-convert")
@click.argument("source", type=click.Path(path_type=Path))
@click.argument("target", type=click.Path(path_type=Path))
def form_convert(source: Path, target: Path) -> None:
    """HWP 5.0(.hwp) 양식을 HWPX로 변환 (python-hwpx). 결과는 한글에서 열어 원본과 비교한 뒤 쓰세요."""
    from pipeline.errors import FormError
    from pipeline.forms.convert import convert_hwp
    from pipeline.store.outputs import write_output

    if target.suffix.lower() != ".hwpx":
        raise FormError(f"{target}: 변환 결과는 .hwpx 파일 이름이어야 합니다")
    result = convert_hwp(source)
    path = write_output(target, result.data)
    click.echo(f"{source} → {path} (HWPX, {len(result.data):,} 바이트)")
    lost = {**result.unconverted, **result.dropped}
    if lost:
        click.echo("변환하지 못하거나 뺀 요소 (원본과 비교하세요): " + ", ".join(f"{k} {v}개" for k, v in sorted(lost.items())))
    click.echo("한글(또는 한컴오피스 뷰어)에서 열어 원본 .hwp와 같은지 확인한 다음 양식 폴더에 두고 "
               "source.yaml의 file·sha256을 적으세요 (content/forms/README.md)")
