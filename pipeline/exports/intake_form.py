"""Write the 자료요청서: a Korean Excel workbook a company fills in, built from the profile schema.

The layout (which cells, columns and sheets) comes from `pipeline.profile.intake.build_layout`, so
the form follows the schema without a second field list; the words come from `content/intake/`.
With a profile it is pre-filled, so a company corrects and completes what the consultant has.

Every sheet is protected without a password (against slips, not people): only the yellow input
cells are unlocked; rows can be inserted and deleted, columns widened. The workbook structure is
locked, so sheets cannot be renamed or removed. Column A and each block's first row are hidden:
they hold the keys the reader maps cells by (see pipeline/profile/intake.py). A hidden marker
sheet names the format, the schema fingerprint, the company and a fingerprint of the data the
form was made from.

Longer than 400 lines on purpose: one writer object lays out the form and table blocks, their
drop-downs and their styles, which share the row bookkeeping of each sheet.
"""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

from pipeline.profile.intake import (
    FORMAT,
    FORMAT_VERSION,
    INSTRUCTIONS_SHEET,
    LISTS_SHEET,
    MARKER_SHEET,
    Block,
    Field,
    Layout,
    column_letter,
    covered_part,
    data_fingerprint,
    display_value,
    get_path,
)

BLANK_NAME = "blank"
FILE_SUFFIX = "-자료요청서.xlsx"

INPUT_FILL = "FFF2CC"
LABEL_FILL = "DDEBF7"
HEAD_FILL = "F2F2F2"
TITLE_FILL = "BDD7EE"
GRAY = "7F7F7F"


def file_name(company_id: str | None) -> str:
    return f"{company_id or BLANK_NAME}{FILE_SUFFIX}"


@dataclass
class IntakeForm:
    file_name: str
    data: bytes
    sheets: list[str]
    fields: int
    filled: int


def intake_form(layout: Layout, profile: dict | None = None, company_id: str | None = None) -> IntakeForm:
    """The workbook as bytes, pre-filled from `profile` (the profile's data) when given."""
    writer = _Writer(layout, profile or {}, company_id)
    return writer.build()


