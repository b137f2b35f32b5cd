"""Append-only JSON-lines logs (feedback/status.jsonl, final.log.jsonl): one write path for all of them.

An append
- takes the log's own lock (fcntl on the open file), so concurrent appends never interleave;
- first looks at the tail: a last line that is a complete record but lacks its newline (a hand
  edit) gets the newline, so the next record does not fuse with it; trailing lines that are not
  a record (a short write on a full disk, a crash, a hand edit) are cut off and their bytes kept in
  `<log>.damaged-<time>` beside the log, with a warning on stderr. No record that parses is ever cut;
- writes all new records as whole lines in one write, fsyncs, and reads the bytes back; a short
  or failed write is truncated away again and reported (StoreError: exit 2, Korean message), so a
  command never reports a change that is not in the log.

A reader (`read_records`) skips lines that are not records and says which they were; it never
repairs (only a writer, holding the lock, does).
"""
from __future__ import annotations

import contextlib
import datetime
import errno
import json
import os
from pathlib import Path
from typing import Callable, Iterator

from pipeline.errors import StoreError

CHUNK = 64 * 1024
MAX_LINE = 4 * 1024 * 1024  # a longer "line" is not a record of ours; it is cut, not parsed

Validator = Callable[[dict], bool]


def read_records(path: Path, valid: Validator | None = None) -> tuple[list[dict], list[int]]:
    """The records of the log at `path` (none when it does not exist) and the line numbers that are not records."""
    try:
        data = Path(path).read_bytes()
    except (FileNotFoundError, NotADirectoryError):  # no log (yet)
        return [], []
    except OSError as exc:
        raise StoreError(f"{path}을(를) 읽을 수 없습니다: {exc.strerror or exc}") from None
    records, bad = [], []
    for number, raw in enumerate(data.split(b"\n"), 1):
        if not raw.strip():
            continue
        record = _parse(raw, valid)
        if record is None:
            bad.append(number)
        else:
            records.append(record)
    return records, bad


def append_records(path: Path, records: list[dict], valid: Validator | None = None) -> str | None:
    """Append `records` to the log at `path`, one JSON line each, all or nothing.

    Returns a warning (already printed on stderr) when a damaged tail had to be cut, else None.
    Raises StoreError, with the log as it was, when the records could not be written and verified."""
    path = Path(path)
    payload = b"".join((json.dumps(r, ensure_ascii=False) + "\n").encode("utf-8") for r in records)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
    except OSError as exc:
        raise _write_error(path, exc) from None
    try:
        with _flock(fd):
            size = os.fstat(fd).st_size
            keep, prefix = _sound_end(fd, size, valid)
            notice = None
            if keep < size:
                try:
                    side = _keep_damaged(path, fd, keep, size)
                    os.ftruncate(fd, keep)
                    os.fsync(fd)
                except OSError as exc:
                    raise StoreError(
                        f"{path}의 끝 {size - keep}바이트가 손상되어 있는데(완전하지 않은 줄) 잘라 보관할 수 없습니다: "
                        f"{exc.strerror or exc}. 파일을 직접 확인해 주세요; 변경 내용은 저장하지 않았습니다"
                    ) from None
                notice = (f"경고: {path}의 끝 {size - keep}바이트가 손상되어(완전한 기록이 아닌 줄) 잘라 "
                          f"{side.name}에 보관했습니다. 그 앞의 기록은 그대로이고 이번 변경은 저장되었습니다")
                size = keep
            data = prefix + payload
            try:
                written = os.write(fd, data)
                if written != len(data):
                    raise OSError(errno.ENOSPC, f"{len(data)}바이트 중 {written}바이트만 기록됨")
                os.fsync(fd)
                if os.fstat(fd).st_size != size + len(data) or os.pread(fd, len(data), size) != data:
                    raise OSError(errno.EIO, "기록한 내용을 다시 읽어 보니 다릅니다")
            except OSError as exc:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, size)
                    os.fsync(fd)
                raise _write_error(path, exc) from None
    finally:
        os.close(fd)
    if notice:
        import click

        click.echo(notice, err=True)
    return notice


def _write_error(path: Path, exc: OSError) -> StoreError:
    from pipeline.errors import os_reason

    return StoreError(f"{path}에 기록할 수 없습니다: {os_reason(exc)}. 디스크 공간과 쓰기 권한을 확인하세요; "
                      "변경 내용은 저장하지 않았습니다")


def _parse(raw: bytes, valid: Validator | None) -> dict | None:
    try:
        record = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(record, dict) or (valid is not None and not valid(record)):
        return None
    return record


def _sound_end(fd: int, size: int, valid: Validator | None) -> tuple[int, bytes]:
    """(where the sound part of the log ends, b"\\n" if its last record lacks the newline else b"")."""
    end = size
    while end > 0:
        terminated = os.pread(fd, 1, end - 1) == b"\n"
        content_end = end - 1 if terminated else end
        start = _line_start(fd, content_end)
        if content_end - start <= MAX_LINE:
            raw = os.pread(fd, content_end - start, start)
            if not raw.strip() or _parse(raw, valid) is not None:  # a blank line is harmless; a record is kept
                return end, b"" if terminated else b"\n"
        end = start
    return 0, b""


def _line_start(fd: int, end: int) -> int:
    """The offset just after the last newline before `end` (0 when there is none)."""
    pos = end
    while pos > 0:
        begin = max(0, pos - CHUNK)
        found = os.pread(fd, pos - begin, begin).rfind(b"\n")
        if found >= 0:
            return begin + found + 1
        pos = begin
    return 0


def _keep_damaged(path: Path, fd: int, start: int, end: int) -> Path:
    stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S-%f")
    side = path.with_name(f"{path.name}.damaged-{stamp}")
    out = os.open(side, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        pos = start
        while pos < end:
            chunk = os.pread(fd, min(CHUNK, end - pos), pos)
            if not chunk:
                break
            view = memoryview(chunk)
            while view:
                view = view[os.write(out, view):]
            pos += len(chunk)
        os.fsync(out)
    except BaseException:
        os.close(out)
        side.unlink(missing_ok=True)
        raise
    os.close(out)
    return side


@contextlib.contextmanager
def _flock(fd: int) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # not POSIX: the callers' folder locks are best effort there too
        yield
        return
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
