"""Reading a returned 자료요청서 back into the covered part of a profile, with every problem named by
sheet and cell (`연료!C7`), the Korean label and what is expected.

How a sheet is marked, so that the reader never depends on positions: column A is hidden and holds
the structure. A block starts with a hidden row whose A cell is `#form`, `#table <path>`,
`#child <path>` or `#map <path>` and whose further cells hold the column keys; header rows have an A
cell starting with `^`; in a form block each field row has its data path in A. Rows a user inserts
have an empty A cell and count as data rows of the table they are in."""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from pipeline.errors import IntakeError, Problem
from pipeline.profile.intake import archive
from pipeline.profile.intake.archive import (
    _coord_order,
    _formula_cells,
    _open,
    _sheet_cells,
    _split,
    check_archive,
    column_letter,
    read_workbook_bytes,
)
from pipeline.profile.intake.model import (
    FORMAT,
    FORMAT_VERSION,
    INSTRUCTIONS_SHEET,
    LISTS_SHEET,
    MARKER_SHEET,
    Block,
    Field,
    Layout,
    _key,
    get_path,
    set_path,
)
from pipeline.profile.intake.values import CellProblem, _show, cell_to_value

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
        if total > archive.MAX_CELLS:
            raise IntakeError(f"{name}: 값이 든 셀이 너무 많습니다 (한도 {archive.MAX_CELLS:,}개)")
        found = formulas.get(ws.title, set())
        for coord in sorted(found, key=_coord_order)[:archive.MAX_LISTED_WARNINGS]:
            value = cells.get(_split(coord), (None,))[0]
            result.warnings.append(f"{ws.title}!{coord}: 수식은 저장된 계산 결과로 읽었습니다 (값: "
                                   f"{_show(value) if value is not None else '없음, 빈 칸으로 읽음'})")
        if len(found) > archive.MAX_LISTED_WARNINGS:
            result.warnings.append(f"{ws.title}: 수식 셀 {len(found) - archive.MAX_LISTED_WARNINGS}개 더 (모두 계산 결과로 읽음)")
        if reader.read_sheet(ws.title, cells):
            result.sheets += 1
    reader.finish()
    if result.sheets == 0:
        raise IntakeError(f"{name}: 자료요청서의 시트를 하나도 찾지 못했습니다. 시트를 지우거나 이름을 바꾸지 않았는지 확인해 주세요")
    return result


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
        if len(rows) >= archive.MAX_RECORDS:
            if len(rows) == archive.MAX_RECORDS:
                self.problem(CellRef(sheet, f"B{row}", block.title), f"행이 너무 많습니다 (한도 {archive.MAX_RECORDS:,}행)")
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
            if self.says_none(block, rows):
                set_path(self.result.data, block.records, [])
                rows = []
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

    def says_none(self, block: Block, rows: list) -> bool:
        """One row holding only the layout's 'none' value (layout.yaml none_rows): the list is empty."""
        rule = (self.layout.texts.get("none_rows") or {}).get(".".join(map(str, block.records)))
        if not rule or len(rows) != 1:
            return False
        return rows[0][0] == {rule["column"]: rule["value"]}

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
