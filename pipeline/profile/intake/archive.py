"""An untrusted .xlsx before and while openpyxl opens it: size, zip and member limits read from
the headers before anything is decompressed, macros refused, formulas found in the sheet XML, and
the cells of a sheet with their number formats. Shared by the 자료요청서 reader and by other imports
of outside workbooks."""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from pipeline.errors import IntakeError
from pipeline.profile.zip_limits import zip_problem

# Untrusted workbook limits. The generated form is ~60 kB (200 kB unpacked); a LibreOffice or
# Excel save of it stays far below these.
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_MEMBERS = 500
MAX_TOTAL_UNCOMPRESSED = 40 * 1024 * 1024
MAX_RATIO = 200                      # uncompressed / compressed, per member above RATIO_FLOOR
RATIO_FLOOR = 1024 * 1024
MAX_CELLS = 300_000                  # cells with a value, over all sheets
MAX_RECORDS = 2_000                  # data rows of one table
MAX_LISTED_WARNINGS = 10


def read_workbook_bytes(path: Path) -> bytes:
    path = Path(path)
    if not path.is_file():
        raise IntakeError(f"{path}: 파일이 없습니다")
    suffix = path.suffix.lower()
    if suffix in (".xlsm", ".xltm", ".xlsb"):
        raise IntakeError(f"{path}: 매크로 사용 통합 문서({suffix})는 받지 않습니다. Excel에서 'Excel 통합 문서(*.xlsx)'로 저장해 보내 주세요")
    if suffix in (".xls", ".ods", ".csv"):
        raise IntakeError(f"{path}: {suffix} 파일은 읽지 않습니다. Excel이나 LibreOffice Calc에서 'Excel 통합 문서(*.xlsx)' "
                          "형식으로 저장해 보내 주세요")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise IntakeError(f"{path}: 파일이 너무 큽니다 ({size / 1048576:.1f} MB, 한도 {MAX_FILE_BYTES // 1048576} MB)")
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)  # capped: the file may grow after stat()
    except OSError as exc:
        raise IntakeError(f"{path}: 파일을 읽을 수 없습니다 ({exc.strerror})") from None
    if len(data) > MAX_FILE_BYTES:
        raise IntakeError(f"{path}: 파일이 너무 큽니다 (한도 {MAX_FILE_BYTES // 1048576} MB)")
    return data


def check_archive(name: str, data: bytes) -> None:
    """Zip limits, read from the headers before anything is decompressed, and no macros."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise IntakeError(f"{name}: .xlsx(zip) 파일이 아닙니다. Excel이나 LibreOffice Calc에서 "
                          "'Excel 통합 문서(*.xlsx)'로 저장해 보내 주세요") from None
    with archive:
        infos = archive.infolist()
        for info in infos:
            lowered = info.filename.lower()
            if lowered.endswith("vbaproject.bin") or lowered.endswith(".bin") and "vba" in lowered:
                raise IntakeError(f"{name}: 매크로(VBA)가 들어 있는 파일은 받지 않습니다. 매크로 없는 "
                                  "'Excel 통합 문서(*.xlsx)'로 저장해 보내 주세요")
        problem = zip_problem(infos, max_members=MAX_MEMBERS, max_total=MAX_TOTAL_UNCOMPRESSED,
                              max_ratio=MAX_RATIO, ratio_floor=RATIO_FLOOR)
        if problem:
            raise IntakeError(f"{name}: {problem}")
        names = {info.filename for info in infos}
        if "xl/workbook.xml" not in names:
            raise IntakeError(f"{name}: Excel 통합 문서가 아닙니다 (xl/workbook.xml 없음)")
        if "[Content_Types].xml" in names:
            types = archive.open("[Content_Types].xml").read(1024 * 1024)
            if b"macroEnabled" in types or b"vbaProject" in types:
                raise IntakeError(f"{name}: 매크로 사용 통합 문서는 받지 않습니다. 'Excel 통합 문서(*.xlsx)'로 저장해 보내 주세요")


def _open(name: str, data: bytes, data_only: bool):
    import warnings

    from openpyxl import load_workbook

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Data Validation extension is not supported" and the like
            return load_workbook(io.BytesIO(data), data_only=data_only, keep_vba=False, keep_links=False)
    except IntakeError:
        raise
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise IntakeError(f"{name}: 통합 문서를 열 수 없습니다 ({type(exc).__name__}: {str(exc)[:200]}). "
                          "Excel이나 LibreOffice Calc에서 .xlsx로 다시 저장해 보내 주세요") from None


def _coord_order(coord: str):
    column, row = _split(coord)
    return row, column


def _split(coord: str) -> tuple[int, int]:
    m = re.fullmatch(r"([A-Z]+)(\d+)", coord)
    column = 0
    for ch in m.group(1):
        column = column * 26 + ord(ch) - 64
    return int(m.group(2)), column


def column_letter(column: int) -> str:
    out = ""
    while column:
        column, rest = divmod(column - 1, 26)
        out = chr(65 + rest) + out
    return out


def _sheet_cells(ws) -> dict[tuple[int, int], tuple]:
    """(row, column) → (value, number format) for every cell that holds a value; a merged range's
    value is copied down its rows (a company merging the 제품 id of two rows means both)."""
    cells = {}
    store = getattr(ws, "_cells", None)
    items = store.items() if isinstance(store, dict) else (((c.row, c.column), c) for row in ws.iter_rows() for c in row)
    for (row, column), cell in items:
        value = cell.value
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        cells[(row, column)] = (value, cell.number_format or "General")
    for merged in list(ws.merged_cells.ranges):
        top = cells.get((merged.min_row, merged.min_col))
        if top is None:
            continue
        for row in range(merged.min_row + 1, min(merged.max_row, merged.min_row + MAX_RECORDS) + 1):
            cells.setdefault((row, merged.min_col), top)
    return cells


_CELL = re.compile(r"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
_REF_ATTR = re.compile(r'\br="([A-Z]{1,3}[0-9]+)"')


def _formula_cells(data: bytes) -> dict[str, set[str]]:
    """Sheet name → cells holding a formula, from the sheet XML (openpyxl's value pass gives only
    the cached results). The archive passed check_archive, so every read is bounded."""
    out: dict[str, set[str]] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        workbook = archive.read("xl/workbook.xml").decode("utf-8", "replace")
        rels_name = "xl/_rels/workbook.xml.rels"
        rels = archive.read(rels_name).decode("utf-8", "replace") if rels_name in names else ""
        targets = {}
        for attrs in re.findall(r"<Relationship\b([^>]*?)/?>", rels):
            rid, target = re.search(r'\bId="([^"]+)"', attrs), re.search(r'\bTarget="([^"]+)"', attrs)
            if rid and target:
                path = target.group(1)
                targets[rid.group(1)] = path.lstrip("/") if path.startswith("/") else "xl/" + path.removeprefix("./")
        for attrs in re.findall(r"<(?:\w+:)?sheet\b([^>]*?)/?>", workbook):
            name = re.search(r'\bname="([^"]*)"', attrs)
            rid = re.search(r'\br:id="([^"]+)"', attrs) or re.search(r'\b\w+:id="([^"]+)"', attrs)
            member = targets.get(rid.group(1)) if rid else None
            if not name or member not in names:
                continue
            xml = archive.read(member).decode("utf-8", "replace")
            sheet = name.group(1).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'")
            found = {m.group(1) for c in _CELL.finditer(xml) if c.group(2) and "<f" in c.group(2)
                     for m in [_REF_ATTR.search(c.group(1))] if m}
            if found:
                out[sheet] = found
    return out
