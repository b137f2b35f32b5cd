"""A program's official form as recorded in content/forms/<program>/<year>/.

The folder holds the form file as distributed (or converted to .hwpx/.docx), `source.yaml`
(where it came from and its SHA-256) and `map.yaml` (which plan section or field goes into which
answer area). Both YAML files are read with the profile's safe loader (plain types, no aliases,
lines kept), so every problem names the file, the line and the entry. See content/forms/README.md.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import FormError
from pipeline.locations import content_root
from pipeline.profile.yamlsafe import YamlDocument, YamlSyntaxError, load_yaml

LOCATORS = ("cell", "after", "field")
SOURCES = ("from", "text")
KEYS = set(LOCATORS) | set(SOURCES) | {"below", "max_chars", "max_lines", "label", "tables", "formatting"}
SOURCE_KEYS = {"program", "year", "title", "url", "sha256", "file", "retrieved", "note", "redistributable"}
FORM_SUFFIXES = (".hwpx", ".docx", ".hwp")
MAX_ANSWERS = 500


@dataclass
class Answer:
    """One entry of map.yaml: where the answer goes (`kind`: cell/after/field, `target`) and what
    goes there (`source`: a section id or context path, or `text` with {path} placeholders)."""

    number: int
    kind: str
    target: str
    below: bool = False
    source: str | None = None
    text: str | None = None
    max_chars: int | None = None
    max_lines: int | None = None
    label: str = ""
    tables: str = "lines"
    formatting: str = "area"
    line: int | None = None

    @property
    def path(self) -> list[str]:
        """A label path 'A > B > 기업명' as its parts."""
        return [part.strip() for part in self.target.split(">") if part.strip()]

    def describe(self) -> str:
        where = {"cell": "표 칸", "after": "문단", "field": "누름틀·입력란"}[self.kind]
        return self.label or f"{where} '{self.target}'"


@dataclass
class FormSpec:
    """A form folder, its source record and its map, checked."""

    folder: Path
    program: str
    year: int
    title: str
    url: str
    sha256: str
    form_file: Path
    answers: list[Answer] = field(default_factory=list)
    map_file: Path | None = None

    def where(self, answer: Answer) -> str:
        line = f":{answer.line}" if answer.line else ""
        return f"{self.map_file}{line} [answers[{answer.number}]]"


def find_form_folder(form: str, year: int | None = None) -> Path:
    """`form` as a folder holding source.yaml, else content/forms/<form>/<year>/ (the latest year
    when none is given)."""
    given = Path(form)
    if (given / "source.yaml").is_file():
        return given
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", form):
        raise FormError(f"양식 '{form}'을(를) 찾을 수 없습니다: source.yaml이 있는 폴더도, content/forms/의 사업 id도 아닙니다")
    base = content_root() / "forms" / form
    years = sorted(int(p.name) for p in base.glob("*") if p.is_dir() and p.name.isdigit()) if base.is_dir() else []
    if not years:
        known = sorted(p.name for p in (content_root() / "forms").glob("*") if p.is_dir())
        listed = ", ".join(known) if known else "없음 (content/forms/README.md의 순서대로 추가하세요)"
        raise FormError(f"{base}: 사업 '{form}'의 양식이 등록되어 있지 않습니다. 등록된 양식: {listed}")
    if year is None:
        year = years[-1]
    elif year not in years:
        raise FormError(f"{base}: {year}년 양식이 없습니다 (있는 연도: {', '.join(map(str, years))})")
    folder = base / str(year)
    if not (folder / "source.yaml").is_file():
        raise FormError(f"{folder}: source.yaml이 없습니다 (양식의 출처·SHA-256 기록)")
    return folder


def _load(path: Path) -> YamlDocument:
    if not path.is_file():
        raise FormError(f"{path}: 파일이 없습니다")
    try:
        return load_yaml(path.read_bytes())
    except YamlSyntaxError as exc:
        where = f"{path}:{exc.line}" if exc.line else str(path)
        raise FormError(f"{where} {exc.message}") from None


def load_form(folder: Path, programs: dict) -> FormSpec:
    """The form folder's source.yaml and map.yaml, checked; FormError naming file, line and entry."""
    folder = Path(folder)
    source_path = folder / "source.yaml"
    doc = _load(source_path)
    src = doc.data
    if not isinstance(src, dict):
        raise FormError(f"{source_path}: 항목(program, year, url, sha256, file)을 가진 YAML 매핑이어야 합니다")

    def bad(key: str, message: str):
        line = doc.line_of(key)
        return FormError(f"{source_path}:{line} [{key}] {message}")

    for key in src:
        if key not in SOURCE_KEYS:
            raise bad(key, f"알 수 없는 항목입니다 (쓸 수 있는 항목: {', '.join(sorted(SOURCE_KEYS))})")
    for key in ("program", "year", "url", "sha256", "file"):
        if src.get(key) in (None, ""):
            raise bad(key, "값이 없습니다 (필수)")
    program = str(src["program"])
    if program not in programs:
        raise bad("program", f"content/programs/에 없는 사업 id입니다: {program}")
    if not isinstance(src["year"], int) or isinstance(src["year"], bool):
        raise bad("year", "연도(정수, 예: 2026)여야 합니다")
    sha = str(src["sha256"]).strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", sha):
        raise bad("sha256", "16진수 64자리 SHA-256이어야 합니다 (sha256sum 양식파일)")
    name = str(src["file"])
    form_file = folder / name
    if "/" in name or "\\" in name or name.startswith("."):
        raise bad("file", "양식 폴더 안의 파일 이름만 씁니다 (경로 없이)")
    if form_file.suffix.lower() not in FORM_SUFFIXES:
        raise bad("file", "양식은 .hwpx 또는 .docx 파일이어야 합니다 (.hwp는 HWPX로 바꾼 뒤)")
    if not form_file.is_file():
        raise bad("file", f"양식 파일이 없습니다: {form_file}")
    spec = FormSpec(folder=folder, program=program, year=src["year"], title=str(src.get("title") or ""),
                    url=str(src["url"]), sha256=sha, form_file=form_file)
    spec.map_file = folder / "map.yaml"
    spec.answers = _answers(spec.map_file)
    return spec


