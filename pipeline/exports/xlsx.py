"""Fill the input cells of an official .xlsx by editing its sheet XML, and read cell values back.

Why not openpyxl: a load/save round trip of the CBAM template drops its x14 data bars, customXml
and printer settings, renumbers the styles and rewrites every part. Here only the `<c>` elements of
the target cells change (each keeps its style, so it stays an unlocked input), strings are inline
(sharedStrings.xml untouched), `<calcPr>` gets fullCalcOnLoad, and every other zip member is copied
unchanged. A formula cell, a locked cell or a hidden cell of a merged range is refused: a wrong
address fails instead of overwriting the template's logic.
"""
from __future__ import annotations

import datetime as dt
import io
import math
import posixpath
import re
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from xml.sax.saxutils import escape

from pipeline.errors import ExportError

_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REF = re.compile(r"([A-Z]{1,3})([0-9]+)")
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def split_ref(ref: str) -> tuple[int, int]:
    """'L83' → (column number 12, row 83)."""
    match = _REF.fullmatch(ref)
    if not match:
        raise ExportError(f"셀 주소 '{ref}'를 읽을 수 없습니다")
    column = 0
    for char in match.group(1):
        column = column * 26 + ord(char) - 64
    return column, int(match.group(2))


def sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → zip member of its worksheet XML (from workbook.xml and its relationships)."""
    workbook = archive.read("xl/workbook.xml").decode("utf-8")
    rels = archive.read("xl/_rels/workbook.xml.rels").decode("utf-8")
    targets = {}
    for attrs in re.findall(r"<Relationship\b([^>]*?)/?>", rels):
        rid, target = re.search(r'\bId="([^"]+)"', attrs), re.search(r'\bTarget="([^"]+)"', attrs)
        if rid and target:
            path = target.group(1)
            targets[rid.group(1)] = path[1:] if path.startswith("/") else posixpath.normpath(posixpath.join("xl", path))
    parts = {}
    for attrs in re.findall(r"<sheet\b([^>]*?)/?>", workbook):
        name, rid = re.search(r'\bname="([^"]*)"', attrs), re.search(r'\br:id="([^"]+)"', attrs)
        if name and rid and rid.group(1) in targets:
            parts[_unescape(name.group(1))] = targets[rid.group(1)]
    return parts


def _unescape(text: str) -> str:
    for entity, char in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&")):
        text = text.replace(entity, char)
    return text


def _locked_styles(archive: zipfile.ZipFile) -> list[bool]:
    """cellXfs index → locked? (locked unless the style says <protection locked="0"/>)."""
    styles = archive.read("xl/styles.xml").decode("utf-8")
    block = re.search(r"<cellXfs\b[^>]*>(.*?)</cellXfs>", styles, re.S)
    if not block:
        return []
    return [not re.search(r'<protection\b[^>]*\blocked="0"', xf)
            for xf in re.findall(r"<xf\b[^>]*?(?:/>|>.*?</xf>)", block.group(1), re.S)]


def _cell_xml(ref: str, style: str | None, value) -> str:
    s_attr = f' s="{style}"' if style is not None else ""
    if isinstance(value, bool):
        return f'<c r="{ref}"{s_attr} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        value = (value - dt.date(1899, 12, 30)).days  # Excel's serial day number
    if isinstance(value, int):
        return f'<c r="{ref}"{s_attr}><v>{value}</v></c>'
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ExportError(f"셀 {ref}: 숫자가 아닌 값({value})은 쓸 수 없습니다")
        return f'<c r="{ref}"{s_attr}><v>{value!r}</v></c>'
    text = _XML_ILLEGAL.sub("", str(value))
    space = ' xml:space="preserve"' if text != text.strip() or "\n" in text else ""
    return f'<c r="{ref}"{s_attr} t="inlineStr"><is><t{space}>{escape(text)}</t></is></c>'


def _check_merges(xml: str, sheet: str, refs: Iterable[str]) -> None:
    """A value for a merged range belongs in its top-left cell; the others are hidden."""
    merges = [(split_ref(a), split_ref(b)) for a, b in re.findall(r'<mergeCell ref="([A-Z]+[0-9]+):([A-Z]+[0-9]+)"', xml)]
    for ref in refs:
        column, row = split_ref(ref)
        for (c1, r1), (c2, r2) in merges:
            if c1 <= column <= c2 and r1 <= row <= r2 and (column, row) != (c1, r1):
                raise ExportError(f"{sheet}!{ref}은(는) 병합된 셀의 가려진 부분입니다 (입력은 병합 범위의 첫 셀)")


def _fill_sheet(xml: str, sheet: str, cells: Mapping[str, object], locked: list[bool]) -> str:
    _check_merges(xml, sheet, cells)
    names = "|".join(re.escape(ref) for ref in cells)
    pieces, last, seen = [], 0, set()
    for match in re.finditer(rf'<c r="({names})"(?=[\s/>])[^>]*?(?:/>|>.*?</c>)', xml, re.S):
        ref, old = match.group(1), match.group(0)
        if re.search(r"<f[\s>/]", old):
            raise ExportError(f"{sheet}!{ref}은(는) 수식 셀입니다: 템플릿의 수식은 덮어쓰지 않습니다")
        style = re.search(r'\ss="([0-9]+)"', old[: old.index(">") + 1])
        if style is None or int(style.group(1)) >= len(locked) or locked[int(style.group(1))]:
            raise ExportError(f"{sheet}!{ref}은(는) 잠긴 셀입니다: 템플릿의 입력 셀이 아닙니다")
        pieces += [xml[last:match.start()], _cell_xml(ref, style.group(1), cells[ref])]
        last = match.end()
        seen.add(ref)
    absent = sorted(set(cells) - seen)
    if absent:
        raise ExportError(f"{sheet}: 템플릿에 입력 셀 {', '.join(absent)}이(가) 없습니다")
    return "".join(pieces) + xml[last:]


def _full_calc_on_load(workbook: str) -> str:
    """Ask the spreadsheet program to recalculate every formula when it opens the file."""
    match = re.search(r"<calcPr\b[^>]*?/>", workbook)
    if match is None:
        return workbook.replace("</workbook>", '<calcPr fullCalcOnLoad="1"/></workbook>', 1)
    tag = match.group(0)
    if "fullCalcOnLoad=" in tag:
        new = re.sub(r'fullCalcOnLoad="[^"]*"', 'fullCalcOnLoad="1"', tag)
    else:
        new = tag[:-2].rstrip() + ' fullCalcOnLoad="1"/>'
    return workbook[: match.start()] + new + workbook[match.end():]


def fill(template: bytes, values: Mapping[str, Mapping[str, object]]) -> bytes:
    """The template with `values` ({sheet: {cell: value}}) in its input cells, as .xlsx bytes.

    Values: str (inline string), int/float, bool, datetime.date (Excel serial). None means: leave
    the cell as it is; such entries are dropped before writing."""
    with zipfile.ZipFile(io.BytesIO(template)) as source:
        parts, locked = sheet_parts(source), _locked_styles(source)
        edited: dict[str, bytes] = {}
        for sheet, cells in values.items():
            cells = {ref: value for ref, value in cells.items() if value is not None}
            if not cells:
                continue
            if sheet not in parts:
                raise ExportError(f"템플릿에 '{sheet}' 시트가 없습니다")
            xml = source.read(parts[sheet]).decode("utf-8")
            edited[parts[sheet]] = _fill_sheet(xml, sheet, cells, locked).encode("utf-8")
        edited["xl/workbook.xml"] = _full_calc_on_load(source.read("xl/workbook.xml").decode("utf-8")).encode("utf-8")
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as target:
            for info in source.infolist():
                data = edited.get(info.filename)
                target.writestr(info, source.read(info) if data is None else data, compress_type=info.compress_type)
    return out.getvalue()


# ----------------------------------------------------------------------------- reading
def _shared_strings(archive: zipfile.ZipFile) -> list[str]:
    from defusedxml.ElementTree import iterparse

    if "xl/sharedStrings.xml" not in archive.namelist():
        return []
    strings = []
    with archive.open("xl/sharedStrings.xml") as handle:
        for _event, element in iterparse(handle, events=("end",)):
            if element.tag == f"{_MAIN_NS}si":
                # The plain <t> or the runs' <t>; not the phonetic guide (<rPh>).
                parts = [child.text or "" for child in element if child.tag == f"{_MAIN_NS}t"]
                parts += [t.text or "" for run in element if run.tag == f"{_MAIN_NS}r" for t in run.iter(f"{_MAIN_NS}t")]
                strings.append("".join(parts))
                element.clear()
    return strings


def _cell_value(element, shared: list[str]):
    kind = element.get("t", "n")
    if kind == "inlineStr":
        return "".join(t.text or "" for t in element.iter(f"{_MAIN_NS}t"))
    v = element.find(f"{_MAIN_NS}v")
    if v is None or v.text is None:
        return None
    if kind == "s":
        return shared[int(v.text)]
    if kind == "b":
        return v.text.strip() == "1"
    if kind in ("str", "e"):
        return v.text
    try:
        return float(v.text)
    except ValueError:
        return v.text


def read_values(source: bytes | Path, wanted: Mapping[str, Iterable[str] | None]) -> dict[str, dict[str, object]]:
    """Stored values of cells (for a formula: its cached result): {sheet: {cell: value}}.

    `wanted` maps a sheet name to the cells to read, or to None for every non-empty cell of it.
    Empty cells are left out."""
    from defusedxml.ElementTree import iterparse

    handle = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else open(source, "rb")
    with handle, zipfile.ZipFile(handle) as archive:
        parts = sheet_parts(archive)
        shared: list[str] | None = None
        result: dict[str, dict[str, object]] = {}
        for sheet, refs in wanted.items():
            if sheet not in parts:
                raise ExportError(f"통합문서에 '{sheet}' 시트가 없습니다")
            keep = None if refs is None else set(refs)
            values: dict[str, object] = {}
            with archive.open(parts[sheet]) as xml:
                for _event, element in iterparse(xml, events=("end",)):
                    if element.tag != f"{_MAIN_NS}c":
                        continue
                    ref = element.get("r")
                    if keep is None or ref in keep:
                        if element.get("t") == "s" and shared is None:
                            shared = _shared_strings(archive)
                        value = _cell_value(element, shared or [])
                        if value is not None:
                            values[ref] = value
                    element.clear()
            result[sheet] = values
    return result
