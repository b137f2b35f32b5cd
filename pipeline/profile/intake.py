"""The 자료요청서 (data request workbook): its layout, walked from the profile schema, and reading a
returned workbook back into a profile.

The layout is built from `profile_schema.yaml` at run time, so there is no second field list: every
property becomes a cell, a column or a sheet, and `content/intake/` only adds words (Korean labels,
units, examples, notes, the Korean names of closed-list values) and says which part goes on which
sheet. The writer (`pipeline/exports/intake_form.py`) and the reader below share this layout; the
reader lives here, beside the safe YAML loader and the validation, because what it reads is an
untrusted profile, and because the writer (outputs layer) may import from here but not the other
way round.

How a sheet is marked, so that the reader never depends on positions: column A is hidden and holds
the structure. A block starts with a hidden row whose A cell is `#form`, `#table <path>`,
`#child <path>` or `#map <path>` and whose further cells hold the column keys; header rows have an A
cell starting with `^`; in a form block each field row has its data path in A. Rows a user inserts
have an empty A cell and count as data rows of the table they are in.

A returned workbook is untrusted (size, zip and member limits are checked before openpyxl opens it,
macros are refused, formulas are read as their cached values with a warning, XML is parsed by
openpyxl through defusedxml). Every problem names the sheet and cell (`연료!C7`), the Korean label
and what is expected. With any problem nothing is written.

Longer than 400 lines on purpose: the layout walk, the cell conversions and the reader share one
key scheme (block markers, field keys, data paths), and the writer imports the first two from here;
split along the `# ====` sections (layout, values, reading, into the profile) if it grows further.
"""
from __future__ import annotations

import copy
import datetime as dt
import hashlib
import io
import json
import math
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from pipeline.content import Content, read_yaml
from pipeline.errors import IntakeError, PipelineError, Problem
from pipeline.locations import companies_dir, content_root

FORMAT = "jinju-carbon-pipeline/자료요청서"
FORMAT_VERSION = 1
MARKER_SHEET = "_intake"
LISTS_SHEET = "_lists"
INSTRUCTIONS_SHEET = "안내"

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

LIST_SEPARATORS = re.compile(r"[,;、\n]+")
MAX_LISTED_PROBLEMS = 150
# Characters a profile cannot hold (XML 1.0 has no place for them; yamlsafe refuses them too).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_KEY_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


# ====================================================================== layout
@dataclass(frozen=True)
class Choices:
    """A closed list for a drop-down: (code, shown text) pairs. `strict`: anything else is an error;
    otherwise the list only suggests and other text is kept as typed."""

    name: str
    options: tuple
    strict: bool = True

    def shown(self, code) -> str:
        for value, text in self.options:
            if value == code and type(value) is type(code):
                return text
        return "" if code is None else str(code)


BOOLEAN = Choices("boolean", ((True, "예"), (False, "아니오")))
_TRUE = {"예", "y", "yes", "true", "o", "1", "있음", "참", "네", "○", "v", "✓", "✔"}
_FALSE = {"아니오", "아니요", "n", "no", "false", "x", "0", "없음", "거짓", "×"}


@dataclass(frozen=True)
class Field:
    """One cell of a record: a scalar, one position of a short list ('item'), or a whole list of
    short values in one cell ('list', items split on `separator`)."""

    key: str            # relative to the block's record (tables) or to the profile (forms)
    parts: tuple        # the same as a path: ("annual_output", "amount") or ("demands", 0)
    generic: str        # schema path for content/intake: products[].annual_output.amount
    schema: dict        # resolved schema of the value (of one item for 'item' and 'list')
    shape: str = "value"
    separator: str | None = None
    number: int | None = None
    fixed: bool = False     # 'item' of a list of fixed length (12 months): every position is needed
    required: bool = False
    label: str = ""
    unit: str = ""
    example: str = ""
    note: str = ""
    choices: Choices | None = None

    @property
    def types(self) -> list[str]:
        t = self.schema.get("type", "string")
        return [x for x in (t if isinstance(t, list) else [t]) if x != "null"] or ["string"]


@dataclass
class Block:
    """One region of a sheet: a form (one field per row), a table (one record per row), a child
    table (rows keyed by the parent record's key) or a map (key/value rows keyed by the parent)."""

    kind: str                       # form | table | child | map
    id: str                         # the marker's path: "company", "products", "products[].precursors"
    sheet: str
    title: str
    note: str
    fields: list[Field]
    records: tuple = ()             # where the list sits: in the profile (table) or in the parent record (child, map)
    parent: "Block | None" = None
    parent_key: Field | None = None  # the parent's field that child rows name
    min_items: int = 0
    max_items: int | None = None
    titles: list = field(default_factory=list)      # form: (index of the first field, sub-heading)
    children: list = field(default_factory=list)    # table: its child and map blocks

    def field(self, key: str) -> Field | None:
        for f in self.fields:
            if f.key == key:
                return f
        return None


@dataclass
class Layout:
    sheets: list[tuple[str, str, list[Block]]]      # (sheet name, description, blocks)
    blocks: dict[str, Block]
    consultant_only: list[str]
    covered: list[str]                               # top-level keys the workbook holds
    schema_fingerprint: str
    texts: dict
    lists: list[Choices]
    order: list[str] = field(default_factory=list)   # top-level keys in schema order
    schema: dict = field(default_factory=dict)

    def by_generic(self, generic: str) -> Field | None:
        for block in self.blocks.values():
            for f in block.fields:
                if f.generic == generic:
                    return f
        return None


def intake_content_dir() -> Path:
    return content_root() / "intake"


def _schema_path() -> Path:
    return Path(__file__).with_name("profile_schema.yaml")


