"""Values between cells and profile data: what a cell shows for a value, and a cell read back as the
value its field needs (numbers typed as text, Korean yes/no, closed lists, dates Excel made)."""
from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata

from pipeline.profile.intake.model import BOOLEAN, _FALSE, _TRUE, Choices, Field

LIST_SEPARATORS = re.compile(r"[,;、\n]+")

# Characters a profile cannot hold (XML 1.0 has no place for them; yamlsafe refuses them too).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def display_value(f: Field, value):
    """What the workbook shows for a profile value (None: blank)."""
    if value is None:
        return None
    if f.shape == "list":
        if not isinstance(value, list):
            return str(value)
        items = [str(v) for v in value]  # codes: a list cell holds several, so no drop-down names
        return (", " if f.separator == "," else "\n").join(items)
    if f.choices is not None:
        return f.choices.shown(value)
    if isinstance(value, bool):
        return BOOLEAN.shown(value)
    return value


class CellProblem(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _normal(text: str) -> str:
    return unicodedata.normalize("NFKC", text).replace("\u00a0", " ").strip()


def parse_number(text: str, integer: bool = False) -> float | int:
    """A number typed as text: '21,800', '3,5', '1.234,5', '1 234', '５５%'. Raises ValueError.

    A comma followed by exactly three digits is a thousands separator (the Korean convention, so
    '1,500' is 1500); another comma is a decimal comma ('3,5' → 3.5, LibreOffice in a German locale)."""
    t = _normal(text).replace(" ", "").replace("'", "").replace("_", "")
    if t.endswith("%"):
        t = t[:-1]
    if re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?", t):
        t = t.replace(",", "")
    elif re.fullmatch(r"[+-]?\d{1,3}(\.\d{3}){2,}(,\d+)?", t) or re.fullmatch(r"[+-]?\d{1,3}(\.\d{3})+,\d+", t):
        t = t.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"[+-]?\d*,\d+", t):
        t = t.replace(",", ".")
    if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", t):
        raise ValueError(text)
    value = float(t)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def _clean_number(value: float, integer: bool, what: str):
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CellProblem(f"{what}여야 합니다")
        value = float(f"{value:.15g}")  # Excel keeps 15 significant digits; drop binary noise of a re-save
        if value.is_integer() and abs(value) < 2**53:
            return int(value)
        if integer:
            raise CellProblem(f"정수여야 합니다 (지금 값: {value:g})")
    return value


def cell_to_value(f: Field, raw, number_format: str = "General"):
    """A cell's value as the profile value of field `f`; None for a blank cell; CellProblem if it
    cannot be read as what the field needs."""
    if raw is None:
        return None
    if isinstance(raw, str):
        if not _normal(raw):
            return None
        if raw.startswith("#") and raw.rstrip("!?").upper() in ("#N/A", "#DIV/0", "#VALUE", "#REF", "#NAME", "#NUM", "#NULL"):
            raise CellProblem(f"셀에 계산 오류 값({raw})이 있습니다. 값을 직접 적어 주세요")
    if f.shape == "list":
        text = _as_text(raw, number_format)
        pieces = [p.strip() for p in (re.split(r"[\r\n]+", text) if f.separator == "\n" else LIST_SEPARATORS.split(text))]
        pieces = [_normal(p) for p in pieces if _normal(p)]
        if f.choices is not None:
            return [_choice(f.choices, p, several=True) for p in pieces]
        return pieces or None
    if f.choices is not None and f.choices is not BOOLEAN:
        return _choice(f.choices, raw)
    types = f.types
    if "boolean" in types:
        return _boolean(raw)
    numeric = [t for t in types if t in ("integer", "number")]
    if numeric and "string" in types:  # a union: the cell's own type decides
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            return _number_cell(raw, number_format, numeric == ["integer"])
        return _string(f, raw, number_format)
    if numeric:
        integer = numeric == ["integer"]
        what = "정수" if integer else "숫자"
        if isinstance(raw, bool):
            raise CellProblem(f"{what}여야 합니다 (지금 값: {BOOLEAN.shown(raw)})")
        if isinstance(raw, (int, float)):
            return _number_cell(raw, number_format, integer)
        if isinstance(raw, (dt.datetime, dt.date, dt.time, dt.timedelta)):
            raise CellProblem(f"{what}여야 하는데 날짜·시간으로 저장되어 있습니다. 셀 서식을 '숫자'로 바꾸고 다시 적어 주세요")
        text = _normal(str(raw))
        unit = _normal(f.unit).replace(" ", "")
        if unit and text.replace(" ", "").endswith(unit) and unit != "%":
            text = text.replace(" ", "")[: -len(unit)]  # '62명', '21,800백만원': the field's own unit
        try:
            value = parse_number(text)
        except ValueError:
            raise CellProblem(f"{what}여야 합니다. 단위나 글자 없이 숫자만 적어 주세요 (지금 값: {_show(raw)})") from None
        return _clean_number(value, integer, what)
    return _string(f, raw, number_format)


