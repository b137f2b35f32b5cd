"""`applications-scores`: the committee's score sheet (CSV or .xlsx, one row per applicant and
committee member) → the `evaluations` of applications/<year>/<id>.yaml.

Columns (headers compared as in applications-import; a trailing '(10)' is fine): `기업 ID`, `평가위원`
(a name of the scoring table's committee), one column per qualitative item (its `name` or `short` in
the table: 공정도, 희망현황 …) and optionally `의견`. A blank score is null (an item whose evidence was
not submitted). Each application is checked exactly as `select` reads it; any problem names the row
and column, and nothing is written. A committee member's scores already in a file are replaced only
with --force (the old file kept as .bak); the folder is replaced as a whole.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import ApplicationImportError, Problem
from pipeline.profile.intake import CellProblem, backup_name, column_letter
from pipeline.profile.yamlsafe import YamlDocument, YamlSyntaxError, dump_yaml, load_yaml
from pipeline.selection.form_mapping import Entry, header_stem, normal_header
from pipeline.selection.form_values import as_text, convert_cell
from pipeline.selection.inputs import _check_application, _display, _items, application_validator, applications_dir, \
    find_table, load_table
from pipeline.selection.tabular import read_table

ID_HEADERS = ("기업 ID", "기업ID", "신청서 ID", "id")
EVALUATOR_HEADERS = ("평가위원", "평가 위원", "위원")
COMMENT_HEADERS = ("의견", "평가 의견", "비고", "comment")
IMPORT_HEAD = "# 온라인 신청서"


@dataclass
class ScoredApplication:
    id: str
    path: Path
    data: dict
    text: bytes
    old_bytes: bytes
    rows: list[int]
    replaced: list[str] = field(default_factory=list)   # committee members whose earlier scores change
    backup: bool = False


@dataclass
class ScoresPlan:
    source: Path
    folder: Path
    kind: str
    applications: list[ScoredApplication]
    unchanged: list[str]
    warnings: list[str]


def _columns(header: list, table: dict, name: str, row: int) -> tuple[dict, list[Problem], list[str]]:
    wanted = {normal_header(h): "id" for h in ID_HEADERS}
    wanted.update({normal_header(h): "evaluator" for h in EVALUATOR_HEADERS})
    wanted.update({normal_header(h): "comment" for h in COMMENT_HEADERS})
    for item in _items(table, "qualitative"):
        for label in {item["name"], item.get("short") or item["name"], item["id"]}:
            wanted[normal_header(label)] = f"item:{item['id']}"
    columns: dict[str, int] = {}
    problems, unknown = [], []
    for index, (value, _fmt) in enumerate(header):
        key = normal_header(value)
        if not key:
            continue
        role = wanted.get(key) or wanted.get(header_stem(key))
        if role is None:
            unknown.append(f"{column_letter(index + 1)}열 '{value}'")
        elif role in columns:
            problems.append(Problem(name, row, f"{column_letter(index + 1)}열 {value}",
                                    f"{column_letter(columns[role] + 1)}열과 같은 항목입니다. 하나만 남겨 주세요"))
        else:
            columns[role] = index
    for role, label in [("id", "기업 ID"), ("evaluator", "평가위원")] + \
            [(f"item:{i['id']}", i.get("short") or i["name"]) for i in _items(table, "qualitative")]:
        if role not in columns:
            problems.append(Problem(name, row, label, f"필수 열 '{label}'이(가) 없습니다"))
    warnings = [f"읽지 않은 열: {', '.join(unknown[:20])}"] if unknown else []
    return columns, problems, warnings


def _cell(cells: list, index: int | None):
    return cells[index][0] if index is not None and index < len(cells) else None


def plan_scores(source: Path, year: int | None = None, *, force: bool = False) -> ScoresPlan:
    """Read and check the score sheet against the applications; writes nothing."""
    table = load_table(find_table(year))
    folder = applications_dir(table)
    sheet = read_table(Path(source))
    name = sheet.name
    if not sheet.rows:
        raise ApplicationImportError(f"{name}: 점수표가 비어 있습니다. 아무것도 저장하지 않았습니다")
    header_row, header = sheet.rows[0]
    columns, problems, warnings = _columns(header, table, name, header_row)
    if problems:
        raise ApplicationImportError(f"{name}: 점수표 열 오류 {len(problems)}건. 아무것도 저장하지 않았습니다:", problems)
    committee = {normal_header(c): c for c in table["committee"]}
    qual = _items(table, "qualitative")
    entries = {i["id"]: Entry(i["id"], (i["id"],), i["name"], [], False, "number", {"type": "number"}) for i in qual}
    loaded: dict[str, tuple[Path, bytes, dict]] = {}
    sheets: dict[str, dict] = {}           # id → {evaluator: (row, evaluation, labels)}
    unreadable: set[str] = set()
    for number, cells in sheet.rows[1:]:
        label = lambda role: f"{column_letter(columns[role] + 1)}열 {as_text(header[columns[role]][0])}"  # noqa: E731
        ident = as_text(_cell(cells, columns["id"]) or "")
        who = normal_header(_cell(cells, columns["evaluator"]))
        if not ident:
            problems.append(Problem(name, number, label("id"), "기업 ID가 비어 있습니다"))
            continue
        if ident not in loaded:
            path = folder / f"{ident}.yaml"
            try:
                raw = path.read_bytes()
                data = load_yaml(raw).data
            except (OSError, YamlSyntaxError):
                problems.append(Problem(name, number, label("id"), f"신청서 {_display(path)}가 없거나 읽을 수 없습니다"))
                continue
            loaded[ident] = (path, raw, data if isinstance(data, dict) else {})
        evaluator = committee.get(who)
        if evaluator is None:
            problems.append(Problem(name, number, label("evaluator"),
                                    f"평가표의 평가위원이 아닙니다 (지금 값: '{_cell(cells, columns['evaluator'])}'; "
                                    f"쓸 수 있는 값: {', '.join(table['committee'])})"))
            continue
        per = sheets.setdefault(ident, {})
        if evaluator in per:
            problems.append(Problem(name, number, label("evaluator"), f"{ident}의 {evaluator} 점수가 {per[evaluator][0]}행에도 있습니다"))
            continue
        scores, labels = {}, {}
        for item in qual:
            role = f"item:{item['id']}"
            labels[item["id"]] = label(role)
            try:
                scores[item["id"]] = convert_cell(entries[item["id"]], _cell(cells, columns[role]))
            except CellProblem as exc:
                problems.append(Problem(name, number, label(role), exc.message))
                unreadable.add(ident)  # its application is checked once the cell is fixed
        evaluation = {"evaluator": evaluator, "scores": scores}
        comment = as_text(_cell(cells, columns.get("comment")) or "") if "comment" in columns else ""
        if comment:
            evaluation["comment"] = comment
        per[evaluator] = (number, evaluation, labels)
    validator = application_validator(table)
    planned, unchanged = [], []
    for ident, per in sheets.items():
        path, raw, data = loaded[ident]
        old = list(data.get("evaluations") or [])
        merged = {e.get("evaluator"): e for e in old if isinstance(e, dict)}
        replaced = [w for w, (_n, new, _l) in per.items() if w in merged and merged[w] != new]
        for evaluator, (_n, new, _l) in per.items():
            merged[evaluator] = new
        ordered = [merged[c] for c in table["committee"] if c in merged] + \
                  [e for w, e in merged.items() if w not in table["committee"]]
        rows = sorted(n for n, _e, _l in per.values())
        if ordered == old:
            unchanged.append(ident)
            continue
        whole = dict(data, evaluations=ordered)
        checked = [] if ident in unreadable else _check_application(YamlDocument(whole), _display(path), table, validator)
        for p in checked:
            row, where = rows[0], p.field
            for evaluator, (n, _e, labels) in per.items():
                k = ordered.index(merged[evaluator])
                if p.field.startswith(f"evaluations[{k}]"):
                    row, where = n, labels.get(p.field.rsplit(".", 1)[-1], p.field)
            problems.append(Problem(name, row, where, f"{ident}: {p.message}"))
        planned.append(ScoredApplication(ident, path, whole, _text(raw, whole, name), raw, rows, replaced,
                                         bool(replaced) or not raw.startswith(IMPORT_HEAD.encode("utf-8"))))
    if problems:
        problems.sort(key=lambda p: p.line or 0)
        raise ApplicationImportError(f"{name}: 점수표 오류 {len(problems)}건. 아무것도 저장하지 않았습니다:", problems)
    changed = [a for a in planned if a.replaced]
    if changed and not force:
        lines = [Problem(_display(a.path), None, ", ".join(a.replaced), "이미 있는 점수와 다릅니다") for a in changed]
        raise ApplicationImportError(f"{name}: 평가위원 점수 {len(changed)}건이 신청서에 이미 있는 점수와 다릅니다. 아무것도 "
                                     "저장하지 않았습니다. 확인한 뒤 --force로 바꾸세요 (이전 파일은 .bak):", lines)
    return ScoresPlan(Path(source), folder, sheet.kind, planned, unchanged, sheet.warnings + warnings)


def _text(old: bytes, data: dict, source: str) -> bytes:
    """The file with its leading comment lines kept and one line saying where the scores came from."""
    head = []
    for line in old.decode("utf-8", "replace").splitlines():
        if not line.startswith("#"):
            break
        head.append(line)
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    head.append(f"# 평가위원 점수: '{source}'에서 가져옴 ({stamp}, `python -m pipeline applications-scores`).")
    return ("\n".join(head) + "\n" + dump_yaml(data)).encode("utf-8")


def apply_scores(plan: ScoresPlan) -> list[Path]:
    from pipeline.store.outputs import locked_folder, replace_folder

    if not plan.applications:
        return []
    files: dict[str, bytes] = {}
    backups: list[Path] = []
    when = dt.datetime.now()
    with locked_folder(plan.folder):
        for app in plan.applications:
            if app.path.read_bytes() != app.old_bytes:
                raise ApplicationImportError(f"{app.path}: 읽는 동안 신청서가 바뀌었습니다. 다시 실행해 주세요 (아무것도 저장하지 않음)")
            files[app.path.name] = app.text
            if app.backup:
                n = 1
                while (backup := backup_name(app.path, when, n)).exists():
                    n += 1
                files[backup.name] = app.old_bytes
                backups.append(backup)
        try:
            replace_folder(plan.folder, files, carry=lambda _name: True)
        except OSError as exc:
            raise ApplicationImportError(f"{plan.folder}에 쓸 수 없습니다 ({exc.strerror or exc}); 아무것도 바꾸지 않았습니다") from None
    return backups