def schema_fingerprint(schema: dict) -> str:
    """Of the schema's structure (comments and formatting do not count)."""
    canonical = json.dumps(schema, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def build_layout(content: Content) -> Layout:
    """The workbook layout, from the schema and content/intake/ (labels, sheets)."""
    return _build_layout(_schema_path(), intake_content_dir(), content)


@lru_cache(maxsize=4)
def _build_layout(schema_path: Path, folder: Path, content: Content) -> Layout:
    schema = read_yaml(schema_path)
    texts = read_yaml(folder / "layout.yaml")
    labels = read_yaml(folder / "fields.yaml") or {}
    builder = _Builder(schema, texts, labels, content, folder)
    return builder.build()


class LayoutError(PipelineError):
    """content/intake/ does not fit the profile schema (a part on no sheet, a sheet for no part …)."""


class _Builder:
    def __init__(self, schema: dict, texts: dict, labels: dict, content: Content, folder: Path):
        self.schema, self.texts, self.labels, self.content, self.folder = schema, texts, labels, content, folder
        self.defs = schema.get("$defs", {})
        self.lists: dict[str, Choices] = {}
        self.blocks: dict[str, Block] = {}
        self.claimed = [str(p) for sheet in texts.get("sheets", []) for p in sheet.get("parts", [])]

    # -- schema helpers
    def resolve(self, node: dict) -> dict:
        node = node or {}
        while "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            base = self.defs.get(name)
            if base is None:
                raise LayoutError(f"profile_schema.yaml: $ref '{node['$ref']}'를 찾을 수 없습니다")
            node = {**base, **{k: v for k, v in node.items() if k != "$ref"}}
        return node

    def at(self, dotted: str) -> tuple[dict, bool]:
        """Schema of a dotted top-level path (energy.fuels) and whether it is required all the way."""
        node, required = self.schema, True
        for name in dotted.split("."):
            node = self.resolve(node)
            props = node.get("properties", {})
            if name not in props:
                raise LayoutError(f"content/intake/layout.yaml: '{dotted}'는 프로필 스키마에 없습니다")
            required = required and name in node.get("required", [])
            node = props[name]
        return self.resolve(node), required

    @staticmethod
    def kind(node: dict) -> str:
        types = node.get("type", "string")
        types = [t for t in (types if isinstance(types, list) else [types]) if t != "null"]
        main = types[0] if types else "string"
        if main == "object":
            return "object" if "properties" in node else "map"
        if main == "array":
            return "array"
        return "scalar"

    # -- words
    def words(self, generic: str) -> dict:
        entry = self.labels.get(generic)
        if isinstance(entry, str):
            return {"label": entry}
        return dict(entry or {})

    def choices_for(self, generic: str, node: dict, words: dict) -> Choices | None:
        source = words.get("choices")
        if source:
            return self.named_list(str(source), words)
        enum = [v for v in node.get("enum", []) if v is not None]
        if enum:
            names = words.get("values") or {}
            options = tuple((v, _shown(str(names.get(v, names.get(str(v), ""))), v)) for v in enum)
            return self.register(Choices(generic, options, strict=True))
        if "boolean" in (node.get("type") if isinstance(node.get("type"), list) else [node.get("type")]):
            return self.register(BOOLEAN)
        if words.get("suggest"):
            options = tuple((str(v), str(v)) for v in words["suggest"])
            return self.register(Choices(generic, options, strict=False))
        return None

    def register(self, choices: Choices) -> Choices:
        known = self.lists.get(choices.name)
        if known is None:
            self.lists[choices.name] = choices
            return choices
        return known

    def named_list(self, name: str, words: dict) -> Choices:
        from pipeline.profile.units import ALL_FUEL_UNITS

        content = self.content
        if name in self.lists:
            return self.lists[name]
        if name == "fuels":
            options = tuple((k, _shown(v.get("name_ko", ""), k)) for k, v in content.fuels.items())
            return self.register(Choices(name, options, strict=True))
        if name == "energy_sources":
            fuels = tuple((k, _shown(v.get("name_ko", ""), k)) for k, v in content.fuels.items())
            return self.register(Choices(name, (("electricity", _shown("전력", "electricity")),) + fuels, strict=True))
        if name == "fuel_units":
            return self.register(Choices(name, tuple((u, u) for u in ALL_FUEL_UNITS), strict=True))
        if name.startswith("scope3."):
            table = content.scope3.get(name.split(".", 1)[1], {}) or {}
            options = tuple((k, _shown((v or {}).get("name_ko", "") if isinstance(v, dict) else "", k)) for k, v in table.items())
            return self.register(Choices(name, options, strict=True))
        if name == "measures":
            options = tuple((m["id"], _shown(m.get("name_ko", ""), m["id"])) for m in content.measures)
            return self.register(Choices(name, options, strict=False))
        if name == "programs":
            options = tuple((k, _shown(v.get("name", ""), k)) for k, v in content.programs.items())
            return self.register(Choices(name, options, strict=True))
        if name == "countries":
            countries = read_yaml(self.folder / "countries.yaml") or {}
            options = tuple((str(k), _shown(str(v), str(k))) for k, v in countries.get("countries", {}).items())
            return self.register(Choices(name, options, strict=False))
        raise LayoutError(f"content/intake/fields.yaml: 알 수 없는 목록 '{name}' (choices)")

    # -- fields
    def field(self, key_parts: tuple, generic: str, node: dict, required: bool, *, shape: str = "value",
              separator: str | None = None, number: int | None = None, fixed: bool = False) -> Field:
        words = self.words(generic)
        label = str(words.get("label") or generic.rsplit(".", 1)[-1].replace("[]", ""))
        if number is not None:
            names = words.get("item_labels") or []
            label = str(names[number - 1]) if number - 1 < len(names) else f"{label} {number}"
        choices = self.choices_for(generic, node, words)
        example = _text(words.get("example")) if (number or 1) == 1 else ""  # numbered cells: once, on the first
        if choices is not None and example and choices is not BOOLEAN:
            for code, shown in choices.options:
                if str(code) == example:
                    example = shown
        return Field(key=_key(key_parts), parts=key_parts, generic=generic, schema=node, shape=shape,
                     separator=separator, number=number, fixed=fixed, required=required, label=label,
                     unit=str(words.get("unit") or ""), example=example,
                     note=_auto_note(node, words, shape, separator, choices, required) if (number or 1) == 1 else "",
                     choices=choices)

    def flatten(self, node: dict, parts: tuple, generic: str, required: bool, *, in_form: bool,
                owner: str, nested: list) -> list[Field]:
        """Cells of one record (or of a form). Lists of records found on the way go to `nested`
        as (kind, parts, generic, schema, required)."""
        node = self.resolve(node)
        kind = self.kind(node)
        if in_form and generic in self.claimed and generic != owner:
            return []  # another part puts it on its own sheet
        if kind == "object":
            out = []
            for name, child in node.get("properties", {}).items():
                out += self.flatten(child, parts + (name,), _join(generic, name), required and name in node.get("required", []),
                                    in_form=in_form, owner=owner, nested=nested)
            return out
        if kind == "map":
            nested.append(("map", parts, generic, node, required))
            return []
        if kind == "array":
            items = self.resolve(node.get("items", {}))
            if self.kind(items) in ("object", "map"):
                nested.append(("table", parts, generic, node, required))
                return []
            item_generic = generic + "[]"
            enum = [v for v in items.get("enum", []) if v is not None]
            max_items = node.get("maxItems")
            fixed = node.get("minItems") is not None and node.get("minItems") == max_items
            if enum or fixed or (in_form and max_items is not None and max_items <= 12):
                count = min(len(enum), max_items or len(enum)) if enum else max_items
                min_items = node.get("minItems", 0)
                return [self.field(parts + (i,), item_generic, items, required and i < min_items, shape="item",
                                   number=i + 1, fixed=fixed) for i in range(count)]
            separator = "\n" if _is_long_text(items) else ","
            return [self.field(parts, item_generic, items, required and node.get("minItems", 0) > 0, shape="list",
                               separator=separator)]
        return [self.field(parts, generic, node, required)]

    # -- blocks
    def build(self) -> Layout:
        sheets = []
        consultant_only = [str(k) for k in self.texts.get("consultant_only", [])]
        top = list(self.schema.get("properties", {}))
        for key in consultant_only:
            if key not in top:
                raise LayoutError(f"content/intake/layout.yaml: consultant_only '{key}'는 프로필 스키마에 없습니다")
        for sheet in self.texts.get("sheets", []):
            name = str(sheet["name"])
            _check_sheet_name(name)
            blocks = []
            form_fields: list[Field] = []
            form_titles: list[tuple[int, str]] = []
            tables: list[Block] = []
            form_id = ""
            for part in sheet.get("parts", []):
                part = str(part)
                node, required = self.at(part)
                parts = tuple(part.split("."))
                kind = self.kind(node)
                items = self.resolve(node.get("items", {})) if kind == "array" else {}
                if kind == "array" and self.kind(items) == "object":
                    tables.append(self.table("table", parts, part, node, required, name, None))
                    continue
                nested: list = []
                fields = self.flatten(node, parts, part, required, in_form=True, owner=part, nested=nested)
                if fields:
                    form_titles.append((len(form_fields), str(self.words(part).get("label") or part)))
                    form_id = form_id or part
                    form_fields += fields
                for kind_, sub_parts, sub_generic, sub_node, sub_required in nested:
                    if kind_ != "table":
                        raise LayoutError(f"'{sub_generic}': 키가 정해지지 않은 묶음은 일반 양식에 넣을 수 없습니다 (표의 하위 시트로만)")
                    tables.append(self.table("table", sub_parts, sub_generic, sub_node, sub_required, name, None))
            if form_fields:
                form = Block("form", form_id, name, str(sheet.get("title") or name), _text(sheet.get("note")), form_fields,
                             titles=form_titles)
                blocks.append(form)
                self.add(form)
            blocks += tables
            sheets.append((name, _text(sheet.get("note")), blocks))
            for table in tables:
                for child in table.children:
                    sheets.append((child.sheet, child.note, [child]))
        self.check_coverage(consultant_only)
        covered = [k for k in top if k not in consultant_only]
        names = [s[0] for s in sheets]
        if len(set(names)) != len(names):
            raise LayoutError(f"content/intake/layout.yaml: 시트 이름이 겹칩니다: {names}")
        return Layout(sheets=sheets, blocks=self.blocks, consultant_only=consultant_only, covered=covered,
                      schema_fingerprint=schema_fingerprint(self.schema), texts=self.texts, lists=list(self.lists.values()),
                      order=top, schema=self.schema)

    def add(self, block: Block) -> None:
        if block.id in self.blocks:
            raise LayoutError(f"'{block.id}'가 두 시트에 나옵니다 (content/intake/layout.yaml)")
        self.blocks[block.id] = block

    def table(self, kind: str, parts: tuple, generic: str, node: dict, required: bool, sheet: str,
              parent: Block | None) -> Block:
        items = self.resolve(node.get("items", {}))
        words = self.words(generic)
        nested: list = []
        fields = self.flatten(items, (), generic + "[]", True, in_form=False, owner=generic, nested=nested)
        title = str(words.get("label") or generic)
        parent_key = None
        if parent is not None:
            key_name = str(self.texts.get("parent_keys", {}).get(parent.id, "id"))
            source = parent.field(key_name)
            if source is None:
                raise LayoutError(f"'{parent.id}'에 하위 시트 '{generic}'를 잇는 키 '{key_name}'가 없습니다 (layout.yaml parent_keys)")
            parent_key = Field(key="@parent", parts=(), generic=source.generic, schema=source.schema,
                               required=True, label=source.label, unit=source.unit, example=source.example,
                               note=f"{parent.sheet} 시트의 {source.label}. 같은 값이 여러 행에 나와도 됩니다",
                               choices=source.choices)
        block = Block(kind, generic, sheet, title, _text(words.get("note")), fields, records=parts, parent=parent,
                      parent_key=parent_key, min_items=node.get("minItems", 0) if required else 0,
                      max_items=node.get("maxItems"))
        self.add(block)
        children = []
        for sub_kind, sub_parts, sub_generic, sub_node, sub_required in nested:
            if parent is not None:
                raise LayoutError(f"'{sub_generic}': 하위 시트 안의 목록은 지원하지 않습니다")
            child_sheet = str(self.texts.get("child_sheets", {}).get(sub_generic) or "")
            if not child_sheet:
                raise LayoutError(f"content/intake/layout.yaml child_sheets에 '{sub_generic}'의 시트 이름이 없습니다")
            _check_sheet_name(child_sheet)
            if sub_kind == "table":
                child = self.table("child", sub_parts, sub_generic, sub_node, False, child_sheet, block)
            else:
                child = self.map_block(sub_parts, sub_generic, sub_node, child_sheet, block)
            children.append(child)
        block.children = children
        return block

    def map_block(self, parts: tuple, generic: str, node: dict, sheet: str, parent: Block) -> Block:
        key_name = str(self.texts.get("parent_keys", {}).get(parent.id, "id"))
        source = parent.field(key_name)
        words = self.words(generic)
        value_schema = self.resolve(node.get("additionalProperties", {}))
        key_words = self.words(generic + ".<key>")
        key_field = Field(key="~key", parts=("~key",), generic=generic + ".<key>", schema={"type": "string"}, required=True,
                          label=str(key_words.get("label") or "키"), unit=str(key_words.get("unit") or ""),
                          example=_text(key_words.get("example")), note=_text(key_words.get("note")),
                          choices=self.named_list(str(key_words["choices"]), key_words) if key_words.get("choices") else None)
        value_field = replace(self.field((), generic + ".<value>", value_schema, True), key="~value", parts=("~value",))
        parent_key = Field(key="@parent", parts=(), generic=source.generic, schema=source.schema, required=True,
                           label=source.label, unit=source.unit, example=source.example,
                           note=f"{parent.sheet} 시트의 {source.label}", choices=source.choices)
        block = Block("map", generic, sheet, str(words.get("label") or generic), _text(words.get("note")),
                      [key_field, value_field], records=parts, parent=parent, parent_key=parent_key)
        self.add(block)
        return block

    def check_coverage(self, consultant_only: list[str]) -> None:
        """Every schema property sits in exactly one part, or is the consultant's."""
        claimed = set(self.claimed) | set(consultant_only)

        def walk(node: dict, path: str) -> None:
            node = self.resolve(node)
            if path in claimed:
                return
            if self.kind(node) == "object" and path:
                for name, child in node.get("properties", {}).items():
                    walk(child, _join(path, name))
                return
            if not path:
                for name, child in node.get("properties", {}).items():
                    walk(child, name)
                return
            raise LayoutError(f"프로필 항목 '{path}'가 자료요청서의 어느 시트에도 없습니다: content/intake/layout.yaml의 "
                              "sheets(parts)나 consultant_only에 넣어 주세요")

        walk(self.schema, "")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _key(parts: tuple) -> str:
    out = ""
    for part in parts:
        out = f"{out}[{part}]" if isinstance(part, int) else (f"{out}.{part}" if out else str(part))
    return out


def _shown(label: str, code) -> str:
    label = (label or "").strip()
    return f"{label} [{code}]" if label and label != str(code) else str(code)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _is_long_text(node: dict) -> bool:
    return node.get("minLength") == 1 and (node.get("maxLength") or 0) >= 100


def _check_sheet_name(name: str) -> None:
    if not name or len(name) > 31 or re.search(r"[:\\/?*\[\]]", name) or name.startswith("_"):
        raise LayoutError(f"시트 이름 '{name}'은(는) 쓸 수 없습니다 (31자 이하, : \\ / ? * [ ] 없이, _로 시작하지 않게)")


def _fmt(number) -> str:
    """A bound as a Korean reader writes it: 100,000,000 (never 1e+08); years without a comma."""
    if float(number).is_integer():
        value = int(number)
        return str(value) if 1000 <= value <= 2100 else f"{value:,}"
    return f"{number:g}"


def _auto_note(node: dict, words: dict, shape: str, separator: str | None, choices: Choices | None, required: bool) -> str:
    """The field's note plus what the schema says (range, list, format), so a new field is explained too."""
    bits = []
    if words.get("note"):
        bits.append(str(words["note"]))
    types = node.get("type", "string")
    types = [t for t in (types if isinstance(types, list) else [types]) if t != "null"]
    if "integer" in types or "number" in types:
        low = node.get("minimum", node.get("exclusiveMinimum"))
        high = node.get("maximum", node.get("exclusiveMaximum"))
        kind = "정수" if types == ["integer"] else "숫자"
        if "exclusiveMinimum" in node and low == 0 and high is not None:
            bits.append(f"{kind}, 0보다 크고 {_fmt(high)} 이하")
        elif low is not None and high is not None:
            bits.append(f"{kind}, {_fmt(low)}–{_fmt(high)}")
        else:
            bits.append(kind)
    if choices is not None and choices is not BOOLEAN:
        bits.append("목록에서 선택" if choices.strict else "목록에서 고르거나 직접 입력")
    elif choices is BOOLEAN:
        bits.append("예/아니오")
    if shape == "list":
        bits.append("한 줄에 하나씩 (Alt+Enter로 줄 바꿈)" if separator == "\n" else "여러 개는 쉼표(,)로 구분")
    if node.get("maxLength") and "string" in types and not choices:
        bits.append(f"{node['maxLength']:,}자 이하")
    return ". ".join(bits)


# ====================================================================== values between cells and data
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


# ====================================================================== profile data helpers
def get_path(data, parts: tuple):
    for part in parts:
        if isinstance(part, int):
            if not isinstance(data, list) or part >= len(data):
                return None
            data = data[part]
        else:
            if not isinstance(data, dict) or part not in data:
                return None
            data = data[part]
    return data


def set_path(data: dict, parts: tuple, value) -> None:
    """Set a value under nested dicts; an int part appends to a list at that position (items in
    order; blank positions are skipped, so [a, , c] becomes [a, c])."""
    node = data
    for i, part in enumerate(parts[:-1]):
        nxt = parts[i + 1]
        if isinstance(part, int):
            raise ValueError("list inside list")
        node = node.setdefault(part, [] if isinstance(nxt, int) else {})
    last = parts[-1]
    if isinstance(last, int):
        node.append(value)
    else:
        node[last] = value


def covered_part(layout: Layout, data: dict | None) -> dict:
    return {k: data[k] for k in layout.covered if isinstance(data, dict) and k in data}


def data_fingerprint(data) -> str:
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


# ====================================================================== reading a workbook
@dataclass(frozen=True)
class CellRef:
    sheet: str
    cell: str
    label: str

    def __str__(self) -> str:
        return f"{self.sheet}!{self.cell}"


@dataclass
class ReadResult:
    data: dict                                   # the covered part of the profile, from the workbook
    cells: dict[str, CellRef]                    # data path → where it was read
    anchors: dict[str, CellRef]                  # block/record path → a cell to point at
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    marker: dict = field(default_factory=dict)
    reported: set = field(default_factory=set)   # data paths the reader already reported a problem for
    sheets: int = 0
    values: int = 0

    def where(self, path: str) -> CellRef | None:
        """The cell of a data path, or of its nearest parent that has one."""
        while True:
            if path in self.cells:
                return self.cells[path]
            if path in self.anchors:
                return self.anchors[path]
            if not path:
                return None
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""


def _problem(ref: CellRef | None, message: str, file: str = "") -> Problem:
    if ref is None:
        return Problem(file or "자료요청서", None, "", message)
    return Problem(str(ref), None, ref.label, message)


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
        if len(infos) > MAX_MEMBERS:
            raise IntakeError(f"{name}: zip 항목이 너무 많습니다 ({len(infos)}개, 한도 {MAX_MEMBERS})")
        total = 0
        for info in infos:
            total += info.file_size
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > RATIO_FLOOR and ratio > MAX_RATIO:
                raise IntakeError(f"{name}: 압축 폭탄으로 보이는 항목이 있습니다 ({info.filename}: 압축비 {ratio:,.0f}:1)")
            lowered = info.filename.lower()
            if lowered.endswith("vbaproject.bin") or lowered.endswith(".bin") and "vba" in lowered:
                raise IntakeError(f"{name}: 매크로(VBA)가 들어 있는 파일은 받지 않습니다. 매크로 없는 "
                                  "'Excel 통합 문서(*.xlsx)'로 저장해 보내 주세요")
        if total > MAX_TOTAL_UNCOMPRESSED:
            raise IntakeError(f"{name}: 압축을 풀면 너무 큽니다 ({total / 1048576:,.0f} MB, 한도 {MAX_TOTAL_UNCOMPRESSED // 1048576} MB)")
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


def read_marker(name: str, book) -> dict:
    if MARKER_SHEET not in book.sheetnames:
        raise IntakeError(f"{name}: 이 파이프라인이 만든 자료요청서가 아닙니다 (양식 정보 시트가 없습니다). "
                          "`python -m pipeline intake-form ID`로 만든 양식에 적어 보내 달라고 요청하세요")
    sheet = book[MARKER_SHEET]
    marker = {}
    for row in sheet.iter_rows(min_row=1, max_row=40, max_col=2, values_only=True):
        if row and isinstance(row[0], str):
            marker[row[0]] = row[1] if len(row) > 1 else None
    if marker.get("format") != FORMAT:
        raise IntakeError(f"{name}: 이 파이프라인이 만든 자료요청서가 아닙니다 (양식 표시가 맞지 않습니다)")
    try:
        version = int(marker.get("version"))
    except (TypeError, ValueError):
        version = -1
    if version != FORMAT_VERSION:
        raise IntakeError(f"{name}: 자료요청서 양식 버전 {marker.get('version')}은(는) 읽을 수 없습니다 (지원: {FORMAT_VERSION}). "
                          "새 양식(`intake-form`)에 옮겨 적어 주세요")
    return marker


def read_workbook(path: Path, layout: Layout) -> ReadResult:
    """Read a returned workbook into the covered part of a profile, with every cell problem."""
    path = Path(path)
    name = path.name
    data = read_workbook_bytes(path)
    check_archive(name, data)
    values_book = _open(name, data, data_only=True)
    marker = read_marker(name, values_book)
    formulas = _formula_cells(data)
    result = ReadResult(data={}, cells={}, anchors={}, marker=marker)
    if str(marker.get("schema")) != layout.schema_fingerprint:
        result.warnings.append("이 양식은 다른 버전의 프로필 스키마로 만들어졌습니다 (양식 "
                               f"{marker.get('schema')}, 지금 {layout.schema_fingerprint}). 열 이름(숨은 키)으로 읽습니다; "
                               "새 항목은 비어 있게 됩니다")
    reader = _SheetReader(layout, result)
    total = 0
    for ws in values_book.worksheets:
        if ws.title in (MARKER_SHEET, LISTS_SHEET, INSTRUCTIONS_SHEET):
            continue
        cells = _sheet_cells(ws)
        total += len(cells)
        if total > MAX_CELLS:
            raise IntakeError(f"{name}: 값이 든 셀이 너무 많습니다 (한도 {MAX_CELLS:,}개)")
        found = formulas.get(ws.title, set())
        for coord in sorted(found, key=_coord_order)[:MAX_LISTED_WARNINGS]:
            value = cells.get(_split(coord), (None,))[0]
            result.warnings.append(f"{ws.title}!{coord}: 수식은 저장된 계산 결과로 읽었습니다 (값: "
                                   f"{_show(value) if value is not None else '없음, 빈 칸으로 읽음'})")
        if len(found) > MAX_LISTED_WARNINGS:
            result.warnings.append(f"{ws.title}: 수식 셀 {len(found) - MAX_LISTED_WARNINGS}개 더 (모두 계산 결과로 읽음)")
        if reader.read_sheet(ws.title, cells):
            result.sheets += 1
    reader.finish()
    if result.sheets == 0:
        raise IntakeError(f"{name}: 자료요청서의 시트를 하나도 찾지 못했습니다. 시트를 지우거나 이름을 바꾸지 않았는지 확인해 주세요")
    return result


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


class _SheetReader:
    """Reads the blocks of each sheet; per-read state lives here (the layout is shared and cached)."""

    def __init__(self, layout: Layout, result: ReadResult):
        self.layout, self.result = layout, result
        self.rows: dict[str, list] = {}            # block id → [(record, refs, parent cell, first ref)]
        self.seen: set[str] = set()
        self.fixed: dict[str, list] = {}           # fixed-length list path → [(position, ref, filled)]

    def problem(self, ref: CellRef | None, message: str) -> None:
        self.result.problems.append(_problem(ref, message))

    def read_sheet(self, sheet: str, cells: dict) -> bool:
        rows: dict[int, dict[int, tuple]] = {}
        for (row, column), value in cells.items():
            rows.setdefault(row, {})[column] = value
        block: Block | None = None
        keys: dict[int, str] = {}
        found = False
        for row in sorted(rows):
            line = rows[row]
            a = line.get(1, (None,))[0]
            a = a.strip() if isinstance(a, str) else a
            if isinstance(a, str) and a.startswith("#"):
                block, keys = self.start_block(sheet, row, a, line)
                found = found or block is not None
                continue
            if isinstance(a, str) and a.startswith("^"):
                continue  # a title or header row of the block
            if block is None:
                if any(c > 1 for c in line):
                    self.result.warnings.append(f"{sheet}!{row}행: 표 밖의 내용은 읽지 않습니다")
                continue
            if block.kind == "form":
                self.form_row(block, sheet, row, a, line)
            else:
                self.table_row(block, sheet, row, keys, line)
        return found

    def start_block(self, sheet: str, row: int, marker: str, line: dict):
        kind, _, block_id = marker[1:].partition(" ")
        block = self.layout.blocks.get(block_id.strip())
        if block is None or block.kind != kind:
            self.result.warnings.append(f"{sheet}!A{row}: 알 수 없는 표 표시 '{marker}'는 건너뜁니다")
            return None, {}
        if block.id in self.seen:
            self.problem(CellRef(sheet, f"A{row}", block.title), "같은 표가 두 번 나옵니다. 시트를 복사했다면 하나를 지워 주세요")
            return None, {}
        self.seen.add(block.id)
        keys = {}
        known = {f.key for f in block.fields} | ({"@parent"} if block.parent_key else set())
        for column, (value, _fmt) in line.items():
            if column == 1 or not isinstance(value, str):
                continue
            if value not in known:
                self.problem(CellRef(sheet, f"{column_letter(column)}{row}", value),
                             "지금 양식에 없는 열입니다. 새 양식(`intake-form`)에 옮겨 적어 주세요")
                continue
            keys[column] = value
        if block.kind in ("table", "child", "map"):
            self.rows.setdefault(block.id, [])
            first_column = min(keys) if keys else 2
            anchor = CellRef(sheet, f"{column_letter(first_column)}{row + 1}", block.title)
            self.result.anchors.setdefault(block.id if block.kind != "table" else _key(block.records), anchor)
        return block, keys

    def store(self, target: dict, f: Field, ref: CellRef, cell) -> str | None:
        """Convert and set one cell; returns the data path (relative to `target`) it was set at."""
        if cell is None:
            return None
        raw, number_format = cell
        try:
            value = cell_to_value(f, raw, number_format)
        except CellProblem as exc:
            self.problem(ref, exc.message)
            return None
        if value is None or value == []:
            return None
        self.result.values += 1
        set_path(target, f.parts, value)
        if f.shape == "item":
            return f"{_key(f.parts[:-1])}[{len(get_path(target, f.parts[:-1])) - 1}]"
        return f.key

    @staticmethod
    def refs_for(f: Field, ref: CellRef, refs: dict) -> None:
        """A field's cell also stands for the objects and the list it sits in (first one wins)."""
        if f.shape == "item":
            refs.setdefault(_key(f.parts[:-1]), ref)
        else:
            refs.setdefault(f.key, ref)
        for depth in range(1, len(f.parts)):
            refs.setdefault(_key(f.parts[:depth]), ref)

    # -- forms: one field per row, key in A, value in C
    def form_row(self, block: Block, sheet: str, row: int, key, line: dict) -> None:
        if not isinstance(key, str):
            if any(c > 1 for c in line):
                self.result.warnings.append(f"{sheet}!{row}행: 양식에 없는 행의 내용은 읽지 않습니다")
            return
        f = block.field(key)
        if f is None:
            self.problem(CellRef(sheet, f"A{row}", key), "지금 양식에 없는 항목입니다. 새 양식(`intake-form`)에 옮겨 적어 주세요")
            return
        ref = CellRef(sheet, f"C{row}", f.label)
        at = self.store(self.result.data, f, ref, line.get(3))
        if at:
            self.result.cells[at] = ref
        self.refs_for(f, ref, self.result.anchors)
        if f.fixed:
            self.fixed.setdefault(_key(f.parts[:-1]), []).append((f, ref, at is not None))

    # -- tables: one record per row, keys in the block's hidden first row
    def table_row(self, block: Block, sheet: str, row: int, keys: dict[int, str], line: dict) -> None:
        if not any(c in keys and keys[c] != "@parent" for c in line):
            return  # a blank row (or one with only the parent's key)
        rows = self.rows[block.id]
        if len(rows) >= MAX_RECORDS:
            if len(rows) == MAX_RECORDS:
                self.problem(CellRef(sheet, f"B{row}", block.title), f"행이 너무 많습니다 (한도 {MAX_RECORDS:,}행)")
                rows.append(None)
            return
        record: dict = {}
        refs: dict[str, CellRef] = {}
        parent_cell = None
        for column, key in sorted(keys.items()):
            ref = CellRef(sheet, f"{column_letter(column)}{row}", "")
            if key == "@parent":
                parent_cell = (line.get(column), replace(ref, label=block.parent_key.label))
                continue
            f = block.field(key)
            ref = replace(ref, label=f.label)
            at = self.store(record, f, ref, line.get(column))
            if at:
                refs[at] = ref
            self.refs_for(f, ref, refs)
        first = CellRef(sheet, f"{column_letter(min(keys))}{row}", block.title)
        rows.append((record, refs, parent_cell, first))

    def finish(self) -> None:
        """Fixed-length lists complete; table rows into the data; child rows under their parent's key."""
        for path, items in self.fixed.items():
            if any(filled for _f, _ref, filled in items) or any(f.required for f, _ref, _filled in items):
                for f, ref, filled in items:
                    if not filled:
                        self.problem(ref, f"{len(items)}개 모두 적어야 합니다 (없으면 0)")
                        self.result.reported.add(path)
        placed: dict[str, list] = {}
        for block in self.layout.blocks.values():
            if block.kind != "table":
                continue
            rows = [r for r in self.rows.get(block.id, []) if r]
            placed[block.id] = rows
            if not rows:
                continue
            base = _key(block.records)
            for index, (record, refs, _parent, first) in enumerate(rows):
                self.place(f"{base}[{index}]", refs, first)
            set_path(self.result.data, block.records, [r[0] for r in rows])
        for block in self.layout.blocks.values():
            if block.kind in ("child", "map"):
                self.place_children(block, placed.get(block.parent.id, []))

    def place(self, prefix: str, refs: dict, first: CellRef) -> None:
        self.result.anchors[prefix] = first
        for path, ref in refs.items():
            self.result.cells[_join_path(prefix, path)] = ref

    def place_children(self, block: Block, parent_rows: list) -> None:
        parent, key_field = block.parent, block.parent_key
        key_parts = next(f.parts for f in parent.fields if f.generic == key_field.generic)
        by_key: dict = {}
        for index, row in enumerate(parent_rows):
            value = get_path(row[0], key_parts)
            if value is None:
                continue
            if _hashable(value) in by_key:
                if block is parent.children[0]:  # once per parent table
                    where = row[1].get(_key(key_parts), row[3])
                    self.problem(where, f"{key_field.label} '{value}'가 중복됩니다. 서로 달라야 합니다 "
                                        f"(딸린 시트의 행이 어느 쪽인지 알 수 없습니다)")
                continue
            by_key[_hashable(value)] = index
        counts: dict[int, int] = {}
        for record, refs, parent_cell, first in (r for r in self.rows.get(block.id, []) if r):
            cell, ref = parent_cell if parent_cell else (None, first)
            if cell is None:
                self.problem(ref, f"{key_field.label}을(를) 적어 주세요: {parent.sheet} 시트의 어느 행에 딸린 내용인지 알 수 없습니다")
                continue
            try:
                key_value = cell_to_value(key_field, *cell)
            except CellProblem as exc:
                self.problem(ref, exc.message)
                continue
            index = by_key.get(_hashable(key_value))
            if index is None:
                known = ", ".join(str(k) for k in by_key) or "(없음)"
                self.problem(ref, f"{parent.sheet} 시트에 {key_field.label} '{key_value}'가 없습니다 (있는 값: {known})")
                continue
            parent_record = parent_rows[index][0]
            container = f"{_key(parent.records)}[{index}].{_key(block.records)}"
            if block.kind == "child":
                position = counts.get(index, 0)
                counts[index] = position + 1
                set_path(parent_record, block.records + (position,), record)
                self.place(f"{container}[{position}]", refs, first)
                self.result.anchors.setdefault(container, first)
                continue
            name, value = record.get("~key"), record.get("~value")
            key_ref, value_ref = refs.get("~key", first), refs.get("~value", first)
            if name is None or value is None:
                missing = block.fields[0] if name is None else block.fields[1]
                self.problem(key_ref if name is None else value_ref, f"{missing.label}을(를) 적어 주세요")
                continue
            target = get_path(parent_record, block.records)
            if target is None:
                target = {}
                set_path(parent_record, block.records, target)
            if name in target:
                self.problem(key_ref, f"'{name}'가 같은 {key_field.label}에 두 번 나옵니다. 한 행으로 합쳐 주세요")
                continue
            target[name] = value
            self.result.cells[f"{container}.{name}"] = value_ref
            self.result.anchors.setdefault(container, key_ref)


def _join_path(prefix: str, path: str) -> str:
    if not path:
        return prefix
    return f"{prefix}{path}" if path.startswith("[") else f"{prefix}.{path}"


def _hashable(value):
    return json.dumps(value, sort_keys=True, default=str) if isinstance(value, (list, dict)) else value


# ====================================================================== into the profile
@dataclass
class IntakePlan:
    """What `intake` would do: the new profile, its bytes, the changes, and where it goes."""

    company_id: str
    path: Path
    data: dict
    text: bytes
    existed: bool
    old_bytes: bytes | None
    changes: list[str]
    warnings: list[str]
    read: ReadResult

    @property
    def unchanged(self) -> bool:
        return self.existed and not self.changes


def plan_intake(company_id: str, workbook: Path, content: Content, *, force: bool = False, dry_run: bool = False,
                folder: Path | None = None) -> IntakePlan:
    """Read `workbook`, merge it into companies/<id>.yaml's data and validate the result like
    `validate`. Raises IntakeError with every problem; writes nothing.

    A form made for another company, a blank form over an existing profile, or a profile that
    changed since its form was made is refused unless `force` (or only reported with `dry_run`)."""
    from pipeline.profile import COMPANY_ID, validate_document
    from pipeline.profile.yamlsafe import YamlSyntaxError, load_yaml

    if not COMPANY_ID.match(company_id or ""):
        raise IntakeError(f"기업 id '{company_id}'은(는) 쓸 수 없습니다: 소문자 영문·숫자·하이픈만 (예: jinju-bolt)")
    folder = folder or companies_dir()
    target = folder / f"{company_id}.yaml"
    layout = build_layout(content)
    read = read_workbook(workbook, layout)
    name = Path(workbook).name

    old_bytes, old_data = None, None
    if target.is_file():
        try:
            old_bytes = target.read_bytes()
        except OSError as exc:
            raise IntakeError(f"{target}: 기존 프로필을 읽을 수 없습니다 ({exc.strerror})") from None
        try:
            old_data = load_yaml(old_bytes).data
        except YamlSyntaxError as exc:
            raise IntakeError(f"{target}:{exc.line or 1}: 기존 프로필을 읽을 수 없어 합치지 않습니다 ({exc.message}). "
                              "먼저 프로필을 고치거나 다른 이름으로 옮겨 두세요") from None
        if not isinstance(old_data, dict):
            raise IntakeError(f"{target}: 기존 프로필이 '키: 값' 문서가 아니어서 합치지 않습니다")

    marker = read.marker
    refusals = []
    form_company = str(marker.get("company") or "")
    if form_company and form_company != company_id:
        refusals.append(f"이 양식은 '{form_company}'용으로 만들어졌습니다 (지금 id: '{company_id}')")
    if old_data is not None:
        if not form_company:
            refusals.append(f"빈 양식으로 기존 프로필 {target.name}의 회사 자료를 모두 바꾸게 됩니다")
        elif str(marker.get("profile") or "") != data_fingerprint(covered_part(layout, old_data)):
            refusals.append(f"{target.name}이(가) 양식을 만든 뒤({marker.get('generated') or '?'})에 바뀌었습니다. "
                            "그 사이의 수정이 양식 내용으로 덮어써집니다")
    merged = merge(layout, old_data, read.data)
    if merged == old_data:
        refusals = []  # nothing would change: nothing to protect
    if refusals and not force and not dry_run:
        raise IntakeError(f"{name}: 프로필에 반영하지 않았습니다: " + "; ".join(refusals) +
                          ". --dry-run으로 바뀌는 내용을 확인한 뒤 --force로 반영하세요 (이전 파일은 백업됨)")
    warnings = list(read.warnings)
    warnings += [f"{'--force' if force else '반영하려면 --force 필요'}: {r}" for r in refusals]

    text = dump_profile(merged, company_id, name)
    problems = list(read.problems)
    try:
        document = load_yaml(text)
    except YamlSyntaxError as exc:
        raise IntakeError(f"{name}: 만든 프로필을 다시 읽을 수 없습니다 ({exc.message}, {exc.line}행)") from None
    if document.data != merged:
        raise IntakeError(f"{name}: 만든 프로필이 읽은 값과 다릅니다 (내부 오류). 아무것도 저장하지 않았습니다")
    reported = {p.file for p in problems}
    for p in validate_document(document, str(target), content):
        problems.extend(_cell_problem(p, read, reported, target))
    if problems:
        problems.sort(key=lambda p: _problem_order(p, layout))
        if len(problems) > MAX_LISTED_PROBLEMS:
            rest = len(problems) - MAX_LISTED_PROBLEMS
            problems = problems[:MAX_LISTED_PROBLEMS] + [Problem(name, None, "", f"… 외 {rest}건 (앞의 문제를 고친 뒤 다시 실행)")]
        raise IntakeError(f"{name}: 자료요청서 오류 {len(problems)}건. 프로필은 저장하지 않았습니다:", problems)
    changes = diff_profiles(old_data or {}, merged, read, layout) if old_data != merged else []
    return IntakePlan(company_id, target, merged, text, old_data is not None, old_bytes, changes, warnings, read)


_REQUIRED = re.compile(r"필수 항목 '([^']+)'")


def _cell_problem(p: Problem, read: ReadResult, reported: set, target: Path) -> list[Problem]:
    """A validation problem (a field path) → the cell it is about; none if that cell was already reported."""
    path, message = p.field, p.message
    missing = _REQUIRED.search(message)
    if missing:
        path, message = missing.group(1), "필수 항목입니다. 값을 적어 주세요"
    if path in read.reported:
        return []
    ref = read.where(path)
    if ref is None:
        return [Problem(str(target), None, p.field, p.message)]
    if str(ref) in reported:
        return []
    reported.add(str(ref))
    return [_problem(ref, message)]


def _problem_order(p: Problem, layout: Layout):
    """Problems in the order of the workbook: sheet by sheet, row by row (file-level ones last)."""
    sheets = [name for name, _note, _blocks in layout.sheets]
    sheet, _, cell = p.file.rpartition("!")
    if sheet in sheets and re.fullmatch(r"[A-Z]+\d+", cell):
        row, column = _split(cell)
        return (sheets.index(sheet), row, column)
    return (len(sheets), 0, 0)


def merge(layout: Layout, old: dict | None, new: dict) -> dict:
    """The new profile: the workbook's parts replace the old ones; the consultant's parts (and
    anything the workbook cannot hold) stay. A value the workbook shows as blank but the old profile
    had as null or an empty list stays null/empty, so an unchanged workbook gives the same data."""
    old = old or {}
    merged = {k: v for k, v in new.items() if k in layout.covered}
    merged.update({k: copy.deepcopy(v) for k, v in old.items() if k not in layout.covered})
    _restore_empty(old, merged)
    return _in_schema_order(merged, layout.schema, layout.schema.get("$defs", {}))


def _in_schema_order(value, node: dict, defs: dict):
    """Keys in the order the schema lists them (unknown keys after), all the way down."""
    while isinstance(node, dict) and "$ref" in node:
        node = {**defs.get(node["$ref"].rsplit("/", 1)[-1], {}), **{k: v for k, v in node.items() if k != "$ref"}}
    node = node if isinstance(node, dict) else {}
    if isinstance(value, dict):
        props = node.get("properties", {})
        extra = node.get("additionalProperties") if isinstance(node.get("additionalProperties"), dict) else {}
        rank = {k: i for i, k in enumerate(props)}
        keys = sorted(value, key=lambda k: (rank.get(k, len(rank)), 0))
        return {k: _in_schema_order(value[k], props.get(k, extra), defs) for k in keys}
    if isinstance(value, list):
        return [_in_schema_order(v, node.get("items", {}), defs) for v in value]
    return value


def _restore_empty(old: dict, new: dict) -> None:
    for key, before in old.items():
        if key in new:
            after = new[key]
            if isinstance(before, dict) and isinstance(after, dict):
                _restore_empty(before, after)
            elif isinstance(before, list) and isinstance(after, list):
                for a, b in zip(before, after):
                    if isinstance(a, dict) and isinstance(b, dict):
                        _restore_empty(a, b)
        elif _only_empties(before):
            new[key] = copy.deepcopy(before)


def _only_empties(node) -> bool:
    if isinstance(node, dict):
        return all(_only_empties(v) for v in node.values())
    return node is None or node == [] or node == {}


def dump_profile(data: dict, company_id: str, source: str) -> bytes:
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def represent_list(dumper, value):
        flow = all(isinstance(v, (str, int, float, bool)) or v is None for v in value) and \
            sum(len(str(v)) for v in value) <= 100 and not any(isinstance(v, str) and "\n" in v for v in value)
        return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)

    def represent_str(dumper, value):
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(list, represent_list)
    Dumper.add_representer(str, represent_str)
    body = yaml.dump(data, Dumper=Dumper, allow_unicode=True, sort_keys=False, default_flow_style=False, width=4096)
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    source = re.sub(r"[\x00-\x1f\x7f\u2028\u2029\x85]", "?", source)
    head = (f"# {company_id}: 자료요청서 '{source}'에서 가져옴 ({stamp}, `python -m pipeline intake`).\n"
            "# 다시 가져오면 이 파일의 주석은 남지 않습니다 (이전 파일은 같은 폴더에 .bak로 보관).\n")
    return (head + body).encode("utf-8")


