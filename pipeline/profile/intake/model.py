"""The shapes the 자료요청서 is made of (a closed list, a field, a block, the layout), its format
marker, and the data-path helpers shared by the layout walk, the reader and the writer."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

FORMAT = "jinju-carbon-pipeline/자료요청서"
FORMAT_VERSION = 1
MARKER_SHEET = "_intake"
LISTS_SHEET = "_lists"
INSTRUCTIONS_SHEET = "안내"


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


def _key(parts: tuple) -> str:
    out = ""
    for part in parts:
        out = f"{out}[{part}]" if isinstance(part, int) else (f"{out}.{part}" if out else str(part))
    return out


def schema_fingerprint(schema: dict) -> str:
    """Of the schema's structure (comments and formatting do not count)."""
    canonical = json.dumps(schema, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


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
