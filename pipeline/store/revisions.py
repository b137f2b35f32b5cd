"""The revision store: every `plan` run is kept as revisions/<id>/rNNN/, never overwritten.

A revision is written into a temporary folder first and then renamed into place; the rename of a
folder onto a new name is atomic, so a reader never sees a half-written revision and two
concurrent runs can never get the same number (the loser of a rename race takes the next one).
A run killed midway leaves only a `.tmp-*` folder, which later runs ignore and clean up.

The final rename happens under the company's store lock (revisions/.<id>.lock), the same lock
`final` marks under, so a check made there (`guard`: "is a final version marked now?") cannot be
overtaken by a `final` issued while the run was rendering.
"""
from __future__ import annotations

import contextlib
import datetime
import getpass
import hashlib
import json
import os
import re
import shutil
import time
import uuid
import zipfile
from pathlib import Path
from typing import Callable, Iterator

from pipeline.locations import store_root
from pipeline.errors import RevisionError
from pipeline.store.atomic import file_lock, fsync_dir

REVISION_DIR = re.compile(r"^r(\d{3,})$")
STALE_TMP_SECONDS = 3600
DOCUMENTS = ("diagnosis.docx", "matching.docx", "plan.docx")
REVISION_FILES = DOCUMENTS + ("context.json", "profile.yaml", "revision.json")


def company_dir(company_id: str, root: Path | None = None) -> Path:
    return (root or store_root()) / company_id


def revision_numbers(company_id: str, root: Path | None = None) -> list[int]:
    folder = company_dir(company_id, root)
    if not folder.is_dir():
        return []
    return sorted(int(m.group(1)) for p in folder.iterdir() if (m := REVISION_DIR.match(p.name)) and p.is_dir())


def revision_path(company_id: str, number: int, root: Path | None = None) -> Path:
    path = company_dir(company_id, root) / f"r{number:03d}"
    if not path.is_dir():
        known = ", ".join(f"r{n:03d}" for n in revision_numbers(company_id, root)) or "없음"
        raise RevisionError(f"{company_id}의 리비전 r{number:03d}이(가) 없습니다 (있는 리비전: {known})")
    return path


def latest_profile(company_id: str, root: Path | None = None) -> bytes | None:
    """The profile.yaml stored with the company's newest revision; None before the first one."""
    numbers = revision_numbers(company_id, root)
    if not numbers:
        return None
    try:
        return (revision_path(company_id, numbers[-1], root) / "profile.yaml").read_bytes()
    except OSError:
        return None


def read_meta(company_id: str, number: int, root: Path | None = None) -> dict:
    """revision.json of a revision; OSError or ValueError when it is missing or damaged."""
    meta = json.loads((revision_path(company_id, number, root) / "revision.json").read_text(encoding="utf-8"))
    if not isinstance(meta, dict):
        raise ValueError("revision.json is not an object")
    return meta


def check_revision(company_id: str, number: int, root: Path | None = None) -> dict:
    """The metadata of a complete revision; RevisionError naming what is missing or damaged otherwise
    (an empty or hand-made rNNN folder is not a revision anyone can submit or comment on)."""
    folder = revision_path(company_id, number, root)
    problems = []
    try:
        meta = read_meta(company_id, number, root)
        if meta.get("revision") != number:
            problems.append(f"revision.json의 번호가 {meta.get('revision')!r}입니다")
    except (OSError, ValueError):
        meta = {}
        problems.append("revision.json이 없거나 손상되었습니다")
    absent = [name for name in REVISION_FILES if name != "revision.json" and not (folder / name).is_file()]
    if absent:
        problems.append("없는 파일: " + ", ".join(absent))
    if problems:
        raise RevisionError(f"{company_id}의 r{number:03d}({folder})은(는) 완전한 리비전이 아닙니다: {'; '.join(problems)}")
    return meta