def diff_profiles(old: dict, new: dict, read: ReadResult, layout: Layout) -> list[str]:
    """Readable changes, one line per value: '~ 연료!C6 [연료 사용량] energy.fuels[0].amount: 415000 → 420000'."""
    a, b = dict(_leaves(old, "")), dict(_leaves(new, ""))
    lines = []
    for path in list(dict.fromkeys(list(b) + list(a))):
        before, after = a.get(path, _ABSENT), b.get(path, _ABSENT)
        if before == after and type(before) is type(after):
            continue
        ref = read.cells.get(path) or read.where(path)
        label = ref.label if ref else _label_of(path, layout)
        where = f"{ref} " if ref and path in read.cells else ""
        if before is _ABSENT:
            lines.append(f"+ {where}[{label}] {path}: {_shown_value(after)}")
        elif after is _ABSENT:
            lines.append(f"- [{label}] {path}: {_shown_value(before)} (삭제)")
        else:
            lines.append(f"~ {where}[{label}] {path}: {_shown_value(before)} → {_shown_value(after)}")
    return lines


_ABSENT = object()


def _leaves(node, path: str):
    if isinstance(node, dict):
        if not node and path:
            yield path, {}
        for k, v in node.items():
            yield from _leaves(v, f"{path}.{k}" if path else str(k))
    elif isinstance(node, list) and any(isinstance(v, (dict, list)) for v in node):
        for i, v in enumerate(node):
            yield from _leaves(v, f"{path}[{i}]")
    else:
        yield path, node


