"""The 자료요청서 layout, walked from the profile schema at run time, so there is no second field
list: every property becomes a cell, a column or a sheet, and `content/intake/` only adds words
(Korean labels, units, examples, notes, the Korean names of closed-list values) and says which part
goes on which sheet."""
from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from pipeline.content import Content, read_yaml
from pipeline.errors import PipelineError
from pipeline.locations import content_root
from pipeline.profile.intake.model import BOOLEAN, Block, Choices, Field, Layout, _key, schema_fingerprint


def intake_content_dir() -> Path:
    return content_root() / "intake"


def _schema_path() -> Path:
    return Path(__file__).parent.parent / "profile_schema.yaml"


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
