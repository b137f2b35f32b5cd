"""Where derived, rebuildable data is cached between runs (compiled section templates, charts,
profile schema passes).

$CARBON_CACHE_DIR, else $XDG_CACHE_HOME/jinju-carbon, else ~/.cache/jinju-carbon (an empty
variable counts as unset). Caches are an optimisation only: a missing or unwritable folder, or no
home folder at all (a user id without a passwd entry and no $HOME, as containers run), just means
no cache. A cache is never trusted: every entry is written with a checksum (`write_entry`) and
read back verified (`read_entry`); one that is truncated, damaged or of another format is
discarded and rebuilt, silently. The chart cache, the template bytecode cache and the profile
schema passes all go through these two functions.
"""
from __future__ import annotations

from pathlib import Path


def cache_base() -> Path | None:
    """The cache root (locations.cache_root), or None when there is no place for it."""
    from pipeline.locations import cache_root

    return cache_root()


def cache_dir(kind: str) -> Path | None:
    """The cache folder for `kind`, created on demand; None when caching is impossible."""
    base = cache_base()
    if base is None:
        return None
    folder = base / kind
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder


MAGIC = b"jinju-carbon cache 1\n"
_DIGEST = 32


def read_entry(path: Path | None) -> bytes | None:
    """The data of a cache entry written by `write_entry`, or None: absent, unreadable, truncated,
    damaged or from another format. A bad entry is removed, so the caller rebuilds and rewrites it."""
    if path is None:
        return None
    import hashlib

    try:
        if not path.is_file():
            if path.exists() or path.is_symlink():  # a folder, a FIFO, a dangling link: never read, drop it
                _discard(path)
            return None
        raw = path.read_bytes()
    except OSError:
        return None
    head, digest, data = raw[:len(MAGIC)], raw[len(MAGIC):len(MAGIC) + _DIGEST], raw[len(MAGIC) + _DIGEST:]
    if head != MAGIC or len(digest) != _DIGEST or hashlib.sha256(data).digest() != digest:
        _discard(path)
        return None
    return data


def write_entry(path: Path | None, data: bytes) -> None:
    """Store a cache entry (atomically: parallel runs never see half of one) with its checksum.
    A full, read-only or vanished cache is no error: the entry is just not cached."""
    if path is None:
        return
    import hashlib

    from pipeline.store.atomic import write_atomic

    try:
        write_atomic(path, MAGIC + hashlib.sha256(data).digest() + data, durable=False)
    except OSError:
        pass


def _discard(path: Path) -> None:
    import shutil

    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    except OSError:
        pass


def bytecode_cache(kind: str = "templates"):
    """A jinja2 bytecode cache in cache_dir(kind) whose entries go through read_entry/write_entry:
    a truncated, damaged or foreign entry is compiled afresh, never an error; None when there is
    no cache folder."""
    folder = cache_dir(kind)
    if folder is None:
        return None
    import io
    import types

    import jinja2

    class _VerifiedBytecodeCache(jinja2.BytecodeCache):
        def _path(self, bucket) -> Path:
            return folder / f"{bucket.key}.bytecode"

        def load_bytecode(self, bucket) -> None:
            data = read_entry(self._path(bucket))
            if data is None:
                return
            try:
                bucket.load_bytecode(io.BytesIO(data))
            except Exception:  # an entry of another jinja2 or Python: compile afresh
                bucket.reset()
            if bucket.code is not None and not isinstance(bucket.code, types.CodeType):
                bucket.reset()

        def dump_bytecode(self, bucket) -> None:
            buffer = io.BytesIO()
            bucket.write_bytecode(buffer)
            write_entry(self._path(bucket), buffer.getvalue())

        def clear(self) -> None:
            for entry in folder.glob("*.bytecode"):
                _discard(entry)

    return _VerifiedBytecodeCache()
