"""PDF export with headless LibreOffice, and page counting with pypdf.

Each conversion uses its own LibreOffice profile (``-env:UserInstallation=file://<tmpdir>``), so
parallel runs do not collide on the profile lock, and writes into a private folder before the
PDFs are moved next to each other in ``outdir``.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from pipeline.errors import ConversionError

DEFAULT_TIMEOUT_S = 180


def libreoffice_path() -> str | None:
    """The soffice/libreoffice executable on PATH, or None."""
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    return None


def convert_to_pdf(paths: list[Path], outdir: Path, timeout: float = DEFAULT_TIMEOUT_S) -> list[Path]:
    """Convert Word files to PDF in ``outdir``; return the PDF paths in the order of ``paths``."""
    paths = [Path(p) for p in paths]
    if not paths:
        return []
    soffice = libreoffice_path()
    if soffice is None:
        raise ConversionError(
            "LibreOffice(soffice)를 찾을 수 없습니다: PDF 변환에는 LibreOffice가 필요합니다 "
            "(예: apt-get install libreoffice-writer-nogui fonts-nanum)"
        )
    for p in paths:
        if not p.is_file():
            raise ConversionError(f"{p}: 변환할 파일이 없습니다")
    stems = [p.stem for p in paths]
    if len(set(stems)) != len(stems):
        raise ConversionError(f"같은 이름의 파일을 한 번에 변환할 수 없습니다: {', '.join(stems)}")
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="lo-") as tmp:
        tmp = Path(tmp)
        profile, work = tmp / "profile", tmp / "out"
        work.mkdir()
        cmd = [
            soffice,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless", "--invisible", "--norestore", "--nolockcheck", "--nodefault",
            "--convert-to", "pdf:writer_pdf_Export",
            "--outdir", str(work),
            *[str(p.resolve()) for p in paths],
        ]
        env = dict(os.environ)
        env.setdefault("HOME", str(tmp))  # LibreOffice wants a writable HOME
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired as exc:
            raise ConversionError(
                f"LibreOffice PDF 변환이 {timeout:.0f}초 안에 끝나지 않았습니다: "
                f"{', '.join(p.name for p in paths)}"
            ) from exc
        except OSError as exc:
            raise ConversionError(f"LibreOffice를 실행할 수 없습니다: {exc}") from exc

        results = []
        missing = []
        for p in paths:
            produced = work / f"{p.stem}.pdf"
            if not produced.is_file() or produced.stat().st_size == 0:
                missing.append(p.name)
                continue
            target = outdir / produced.name
            shutil.move(str(produced), str(target))
            results.append(target)
        if proc.returncode != 0 or missing:
            detail = (proc.stderr or "").strip() or (proc.stdout or "").strip() or "(출력 없음)"
            names = ", ".join(missing) if missing else ", ".join(p.name for p in paths)
            raise ConversionError(
                f"LibreOffice PDF 변환 실패 ({names}; 종료 코드 {proc.returncode}):\n{detail}"
            )
    return results


def count_pages(pdf: Path) -> int:
    """Number of pages of a PDF (pypdf)."""
    from pypdf import PdfReader

    try:
        return len(PdfReader(str(pdf)).pages)
    except Exception as exc:
        raise ConversionError(f"{pdf}: PDF를 읽을 수 없습니다 ({exc})") from exc


def pdf_fonts(pdf: Path) -> set[str]:
    """BaseFont names used in a PDF (e.g. 'ABCDEF+NanumGothic'), read with pypdf."""
    from pypdf import PdfReader

    names: set[str] = set()
    reader = PdfReader(str(pdf))
    for page in reader.pages:
        resources = page.get("/Resources")
        if resources is None:
            continue
        fonts = resources.get_object().get("/Font")
        if fonts is None:
            continue
        for ref in fonts.get_object().values():
            font = ref.get_object()
            base = font.get("/BaseFont")
            if base:
                names.add(str(base).lstrip("/"))
            for desc in font.get("/DescendantFonts") or []:
                base = desc.get_object().get("/BaseFont")
                if base:
                    names.add(str(base).lstrip("/"))
    return names
