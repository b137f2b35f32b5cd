"""Limits for zip packages that come from outside (a returned workbook, an official form), read from
the zip's headers before anything is decompressed.

The ratio test applies to the XML parts a reader parses: pictures and other media may compress as well
as they like (a blank image is 1,000:1 and harmless); they are bounded by the absolute sizes instead
and, when read, by the reader's per-part cap.
"""
from __future__ import annotations

import zipfile

XML_SUFFIXES = (".xml", ".rels", ".hpf")


def zip_problem(infos: list[zipfile.ZipInfo], *, max_members: int, max_total: int, max_ratio: float,
                ratio_floor: int) -> str | None:
    """What is wrong with a package of these members (in Korean), or None."""
    if len(infos) > max_members:
        return f"zip 항목이 너무 많습니다 ({len(infos)}개, 한도 {max_members})"
    total = sum(info.file_size for info in infos)
    if total > max_total:
        return f"압축을 풀면 너무 큽니다 ({total / 1048576:,.0f} MB, 한도 {max_total // 1048576} MB)"
    for info in infos:
        if not info.filename.lower().endswith(XML_SUFFIXES) and info.filename != "[Content_Types].xml":
            continue
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > ratio_floor and ratio > max_ratio:
            return f"압축 폭탄으로 보이는 항목이 있습니다 ({info.filename}: 압축비 {ratio:,.0f}:1)"
    names = [info.filename for info in infos]
    if len(set(names)) != len(names):
        return "같은 이름의 zip 항목이 두 번 있습니다. 손상되었거나 조작된 파일입니다"
    return None
