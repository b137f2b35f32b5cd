"""The revision store: every `plan` run is kept as revisions/<id>/rNNN/, never overwritten.

A revision is written into a temporary folder first and then renamed into place; the rename of a
folder onto a new name is atomic, so a reader never sees a half-written revision and two
concurrent runs can never get the same number (the loser of a rename race takes the next one).
A run killed midway leaves only a `.tmp-*` folder, which later runs ignore and clean up.
"""
from __future__ import annotations

import datetime
import getpass
import hashlib
import json
import os
import re
import shutil
import time
import uuid
from pathlib import Path

from pipeline.locations import store_root
from pipeline.errors import RevisionError

REVISION_DIR = re.compile(r"^r(\d{3,})$")
STALE_TMP_SECONDS = 3600


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
    return json.loads((revision_path(company_id, number, root) / "revision.json").read_text(encoding="utf-8"))


def author_name(explicit: str | None) -> str:
    return explicit or os.environ.get("CARBON_AUTHOR") or getpass.getuser() or "unknown"


def store_revision(company_id: str, files: dict[str, bytes], meta: dict, root: Path | None = None) -> tuple[int, Path]:
    """Write `files` as the next revision of `company_id`; returns (number, folder)."""
    try:
        return _store_revision(company_id, files, meta, root)
    except OSError as exc:  # unwritable or misconfigured store, disk full: a message, not a traceback
        where = exc.filename or company_dir(company_id, root)
        raise RevisionError(
            f"리비전을 저장할 수 없습니다: {where}: {exc.strerror or exc}. "
            "CARBON_REVISIONS_DIR(저장 위치), 쓰기 권한, 디스크 공간을 확인해 주세요"
        ) from None


def _store_revision(company_id: str, files: dict[str, bytes], meta: dict, root: Path | None = None) -> tuple[int, Path]:
    folder = company_dir(company_id, root)
    folder.mkdir(parents=True, exist_ok=True)
    _clean_stale_tmp(folder)
    tmp = folder / f".tmp-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        for name, data in files.items():
            with open(tmp / name, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        number = (revision_numbers(company_id, root) or [0])[-1] + 1
        while True:
            record = dict(meta, revision=number, stored_at=_now())
            (tmp / "revision.json").write_text(json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8")
            target = folder / f"r{number:03d}"
            try:
                os.rename(tmp, target)  # atomic; fails if another run took this number
                _fsync_dir(folder)
                return number, target
            except OSError:
                if not target.exists():
                    raise
                number += 1
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def fingerprint(paths: list[Path], base: Path) -> str:
    """SHA-256 over the relative names and bytes of templates and content used for a render."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path.relative_to(base)).encode())
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


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).astimezone().isoformat(timespec="seconds")
