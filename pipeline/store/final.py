"""The final-version mark: revisions/<id>/final.json (the submission version) and final.log.jsonl
(every marking, appended through store/logs.py).

`final` marks under the company's store lock, the lock a plan stores its revision under
(store/revisions.py `company_lock`), and the plan checks the mark again there (`final_guard`), so a
`final` issued while a plan renders stops that plan from storing a revision after the final one
(unless --force). A damaged final.json (empty, not JSON, no revision number) is reported, never
taken for "no final version".
"""
from __future__ import annotations

import contextlib
import datetime
import json

from pipeline.errors import RevisionError, StoreError
from pipeline.store.atomic import store_write_error, write_atomic, write_new
from pipeline.store.logs import append_records
from pipeline.store.revisions import author_name, check_revision, company_dir, company_lock


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).astimezone().isoformat(timespec="microseconds")


def final_revision(company_id: str) -> dict | None:
    """The final marker, or None when there is none; StoreError when final.json is damaged
    (empty, not JSON, no revision number): a damaged marker is not the same as no marker."""
    path = company_dir(company_id) / "final.json"
    try:
        if not path.exists():
            return None
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        record = None
    number = record.get("revision") if isinstance(record, dict) else None
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        raise StoreError(f"최종본 표시 파일 {path}이(가) 손상되었습니다 (최종본 번호를 읽을 수 없음). 어느 리비전이 "
                         f"제출본인지 확인한 뒤 `python -m pipeline final {company_id} N --force`로 다시 지정하세요")
    return record


def mark_final(company_id: str, number: int, force: bool = False, by: str | None = None, note: str | None = None) -> dict:
    check_revision(company_id, number)  # raises for an unknown, empty or damaged revision
    folder = company_dir(company_id)
    record = {"company_id": company_id, "revision": number, "marked_by": author_name(by), "marked_at": now(), "note": note or ""}
    data = json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8")
    target = folder / "final.json"
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(company_lock(company_id))  # the lock a plan stores its revision under
        except OSError as exc:
            raise store_write_error(folder, exc) from None
        try:
            current = final_revision(company_id)
        except StoreError:
            if not force:
                raise
            current = None  # a damaged marker is replaced with --force (the log keeps every marking)
        if current and not force:
            raise RevisionError(
                f"{company_id}: 이미 r{current['revision']:03d}이(가) 최종본입니다 ({current.get('marked_at')}, {current.get('marked_by')}). "
                "바꾸려면 --force"
            )
        try:
            previous = target.read_bytes() if target.is_file() else None
            if previous is not None or target.is_symlink():
                write_atomic(target, data)
            else:
                write_new(target, data)
        except OSError as exc:
            raise store_write_error(target, exc) from None
        try:
            append_records(folder / "final.log.jsonl", [dict(record, replaced=current["revision"] if current else None)])
        except StoreError:  # the marking is not logged, so it did not happen: put the marker back
            with contextlib.suppress(OSError):
                if previous is None:
                    target.unlink()
                else:
                    write_atomic(target, previous)
            raise
    return record


_PLAN_FORCE: dict[str, bool] = {}


def guard_final(company_id: str, force: bool) -> None:
    """Refuse a plan for a company whose final version is marked, unless `force`.

    Called when a plan starts; `final_guard` repeats the check under the store lock right before
    the revision is stored, with the same `force` (remembered here), so a `final` issued while the
    plan was rendering stops it too."""
    _PLAN_FORCE[company_id] = force
    _check_final(company_id, force)


def final_guard(company_id: str, force: bool | None = None):
    """The check store_revision runs under the store lock; `force` None: as given to guard_final."""
    if force is None:
        force = _PLAN_FORCE.get(company_id, False)

    def guard() -> None:
        _check_final(company_id, force, late=True)

    return guard


def _check_final(company_id: str, force: bool, late: bool = False) -> None:
    if force:
        return
    try:
        final = final_revision(company_id)
    except StoreError as exc:
        raise StoreError(f"{exc.format_message()}. 최종본 표시를 확인할 수 없어 plan을 멈췄습니다 "
                         "(새 리비전을 만들려면 --force)") from None
    if final:
        when = ("plan을 실행하는 동안 " if late else "")
        raise RevisionError(
            f"{company_id}는 {when}r{final['revision']:03d}이(가) 최종본(제출본)으로 지정되었습니다 "
            f"({final.get('marked_at', '')}, {final.get('marked_by', '')}). 제출한 문서와 다른 새 판이 생기지 않도록 "
            f"plan을 멈췄습니다{' (새 리비전은 저장하지 않았습니다)' if late else ''}. 새 리비전을 만들려면 --force를 붙이세요 "
            "(최종본 표시와 파일은 그대로 보존됩니다)"
        )
