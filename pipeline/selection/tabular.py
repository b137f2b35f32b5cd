"""An online-form response export as rows of cells, read defensively.

CSV: UTF-8 with or without BOM (Google Forms, 네이버폼), UTF-16 with BOM (Excel's 'Unicode text',
tab-separated), CP949/EUC-KR (a CSV saved by Korean Excel); anything else is refused with a clear
message rather than guessed. The delimiter is the one the header line uses (comma, tab or
semicolon). .xlsx: the untrusted-workbook checks of the 자료요청서 reader (file size, zip member and
ratio limits before anything is decompressed, macros refused), then openpyxl read-only with cached
values. Rows keep their number as in the file (header = row 1, a CSV record that spans lines is one
row, as Excel shows it), so every message can name them.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import ApplicationImportError, IntakeError

MAX_FILE_BYTES = 10 * 1024 * 1024    # an export of a few hundred applicants is well under 1 MB
MAX_ROWS = 5_000                     # responses
MAX_COLUMNS = 300
MAX_CELL_CHARS = 20_000              # one long answer
_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, .doc, .hwp (the old binary formats)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
SAVE_AS = "Excel 통합 문서(*.xlsx) 또는 CSV UTF-8(쉼표로 분리)(*.csv)로 저장해 주세요"


@dataclass
class Table:
    name: str                                  # the file name, for messages
    kind: str                                  # what it was read as: "CSV (UTF-8)", "xlsx (시트 '설문지 응답 시트1')"
    rows: list[tuple[int, list[tuple]]]        # (row number in the file, [(value, number format), …]); blank rows left out
    warnings: list[str] = field(default_factory=list)


def _refuse(name: str, message: str) -> ApplicationImportError:
    return ApplicationImportError(f"{name}: {message}. 아무것도 저장하지 않았습니다")


def read_capped(path: Path) -> bytes:
    path = Path(path)
    if not path.is_file():
        raise ApplicationImportError(f"{path}: 파일이 없습니다")
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)  # capped: never more than the limit in memory
    except OSError as exc:
        raise ApplicationImportError(f"{path}: 파일을 읽을 수 없습니다 ({exc.strerror})") from None
    if len(data) > MAX_FILE_BYTES:
        raise _refuse(path.name, f"파일이 너무 큽니다 (한도 {MAX_FILE_BYTES // 1048576} MB). 신청서 응답 내보내기 파일이 맞는지 확인해 주세요")
    return data


def read_table(path: Path) -> Table:
    """The cells of the export's first sheet (or the CSV), with row numbers as in the file."""
    path = Path(path)
    name = path.name
    suffix = path.suffix.lower()
    if suffix in (".xlsm", ".xltm", ".xlsb"):
        raise _refuse(name, f"매크로 사용 통합 문서({suffix})는 받지 않습니다. {SAVE_AS}")
    data = read_capped(path)
    if not data.strip():
        raise _refuse(name, "파일이 비어 있습니다")
    if data.startswith(_OLE) or suffix == ".xls":
        raise _refuse(name, f"옛 Excel 형식(.xls) 등 이진 파일은 읽지 않습니다. {SAVE_AS}")
    if data.startswith(_ZIP):
        return _read_xlsx(name, data)
    if suffix in (".xlsx", ".ods"):
        raise _refuse(name, f"확장자는 {suffix}인데 Excel 통합 문서(zip)가 아닙니다. {SAVE_AS}")
    return _read_csv(name, data)


# ====================================================================== CSV
def _decode(name: str, data: bytes) -> tuple[str, str]:
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[3:].decode("utf-8"), "CSV (UTF-8, BOM)"
        except UnicodeDecodeError as exc:
            raise _refuse(name, f"UTF-8 표시(BOM)가 있는데 {exc.start}바이트째가 UTF-8이 아닙니다. 파일이 손상되었는지 확인해 주세요") from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "CSV (UTF-16)"
        except UnicodeDecodeError:
            raise _refuse(name, "UTF-16 표시(BOM)가 있는데 내용을 읽을 수 없습니다") from None
    if b"\x00" in data[:65536]:
        raise _refuse(name, f"글자(CSV) 파일이 아닙니다 (이진 내용). {SAVE_AS}")
    try:
        return data.decode("utf-8"), "CSV (UTF-8)"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp949"), "CSV (CP949/EUC-KR)"
    except UnicodeDecodeError as exc:
        raise _refuse(name, f"문자 인코딩을 알 수 없습니다 ({exc.start}바이트째가 UTF-8도 CP949(EUC-KR)도 아님). {SAVE_AS}") from None


