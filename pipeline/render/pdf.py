"""PDF export with headless LibreOffice, and page counting with pypdf.

Each conversion handles all its files in one LibreOffice session, in a throw-away profile
(``-env:UserInstallation=file://<tmpdir>``, so parallel runs do not collide on the profile lock),
and writes into a private folder before the PDFs are moved next to each other in ``outdir``.

* **Table of contents.** LibreOffice shows a Word TOC field as the text cached in the file (the
  headings without page numbers; Word refreshes it on open because of ``w:updateFields``). So the
  files are not converted with ``--convert-to``: LibreOffice first creates the throw-away profile
  (``--terminate_after_init``; a new profile gets LibreOffice's preset macro library, which would
  replace ours), then a small Basic macro written into that profile (Basic is part of
  LibreOffice's core) loads each file hidden, updates every document index twice (the second pass
  takes the page numbers after the TOC found its own length), stores the PDF and writes one status
  line per file. If the macro does not run at all (no status written), the files are converted
  with ``--convert-to`` instead and a note on stderr says that the TOC has no page numbers.
* **Fonts.** The documents name Malgun Gothic (FONT_NAME), which a Linux machine does not have.
  A throw-away fontconfig file (``FONTCONFIG_FILE``) includes the system configuration and maps
  "Malgun Gothic" and "맑은 고딕" to FONT_FALLBACK (NanumGothic), so every machine substitutes the
  same font; the templates fix each line's height, so the substitute's line height does not
  change the page count (tools/make_templates.py).
* **Robustness.** LibreOffice runs in its own process group and the whole group is killed when
  the conversion exceeds ``timeout`` (one budget for all its LibreOffice runs); every failure is a
  ConversionError in Korean naming the file.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipeline.errors import ConversionError
from pipeline.locations import env_path
from pipeline.render import FONT_ALT_NAME, FONT_FALLBACK, FONT_NAME

DEFAULT_TIMEOUT_S = 180
# Import filter per suffix: a file that is not what its name says fails to load instead of being
# opened as plain text; other suffixes are detected by LibreOffice.
IMPORT_FILTERS = {".docx": "MS Word 2007 XML", ".doc": "MS Word 97", ".odt": "writer8"}

_FONTCONFIG = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">
<fontconfig>
{include}
{aliases}
</fontconfig>
"""
_ALIAS = """  <match target="pattern">
    <test qual="any" name="family"><string>{name}</string></test>
    <edit name="family" mode="assign" binding="strong"><string>{fallback}</string></edit>
  </match>"""

# The Basic library of the throw-away profile: Module1.Main converts the files (one Convert call
# each, arguments are file URLs, which are ASCII) and closes LibreOffice.
_MODULE = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE script:module PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "module.dtd">
<script:module xmlns:script="http://openoffice.org/2000/script" script:name="Module1" script:language="StarBasic">
Sub Main
{calls}
  StarDesktop.terminate()
End Sub

Sub Convert(sIn As String, sFilter As String, sOut As String, sStatus As String)
  Dim oDoc As Object
  Dim sResult As String
  sResult = &quot;ok&quot;
  On Error GoTo Failed
  Dim aHidden(0) As New com.sun.star.beans.PropertyValue
  aHidden(0).Name = &quot;Hidden&quot;
  aHidden(0).Value = True
  Dim aFiltered(1) As New com.sun.star.beans.PropertyValue
  aFiltered(0).Name = &quot;Hidden&quot;
  aFiltered(0).Value = True
  aFiltered(1).Name = &quot;FilterName&quot;
  aFiltered(1).Value = sFilter
  If sFilter = &quot;&quot; Then
    oDoc = StarDesktop.loadComponentFromURL(sIn, &quot;_blank&quot;, 0, aHidden())
  Else
    oDoc = StarDesktop.loadComponentFromURL(sIn, &quot;_blank&quot;, 0, aFiltered())
  End If
  If IsNull(oDoc) Then
    sResult = &quot;load&quot;
    GoTo Done
  End If
  If HasUnoInterfaces(oDoc, &quot;com.sun.star.text.XDocumentIndexesSupplier&quot;) Then
    oIndexes = oDoc.getDocumentIndexes()
    For nPass = 1 To 2
      For i = 0 To oIndexes.getCount() - 1
        oIndexes.getByIndex(i).update()
      Next i
    Next nPass
  End If
  Dim aStore(0) As New com.sun.star.beans.PropertyValue
  aStore(0).Name = &quot;FilterName&quot;
  aStore(0).Value = &quot;writer_pdf_Export&quot;
  oDoc.storeToURL(sOut, aStore())
  GoTo Done
