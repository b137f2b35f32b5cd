"""`applications-import`: an online-form response export (one row per applicant) → the applicant
part of applications/<year>/<id>.yaml, ready for `select`.

* The columns are read through the mapping in content/selection/application-form-<year>.yaml
  (pipeline/selection/form_mapping.py, form_values.py); the file through pipeline/selection/tabular.py.
* Every problem names the row as in the file (header = row 1), the column (letter and header) and
  what is expected; each new application is also checked exactly as `select` will read it. With any
  problem nothing is written.
* The applicant part is everything but the committee's: `evaluations` and `note` of an existing
  file are kept. An existing application whose applicant part is the same is left untouched; one
  that differs (a hand-edited file, a corrected response) is replaced only with --force, its old
  file kept beside it as <id>.yaml.<time>.bak. The folder is replaced as a whole (all files or none).
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import ApplicationImportError, Problem
from pipeline.profile.intake import CellProblem, backup_name, column_letter, set_path
from pipeline.profile.yamlsafe import YamlDocument, YamlSyntaxError, dump_yaml, load_yaml
from pipeline.selection.form_mapping import Entry, Mapping, find_mapping, load_mapping, normal_header
from pipeline.selection.form_values import convert_cell
from pipeline.selection.inputs import (
    COMPANY_ID,
    _application_schema,
    _check_application,
    application_validator,
    _display,
    applications_dir,
    find_table,
    load_table,
)
from pipeline.selection.tabular import Table, read_table

COMMITTEE_KEYS = ("evaluations", "note")        # what the import never writes over
KEY_ORDER = ("applied_at", "channel", "applicant", "evidence", "evaluations", "note")
HEADER_SEARCH_ROWS = 10
MAX_LISTED_PROBLEMS = 150


@dataclass
class ImportedApplication:
    id: str
    row: int
    name: str
    data: dict                  # the whole application as it will be written
    text: bytes
    status: str                 # new | unchanged | changed
    old_bytes: bytes | None = None
    changes: list[str] = field(default_factory=list)


@dataclass
class ImportPlan:
    source: Path
    folder: Path
    table: Table
    mapping: Mapping
    applications: list[ImportedApplication]
    warnings: list[str]
    others: list[str]           # applications in the folder that the export does not hold

    def by_status(self, status: str) -> list[ImportedApplication]:
        return [a for a in self.applications if a.status == status]


# ====================================================================== header
def _header(table: Table, mapping: Mapping) -> tuple[int, dict[int, Entry], dict[int, str], int | None, list[Problem], list[str]]:
    """The header row (the first of the first rows that names known columns), each column's entry,
    the id column; problems for a missing required column or a column given twice."""
    name = table.name
    best = None
    for number, cells in table.rows[:HEADER_SEARCH_ROWS]:
        known = sum(1 for v, _f in cells if v is not None and mapping.entry_for(v) is not None)
        if known and (best is None or known > best[2]):
            best = (number, cells, known)
    if best is None:
        expected = ", ".join(e.header for e in mapping.entries if e.required)
        raise ApplicationImportError(f"{name}: 신청서 응답의 열 제목 행을 찾지 못했습니다 (필수 열: {expected}). "
                                     f"매핑 {_display(mapping.path)}의 header와 맞는지 확인해 주세요; 아무것도 저장하지 않았습니다")
    number, cells, _known = best
    columns: dict[int, Entry] = {}
    titles: dict[int, str] = {}
    seen: dict[str, int] = {}
    problems: list[Problem] = []
    unknown: list[str] = []
    id_column = None
    id_keys = {normal_header(h) for h in mapping.id_headers}
    for index, (value, _fmt) in enumerate(cells):
        text = "" if value is None else str(value).strip()
        key = normal_header(text)
        if not key:
            continue
        letter = column_letter(index + 1)
        if key in id_keys:
            id_column = index
            titles[index] = " ".join(text.split())
            continue
        entry = mapping.entry_for(text)
        if entry is None:
            if key not in mapping.ignore:
                unknown.append(f"{letter}열 '{text}'")
            continue
        if entry.field in seen:
            first = seen[entry.field]
            problems.append(Problem(name, number, f"{letter}열 {text}",
                                    f"{column_letter(first + 1)}열과 같은 항목({entry.header or entry.field})의 열입니다. 하나만 남겨 주세요"))
            continue
        seen[entry.field] = index
        columns[index] = entry
        titles[index] = " ".join(text.split())  # as in the file (line breaks of a wrapped header as spaces)
    for entry in mapping.entries:
        if entry.required and entry.field not in seen:
            also = f" (같은 뜻으로 받는 제목: {', '.join(entry.also)})" if entry.also else ""
            problems.append(Problem(name, number, entry.header, f"필수 열 '{entry.header}'이(가) 없습니다{also}"))
    warnings = []
    if unknown:
        warnings.append(f"매핑에 없는 열 {len(unknown)}개는 읽지 않았습니다: {', '.join(unknown[:20])}"
                        + (" …" if len(unknown) > 20 else "") + f" (필요하면 {_display(mapping.path)}에 추가)")
    return number, columns, titles, id_column, problems, warnings


# ====================================================================== rows
def _get(data: dict, dotted: str):
    node = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _apply_default(entry: Entry, data: dict):
    default = entry.default
    if not isinstance(default, dict):
        return default
    if "when" in default and _get(data, default["when"]) is not True:
        return None
    if "value" in default:
        return default["value"]
    if "nonempty" in default:
        value = _get(data, default["nonempty"])
        return value not in (None, "", [], {})
    value = _get(data, default["date_of"])
    return str(value)[:10] if value else None


def _row(mapping: Mapping, columns: dict[int, Entry], titles: dict[int, str], id_column: int | None, number: int,
         cells: list, name: str) -> tuple[str | None, dict, dict[str, str], list[Problem]]:
    """One response → (id, application data, field → column label, problems)."""
    data: dict = {}
    where: dict[str, str] = {}
    problems: list[Problem] = []
    labels = {e.field: None for e in mapping.entries}
    header_of = {}
    for index, entry in columns.items():
        label = f"{column_letter(index + 1)}열 {titles.get(index) or entry.header or entry.field}"
        header_of[entry.field] = label
        labels[entry.field] = label
        raw = cells[index][0] if index < len(cells) else None
        try:
            value = convert_cell(entry, raw)
        except CellProblem as exc:
            problems.append(Problem(name, number, label, exc.message))
            where[entry.field] = label
            continue
        if value is not None:
            set_path(data, entry.parts, value)
            where[entry.field] = label
    for entry in mapping.entries:
        if _get(data, entry.field) is None and entry.field not in where and entry.default is not None:
            value = _apply_default(entry, data)
            if value is not None:
                set_path(data, entry.parts, value)
        if entry.required and _get(data, entry.field) is None and not any(p.field == labels[entry.field] for p in problems):
            problems.append(Problem(name, number, labels[entry.field] or entry.header, "필수 항목입니다. 값이 비어 있습니다"))
    if "channel" not in data and mapping.channel:
        data["channel"] = mapping.channel
    ident = None
    id_label = f"{column_letter(id_column + 1)}열 {titles.get(id_column)}" if id_column is not None else None
    raw_id = cells[id_column][0] if id_column is not None and id_column < len(cells) else None
    if raw_id is not None and str(raw_id).strip():
        ident = unicodedata.normalize("NFKC", str(raw_id)).strip().lower()  # 'Jinju-Bolt' is jinju-bolt
        if not COMPANY_ID.match(ident):
            problems.append(Problem(name, number, id_label, f"기업 ID '{ident}'은(는) 쓸 수 없습니다 "
                                                            "(소문자 영문·숫자·하이픈, 64자 이하; 예: jinju-bolt)"))
            ident = None
    elif mapping.id_from:
        base = _get(data, mapping.id_from)
        if base is not None:
            ident = (mapping.id_prefix + re.sub(r"[^0-9a-z]+", "-", str(base).casefold()).strip("-"))[:64]
            if not COMPANY_ID.match(ident):
                problems.append(Problem(name, number, header_of.get(mapping.id_from, mapping.id_from),
                                        f"이 값으로 신청서 id를 만들 수 없습니다 ('{ident}')"))
                ident = None
    return ident, data, where, problems


def _ordered(data: dict) -> dict:
    return {k: data[k] for k in sorted(data, key=lambda k: KEY_ORDER.index(k) if k in KEY_ORDER else len(KEY_ORDER))}


def _applicant_part(data: dict) -> dict:
    return {k: v for k, v in data.items() if k not in COMMITTEE_KEYS}


def _changes(old: dict, new: dict, prefix: str = "") -> list[str]:
    out = []
    for key in list(dict.fromkeys(list(old) + list(new))):
        path = f"{prefix}.{key}" if prefix else str(key)
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out.extend(_changes(a, b, path))
        elif a != b:
            out.append(f"{path}: {a!r} → {b!r}" if a is not None and b is not None else
                       (f"{path}: + {b!r}" if a is None else f"{path}: 삭제 (전: {a!r})"))
    return out


def _text(data: dict, source: str, row: int) -> bytes:
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    source = re.sub(r"[\x00-\x1f\x7f\u2028\u2029\x85]", "?", source)
    head = (f"# 온라인 신청서 '{source}' {row}행에서 가져옴 ({stamp}, `python -m pipeline applications-import`).\n"
            "# 평가위원 점수는 evaluations에 적습니다 (docs/selection.md). 다시 가져와도 evaluations와 note는 남습니다.\n")
    return (head + dump_yaml(data)).encode("utf-8")


def _problem_for(p: Problem, row: int, name: str, where: dict[str, str]) -> Problem:
    """A check of the built application (a field path) → the row and the column that set it."""
    path = p.field
    missing = re.search(r"필수 항목 '([^']+)'", p.message)
    probe = missing.group(1) if missing else path
    while probe:
        if probe in where:
            return Problem(name, row, where[probe], p.message)
        candidates = [label for f, label in where.items() if f.startswith(probe + ".")]
        if candidates:
            return Problem(name, row, candidates[0], p.message)
        probe = probe.rpartition(".")[0]
    return Problem(name, row, path, p.message)


def _filed_business_numbers(folder: Path) -> dict[str, str]:
    """Business number → id of the applications already in the folder (from their applicant block,
    else from the company profile of the same id)."""
    from pipeline.locations import companies_dir

    out: dict[str, str] = {}
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        try:
            data = load_yaml(path.read_bytes()).data
        except (OSError, YamlSyntaxError):
            continue
        number = _get(data, "applicant.business_number") if isinstance(data, dict) else None
        if number is None:
            try:
                profile = load_yaml((companies_dir() / path.name).read_bytes()).data
            except (OSError, YamlSyntaxError):
                continue
            number = _get(profile, "company.business_number") if isinstance(profile, dict) else None
        if isinstance(number, str):
            out.setdefault(number, path.stem)
    return out


# ====================================================================== plan
def plan_import(source: Path, year: int | None = None, *, mapping_path: str | Path | None = None,
                force: bool = False, folder: Path | None = None) -> ImportPlan:
    """Read and check everything; ApplicationImportError with every problem. Writes nothing."""
    table_cfg = load_table(find_table(year))
    year = int(table_cfg["year"]) if year is None else year
    schema = _application_schema(table_cfg)
    mapping = load_mapping(find_mapping(year, mapping_path), schema)
    source = Path(source)
    table = read_table(source)
    name = table.name
    header_row, columns, titles, id_column, problems, warnings = _header(table, mapping)
    warnings = table.warnings + warnings
    folder = Path(folder or applications_dir(table_cfg))
    validator = application_validator(table_cfg)
    built: list[tuple[int, str, dict, dict]] = []
    seen_ids: dict[str, int] = {}
    seen_numbers: dict[str, int] = {}
    for number, cells in table.rows:
        if number <= header_row:
            continue
        ident, data, where, found = _row(mapping, columns, titles, id_column, number, cells, name)
        business = _get(data, "applicant.business_number")
        if business and business in seen_numbers:
            label = where.get("applicant.business_number", "사업자등록번호")
            found.append(Problem(name, number, label, f"사업자등록번호 {business}가 {seen_numbers[business]}행과 같습니다: "
                                                      "한 기업의 응답은 하나만 남겨 주세요 (고친 응답이면 이전 행을 지움)"))
        elif business:
            seen_numbers[business] = number
        if ident and ident in seen_ids and not (business and business in seen_numbers and seen_numbers[business] != number):
            found.append(Problem(name, number, "기업 ID", f"신청서 id '{ident}'가 {seen_ids[ident]}행과 같습니다: 한 기업은 한 번만 신청합니다"))
        elif ident:
            seen_ids.setdefault(ident, number)
        if ident is None and not found:
            found.append(Problem(name, number, "", "신청서 id를 정할 수 없습니다 (기업 ID 열 또는 사업자등록번호가 필요)"))
        problems.extend(found)
        if not found:
            built.append((number, ident, data, where))
    if not table.rows or (all(n <= header_row for n, _c in table.rows)):
        raise ApplicationImportError(f"{name}: 응답 행이 없습니다 (열 제목 행만 있음). 아무것도 저장하지 않았습니다")
    applications: list[ImportedApplication] = []
    filed = _filed_business_numbers(folder)
    for number, ident, data, where in built:
        business = _get(data, "applicant.business_number")
        other = filed.get(business) if business else None
        if other and other != ident:
            problems.append(Problem(name, number, where.get("applicant.business_number", "사업자등록번호"),
                                    f"사업자등록번호 {business}의 신청서가 이미 {other}.yaml로 있습니다. 같은 기업이 두 번 "
                                    f"평가되지 않도록 이 행의 기업 ID를 '{other}'로 적거나 기존 파일을 정리해 주세요"))
            continue
        path = folder / f"{ident}.yaml"
        old_bytes, old = None, None
        if path.is_file():
            try:
                old_bytes = path.read_bytes()
                old = load_yaml(old_bytes).data
            except (OSError, YamlSyntaxError):
                old = None
            if not isinstance(old, dict):
                old = {}
        whole = dict(data)
        if old:
            whole.update({k: old[k] for k in COMMITTEE_KEYS if k in old})
        whole.setdefault("evaluations", [])
        whole = _ordered(whole)
        text = _text(whole, name, number)
        doc = YamlDocument(whole)  # the data as written (plain types only: the text reads back the same)
        for p in _check_application(doc, _display(path), table_cfg, validator):
            problems.append(_problem_for(p, number, name, where))
        status, changes = "new", []
        if old_bytes is not None:
            changes = _changes(_applicant_part(old), _applicant_part(whole))
            status = "changed" if changes else "unchanged"
        applications.append(ImportedApplication(ident, number, data["applicant"]["company_name"] if "applicant" in data else ident,
                                                whole, text, status, old_bytes, changes))
    if problems:
        problems.sort(key=lambda p: (p.line or 0))
        count = len(problems)
        if count > MAX_LISTED_PROBLEMS:
            problems = problems[:MAX_LISTED_PROBLEMS] + [Problem(name, None, "", f"… 외 {count - MAX_LISTED_PROBLEMS}건")]
        raise ApplicationImportError(f"{name}: 신청서 응답 오류 {count}건 ({table.kind}). 아무것도 저장하지 않았습니다:", problems)
    changed = [a for a in applications if a.status == "changed"]
    if changed and not force:
        lines = [Problem(_display(folder / f"{a.id}.yaml"), None, f"{a.row}행",
                         f"기존 신청서와 다릅니다 ({len(a.changes)}곳: {'; '.join(a.changes[:3])}{' …' if len(a.changes) > 3 else ''})")
                 for a in changed]
        raise ApplicationImportError(
            f"{name}: 기존 신청서 {len(changed)}건의 내용이 파일과 다릅니다 (손으로 고친 신청서일 수 있음). 아무것도 저장하지 "
            "않았습니다. --dry-run으로 확인한 뒤 --force로 바꾸세요 (평가위원 점수·note는 남고, 이전 파일은 .bak으로 보관):", lines)
    imported = {a.id for a in applications}
    others = sorted(p.stem for p in folder.glob("*.yaml") if p.stem not in imported) if folder.is_dir() else []
    return ImportPlan(source, folder, table, mapping, applications, warnings, others)


# ====================================================================== write
def apply_import(plan: ImportPlan) -> list[Path]:
    """Write the new and changed applications (and the backups) as one set; returns the backups."""
    from pipeline.store.outputs import locked_folder, replace_folder

    writes = [a for a in plan.applications if a.status in ("new", "changed")]
    if not writes:
        return []
    folder = plan.folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    files: dict[str, bytes] = {}
    backups: list[Path] = []
    when = dt.datetime.now()
    with locked_folder(folder):
        for app in writes:
            path = folder / f"{app.id}.yaml"
            current = path.read_bytes() if path.is_file() else None
            if current != app.old_bytes:
                raise ApplicationImportError(f"{path}: 읽는 동안 신청서가 바뀌었습니다. 다시 실행해 주세요 (아무것도 저장하지 않음)")
            files[path.name] = app.text
            if current is not None:
                n = 1
                while (backup := backup_name(path, when, n)).exists() or backup.name in files:
                    n += 1
                files[backup.name] = current
                backups.append(backup)
        try:
            replace_folder(folder, files, carry=lambda _name: True)
        except OSError as exc:
            raise ApplicationImportError(f"{folder}에 쓸 수 없습니다 ({exc.strerror or exc}). 디스크 공간과 쓰기 권한을 "
                                         "확인하세요; 아무것도 바꾸지 않았습니다") from None
    return backups
