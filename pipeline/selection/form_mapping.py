"""The online-form mapping (content/selection/application-form-<year>.yaml): which column header
fills which application field, how a cell becomes the value, and the defaults. Checked against the
application format, so a mapping that names a field the format does not have fails before any row
is read. The conversions the mapping's `convert` names are in form_values.py."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import ContentError
from pipeline.locations import content_root
from pipeline.profile.yamlsafe import YamlSyntaxError, load_yaml

CONVERTS = ("text", "number", "integer", "boolean", "date", "datetime", "business_number", "city")
ENTRY_KEYS = {"field", "header", "also", "required", "convert", "choices", "split", "units", "default"}
DEFAULT_SPLIT = (",", ";", "\n")
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
        if "anyOf" in node:  # an answer: one text, or a list of texts when the mapping splits the cell
            node = next((n for n in node["anyOf"] if ("array" in _types(n)) == ("split" in raw)), node["anyOf"][0])
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
