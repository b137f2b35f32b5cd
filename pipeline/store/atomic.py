"""Atomic file writes: a reader sees the old file or the new one, never half of it."""
from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import uuid
from pathlib import Path
from typing import Iterator

from pipeline.errors import StoreError, os_reason


def default_mode(directory: bool = False) -> int:
    """The permission bits a plain open()/mkdir() would give under the current umask (0644/0755 usually).

    mkstemp() and mkdtemp() create 0600/0700, which would make drafts and status pages unreadable
    for the colleagues they are written for."""
    mask = os.umask(0)
    os.umask(mask)
    return (0o777 if directory else 0o666) & ~mask


def stage_file(path: Path, data: bytes, durable: bool = True) -> Path:
    """`data` in a new temporary file beside `path` (fsynced unless `durable` is False, with the mode
    `path` has or the umask's default), ready to be renamed onto it; nothing is left behind if this fails."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mode = default_mode()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            _chmod(handle.fileno(), tmp, mode)
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def write_atomic(path: Path, data: bytes, durable: bool = True) -> Path:
    """Write `data` to `path` through a temporary file in the same folder and os.replace.

    The new file keeps the permission bits of the file it replaces, else gets the umask's default.
    On any failure the temporary file is removed and `path` is left as it was. `durable=False`
    skips the fsyncs (a cache entry, rebuilt if a crash loses it)."""
    path = Path(path)
    tmp = stage_file(path, data, durable)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        fsync_dir(path.parent)
    return path


def write_new(path: Path, data: bytes) -> None:
    """Create `path` atomically; never replaces an existing file (FileExistsError if it exists)."""
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex}")
    try:
        with open(tmp, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(tmp, path)  # fails if path exists
    finally:
        tmp.unlink(missing_ok=True)


def store_write_error(where: Path, exc: OSError) -> StoreError:
    """The message for a store write that failed (full disk, no permission): nothing was stored."""
    return StoreError(f"{exc.filename or where}에 쓸 수 없습니다: {os_reason(exc)}. "
                      "디스크 공간과 쓰기 권한을 확인하세요; 아무것도 저장하지 않았습니다")


def write_file(path: Path, data: bytes) -> None:
    """Create a new file `path` (in a folder nobody else sees yet) with `data`, flushed to disk."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable (best effort; not every platform can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _chmod(fd: int, path: str, mode: int) -> None:
    try:
        os.fchmod(fd, mode)
    except (AttributeError, OSError):  # no fchmod (Windows) or a file system without modes
        try:
            os.chmod(path, mode)
        except OSError:
            pass


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on the lock file `path` (created if absent) for the block: the store's and
    out/'s writers serialise on such files. Not POSIX (no fcntl): no lock, best effort."""
    with open(path, "a+b") as handle:
        try:
            import fcntl
        except ImportError:
            yield
            return
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
