"""Feedback on revisions and the final-version marker, kept beside the immutable revisions.

Layout under revisions/<id>/ (rNNN/ folders are never touched here):

    feedback/rNNN-<time>-<rand>.json   one file per imported returned draft (items, source, who/when);
                                       written to a temporary name and renamed, never changed later
    feedback/status.jsonl              status changes, one JSON object a line, appended under a lock
                                       (store/logs.py: whole lines, verified, a damaged tail repaired)
    feedback/.lock                     the lock (fcntl) that keeps item numbers unique across runs
    final.json, final.log.jsonl        the final mark and its log: store/final.py (re-exported here)

Item ids are `r002-c1` (comment), `r002-i3` (insertion), `r002-d2` (deletion): the revision the
draft was returned for, a kind letter and a number that keeps counting across imports.
The status of an item is `open` when imported and then whatever its latest status change says.

Every file read here is validated: a damaged import file, status line or final marker is reported
(a warning for what is only read, StoreError where writing on top of it could lose or confuse
data), never a traceback. OSError while writing becomes StoreError: exit 2, nothing half-stored.
"""
from __future__ import annotations

import contextlib
import datetime
import json
import re
import uuid
from pathlib import Path

from pipeline.errors import FeedbackError, RevisionError, StoreError
from pipeline.store.atomic import file_lock, store_write_error, write_new
from pipeline.store.final import final_guard, final_revision, guard_final, mark_final  # noqa: F401  (re-exported)
from pipeline.store.logs import append_records, read_records
from pipeline.store.revisions import author_name, check_revision, company_dir, read_meta, revision_numbers

STATUSES = ("open", "resolved", "wont-fix")
KIND_LETTER = {"comment": "c", "insertion": "i", "deletion": "d"}
ITEM_ID = re.compile(r"^r(\d{3,})-([cid])(\d+)$")
IMPORT_FILE = re.compile(r"^r(\d{3,})-.+\.json$")


def feedback_dir(company_id: str) -> Path:
    return company_dir(company_id) / "feedback"


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).astimezone().isoformat(timespec="microseconds")


# ---------------------------------------------------------------- locking, writes and warnings

@contextlib.contextmanager
def _locked(folder: Path):
    with contextlib.ExitStack() as stack:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            stack.enter_context(file_lock(folder / ".lock"))
        except OSError as exc:
            raise store_write_error(folder, exc) from None
        yield


_WARNED: set[str] = set()


def _warn(message: str) -> None:
    """A damaged stored file that is only being read: say so once per run, on stderr."""
    if message not in _WARNED:
        _WARNED.add(message)
        import click

        click.echo(f"경고: {message}", err=True)


def _valid_event(event: dict) -> bool:
    return isinstance(event.get("item"), str) and event.get("status") in STATUSES


def _valid_import(record) -> bool:
    if not isinstance(record, dict) or not isinstance(record.get("items"), list):
        return False
    if not isinstance(record.get("revision"), int) or isinstance(record.get("revision"), bool):
        return False
    if not isinstance(record.get("source"), dict) or not isinstance(record["source"].get("name"), str):
        return False
    return all(isinstance(i, dict) and isinstance(i.get("id"), str) and ITEM_ID.match(i["id"])
               and i.get("kind") in KIND_LETTER for i in record["items"])