Failed:
  sResult = &quot;error &quot; &amp; Err &amp; &quot;: &quot; &amp; Error$
  Resume Done
Done:
  On Error Resume Next
  If Not IsNull(oDoc) Then oDoc.close(True)
  n = FreeFile
  Open ConvertFromURL(sStatus) For Output As #n
  Print #n, sResult
  Close #n
End Sub
</script:module>
"""
_LIBRARY = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE library:library PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "library.dtd">
<library:library xmlns:library="http://openoffice.org/2000/library" library:name="Standard" \
library:readonly="false" library:passwordprotected="false">{element}</library:library>
"""
_CONTAINER = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE library:libraries PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "libraries.dtd">
<library:libraries xmlns:library="http://openoffice.org/2000/library" xmlns:xlink="http://www.w3.org/1999/xlink">
 <library:library library:name="Standard" xlink:href="$(USER)/basic/Standard/{kind}.xlb/" xlink:type="simple" library:link="false"/>
</library:libraries>
"""


def libreoffice_path() -> str | None:
    """The soffice/libreoffice executable on PATH, or None."""
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    return None


def fontconfig_file(folder: Path) -> Path:
    """Write the fontconfig file that maps FONT_NAME (both names) to FONT_FALLBACK; return it."""
    system = os.environ.get("FONTCONFIG_FILE") or str(
        Path(os.environ.get("FONTCONFIG_PATH") or "/etc/fonts") / "fonts.conf")
    include = f'  <include ignore_missing="yes">{_xml(system)}</include>' if Path(system).is_file() else ""
    aliases = "\n".join(_ALIAS.format(name=_xml(name), fallback=_xml(FONT_FALLBACK))
                        for name in (FONT_NAME, FONT_ALT_NAME))
    path = Path(folder) / "fonts.conf"
    path.write_text(_FONTCONFIG.format(include=include, aliases=aliases), encoding="utf-8")
    return path


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _basic_string(text: str) -> str:
    """A Basic string literal inside the module's XML (URLs: ASCII, '"' doubled)."""
    return '&quot;' + _xml(text).replace('"', '&quot;&quot;') + '&quot;'


def _write_macro(profile: Path, jobs: list[tuple[Path, Path, Path]]) -> None:
    """The Basic library (Standard.Module1.Main converting ``jobs``) of the throw-away profile,
    in place of the preset one."""
    basic = profile / "user" / "basic"
    library = basic / "Standard"
    shutil.rmtree(basic, ignore_errors=True)
    library.mkdir(parents=True)
    calls = []
    for source, pdf, status in jobs:
        filt = IMPORT_FILTERS.get(source.suffix.lower(), "")
        args = ", ".join(_basic_string(v) for v in (source.as_uri(), filt, pdf.as_uri(), status.as_uri()))
        calls.append(f"  Convert({args})")
    (library / "Module1.xba").write_text(_MODULE.format(calls="\n".join(calls)), encoding="utf-8")
    (library / "script.xlb").write_text(
        _LIBRARY.format(element='<library:element library:name="Module1"/>'), encoding="utf-8")
    (library / "dialog.xlb").write_text(_LIBRARY.format(element=""), encoding="utf-8")
    for kind in ("script", "dialog"):
        (basic / f"{kind}.xlc").write_text(_CONTAINER.format(kind=kind), encoding="utf-8")


