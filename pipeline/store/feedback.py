"""Feedback on revisions and the final-version marker, kept beside the immutable revisions.

Layout under revisions/<id>/ (rNNN/ folders are never touched here):

    feedback/rNNN-<time>-<rand>.json   one file per imported returned draft (items, source, who/when);
                                       written to a temporary name and renamed, never changed later
    feedback/status.jsonl              status changes, one JSON object a line, appended under a lock
    feedback/.lock                     the lock (fcntl) that keeps item numbers unique across runs
    final.json                         the submission version (atomic; replaced only with --force)
    final.log.jsonl                    every final marking, appended

Item ids are `r002-c1` (comment), `r002-i3` (insertion), `r002-d2` (deletion): the revision the
draft was returned for, a kind letter and a number that keeps counting across imports.
The status of an item is `open` when imported and then whatever its latest status change says.
"""
from __future__ import annotations

import contextlib
import datetime
import json
import os
import re
import uuid
from pathlib import Path

from pipeline.errors import FeedbackError, RevisionError
from pipeline.store.revisions import author_name, company_dir, read_meta, revision_numbers, revision_path

STATUSES = ("open", "resolved", "wont-fix")
KIND_LETTER = {"comment": "c", "insertion": "i", "deletion": "d"}
ITEM_ID = re.compile(r"^r(\d{3,})-([cid])(\d+)$")
IMPORT_FILE = re.compile(r"^r(\d{3,})-.+\.json$")


def feedback_dir(company_id: str) -> Path:
    return company_dir(company_id) / "feedback"


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).astimezone().isoformat(timespec="microseconds")


# ---------------------------------------------------------------- locking and atomic writes

@contextlib.contextmanager
def _locked(folder: Path):
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a+b") as handle:
        try:
            import fcntl
        except ImportError:  # not POSIX: best effort, item numbers may need a re-run on collision
            yield
            return
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _write_new(path: Path, data: bytes) -> None:
    """Create `path` atomically; never replaces an existing file."""
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex}")
    try:
        with open(tmp, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(tmp, path)  # fails if path exists
    finally:
        tmp.unlink(missing_ok=True)


def _append_line(path: Path, record: dict) -> None:
    line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


# ---------------------------------------------------------------- reading the store

def imports(company_id: str) -> list[dict]:
    folder = feedback_dir(company_id)
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.iterdir()):
        if IMPORT_FILE.match(path.name):
            record = json.loads(path.read_text(encoding="utf-8"))
            record["file"] = str(path)
            out.append(record)
    return out


def status_events(company_id: str) -> list[dict]:
    path = feedback_dir(company_id) / "status.jsonl"
    if not path.is_file():
        return []
    events = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut by a crash; the rest stays readable
    return events


def items(company_id: str) -> list[dict]:
    """Every feedback item with its current status and status history, in import order."""
    by_id: dict[str, dict] = {}
    for record in imports(company_id):
        for item in record["items"]:
            entry = dict(item, revision=record["revision"], source=record["source"]["name"])
            entry["history"] = [{"status": "open", "by": record["imported_by"], "at": record["imported_at"], "note": "가져옴"}]
            entry["status"] = "open"
            by_id[item["id"]] = entry
    for event in status_events(company_id):
        entry = by_id.get(event.get("item"))
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
    revision_path(company_id, number)  # raises for an unknown revision
    folder = feedback_dir(company_id)
    with _locked(folder):
        existing = imports(company_id)
        for record in existing:
            if record["source"].get("sha256") == draft.sha256 and record["revision"] == number:
                raise FeedbackError(
                    f"{draft.name}: 이 파일은 이미 r{number:03d}에 가져왔습니다 ({Path(record['file']).name}); 아무것도 저장하지 않았습니다"
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
            "source": {"name": draft.name, "sha256": draft.sha256, "size": draft.size, "document": draft.document},
            "items": new_items,
        }
        safe_stamp = re.sub(r"[^0-9]", "", stamp)[:20]
        target = folder / f"r{number:03d}-{safe_stamp}-{uuid.uuid4().hex[:8]}.json"
        _write_new(target, json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8"))
    return number, new_items


def set_status(company_id: str, item_ids: list[str], status: str, by: str | None = None, note: str | None = None) -> list[dict]:
    if status not in STATUSES:
        raise FeedbackError(f"상태는 {', '.join(STATUSES)} 중 하나여야 합니다 (받은 값: {status})")
    known = {item["id"]: item for item in items(company_id)}
    unknown = [i for i in item_ids if i not in known]
    if unknown:
        sample = ", ".join(list(known)[:8]) or "없음"
        raise FeedbackError(f"{company_id}: 없는 피드백 항목 {', '.join(unknown)} (있는 항목 예: {sample}); 아무것도 바꾸지 않았습니다")
    events = []
    folder = feedback_dir(company_id)
    with _locked(folder):
        stamp = now()
        for item_id in dict.fromkeys(item_ids):
            event = {"item": item_id, "status": status, "by": author_name(by), "at": stamp, "note": note or ""}
            _append_line(folder / "status.jsonl", event)
            events.append(event)
    return events


# ---------------------------------------------------------------- final version

def final_revision(company_id: str) -> dict | None:
    path = company_dir(company_id) / "final.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def mark_final(company_id: str, number: int, force: bool = False, by: str | None = None, note: str | None = None) -> dict:
    revision_path(company_id, number)  # raises for an unknown revision
    folder = company_dir(company_id)
    record = {"company_id": company_id, "revision": number, "marked_by": author_name(by), "marked_at": now(), "note": note or ""}
    data = json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8")
    target = folder / "final.json"
    with _locked(folder / "feedback"):
        current = final_revision(company_id)
        if current and not force:
            raise RevisionError(
                f"{company_id}: 이미 r{current['revision']:03d}이(가) 최종본입니다 ({current.get('marked_at')}, {current.get('marked_by')}). "
                "바꾸려면 --force"
            )
        if current:
            tmp = folder / f".final-{uuid.uuid4().hex}.json"
            try:
                tmp.write_bytes(data)
                os.replace(tmp, target)
            finally:
                tmp.unlink(missing_ok=True)
        else:
            _write_new(target, data)
        _append_line(folder / "final.log.jsonl", dict(record, replaced=current["revision"] if current else None))
    return record


def guard_final(company_id: str, force: bool) -> None:
    final = final_revision(company_id)
    if final and not force:
        raise RevisionError(
            f"{company_id}는 r{final['revision']:03d}이(가) 최종본(제출본)으로 지정되어 있습니다 "
            f"({final.get('marked_at', '')}, {final.get('marked_by', '')}). 제출한 문서와 다른 새 판이 생기지 않도록 "
            "plan을 멈췄습니다. 새 리비전을 만들려면 --force를 붙이세요 (최종본 표시와 파일은 그대로 보존됩니다)"
        )


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


def _parse_time(text: str | None) -> datetime.datetime | None:
    if not text:
        return None
    try:
        value = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