def _delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _read_csv(name: str, data: bytes) -> Table:
    text, kind = _decode(name, data)
    if not text.strip():
        raise _refuse(name, "파일이 비어 있습니다")
    bad = _CONTROL.search(text[:65536])
    if bad:
        raise _refuse(name, f"글자(CSV) 파일이 아닙니다 (제어 문자 U+{ord(bad.group()):04X}). {SAVE_AS}")
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    rows: list[tuple[int, list[tuple]]] = []
    number = 0
    try:
        for record in reader:
            number += 1
            if number > MAX_ROWS + 1:
                raise _refuse(name, f"행이 너무 많습니다 (응답 {MAX_ROWS:,}행 한도)")
            if len(record) > MAX_COLUMNS:
                raise _refuse(name, f"{number}행: 열이 너무 많습니다 ({len(record)}개, 한도 {MAX_COLUMNS})")
            if not any(cell.strip() for cell in record):
                continue
            rows.append((number, [(cell, "General") for cell in record]))
    except csv.Error as exc:
        raise _refuse(name, f"{number + 1}행: CSV로 읽을 수 없습니다 ({exc}). {SAVE_AS}") from None
    label = {",": "쉼표", "\t": "탭", ";": "세미콜론"}[delimiter]
    return Table(name, f"{kind}, {label}로 구분", rows)


# ====================================================================== xlsx
def _read_xlsx(name: str, data: bytes) -> Table:
    import warnings

    from openpyxl import load_workbook

    from pipeline.profile.intake import check_archive

    try:
        check_archive(name, data)
    except IntakeError as exc:
        raise ApplicationImportError(f"{exc.message} (아무것도 저장하지 않았습니다)") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise _refuse(name, f"통합 문서를 열 수 없습니다 ({type(exc).__name__}: {str(exc)[:200]}). {SAVE_AS}") from None
    try:
        sheets = [ws for ws in book.worksheets if getattr(ws, "sheet_state", "visible") == "visible"] or book.worksheets
        if not sheets:
            raise _refuse(name, "시트가 없습니다")
        ws = sheets[0]
        rows: list[tuple[int, list[tuple]]] = []
        for number, row in enumerate(ws.iter_rows(), start=1):
            if number > MAX_ROWS + 1:
                raise _refuse(name, f"행이 너무 많습니다 (응답 {MAX_ROWS:,}행 한도)")
            cells = [(_cell_value(c), getattr(c, "number_format", None) or "General") for c in row[:MAX_COLUMNS + 1]]
            if len(cells) > MAX_COLUMNS and cells[MAX_COLUMNS][0] is not None:
                raise _refuse(name, f"{number}행: 열이 너무 많습니다 (한도 {MAX_COLUMNS})")
            cells = cells[:MAX_COLUMNS]
            while cells and cells[-1][0] is None:
                cells.pop()
            if not any(v is not None and (not isinstance(v, str) or v.strip()) for v, _f in cells):
                continue
            rows.append((number, cells))
        if not rows:
            raise _refuse(name, f"첫 시트 '{ws.title}'가 비어 있습니다")
        table = Table(name, f"xlsx (시트 '{ws.title}')", rows)
        if len(sheets) > 1:
            table.warnings.append(f"시트가 {len(sheets)}개입니다: 첫 시트 '{ws.title}'만 읽었습니다")
        return table
    finally:
        book.close()


def _cell_value(cell):
    value = getattr(cell, "value", None)
    if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
        return value[: MAX_CELL_CHARS + 1]  # reported as too long by the importer
    if isinstance(value, dt.time):
        return value.isoformat(timespec="minutes")
    return value