def _run(cmd: list[str], env: dict, deadline: float, timeout: float, names: str) -> subprocess.CompletedProcess:
    """Run LibreOffice in its own process group until ``deadline`` (time.monotonic()); kill the
    whole group (soffice and soffice.bin) when it is reached."""
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                start_new_session=True)
    except OSError as exc:
        raise ConversionError(f"LibreOffice를 실행할 수 없습니다: {exc}") from exc
    try:
        out, err = proc.communicate(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired as exc:
        _kill_group(proc)
        proc.communicate()
        raise ConversionError(f"LibreOffice PDF 변환이 {timeout:g}초 안에 끝나지 않았습니다: {names}") from exc
    except BaseException:  # KeyboardInterrupt: leave no soffice.bin behind
        _kill_group(proc)
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # pragma: no cover - not POSIX
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass


def _detail(proc: subprocess.CompletedProcess) -> str:
    lines = [ln for ln in ((proc.stderr or "") + "\n" + (proc.stdout or "")).splitlines()
             if ln.strip() and "javaldx" not in ln]
    return "\n".join(lines) or "(출력 없음)"


def convert_to_pdf(paths: list[Path], outdir: Path, timeout: float | None = None) -> list[Path]:
    """Convert Word files to PDF in ``outdir`` (TOC updated); return the PDF paths in the order of ``paths``.
    ``timeout`` defaults to DEFAULT_TIMEOUT_S (read at each call)."""
    timeout = DEFAULT_TIMEOUT_S if timeout is None else timeout
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
    names = ", ".join(p.name for p in paths)
    deadline = time.monotonic() + timeout

    with tempfile.TemporaryDirectory(prefix="lo-") as tmp:
        tmp = Path(tmp)
        profile, work, status_dir = tmp / "profile", tmp / "out", tmp / "status"
        work.mkdir()
        status_dir.mkdir()
        jobs = [(p.resolve(), work / f"{p.stem}.pdf", status_dir / f"{i}.txt") for i, p in enumerate(paths)]
        env = dict(os.environ)
        if env_path("HOME") is None:  # LibreOffice wants a writable HOME (none set: the temporary folder)
            env["HOME"] = str(tmp)
        env["FONTCONFIG_FILE"] = str(fontconfig_file(tmp))
        base = [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--invisible",
                "--norestore", "--nolockcheck", "--nodefault"]
        _run([*base, "--terminate_after_init"], env, deadline, timeout, names)  # creates the profile
        _write_macro(profile, jobs)
        proc = _run([*base, "macro:///Standard.Module1.Main"], env, deadline, timeout, names)

        statuses = [s.read_text(encoding="utf-8", errors="replace").strip() if s.is_file() else None
                    for _, _, s in jobs]
        if all(s is None for s in statuses):
            # The macro did not run: plain conversion (TOC as cached in the file).
            sys.stderr.write("참고: LibreOffice 매크로를 실행하지 못해 목차 쪽 번호 없이 PDF로 변환합니다\n")
            proc = _run([*base, "--convert-to", "pdf:writer_pdf_Export", "--outdir", str(work),
                         *[str(source) for source, _, _ in jobs]], env, deadline, timeout, names)
            statuses = ["ok"] * len(jobs)

        results, failed = [], []
        for p, (_, produced, _), status in zip(paths, jobs, statuses):
            if status != "ok" or not produced.is_file() or produced.stat().st_size == 0:
                reason = ("읽을 수 없는 파일" if status == "load" else
                          "LibreOffice가 이 파일을 처리하기 전에 끝남" if status is None else
                          "PDF가 만들어지지 않음" if status == "ok" else f"LibreOffice 오류 — {status}")
                failed.append(f"{p.name}: {reason}")
                continue
            target = outdir / produced.name
            shutil.move(str(produced), str(target))
            results.append(target)
        if failed:
            raise ConversionError(
                f"LibreOffice PDF 변환 실패 ({'; '.join(failed)}; 종료 코드 {proc.returncode}):\n{_detail(proc)}"
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