def readable_name(name: str) -> str:
    """A file name as text that can be stored and printed: a name that is not UTF-8 (CP949 from
    Korean Windows archives, which Python hands over with surrogate escapes) is decoded as CP949,
    failing that with U+FFFD for the undecodable bytes."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        pass
    try:
        raw = name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that stands for no byte
        return name.encode("utf-8", "replace").decode("utf-8")
    try:
        return raw.decode("cp949")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "replace")


# ---------------------------------------------------------------- reading the store

def imports(company_id: str, strict: bool = False) -> list[dict]:
    """The import records, in file order. A damaged one is skipped with a warning, or with
    `strict` (before new items are numbered) refused: its item ids are unknown."""
    folder = feedback_dir(company_id)
    try:
        if not folder.is_dir():
            return []
        paths = sorted(folder.iterdir())
    except OSError as exc:
        raise StoreError(f"{folder}을(를) 읽을 수 없습니다: {exc.strerror or exc}") from None
    out, damaged = [], []
    for path in paths:
        if not IMPORT_FILE.match(path.name):
            continue
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError, RecursionError):
            record = None
        if not _valid_import(record):
            damaged.append(path)
            continue
        record["file"] = str(path)
        out.append(record)
    if damaged:
        names = ", ".join(str(p) for p in damaged)
        if strict:
            raise StoreError(f"손상된 피드백 파일이 있습니다: {names}. 그 파일의 항목 번호를 알 수 없어 새 피드백을 "
                             "저장하지 않았습니다. 파일을 복구하거나 피드백 폴더 밖으로 옮긴 뒤 다시 실행하세요")
        _warn(f"손상된 피드백 파일을 건너뛰었습니다 (읽을 수 없음): {names}")
    return out


def status_events(company_id: str) -> list[dict]:
    path = feedback_dir(company_id) / "status.jsonl"
    events, bad = read_records(path, _valid_event)
    if bad:
        lines = ", ".join(str(n) for n in bad[:10]) + (" …" if len(bad) > 10 else "")
        _warn(f"{path}의 {len(bad)}줄이 상태 기록이 아니어서 건너뛰었습니다 (줄 {lines})")
    return events


def items(company_id: str) -> list[dict]:
    """Every feedback item with its current status and status history, in import order."""
    by_id: dict[str, dict] = {}
    for record in imports(company_id):
        for item in record["items"]:
            entry = dict(item, revision=record["revision"], source=record["source"]["name"])
            entry["history"] = [{"status": "open", "by": record.get("imported_by"), "at": record.get("imported_at"),
                                 "note": "가져옴"}]
            entry["status"] = "open"
            by_id[item["id"]] = entry
    for event in status_events(company_id):
        entry = by_id.get(event["item"])
        if entry is None:
            continue
        entry["history"].append({k: event.get(k) for k in ("status", "by", "at", "note")})
        entry["status"] = event["status"]
    return list(by_id.values())


def open_counts(company_id: str) -> dict[int, int]:
    """Open items per revision number."""
    counts: dict[int, int] = {}
    for item in items(company_id):
        if item["status"] == "open":
            counts[item["revision"]] = counts.get(item["revision"], 0) + 1
    return counts


# ---------------------------------------------------------------- writing

def store_feedback(company_id: str, revision: int | None, draft, by: str | None = None) -> tuple[int, list[dict]]:
    """Store the comments and changes of a ReturnedDraft as items on `revision` (default: latest)."""
    numbers = revision_numbers(company_id)
    if not numbers:
        raise RevisionError(f"{company_id}: 리비전이 없습니다. 먼저 `python -m pipeline plan {company_id}`")
    number = numbers[-1] if revision is None else revision
    check_revision(company_id, number)  # raises for an unknown, empty or damaged revision
    folder = feedback_dir(company_id)
    with _locked(folder):
        existing = imports(company_id, strict=True)
        for record in existing:
            if record["source"].get("sha256") == draft.sha256 and record["revision"] == number:
                raise FeedbackError(
                    f"{readable_name(draft.name)}: 이 파일은 이미 r{number:03d}에 가져왔습니다 ({Path(record['file']).name}); 아무것도 저장하지 않았습니다"
                )
        counters = {letter: 0 for letter in KIND_LETTER.values()}
        for record in existing:
            for item in record["items"]:
                m = ITEM_ID.match(item["id"])
                if m and int(m.group(1)) == number:
                    counters[m.group(2)] = max(counters[m.group(2)], int(m.group(3)))
        new_items = []
        for kind, entries in (("comment", draft.comments), ("change", draft.changes)):
            for entry in entries:
                kind_name = entry.get("kind", kind)
                letter = KIND_LETTER[kind_name]
                counters[letter] += 1
                new_items.append(dict({"id": f"r{number:03d}-{letter}{counters[letter]}", "kind": kind_name}, **{
                    k: v for k, v in entry.items() if k != "kind"}))
        stamp = now()
        record = {
            "company_id": company_id,
            "revision": number,
            "imported_at": stamp,
            "imported_by": author_name(by),
            "source": {"name": readable_name(draft.name), "sha256": draft.sha256, "size": draft.size,
                       "document": draft.document},
            "items": new_items,
        }
        safe_stamp = re.sub(r"[^0-9]", "", stamp)[:20]
        target = folder / f"r{number:03d}-{safe_stamp}-{uuid.uuid4().hex[:8]}.json"
        try:
            write_new(target, json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8"))
        except OSError as exc:
            raise store_write_error(target, exc) from None
    return number, new_items


def set_status(company_id: str, item_ids: list[str], status: str, by: str | None = None, note: str | None = None) -> list[dict]:
    if status not in STATUSES:
        raise FeedbackError(f"상태는 {', '.join(STATUSES)} 중 하나여야 합니다 (받은 값: {status})")
    known = {item["id"]: item for item in items(company_id)}
    unknown = [i for i in item_ids if i not in known]
    if unknown:
        sample = ", ".join(list(known)[:8]) or "없음"
        raise FeedbackError(f"{company_id}: 없는 피드백 항목 {', '.join(unknown)} (있는 항목 예: {sample}); 아무것도 바꾸지 않았습니다")
    folder = feedback_dir(company_id)
    with _locked(folder):
        stamp = now()
        events = [{"item": item_id, "status": status, "by": author_name(by), "at": stamp, "note": note or ""}
                  for item_id in dict.fromkeys(item_ids)]
        append_records(folder / "status.jsonl", events, _valid_event)  # all or nothing, verified
    return events


def items_resolved_by(company_id: str, context: dict) -> list[str]:
    """Feedback items marked resolved since the last revision: the next revision records them.

    An item counts when its current status is `resolved` and no revision stored after its latest
    `resolved` mark lists it already (so re-running `plan` does not claim the same items twice,
    while an item reopened and resolved again is recorded again). `context` is the context being
    published; it is not needed for the decision today.
    """
    current = [item for item in items(company_id) if item["status"] == "resolved"]
    if not current:
        return []
    recorded: dict[str, datetime.datetime] = {}
    for number in revision_numbers(company_id):
        try:
            meta = read_meta(company_id, number)
        except (OSError, ValueError):
            continue
        stored = _parse_time(meta.get("stored_at"))
        for item_id in meta.get("resolves_feedback") or []:
            if stored and (item_id not in recorded or stored > recorded[item_id]):
                recorded[item_id] = stored
    out = []
    for item in current:
        resolved_at = _parse_time(next(h["at"] for h in reversed(item["history"]) if h["status"] == "resolved"))
        last = recorded.get(item["id"])
        if last is None or (resolved_at and resolved_at.replace(microsecond=0) > last):
            out.append(item["id"])
    return out


def _parse_time(text) -> datetime.datetime | None:
    if not text or not isinstance(text, str):
        return None
    try:
        value = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