def _label_of(path: str, layout: Layout) -> str:
    generic = re.sub(r"\[\d+\]", "[]", path)
    f = layout.by_generic(generic)
    return f.label if f else generic


def _shown_value(value) -> str:
    if value is None:
        return "(빈 값)"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    if isinstance(value, bool):
        return "예" if value else "아니오"
    text = str(value).replace("\n", " ⏎ ")
    return text if len(text) <= 80 else text[:77] + "…"


def backup_name(path: Path, when: dt.datetime | None = None, n: int = 1) -> Path:
    stamp = (when or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    return path.with_name(f"{path.name}.{stamp}{'' if n == 1 else f'-{n}'}.bak")


def apply_intake(plan: IntakePlan) -> Path | None:
    """Write the new profile atomically, after keeping the old file as <id>.yaml.<time>.bak.
    Refuses if the profile changed on disk since it was read. Returns the backup (or None)."""
    import os

    from pipeline.store.atomic import fsync_dir, write_atomic

    if plan.unchanged:
        return None  # same data: the file (and its comments) stay as they are
    current = plan.path.read_bytes() if plan.path.is_file() else None
    if current != plan.old_bytes:
        raise IntakeError(f"{plan.path}: 읽는 동안 프로필이 바뀌었습니다. 다시 실행해 주세요 (아무것도 저장하지 않음)")
    backup = None
    if current is not None:
        when = dt.datetime.now()
        for n in range(1, 100):
            backup = backup_name(plan.path, when, n)
            try:
                fd = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                break
            except FileExistsError:
                continue
        else:
            raise IntakeError(f"{plan.path}: 백업 파일 이름을 만들 수 없습니다 (아무것도 저장하지 않음)")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(current)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            backup.unlink(missing_ok=True)
            raise IntakeError(f"{backup}: 백업을 쓸 수 없습니다 ({exc.strerror}); 프로필은 그대로입니다") from None
        fsync_dir(plan.path.parent)
    try:
        write_atomic(plan.path, plan.text)
    except OSError as exc:
        raise IntakeError(f"{plan.path}: 프로필을 쓸 수 없습니다 ({exc.strerror}); 이전 파일은 그대로입니다") from None
    return backup