class _Writer:
    def __init__(self, layout: Layout, profile: dict, company_id: str | None):
        from openpyxl import Workbook

        self.layout, self.profile, self.company_id = layout, profile, company_id
        self.book = Workbook()
        self.styles = _Styles()
        self.list_ranges: dict[str, str] = {}
        self.id_ranges: dict[str, str] = {}      # table block id → range of its key column (for child drop-downs)
        self.fields = 0
        self.filled = 0
        self.spare = int(layout.texts.get("spare_rows", 12))

    def build(self) -> IntakeForm:
        book = self.book
        guide = book.active
        guide.title = INSTRUCTIONS_SHEET
        self.lists_sheet()
        names = []
        for name, note, blocks in self.layout.sheets:
            ws = book.create_sheet(name)
            self.sheet(ws, name, note, blocks)
            names.append(name)
        self.instructions(guide, names)
        self.marker()
        book.move_sheet(LISTS_SHEET, offset=len(book.sheetnames))
        book.move_sheet(MARKER_SHEET, offset=len(book.sheetnames))
        from openpyxl.workbook.protection import WorkbookProtection

        book.security = WorkbookProtection(lockStructure=True)
        book.active = 0
        out = io.BytesIO()
        book.save(out)
        return IntakeForm(file_name(self.company_id), out.getvalue(), names, self.fields, self.filled)

    # -- hidden sheets
    def lists_sheet(self) -> None:
        ws = self.book.create_sheet(LISTS_SHEET)
        for column, choices in enumerate(self.layout.lists, start=1):
            letter = column_letter(column)
            _put(ws.cell(1, column), choices.name)
            for row, (_code, shown) in enumerate(choices.options, start=2):
                _put(ws.cell(row, column), shown)
            self.list_ranges[choices.name] = f"'{LISTS_SHEET}'!${letter}$2:${letter}${len(choices.options) + 1}"
        ws.sheet_state = "hidden"
        ws.protection.sheet = True

    def marker(self) -> None:
        ws = self.book.create_sheet(MARKER_SHEET)
        rows = [
            ("format", FORMAT),
            ("version", FORMAT_VERSION),
            ("schema", self.layout.schema_fingerprint),
            ("company", self.company_id or ""),
            ("profile", data_fingerprint(covered_part(self.layout, self.profile)) if self.company_id else ""),
            ("generated", dt.datetime.now().isoformat(timespec="seconds")),
            ("made_by", "python -m pipeline intake-form"),
        ]
        for row, (key, value) in enumerate(rows, start=1):
            _put(ws.cell(row, 1), key)
            _put(ws.cell(row, 2), value)
        ws.sheet_state = "veryHidden"
        ws.protection.sheet = True

    # -- the instructions sheet
    def instructions(self, ws, names: list[str]) -> None:
        s = self.styles
        texts = self.layout.texts
        company = (self.profile.get("company") or {}).get("name") if self.profile else None
        ws.column_dimensions["A"].width = 3
        ws.column_dimensions["B"].width = 26
        ws.column_dimensions["C"].width = 100
        cell = ws.cell(1, 2, str(texts.get("title") or "자료요청서"))
        cell.font = s.font(size=16, bold=True)
        who = f"{company} ({self.company_id})" if company else (self.company_id or "새 기업 (빈 양식)")
        _put(ws.cell(2, 2), "기업")
        _put(ws.cell(2, 3), who)
        _put(ws.cell(3, 2), "만든 날")
        _put(ws.cell(3, 3), dt.date.today().isoformat())
        for row in (2, 3):
            ws.cell(row, 2).font = s.font(bold=True)
        row = 5
        _put(ws.cell(row, 2), "작성 방법").font = s.font(bold=True, size=12)
        for line in texts.get("instructions", []):
            row += 1
            _put(ws.cell(row, 2), "•").alignment = s.align(horizontal="right", vertical="top")
            cell = _put(ws.cell(row, 3), str(line))
            cell.alignment = s.align(wrap=True, vertical="top")
        row += 2
        _put(ws.cell(row, 2), "시트").font = s.font(bold=True, size=12)
        _put(ws.cell(row, 3), "적을 내용").font = s.font(bold=True, size=12)
        notes = {name: note for name, note, _blocks in self.layout.sheets}
        for name in names:
            row += 1
            _put(ws.cell(row, 2), name).font = s.font(bold=True)
            _put(ws.cell(row, 3), notes.get(name) or "").alignment = s.align(wrap=True, vertical="top")
        row += 2
        example = ws.cell(row, 2, "입력 칸")
        example.fill = s.fill(INPUT_FILL)
        example.border = s.border
        _put(ws.cell(row, 3), "노란 칸에 적습니다. 회색 줄의 예시는 지우지 않아도 됩니다 (읽지 않음).")
        _print_setup(ws)
        ws.protection.sheet = True
        ws.sheet_view.showGridLines = False

    # -- a part's sheet
    def sheet(self, ws, name: str, note: str, blocks: list[Block]) -> None:
        s = self.styles
        ws.column_dimensions["A"].hidden = True
        ws.column_dimensions["A"].width = 4
        title = ws.cell(1, 2, name)
        title.font = s.font(size=14, bold=True)
        _put(ws.cell(1, 1), "^sheet")
        if note:
            _put(ws.cell(2, 1), "^sheet")
            _put(ws.cell(2, 2), note).font = s.font(color=GRAY)
        row = 4
        single_table = len(blocks) == 1 and blocks[0].kind != "form"
        for block in blocks:
            if block.kind == "form":
                row = self.form(ws, block, row)
            else:
                row, first_data = self.table(ws, block, row)
                if single_table:
                    ws.freeze_panes = ws.cell(first_data, 2)
            row += 1
        _print_setup(ws)
        ws.protection.sheet = True
        ws.protection.formatColumns = False
        ws.protection.formatRows = False
        ws.protection.insertRows = False
        ws.protection.deleteRows = False
        ws.sheet_view.zoomScale = 90

    def form(self, ws, block: Block, row: int) -> int:
        s = self.styles
        _put(ws.cell(row, 1), f"#form {block.id}")
        ws.row_dimensions[row].hidden = True
        row += 1
        _put(ws.cell(row, 1), "^header")
        for column, text in zip(range(2, 7), ("항목", "입력", "단위", "예시", "설명")):
            cell = _put(ws.cell(row, column), text)
            cell.font, cell.fill, cell.border = s.font(bold=True), s.fill(LABEL_FILL), s.border
        for column, width in zip("BCDEF", (30, 42, 11, 30, 70)):
            ws.column_dimensions[column].width = width
        titles = dict(block.titles)
        for index, f in enumerate(block.fields):
            if index in titles and len(block.titles) > 1:
                row += 1
                _put(ws.cell(row, 1), "^title")
                cell = _put(ws.cell(row, 2), titles[index])
                cell.font, cell.fill = s.font(bold=True), s.fill(TITLE_FILL)
                for column in range(3, 7):
                    ws.cell(row, column).fill = s.fill(TITLE_FILL)
            row += 1
            _put(ws.cell(row, 1), f.key)
            label = _put(ws.cell(row, 2), f.label + (" *" if f.required else ""))
            label.font, label.fill, label.border = s.font(bold=f.required), s.fill(HEAD_FILL), s.border
            label.alignment = s.align(wrap=True, vertical="top")
            value = get_path(self.profile, f.parts)
            self.input_cell(ws.cell(row, 3), f, value)
            _fit_height(ws, row, [(display_value(f, value), 42), (f.note, 70)])
            self.validate(ws, f, f"C{row}")
            _put(ws.cell(row, 4), f.unit).font = s.font(color=GRAY)
            _put(ws.cell(row, 5), f.example).font = s.font(color=GRAY, italic=True)
            note = _put(ws.cell(row, 6), f.note)
            note.font, note.alignment = s.font(color=GRAY, size=9), s.align(wrap=True, vertical="top")
            self.fields += 1
        return row + 1

    def table(self, ws, block: Block, row: int) -> tuple[int, int]:
        s = self.styles
        columns: list[tuple[str, Field]] = []
        if block.parent_key is not None:
            columns.append(("@parent", block.parent_key))
        columns += [(f.key, f) for f in block.fields]
        _put(ws.cell(row, 1), f"#{block.kind} {block.id}")
        for column, (key, _f) in enumerate(columns, start=2):
            _put(ws.cell(row, column), key)
        ws.row_dimensions[row].hidden = True
        row += 1
        _put(ws.cell(row, 1), "^title")
        title = _put(ws.cell(row, 2), block.title)
        title.font = s.font(bold=True, size=12)
        if block.note:
            _put(ws.cell(row, 3), block.note).font = s.font(color=GRAY)
        heads = (("^label", lambda f: f.label + (" *" if f.required else "")), ("^unit", lambda f: f.unit),
                 ("^example", lambda f: f"예) {f.example}" if f.example else ""), ("^note", lambda f: f.note))
        for kind, text in heads:
            row += 1
            _put(ws.cell(row, 1), kind)
            for column, (_key, f) in enumerate(columns, start=2):
                cell = _put(ws.cell(row, column), text(f))
                cell.border = s.border
                if kind == "^label":
                    cell.font, cell.fill = s.font(bold=True), s.fill(LABEL_FILL)
                    cell.alignment = s.align(wrap=True, vertical="center", horizontal="center")
                elif kind == "^unit":
                    cell.font, cell.fill = s.font(color=GRAY, size=9), s.fill(HEAD_FILL)
                    cell.alignment = s.align(horizontal="center")
                elif kind == "^example":
                    cell.font, cell.fill = s.font(color=GRAY, italic=True, size=9), s.fill(HEAD_FILL)
                else:
                    cell.font, cell.fill = s.font(color=GRAY, size=9), s.fill(HEAD_FILL)
                    cell.alignment = s.align(wrap=True, vertical="top")
            if kind == "^note":
                longest = max((len(text(f)) for _k, f in columns), default=0)
                ws.row_dimensions[row].height = min(15 * (1 + longest // 28), 90)
        for column, (_key, f) in enumerate(columns, start=2):
            letter = column_letter(column)
            width = max(len(f.label) * 1.8 + 4, 12 if f.types != ["string"] or f.choices else 18)
            if _is_text(f):
                width = max(width, 30)
            current = ws.column_dimensions[letter].width or 0
            ws.column_dimensions[letter].width = max(min(width, 45), current if current > 13 else 0)
        rows = self.records(block)
        first = row + 1
        count = len(rows) + self.spare
        for offset in range(count):
            r = first + offset
            values = rows[offset] if offset < len(rows) else {}
            texts = []
            for column, (key, f) in enumerate(columns, start=2):
                self.input_cell(ws.cell(r, column), f, values.get(key))
                if f.shape == "list" or _is_text(f):
                    texts.append((display_value(f, values.get(key)), ws.column_dimensions[column_letter(column)].width))
            _fit_height(ws, r, texts)
        last = first + count - 1
        for column, (key, f) in enumerate(columns, start=2):
            letter = column_letter(column)
            cells = f"{letter}{first}:{letter}{last}"
            if key == "@parent":
                self.parent_validation(ws, block, cells)
            else:
                self.validate(ws, f, cells)
            self.fields += 1
        if block.kind == "table":
            key_field = next((c for c, (k, _f) in enumerate(columns, start=2) if k == "id"), None)
            for c, (k, _f) in enumerate(columns, start=2):
                if k == str(self.layout.texts.get("parent_keys", {}).get(block.id, "id")):
                    key_field = c
            if key_field:
                letter = column_letter(key_field)
                self.id_ranges[block.id] = f"'{ws.title}'!${letter}${first}:${letter}${last}"
        return last + 1, first

    def records(self, block: Block) -> list[dict]:
        """The rows of a block from the profile: {column key: profile value}."""
        out = []
        if block.kind == "table":
            records = get_path(self.profile, block.records)
            rule = (self.layout.texts.get("none_rows") or {}).get(".".join(map(str, block.records)))
            if records == [] and rule:     # 'none' said in the profile: the row that says it (layout.yaml)
                return [{f.key: rule["value"] if f.parts == (rule["column"],) else None for f in block.fields}]
            for record in records or []:
                out.append({f.key: get_path(record, f.parts) for f in block.fields})
            return out
        parent = block.parent
        key_parts = next(f.parts for f in parent.fields if f.generic == block.parent_key.generic)
        for parent_record in get_path(self.profile, parent.records) or []:
            key = get_path(parent_record, key_parts)
            inner = get_path(parent_record, block.records)
            if block.kind == "child":
                for record in inner or []:
                    row = {f.key: get_path(record, f.parts) for f in block.fields}
                    row["@parent"] = key
                    out.append(row)
            else:
                for name, value in (inner or {}).items():
                    out.append({"@parent": key, "~key": name, "~value": value})
        return out

    # -- cells
    def input_cell(self, cell, f: Field, value) -> None:
        s = self.styles
        shown = display_value(f, value)
        if shown is not None and shown != "":
            _put(cell, shown)
            self.filled += 1
        cell.fill = s.fill(INPUT_FILL)
        cell.border = s.border
        cell.protection = s.unlocked
        if f.shape == "list" or _is_text(f):
            cell.alignment = s.align(wrap=True, vertical="top")
        numeric = [t for t in f.types if t in ("integer", "number")]
        if f.choices is not None or f.shape == "list" or "boolean" in f.types:
            cell.number_format = "@"
        elif numeric and "string" not in f.types:
            cell.number_format = "0" if numeric == ["integer"] else "General"
        elif not numeric:
            cell.number_format = "@"  # codes such as 00123, 7318.10 and 2026-06 stay as typed

    def validate(self, ws, f: Field, cells: str) -> None:
        from openpyxl.worksheet.datavalidation import DataValidation

        dv = None
        if f.choices is not None and f.shape != "list":
            dv = DataValidation(type="list", formula1=self.list_ranges[f.choices.name], allow_blank=True)
            dv.errorStyle = "stop" if f.choices.strict else "warning"
            dv.errorTitle = "목록에 없는 값"
            dv.error = "목록에서 골라 주세요." if f.choices.strict else "목록에 없는 값입니다. 그대로 둘까요?"
        elif f.shape != "list" and set(f.types) <= {"integer", "number"}:
            low = f.schema.get("minimum", f.schema.get("exclusiveMinimum"))
            high = f.schema.get("maximum", f.schema.get("exclusiveMaximum"))
            if low is not None and high is not None:
                kind = "whole" if f.types == ["integer"] else "decimal"
                dv = DataValidation(type=kind, operator="between", formula1=_num(low), formula2=_num(high), allow_blank=True)
                dv.errorStyle = "stop"
                dv.errorTitle = "숫자 범위"
                dv.error = f"{_num(low)}–{_num(high)} 사이의 {'정수' if kind == 'whole' else '숫자'}를 적어 주세요 (단위 없이)."
        if dv is None:
            return
        if f.note:
            dv.promptTitle = f.label[:32]
            dv.prompt = f.note[:250]
        dv.showErrorMessage = True
        dv.showInputMessage = bool(f.note)
        dv.add(cells)
        ws.add_data_validation(dv)

    def parent_validation(self, ws, block: Block, cells: str) -> None:
        from openpyxl.worksheet.datavalidation import DataValidation

        source = self.id_ranges.get(block.parent.id)
        if not source:
            return
        dv = DataValidation(type="list", formula1=source, allow_blank=True)
        dv.errorStyle = "warning"
        dv.errorTitle = "없는 값"
        dv.error = f"{block.parent.sheet} 시트에 없는 {block.parent_key.label}입니다."
        dv.showErrorMessage = True
        dv.add(cells)
        ws.add_data_validation(dv)


def _fit_height(ws, row: int, texts: list) -> None:
    """Room for wrapped text (neither Excel nor Calc grows a row that has a value on opening)."""
    lines = 1
    for text, width in texts:
        if isinstance(text, str) and text:
            room = max((width or 10) - 1, 4)
            lines = max(lines, sum(-(-max(_display_width(part), 1) // room) for part in text.split("\n")))
    if lines > 1:
        ws.row_dimensions[row].height = min(15 * lines, 150)


def _display_width(text: str) -> int:
    """Column-width units of a line: Hangul and other wide characters count about two."""
    import unicodedata

    return int(sum(1.9 if unicodedata.east_asian_width(ch) in ("W", "F") else 1.05 for ch in text)) + 1


def _print_setup(ws) -> None:
    """Printed on A4 landscape, all columns on one page width."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.gridLines = False


def _is_text(f: Field) -> bool:
    return f.types == ["string"] and not f.choices and (f.schema.get("maxLength") or 0) >= 300


def _num(value) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _put(cell, value):
    """Set a value; text that starts with '=' stays text (never a formula)."""
    cell.value = value
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"
    return cell


class _Styles:
    def __init__(self):
        from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side

        self._Alignment, self._Font, self._PatternFill = Alignment, Font, PatternFill
        side = Side(style="thin", color="BFBFBF")
        self.border = Border(left=side, right=side, top=side, bottom=side)
        self.unlocked = Protection(locked=False)
        self._fills: dict = {}

    def fill(self, color: str):
        if color not in self._fills:
            self._fills[color] = self._PatternFill("solid", start_color=color, end_color=color)
        return self._fills[color]

    def font(self, **kwargs):
        return self._Font(name="맑은 고딕", **kwargs)

    def align(self, **kwargs):
        mapping = {"wrap": "wrap_text"}
        return self._Alignment(**{mapping.get(k, k): v for k, v in kwargs.items()})