def check_sha256(spec: FormSpec, data: bytes) -> None:
    """The form file must be the one the map was written for (a new year's form moves labels)."""
    actual = hashlib.sha256(data).hexdigest()
    if actual != spec.sha256:
        raise FormError(
            f"{spec.form_file}: SHA-256이 source.yaml과 다릅니다 (기록 {spec.sha256[:12]}…, 실제 {actual[:12]}…). "
            "양식이 바뀌었으면 map.yaml의 칸·문구가 새 양식에 맞는지 확인한 뒤 source.yaml의 sha256을 "
            f"{actual}(으)로 고치세요; 아무것도 쓰지 않았습니다")


def _answers(map_path: Path) -> list[Answer]:
    doc = _load(map_path)
    data = doc.data
    entries = data.get("answers") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise FormError(f"{map_path}:{doc.line_of('answers')} 'answers:' 아래에 답변 칸 목록이 있어야 합니다")
    if len(entries) > MAX_ANSWERS:
        raise FormError(f"{map_path}: 답변 칸이 너무 많습니다 ({len(entries)}개, 한도 {MAX_ANSWERS})")
    extra = sorted(set(data) - {"answers", "note"})
    if extra:
        raise FormError(f"{map_path}:{doc.line_of(extra[0])} [{extra[0]}] 알 수 없는 항목입니다 (answers, note)")
    answers = []
    for number, entry in enumerate(entries):
        key = f"answers[{number}]"
        line = doc.line_of(key)

        def bad(message: str, sub: str = ""):
            where = doc.line_of(f"{key}.{sub}") if sub else line
            return FormError(f"{map_path}:{where} [{key}{'.' + sub if sub else ''}] {message}")

        if not isinstance(entry, dict):
            raise bad("cell/after/field 중 하나와 from 또는 text를 가진 항목이어야 합니다")
        unknown = sorted(set(entry) - KEYS)
        if unknown:
            raise bad(f"알 수 없는 항목 '{unknown[0]}' (쓸 수 있는 항목: {', '.join(sorted(KEYS))})", unknown[0])
        located = [k for k in LOCATORS if k in entry]
        if len(located) != 1:
            raise bad("답변 위치는 cell(표의 라벨 경로), after(표시 문단), field(누름틀·입력란 이름) 중 정확히 하나여야 합니다")
        sources = [k for k in SOURCES if k in entry]
        if len(sources) != 1:
            raise bad("채울 내용은 from(계획서 섹션 section:<id> 또는 컨텍스트 경로)과 text(문구) 중 정확히 하나여야 합니다")
        kind = located[0]
        target = entry[kind]
        if not isinstance(target, str) or not target.strip():
            raise bad("비어 있지 않은 문자열이어야 합니다", kind)
        for budget in ("max_chars", "max_lines"):
            value = entry.get(budget)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value <= 0):
                raise bad("양의 정수여야 합니다", budget)
        if "below" in entry and (kind != "cell" or not isinstance(entry["below"], bool)):
            raise bad("below: true/false는 cell 항목에만 씁니다", "below")
        tables = entry.get("tables", "lines")
        if tables not in ("lines", "omit"):
            raise bad("tables는 lines(표를 줄로) 또는 omit(표 생략)입니다", "tables")
        formatting = entry.get("formatting", "area")
        if formatting not in ("area", "plain"):
            raise bad("formatting은 area(답변 칸 첫 글자의 모양, 기본) 또는 plain(문단의 기본 글자 모양)입니다", "formatting")
        value = entry[sources[0]]
        if not isinstance(value, str) or not value.strip():
            raise bad("비어 있지 않은 문자열이어야 합니다", sources[0])
        answers.append(Answer(number=number, kind=kind, target=target.strip(), below=bool(entry.get("below", False)),
                              source=value.strip() if sources[0] == "from" else None,
                              text=value if sources[0] == "text" else None,
                              max_chars=entry.get("max_chars"), max_lines=entry.get("max_lines"),
                              label=str(entry.get("label") or ""), tables=tables, formatting=formatting,
                              line=line))
    return answers
