"""Into the profile: merging what a returned 자료요청서 holds into companies/<id>.yaml, validating the
result like `validate`, showing the changes, and writing it (the old file kept as a .bak)."""
from __future__ import annotations

import copy
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.content import Content
from pipeline.errors import IntakeError, Problem
from pipeline.locations import companies_dir
from pipeline.profile.intake.archive import _split
from pipeline.profile.intake.layout import build_layout
from pipeline.profile.intake.model import Layout, covered_part, data_fingerprint
from pipeline.profile.intake.reader import ReadResult, _problem, read_workbook

MAX_LISTED_PROBLEMS = 150



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
    from pipeline.profile.yamlsafe import dump_yaml

    body = dump_yaml(data)
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
