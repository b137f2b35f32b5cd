"""The 자료요청서 (data request workbook): its layout, walked from the profile schema, and reading a
returned workbook back into a profile.

The layout is built from `profile_schema.yaml` at run time, so there is no second field list: every
property becomes a cell, a column or a sheet, and `content/intake/` only adds words and says which
part goes on which sheet. The writer (`pipeline/exports/intake_form.py`) and the reader share this
layout; the reader lives here, beside the safe YAML loader and the validation, because what it reads
is an untrusted profile, and because the writer (outputs layer) may import from here but not the
other way round.

    model.py    the shapes (closed list, field, block, layout), the format marker, data paths
    layout.py   the layout walked from the schema and content/intake/
    values.py   cell values ↔ profile values
    archive.py  an untrusted .xlsx: size, zip and member limits, macros, formulas, cells
    reader.py   a returned workbook → the covered part of a profile, every problem by cell
    merge.py    into companies/<id>.yaml: merge, validate, changes, backup and write

A returned workbook is untrusted (size, zip and member limits are checked before openpyxl opens it,
macros are refused, formulas are read as their cached values with a warning, XML is parsed by
openpyxl through defusedxml). Every problem names the sheet and cell (`연료!C7`), the Korean label
and what is expected. With any problem nothing is written.
"""
from __future__ import annotations

import sys
import types

from pipeline.errors import IntakeError
from pipeline.profile.intake import archive, layout, merge as _merge_module, model, reader, values
from pipeline.profile.intake.archive import (
    MAX_CELLS,
    MAX_FILE_BYTES,
    MAX_LISTED_WARNINGS,
    MAX_MEMBERS,
    MAX_RATIO,
    MAX_RECORDS,
    MAX_TOTAL_UNCOMPRESSED,
    RATIO_FLOOR,
    check_archive,
    column_letter,
    read_workbook_bytes,
)
from pipeline.profile.intake.layout import LayoutError, build_layout, intake_content_dir
from pipeline.profile.intake.merge import (
    MAX_LISTED_PROBLEMS,
    IntakePlan,
    apply_intake,
    backup_name,
    diff_profiles,
    dump_profile,
    merge,
    plan_intake,
)
from pipeline.profile.intake.model import (
    BOOLEAN,
    FORMAT,
    FORMAT_VERSION,
    INSTRUCTIONS_SHEET,
    LISTS_SHEET,
    MARKER_SHEET,
    Block,
    Choices,
    Field,
    Layout,
    covered_part,
    data_fingerprint,
    get_path,
    schema_fingerprint,
    set_path,
)
from pipeline.profile.intake.reader import CellRef, ReadResult, read_marker, read_workbook
from pipeline.profile.intake.values import LIST_SEPARATORS, CellProblem, cell_to_value, display_value, parse_number

_PARTS = (model, layout, values, archive, reader, _merge_module)


class _Face(types.ModuleType):
    """Setting a name on the package (a caller tuning MAX_FILE_BYTES, a test's monkeypatch) sets it
    in the module that uses it too, as when this package was one module."""

    def __setattr__(self, name: str, value) -> None:
        super().__setattr__(name, value)
        for part in _PARTS:
            if name.isupper() and hasattr(part, name):
                setattr(part, name, value)


sys.modules[__name__].__class__ = _Face

__all__ = [
    "BOOLEAN", "FORMAT", "FORMAT_VERSION", "INSTRUCTIONS_SHEET", "LISTS_SHEET", "MARKER_SHEET", "LIST_SEPARATORS",
    "MAX_CELLS", "MAX_FILE_BYTES", "MAX_LISTED_PROBLEMS", "MAX_LISTED_WARNINGS", "MAX_MEMBERS", "MAX_RATIO",
    "MAX_RECORDS", "MAX_TOTAL_UNCOMPRESSED", "RATIO_FLOOR",
    "Block", "CellProblem", "CellRef", "Choices", "Field", "IntakeError", "IntakePlan", "Layout", "LayoutError",
    "ReadResult", "apply_intake", "backup_name", "build_layout", "cell_to_value", "check_archive", "column_letter",
    "covered_part", "data_fingerprint", "diff_profiles", "display_value", "dump_profile", "get_path",
    "intake_content_dir", "merge", "parse_number", "plan_intake", "read_marker", "read_workbook",
    "read_workbook_bytes", "schema_fingerprint", "set_path",
]
