"""The online-form mapping (content/selection/application-form-<year>.yaml): which column header
fills which application field, how a cell becomes the value, and the defaults. Checked against the
application format, so a mapping that names a field the format does not have fails before any row
is read. The conversions are here too: they are what the mapping's `convert` names."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import ContentError
from pipeline.locations import content_root
from pipeline.profile.intake import CellProblem, Field, cell_to_value, parse_number
from pipeline.profile.yamlsafe import YamlSyntaxError, load_yaml

CONVERTS = ("text", "number", "integer", "boolean", "date", "datetime", "business_number", "city")
ENTRY_KEYS = {"field", "header", "also", "required", "convert", "choices", "split", "units", "default"}
DEFAULT_SPLIT = (",", ";", "\n")
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
_NUMBERING = re.compile(r"^(?:q\s*)?\d{1,3}\s*[.)\-]\s*", re.I)
_REQUIRED_MARK = re.compile(r"(?:\*|\(필수\)|\[필수\]|필수)$")
_DOTS = str.maketrans({"ㆍ": "·", "ᆞ": "·", "・": "·", "•": "·", "‧": "·", "∙": "·"})


def normal_header(text) -> str:
    """A header as compared: NFKC (full-width → half-width), no spaces or line breaks, no question
    number in front, no required mark behind, middle dots unified, case-folded."""
    t = unicodedata.normalize("NFKC", str(text or "").translate(_DOTS)).translate(_DOTS)
    t = re.sub(r"[\u200b-\u200d\ufeff]", "", t).strip()
    t = _NUMBERING.sub("", t)
    t = re.sub(r"\s+", "", t)
    t = _REQUIRED_MARK.sub("", t)
    return t.casefold()


def header_stem(key: str) -> str:
    """A normalised header without a trailing parenthesised or bracketed hint."""
    stem = re.sub(r"(?:\([^()]*\)|\[[^\[\]]*\])+$", "", key)
    return stem or key


def _normal_answer(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip().casefold()


@dataclass
class Entry:
    field: str
    parts: tuple
    header: str | None
    also: list[str]
    required: bool
    convert: str
    schema: dict
    many: bool = False
    choices: dict = field(default_factory=dict)   # normalised answer → value
    shown: list = field(default_factory=list)     # the answers as the mapping writes them
    split: tuple = DEFAULT_SPLIT
    units: dict = field(default_factory=dict)
    default: object = None
    line: int | None = None
    yes_no: dict = field(default_factory=dict)

    @property
    def headers(self) -> list[str]:
        return ([self.header] if self.header else []) + list(self.also)


@dataclass
class Mapping:
    path: Path
    year: int
    title: str
    channel: str | None
    entries: list[Entry]
    ignore: set[str]
    id_headers: list[str]
    id_from: str | None
    id_prefix: str
    by_header: dict[str, Entry]
    by_stem: dict[str, Entry] = field(default_factory=dict)   # headers without a trailing (…) hint
    yes_no: dict = field(default_factory=dict)                # extra words for 예/아니오 ('제출', '미제출')

    def entry_for(self, header) -> Entry | None:
        """The entry of a file's header: exact (normalised), else without a trailing hint such as
        '기업규모(중소/중견)' or '매출 대비 수출 비중 [%]', matched on either side."""
        key = normal_header(header)
        if key in self.by_header:
            return self.by_header[key]
        stem = header_stem(key)
        return self.by_header.get(stem) or self.by_stem.get(stem) or self.by_stem.get(key)


def find_mapping(year: int | None, path: str | Path | None = None) -> Path:
    folder = content_root() / "selection"
    if path:
        target = Path(path)
    else:
        target = folder / f"application-form-{year}.yaml"
    if not target.is_file():
        known = ", ".join(sorted(p.name for p in folder.glob("application-form-*.yaml"))) or "(없음)"
        raise ContentError(f"온라인 신청서 매핑 파일이 없습니다: {target}. 있는 파일: {known} "
                           "(다른 해의 파일을 application-form-<연도>.yaml로 복사해 고치세요)")
    return target


def _node_at(schema: dict, defs: dict, parts: tuple) -> dict | None:
    node = schema
    for part in parts:
        while isinstance(node, dict) and "$ref" in node:
            node = {**defs.get(node["$ref"].rsplit("/", 1)[-1], {}), **{k: v for k, v in node.items() if k != "$ref"}}
        if not isinstance(node, dict):
            return None
        props = node.get("properties", {})
        if part in props:
            node = props[part]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            return None
    while isinstance(node, dict) and "$ref" in node:
        node = {**defs.get(node["$ref"].rsplit("/", 1)[-1], {}), **{k: v for k, v in node.items() if k != "$ref"}}
    if isinstance(node, dict) and "anyOf" in node:  # answers: text or a list of texts
        node = next((n for n in node["anyOf"] if n.get("type") == "array"), node["anyOf"][0])
    return node


def _types(node: dict) -> list[str]:
    t = node.get("type", "string")
    return [x for x in (t if isinstance(t, list) else [t]) if x != "null"] or ["string"]


def load_mapping(path: Path, app_schema: dict) -> Mapping:
    """Read and check the mapping; ContentError naming file:line on any problem."""
    from pipeline.selection.inputs import DATE, DATETIME

    try:
        doc = load_yaml(Path(path).read_bytes())
    except OSError as exc:
        raise ContentError(f"{path}: 매핑 파일을 읽을 수 없습니다 ({exc.strerror})") from None
    except YamlSyntaxError as exc:
        raise ContentError(f"{path}:{exc.line or 1}: {exc.message}") from None
    data = doc.data
    problems: list[tuple[str, str]] = [(f, "키가 두 번 나옵니다") for f, _ in doc.duplicates]
    if not isinstance(data, dict) or not isinstance(data.get("columns"), list) or not data["columns"]:
        raise ContentError(f"{path}: 'columns:' 목록(열 제목 → 신청서 항목)이 필요합니다")
    defs = app_schema.get("$defs", {})
    entries: list[Entry] = []
    by_header: dict[str, Entry] = {}
    for i, raw in enumerate(data["columns"]):
        where = f"columns[{i}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("field"), str):
            problems.append((where, "field(신청서 항목 경로)가 필요합니다"))
            continue
        unknown = sorted(set(raw) - ENTRY_KEYS)
        if unknown:
            problems.append((where, f"알 수 없는 키: {', '.join(unknown)} (쓸 수 있는 키: {', '.join(sorted(ENTRY_KEYS))})"))
        parts = tuple(raw["field"].split("."))
        node = _node_at(app_schema, defs, parts)
        if node is None or parts[0] == "evaluations":
            problems.append((f"{where}.field", f"'{raw['field']}'는 신청서 형식에 없는 항목입니다 (docs/selection.md)"))
            continue
        many = "array" in _types(node)
        item = node.get("items", {}) if many else node
        convert = raw.get("convert") or _default_convert(item, DATE.pattern, DATETIME.pattern)
        if convert not in CONVERTS:
            problems.append((f"{where}.convert", f"쓸 수 있는 값: {', '.join(CONVERTS)}"))
            continue
        choices, shown = {}, []
        if raw.get("choices") is not None:
            if not isinstance(raw["choices"], dict) or not raw["choices"]:
                problems.append((f"{where}.choices", "'폼의 답: 저장할 값' 목록이어야 합니다"))
            else:
                for answer, value in raw["choices"].items():
                    choices[_normal_answer(str(answer))] = value
                    shown.append(str(answer))
                for value in item.get("enum", []) or []:
                    if value is not None:
                        choices.setdefault(_normal_answer(str(value)), value)
                bad = [v for v in raw["choices"].values() if item.get("enum") and v not in item["enum"]]
                if bad:
                    problems.append((f"{where}.choices", f"저장할 값 {bad[0]!r}은(는) 이 항목에 쓸 수 없습니다 "
                                                          f"(쓸 수 있는 값: {', '.join(str(v) for v in item['enum'] if v is not None)})"))
        split = raw.get("split", DEFAULT_SPLIT)
        if not isinstance(split, (list, tuple)) or not all(isinstance(s, str) and s for s in split):
            problems.append((f"{where}.split", "구분 문자 목록이어야 합니다 (예: [\";\", \"\\n\"])"))
            split = DEFAULT_SPLIT
        units = raw.get("units") or {}
        if not isinstance(units, dict) or not all(isinstance(v, (int, float)) and v > 0 for v in units.values()):
            problems.append((f"{where}.units", "'단위: 배수' 목록이어야 합니다 (예: {억원: 100})"))
            units = {}
        default = raw.get("default")
        problems.extend((f"{where}.default", m) for m in _default_problems(default, app_schema, defs))
        headers = [raw.get("header")] + list(raw.get("also") or []) if raw.get("header") else list(raw.get("also") or [])
        entry = Entry(raw["field"], parts, raw.get("header"), [str(a) for a in raw.get("also") or []],
                      bool(raw.get("required")), convert, item, many, choices, shown, tuple(split), units, default,
                      doc.line_of(where))
        if entry.required and not entry.header:
            problems.append((where, "필수(required) 항목에는 header(열 제목)가 필요합니다"))
        if any(e.field == entry.field for e in entries):
            problems.append((f"{where}.field", f"'{entry.field}'가 두 번 나옵니다"))
        for header in headers:
            key = normal_header(header)
            if not key:
                problems.append((where, "빈 열 제목이 있습니다"))
            elif key in by_header and by_header[key] is not entry:
                problems.append((where, f"열 제목 '{header}'가 '{by_header[key].field}'에도 있습니다 (정규화한 뒤 같은 제목)"))
            else:
                by_header[key] = entry
        entries.append(entry)
    ident = data.get("id") or {}
    if not isinstance(ident, dict):
        problems.append(("id", "id: {header, also, derive: {from, prefix}} 형식이어야 합니다"))
        ident = {}
    derive = ident.get("derive") or {}
    if derive and (_node_at(app_schema, defs, tuple(str(derive.get("from", "")).split("."))) is None):
        problems.append(("id.derive.from", f"'{derive.get('from')}'는 신청서 형식에 없는 항목입니다"))
    id_headers = ([ident["header"]] if ident.get("header") else []) + [str(a) for a in ident.get("also") or []]
    for header in id_headers:
        if normal_header(header) in by_header:
            problems.append(("id.header", f"열 제목 '{header}'가 columns에도 있습니다"))
    if not id_headers and not derive:
        problems.append(("id", "신청서 id를 정할 방법(header 또는 derive)이 필요합니다"))
    if problems:
        lines = "\n".join(f"  - {path}:{doc.line_of(f) or 1} [{f}] {m}" for f, m in problems)
        raise ContentError(f"온라인 신청서 매핑 오류 {len(problems)}건:\n{lines}")
    ignore = {normal_header(h) for h in data.get("ignore") or []}
    stems: dict[str, list[Entry]] = {}
    for key, entry in by_header.items():
        stems.setdefault(header_stem(key), []).append(entry)
    by_stem = {k: v[0] for k, v in stems.items() if all(e is v[0] for e in v) and k not in by_header}
    yes_no = {_normal_answer(str(k)): bool(v) for k, v in (data.get("yes_no") or {}).items() if isinstance(v, bool)}
    for entry in entries:
        entry.yes_no = yes_no
    return Mapping(Path(path), int(data.get("year") or 0), str(data.get("title") or ""), data.get("channel"),
                   entries, ignore, id_headers, derive.get("from"), str(derive.get("prefix", "")), by_header,
                   by_stem, yes_no)


def _default_convert(item: dict, date_pattern: str, datetime_pattern: str) -> str:
    types = _types(item)
    if "boolean" in types:
        return "boolean"
    if "integer" in types:
        return "integer"
    if "number" in types:
        return "number"
    if item.get("pattern") == date_pattern:
        return "date"
    if item.get("pattern") == datetime_pattern:
        return "datetime"
    return "text"


def _default_problems(default, schema: dict, defs: dict) -> list[str]:
    if not isinstance(default, dict):
        return []
    kinds = [k for k in ("value", "nonempty", "date_of") if k in default]
    if len(kinds) != 1 or set(default) - {"value", "nonempty", "date_of", "when"}:
        return ["default는 값 하나, 또는 {value|nonempty|date_of: …, when: …} 중 하나여야 합니다"]
    out = []
    for key in ("nonempty", "date_of", "when"):
        if key in default and _node_at(schema, defs, tuple(str(default[key]).split("."))) is None:
            out.append(f"{key}: '{default[key]}'는 신청서 형식에 없는 항목입니다")
    return out


# ====================================================================== cell → value
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
