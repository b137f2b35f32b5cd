"""A cell of an online-form export → the application value its mapping entry names: text, numbers
with commas or units (억원), 예/아니오, the form's answer texts, Korean dates and times as forms and
Excel write them, business numbers, the city of an address, multi-answer cells."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata

from pipeline.profile.intake import CellProblem, Field, cell_to_value, parse_number
from pipeline.selection.form_mapping import Entry, _normal_answer

NOTHING = {"-", "–", "—", "없음", "해당없음", "해당 없음", "n/a", "na"}
_NOT_TEXT = ("number", "integer", "date", "datetime")
_DATE = r"(\d{4})\s*(?:[.\-/]|년)\s*(\d{1,2})\s*(?:[.\-/]|월)\s*(\d{1,2})\s*(?:일|\.)?"
_DATETIME = re.compile(
    rf"^{_DATE}\s*(?:\(\s*[월화수목금토일]\s*\))?\s*(?:[T\s]\s*(오전|오후|AM|PM)?\s*(\d{{1,2}})\s*(?::|시)\s*(\d{{1,2}})"
    r"\s*(?:(?::|분)\s*(\d{1,2}(?:\.\d+)?)\s*초?)?\s*(?:분)?\s*(오전|오후|AM|PM)?"
    r"(?:\s*(?:GMT|UTC)\s*([+-]\s*\d{1,2}(?::?\d{2})?)|\s*(KST|\+09:?00))?)?$", re.I)  # Google Forms CSV: '… 오후 GMT+9'
_KOREAN_OFFSETS = {"+9", "+09", "+0900", "+09:00"}
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _show(raw) -> str:
    text = str(raw)
    return f"'{text}'" if len(text) <= 40 else f"'{text[:37]}…'"


def as_text(raw) -> str:
    if isinstance(raw, bool):
        return "예" if raw else "아니오"
    if isinstance(raw, float) and raw.is_integer() and abs(raw) < 2**53:
        return str(int(raw))
    if isinstance(raw, dt.datetime):
        return raw.strftime("%Y-%m-%d %H:%M") if raw.time() != dt.time(0) else raw.date().isoformat()
    if isinstance(raw, dt.date):
        return raw.isoformat()
    text = unicodedata.normalize("NFC", str(raw).replace("\r\n", "\n").replace("\r", "\n")).strip()
    bad = _NOT_XML.search(text)
    if bad:
        raise CellProblem(f"쓸 수 없는 제어 문자(U+{ord(bad.group()):04X})가 있습니다")
    return text


def parse_when(raw, need_time: bool):
    """A date (and time) as Korean forms and Excel write it: '2025. 8. 20 오후 4:12:00',
    '2025.08.20 16:12', '2025-08-20T16:12', '2025년 8월 20일 16시 12분', '20250820', an Excel date."""
    if isinstance(raw, dt.datetime):
        return raw if need_time else raw.date()
    if isinstance(raw, dt.date):
        if need_time:
            raise CellProblem("접수 시각에 시·분이 없습니다 (예: 2025-08-20 16:12)")
        return raw
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        raise CellProblem(f"날짜가 숫자({_show(raw)})로 되어 있습니다. 날짜로 적어 주세요 (예: 2025-08-20)")
    text = unicodedata.normalize("NFKC", str(raw)).strip()
    us = re.match(r"^(\d{1,2})/(\d{1,2})/(\d{4})\b(.*)$", text)
    if us:  # an English-locale export: 8/20/2025 16:12:34 (month first, as Google and Microsoft Forms write it)
        first, second, year, rest = us.groups()
        month, day = (second, first) if int(first) > 12 else (first, second)
        text = f"{year}-{month}-{day}{rest}"
    m = _COMPACT.match(text)
    groups = (m.group(1), m.group(2), m.group(3), None, None, None, None, None) if m else None
    if groups is None:
        m = _DATETIME.match(text)
        if not m:
            example = "2025-08-20 16:12 또는 2025. 8. 20 오후 4:12:00" if need_time else "2025-08-20 또는 2025. 8. 20"
            raise CellProblem(f"날짜{'·시각' if need_time else ''}으로 읽을 수 없습니다 (지금 값: {_show(raw)}; 예: {example})")
        groups = m.groups()
    year, month, day, meridiem, hour, minute, second, meridiem_after, offset, _kst = groups
    if offset and re.sub(r"\s", "", offset) not in _KOREAN_OFFSETS:
        raise CellProblem(f"한국 시각(GMT+9)이 아닌 시각입니다 (지금 값: {_show(raw)}). 한국 시각으로 적어 주세요")
    try:
        date = dt.date(int(year), int(month), int(day))
    except ValueError:
        raise CellProblem(f"없는 날짜입니다 (지금 값: {_show(raw)})") from None
    if hour is None:
        if need_time:
            raise CellProblem(f"접수 시각에 시·분이 없습니다 (지금 값: {_show(raw)}; 예: 2025-08-20 16:12)")
        return date
    h, mi = int(hour), int(minute)
    half = (meridiem or meridiem_after or "").upper()
    if half:
        if not 1 <= h <= 12:
            raise CellProblem(f"오전·오후와 함께 쓴 시각은 1–12시여야 합니다 (지금 값: {_show(raw)})")
        h = h % 12 + (12 if half in ("오후", "PM") else 0)
    if h > 23 or mi > 59 or (second and float(second) >= 60):
        raise CellProblem(f"없는 시각입니다 (지금 값: {_show(raw)})")
    return dt.datetime.combine(date, dt.time(h, mi)) if need_time else date


def _number(entry: Entry, raw):
    integer = entry.convert == "integer"
    what = "정수" if integer else "숫자"
    if isinstance(raw, str):
        text = unicodedata.normalize("NFKC", raw).replace(" ", "").strip()
        factor = 1
        for unit in sorted(entry.units, key=len, reverse=True):
            if text.endswith(unit) and text != unit:
                text, factor = text[: -len(unit)], entry.units[unit]
                break
        try:
            value = parse_number(text) * factor
        except ValueError:
            units = f" (단위는 {', '.join(entry.units)}만)" if entry.units else ""
            raise CellProblem(f"{what}여야 합니다 (지금 값: {_show(raw)}){units}") from None
        value = float(f"{value:.12g}")
    else:
        spec = Field(key="", parts=(), generic="", schema={"type": "integer" if integer else "number"})
        value = cell_to_value(spec, raw)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if integer and not isinstance(value, int):
        raise CellProblem(f"정수여야 합니다 (지금 값: {_show(raw)})")
    return value


def _one(entry: Entry, raw):
    convert = entry.convert
    if entry.choices:
        text = as_text(raw)
        value = entry.choices.get(_normal_answer(text))
        if value is None:  # '중소기업 (소기업 포함)', '예 [자체 산정]': the answer without its hint
            value = entry.choices.get(_normal_answer(re.sub(r"\s*(?:\([^()]*\)|\[[^\[\]]*\])\s*$", "", text)))
        if value is None:
            answers = ", ".join(entry.shown[:12]) + (" …" if len(entry.shown) > 12 else "")
            raise CellProblem(f"알 수 없는 답입니다 (지금 값: {_show(raw)}). 받는 답: {answers}")
        return value
    if convert == "boolean":
        if isinstance(raw, str) and _normal_answer(raw) in entry.yes_no:
            return entry.yes_no[_normal_answer(raw)]
        return cell_to_value(Field(key="", parts=(), generic="", schema={"type": "boolean"}), raw)
    if convert in ("number", "integer"):
        return _number(entry, raw)
    if convert == "date":
        return parse_when(raw, need_time=False).isoformat()
    if convert == "datetime":
        return parse_when(raw, need_time=True).strftime("%Y-%m-%d %H:%M")
    if convert == "business_number":
        digits = re.sub(r"[^0-9]", "", unicodedata.normalize("NFKC", as_text(raw)))
        if len(digits) != 10:
            raise CellProblem(f"사업자등록번호는 숫자 10자리여야 합니다 (예: 123-45-67890; 지금 값: {_show(raw)})")
        return f"{digits[:3]}-{digits[3:5]}-{digits[5:]}"
    text = as_text(raw)
    if convert == "city":  # '경상남도 진주시 사봉면 …', '경남진주시' → 진주시
        rest = re.sub(r"^\s*(?:[가-힣]+도|경남|경북|전남|전북|충남|충북|제주)\s*", "", unicodedata.normalize("NFKC", text))
        m = re.match(r"([가-힣]+?[시군])(?![가-힣])", rest) or re.match(r"([가-힣]+?[시군])", rest)
        if m:
            return m.group(1)
    return text


def convert_cell(entry: Entry, raw):
    """The application value of one cell (None for a blank cell); CellProblem with what is expected."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, str) and (entry.many or entry.convert in _NOT_TEXT) and not entry.choices \
            and _normal_answer(raw) in NOTHING:
        return None  # '-', '없음' for a number, a date or a list: no answer
    if isinstance(raw, str) and len(raw) > 20_000:
        raise CellProblem("내용이 너무 깁니다 (20,000자 한도)")
    if isinstance(raw, str) and raw.strip().startswith("#") and raw.strip().rstrip("!?").upper() in (
            "#N/A", "#DIV/0", "#VALUE", "#REF", "#NAME", "#NUM", "#NULL"):
        raise CellProblem(f"셀에 계산 오류 값({raw.strip()})이 있습니다")
    if not entry.many:
        return _one(entry, raw)
    text = as_text(raw)
    pieces = [text]
    for separator in entry.split:
        pieces = [p for piece in pieces for p in piece.split(separator)]
    values = []
    for piece in pieces:
        value = _one(entry, piece.strip()) if piece.strip() else None
        if value is not None and value not in values:  # a name given twice is one name
            values.append(value)
    return values or None