def read_document(company_id: str, number: int, name: str, root: Path | None = None) -> bytes:
    """The bytes of a stored .docx, checked to be a readable Word file; RevisionError otherwise."""
    path = revision_path(company_id, number, root) / name
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RevisionError(f"{company_id} r{number:03d}의 {name}을(를) 읽을 수 없습니다 ({path}: "
                            f"{exc.strerror or exc}); 저장된 리비전이 손상되었습니다") from None
    try:
        import io

        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            archive.getinfo("word/document.xml")
            if archive.testzip() is not None:
                raise zipfile.BadZipFile("damaged member")
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError, RuntimeError):  # RuntimeError: also an unsupported compression
        raise RevisionError(f"{company_id} r{number:03d}의 {name}({path})이(가) 손상되었습니다 (Word 문서로 읽을 수 없음)") from None
    return data


def author_name(explicit: str | None) -> str:
    """--author/--by, else $CARBON_AUTHOR, else the login name; a user id without a passwd entry
    (containers run so) is `uid<N>`, never an exception."""
    if explicit:
        return explicit
    from pipeline.locations import env_text

    if env_text("CARBON_AUTHOR"):
        return env_text("CARBON_AUTHOR").strip()
    try:
        name = getpass.getuser()
    except Exception:  # KeyError (3.12 and older) or OSError (3.13) when the uid has no passwd entry
        name = f"uid{os.getuid()}" if hasattr(os, "getuid") else ""
    return name or "unknown"


@contextlib.contextmanager
def company_lock(company_id: str, root: Path | None = None) -> Iterator[Path]:
    """The company's store lock (revisions/.<id>.lock, beside the company's folder so that folder
    holds only what docs/revisions.md lists): storing a revision and marking the final version
    take it, so neither can slip between the other's check and write."""
    folder = company_dir(company_id, root)
    folder.mkdir(parents=True, exist_ok=True)
    with file_lock(folder.parent / f".{company_id}.lock"):
        yield folder


def store_revision(company_id: str, files: dict[str, bytes], meta: dict, root: Path | None = None,
                   guard: Callable[[], None] | None = None) -> tuple[int, Path]:
    """Write `files` as the next revision of `company_id`; returns (number, folder).

    `guard`, when given, runs under the company's store lock right before the revision becomes
    visible; an exception from it (e.g. a final version marked meanwhile) stores nothing."""
    try:
        return _store_revision(company_id, files, meta, root, guard)
    except OSError as exc:  # unwritable or misconfigured store, disk full: a message, not a traceback
        where = exc.filename or company_dir(company_id, root)
        raise RevisionError(
            f"리비전을 저장할 수 없습니다: {where}: {exc.strerror or exc}. "
            "CARBON_REVISIONS_DIR(저장 위치), 쓰기 권한, 디스크 공간을 확인해 주세요"
        ) from None


def _store_revision(company_id: str, files: dict[str, bytes], meta: dict, root: Path | None,
                    guard: Callable[[], None] | None) -> tuple[int, Path]:
    folder = company_dir(company_id, root)
    folder.mkdir(parents=True, exist_ok=True)
    _clean_stale_tmp(folder)
    tmp = folder / f".tmp-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        for name, data in files.items():
            _write_synced(tmp / name, data)
        with company_lock(company_id, root):
            if guard is not None:
                guard()
            number = (revision_numbers(company_id, root) or [0])[-1] + 1
            while True:
                record = dict(meta, revision=number, stored_at=_now())
                _write_synced(tmp / "revision.json", json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8"))
                fsync_dir(tmp)
                target = folder / f"r{number:03d}"
                try:
                    os.rename(tmp, target)  # atomic; fails if another run took this number
                    fsync_dir(folder)
                    return number, target
                except OSError:
                    if not target.exists():
                        raise
                    number += 1
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def fingerprint(paths: list[Path], base: Path) -> str:
    """SHA-256 over the relative names and bytes of templates and content used for a render."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        # content/ may live outside the project (CARBON_CONTENT_DIR): then its own path names it
        digest.update(str(path.relative_to(base) if path.is_relative_to(base) else path).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _clean_stale_tmp(folder: Path) -> None:
    now = time.time()
    for path in folder.glob(".tmp-*"):
        try:
            if now - path.stat().st_mtime > STALE_TMP_SECONDS:
                shutil.rmtree(path, ignore_errors=True)
        except FileNotFoundError:
            pass


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).astimezone().isoformat(timespec="seconds")
