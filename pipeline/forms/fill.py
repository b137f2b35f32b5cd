"""Fill an official form: locate every answer area, put the plan's text in, prove the rest is untouched.

Everything is computed in memory; the caller writes the bytes only after `fill_form` returned
(the proof passed). Answers longer than a budget the form sets are reported, never cut.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from pipeline.errors import FormError
from pipeline.forms.answers import answer_lines
from pipeline.forms.areas import check_overlaps, fill_area, locate
from pipeline.forms.docx import DocxDialect
from pipeline.forms.formmap import FormSpec, check_sha256
from pipeline.forms.hwpx import HwpxDialect
from pipeline.forms.package import parse_part, read_form, serialize_part, write_package
from pipeline.forms.proof import placed, prove
from pipeline.missing import markers_in

DIALECTS = {"docx": DocxDialect, "hwpx": HwpxDialect}
# Characters XML 1.0 cannot hold; an answer never needs them.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass
class AreaReport:
    label: str
    lines: int
    chars: int
    max_chars: int | None
    max_lines: int | None
    where: str

    @property
    def over(self) -> list[str]:
        out = []
        if self.max_chars is not None and self.chars > self.max_chars:
            out.append(f"{self.chars:,}자 / 한도 {self.max_chars:,}자")
        if self.max_lines is not None and self.lines > self.max_lines:
            out.append(f"{self.lines}줄 / 한도 {self.max_lines}줄")
        return out


@dataclass
class FilledForm:
    data: bytes
    kind: str
    suffix: str
    areas: list[AreaReport] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def over_budget(self) -> list[AreaReport]:
        return [a for a in self.areas if a.over]


def count_chars(lines: list[str]) -> int:
    """Characters as a form's '○○자 이내' counts them: spaces included, line breaks not."""
    return sum(len(line) for line in lines)


def fill_form(spec: FormSpec, context: dict) -> FilledForm:
    form = read_form(spec.form_file)
    check_sha256(spec, form.data)
    dialect = DIALECTS[form.kind]()
    if spec.form_file.suffix.lower() != f".{form.kind}":
        raise FormError(f"{spec.form_file}: 확장자는 {spec.form_file.suffix}인데 내용은 .{form.kind} 문서입니다. "
                        "파일 이름을 내용에 맞게 고치세요")
    sections = dialect.parts(form.names())
    roots = {name: parse_part(form.path, name, form.read(name)) for name in sections}
    areas = [locate(dialect, roots, answer, spec.where(answer)) for answer in spec.answers]
    check_overlaps(areas, spec.where)
    reports = []
    for area in areas:
        where = spec.where(area.answer)
        area.lines = [_NOT_XML.sub("", line) for line in answer_lines(area.answer, context, where)]
        reports.append(AreaReport(area.answer.describe(), len(area.lines), count_chars(area.lines),
                                  area.answer.max_chars, area.answer.max_lines, where))
    for area in areas:
        fill_area(dialect, area)
    positions = [placed(area) for area in areas]
    replaced = {part: serialize_part(roots[part]) for part in sorted({area.part for area in areas})}
    output = write_package(form, replaced)
    prove(form, output, dialect, spec, areas, positions)
    missing = []
    for area in areas:
        for need in markers_in("\n".join(area.lines)):
            if need not in missing:
                missing.append(need)
    return FilledForm(data=output, kind=form.kind, suffix=f".{form.kind}", areas=reports, missing=missing)
