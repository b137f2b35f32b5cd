"""Recalculate a copy of a workbook with headless LibreOffice Calc and read the results.

Used to check that the filled template computes what the pipeline computed. LibreOffice keeps an
.xlsx file's cached values unless its profile says "always recalculate" (OOXMLRecalcMode 0), so
every run gets a throw-away profile with that setting (parallel runs do not share a profile lock
either). The re-saved copy is only read: LibreOffice rewrites styles, names and protection, so it
is never the file we ship.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from pipeline.errors import ExportError
from pipeline.locations import env_path
from pipeline.exports.xlsx import read_values
from pipeline.render.pdf import libreoffice_path

DEFAULT_TIMEOUT_S = 300
_ALWAYS_RECALCULATE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse">\
<value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse">\
<value>0</value></prop></item>
</oor:items>
"""


def calc_path() -> str | None:
    """soffice, if LibreOffice Calc is installed with it (the Writer-only packages bring soffice too)."""
    soffice = libreoffice_path()
    if soffice is None:
        return None
    program = Path(os.path.realpath(soffice)).parent
    return soffice if any(program.glob("libsclo.*")) else None


def recalculate(workbook: bytes | Path, cells: Mapping[str, Iterable[str] | None],
                timeout: float = DEFAULT_TIMEOUT_S) -> dict[str, dict[str, object]]:
    """Values of `cells` ({sheet: [cell, …]}, None = the whole sheet) after LibreOffice Calc
    recalculated every formula of a copy of `workbook`: {sheet: {cell: value}}."""
    soffice = calc_path()
    if soffice is None:
        raise ExportError("LibreOffice Calc을 찾을 수 없습니다: 재계산에는 LibreOffice Calc이 필요합니다 "
                          "(예: apt-get install libreoffice-calc-nogui)")
    with tempfile.TemporaryDirectory(prefix="lo-calc-") as tmp:
        tmp = Path(tmp)
        profile, source, out = tmp / "profile", tmp / "in" / "workbook.xlsx", tmp / "out"
        (profile / "user").mkdir(parents=True)
        (profile / "user" / "registrymodifications.xcu").write_text(_ALWAYS_RECALCULATE, encoding="utf-8")
        source.parent.mkdir()
        out.mkdir()
        if isinstance(workbook, (bytes, bytearray)):
            source.write_bytes(workbook)
        else:
            shutil.copyfile(workbook, source)
        cmd = [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--invisible", "--norestore",
               "--nolockcheck", "--nodefault", "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out),
               str(source)]
        env = dict(os.environ)
        if env_path("HOME") is None:  # LibreOffice wants a writable HOME (none set: the temporary folder)
            env["HOME"] = str(tmp)
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired as exc:
            raise ExportError(f"LibreOffice 재계산이 {timeout:.0f}초 안에 끝나지 않았습니다") from exc
        except OSError as exc:
            raise ExportError(f"LibreOffice를 실행할 수 없습니다: {exc}") from exc
        result = out / source.name
        if proc.returncode != 0 or not result.is_file() or result.stat().st_size == 0:
            detail = (proc.stderr or "").strip() or (proc.stdout or "").strip() or "(출력 없음)"
            raise ExportError(f"LibreOffice 재계산 실패 (종료 코드 {proc.returncode}):\n{detail}")
        return read_values(result, cells)
