"""HWP 5.0 (.hwp) → HWPX with python-hwpx's converter, for a consultant without 한글.

`fill` never converts on its own: a conversion may drop what the converter does not know, so the
consultant converts once, opens the result in 한글 (or its viewer) to compare it with the
original, and records that .hwpx as the program's form.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import FormError
from pipeline.forms.package import MAX_FILE_BYTES, OLE_SIGNATURE, read_form_bytes


@dataclass
class Converted:
    data: bytes
    unconverted: dict[str, int]
    dropped: dict[str, int]


def convert_hwp(path: Path) -> Converted:
    path = Path(path)
    if not path.is_file():
        raise FormError(f"{path}: 파일이 없습니다")
    with open(path, "rb") as handle:
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise FormError(f"{path}: 파일이 너무 큽니다 (한도 {MAX_FILE_BYTES // 1048576} MB)")
    if not data.startswith(OLE_SIGNATURE):
        raise FormError(f"{path}: HWP 5.0 문서(.hwp)가 아닙니다 (.hwpx·.docx는 바꿀 필요 없이 그대로 씁니다)")
    from hwpx.hwp5.package import convert, to_hwpx_bytes

    try:
        result = convert(data)
        out = to_hwpx_bytes(result.files)
    except Exception as exc:  # the converter's own errors are many; any of them means: not convertible here
        raise FormError(f"{path}: python-hwpx가 이 .hwp를 변환하지 못했습니다 ({type(exc).__name__}: {exc}). "
                        "한글에서 [다른 이름으로 저장 → 한글 표준 문서(*.hwpx)]로 저장하세요") from None
    read_form_bytes(path.with_suffix(".hwpx"), out)  # the result must itself pass the form checks
    report = result.report
    return Converted(out, dict(getattr(report, "unconverted", {}) or {}), dict(getattr(report, "dropped", {}) or {}))