def _number_cell(raw, number_format: str, integer: bool):
    value = raw
    if "%" in (number_format or ""):
        value = raw * 100  # a cell formatted as 55% holds 0.55; the profile wants 55
    return _clean_number(float(value) if isinstance(value, float) else value, integer, "정수" if integer else "숫자")


def _string(f: Field, raw, number_format: str) -> str:
    text = _as_text(raw, number_format)
    text = text.strip()
    bad = _NOT_XML.search(text)
    if bad:
        raise CellProblem(f"쓸 수 없는 제어 문자(U+{ord(bad.group()):04X})가 있습니다. 값을 다시 입력해 주세요")
    digits = re.fullmatch(r"\^\[0-9\]\{(\d+)\}\$", f.schema.get("pattern", ""))
    if digits and isinstance(raw, (int, float)) and re.fullmatch(r"\d+", text):
        text = text.zfill(int(digits.group(1)))  # a leading zero lost when the code was typed as a number
    return text


def _as_text(raw, number_format: str) -> str:
    if isinstance(raw, bool):
        return BOOLEAN.shown(raw)
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):
        value = float(f"{raw:.15g}")
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else f"{value:.15g}"
    if isinstance(raw, dt.datetime):
        if raw.time() == dt.time(0) and raw.day == 1 and "d" not in (number_format or "").lower():
            return raw.strftime("%Y-%m")  # '2026-06' typed into a cell that Excel or Calc took for a date
        return raw.date().isoformat() if raw.time() == dt.time(0) else raw.isoformat(sep=" ", timespec="minutes")
    if isinstance(raw, dt.date):
        return raw.isoformat()
    if isinstance(raw, (dt.time, dt.timedelta)):
        return str(raw)
    return unicodedata.normalize("NFC", str(raw).replace("\r\n", "\n").replace("\r", "\n"))


def _boolean(raw):
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, (int, float)) and raw in (0, 1):
        return bool(raw)
    text = _normal(str(raw)).casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CellProblem(f"'예' 또는 '아니오'여야 합니다 (지금 값: {_show(raw)})")


def _choice(choices: Choices, raw, several: bool = False):
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        for code, _shown_text in choices.options:
            if isinstance(code, (int, float)) and not isinstance(code, bool) and code == raw:
                return code
        raw = _as_text(raw, "General")
    text = _normal(str(raw))
    folded = text.casefold()
    bracket = re.search(r"\[([^\[\]]+)\]\s*$", text)
    for code, shown in choices.options:
        code_text = str(code)
        label = shown[: -len(f" [{code_text}]")] if shown.endswith(f" [{code_text}]") else shown
        if text in (shown, code_text) or folded in (shown.casefold(), code_text.casefold(), label.casefold()):
            return code
        if bracket and bracket.group(1).strip().casefold() == code_text.casefold():
            return code
    if not choices.strict:
        return bracket.group(1).strip() if bracket else text
    if several:
        codes = ", ".join(str(c) for c, _s in choices.options[:40]) + (" …" if len(choices.options) > 40 else "")
        raise CellProblem(f"알 수 없는 값 {_show(raw)}. 쓸 수 있는 값 (쉼표로 구분): {codes}")
    shown_all = ", ".join(s for _c, s in choices.options[:15]) + (" …" if len(choices.options) > 15 else "")
    raise CellProblem(f"목록에 없는 값입니다 (지금 값: {_show(raw)}). 셀의 목록에서 골라 주세요: {shown_all}")


def _show(value) -> str:
    text = str(value)
    return f"'{text}'" if len(text) <= 40 else f"'{text[:37]}…'"
