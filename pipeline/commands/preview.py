"""`preview`: PNG pages of the three documents, to look at them as the company will.

out/<id>/*.docx (written by `plan`) → PDF with LibreOffice (render.pdf.convert_to_pdf) → one PNG per
page with pdftoppm (poppler-utils), in out/<id>/preview/<doc>-<page>.png (pdftoppm's names: the
page number zero-padded to the width of the page count). The pages of a document replace its
earlier ones in one step, so no page of a longer earlier version is left behind and no mix is seen.
"""
from __future__ import annotations

import click

from pipeline.errors import PipelineError

PDFTOPPM_TIMEOUT_S = 180


def pdftoppm_path() -> str | None:
    import shutil

    return shutil.which("pdftoppm")


@click.command()
@click.argument("company")
@click.option("--dpi", type=click.IntRange(30, 300), default=100, show_default=True, help="PNG 해상도 (dpi)")
@click.option("--doc", "docs", type=click.Choice(["diagnosis", "matching", "plan"]), multiple=True,
              help="이 문서만 (여러 번 지정 가능; 기본: 세 문서 모두)")
def preview(company: str, dpi: int, docs: tuple[str, ...]) -> None:
    """out/<id>/의 문서를 쪽별 PNG로 (LibreOffice → PDF → pdftoppm): out/<id>/preview/."""
    from pipeline.locations import out_root
    from pipeline.profile import resolve_profile_path
    from pipeline.publish.documents import DOCUMENT_FILES

    company_id, _ = resolve_profile_path(company)
    folder = out_root() / company_id
    paths = [folder / DOCUMENT_FILES[key] for key in (docs or DOCUMENT_FILES)]
    absent = [str(p) for p in paths if not p.is_file()]
    if absent:
        raise PipelineError(f"먼저 `make plan COMPANY={company_id}`로 문서를 만드세요. 없는 파일: {', '.join(absent)}")
    pdftoppm = pdftoppm_path()
    if pdftoppm is None:  # before the (slow) PDF conversion
        raise PipelineError("pdftoppm을 찾을 수 없습니다: PNG 미리보기에는 poppler-utils 패키지가 필요합니다 "
                            "(예: apt-get install poppler-utils)")
    for png in write_previews(paths, folder / "preview", dpi, pdftoppm):
        click.echo(str(png))


def write_previews(paths, outdir, dpi: int, pdftoppm: str) -> list:
    """PDFs (kept next to the pages) and PNG pages of `paths` in `outdir`; the PNG paths in order.

    Everything is converted in a private folder first; then the PDFs and pages are placed together
    (store.outputs.write_outputs), with the earlier pages of these documents removed in the same
    step: a reader never sees a mix of old and new pages, and a failure leaves the old ones."""
    import subprocess
    import tempfile
    from pathlib import Path

    from pipeline.render.pdf import convert_to_pdf
    from pipeline.store.outputs import write_outputs

    outdir = Path(outdir)
    files: dict[Path, bytes] = {}
    stale: list[Path] = []
    pages: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="carbon-preview-") as tmp:
        for pdf in convert_to_pdf(paths, Path(tmp) / "pdf"):
            cmd = [pdftoppm, "-png", "-r", str(dpi), str(pdf), str(Path(tmp) / pdf.stem)]
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PDFTOPPM_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                raise PipelineError(f"{pdf.name}: pdftoppm이 {PDFTOPPM_TIMEOUT_S}초 안에 끝나지 않았습니다") from None
            except OSError as exc:
                raise PipelineError(f"pdftoppm을 실행할 수 없습니다: {exc}") from None
            made = sorted(Path(tmp).glob(f"{pdf.stem}-*.png"))
            if proc.returncode != 0 or not made:
                detail = (proc.stderr or "").strip() or "(출력 없음)"
                raise PipelineError(f"{pdf.name}: PNG 변환 실패 (pdftoppm 종료 코드 {proc.returncode}):\n{detail}")
            files[outdir / pdf.name] = pdf.read_bytes()
            stale += outdir.glob(f"{pdf.stem}-*.png")
            for png in made:
                files[outdir / png.name] = png.read_bytes()
                pages.append(outdir / png.name)
    write_outputs(files, remove=stale)
    return pages
