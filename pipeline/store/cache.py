"""Where derived, rebuildable data is cached between runs (compiled section templates, charts,
profile schema passes).

$CARBON_CACHE_DIR, else $XDG_CACHE_HOME/jinju-carbon, else ~/.cache/jinju-carbon (an empty
variable counts as unset). Caches are an optimisation only: a missing or unwritable folder, or no
home folder at all (a user id without a passwd entry and no $HOME, as containers run), just means
no cache. A cache is never trusted: an entry that cannot be read back is rebuilt (`bytecode_cache`).
"""
from __future__ import annotations

import os
from pathlib import Path


def cache_base() -> Path | None:
    """The cache root, or None when there is no place for it."""
    if (os.environ.get("CARBON_CACHE_DIR") or "").strip():
        return Path(os.environ["CARBON_CACHE_DIR"])
    if (os.environ.get("XDG_CACHE_HOME") or "").strip():
        return Path(os.environ["XDG_CACHE_HOME"]) / "jinju-carbon"
    try:
        home = Path.home()
    except (RuntimeError, KeyError, OSError):  # no $HOME and no passwd entry for the uid
        return None
    if str(home) in ("", "/", "."):  # no usable home: never cache into / or the current folder
        return None
    return home / ".cache" / "jinju-carbon"


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


def bytecode_cache(kind: str = "templates"):
    """A jinja2 bytecode cache in cache_dir(kind) that rebuilds, instead of failing on, an entry it
    cannot read (truncated, damaged, from another Python); None when there is no cache folder."""
    folder = cache_dir(kind)
    if folder is None:
        return None
    import jinja2

    class _RebuildingBytecodeCache(jinja2.FileSystemBytecodeCache):
        def load_bytecode(self, bucket) -> None:
            try:
                super().load_bytecode(bucket)
            except Exception:  # pickle/marshal errors of a damaged file: compile afresh
                bucket.reset()
                try:
                    os.unlink(self._get_cache_filename(bucket))
                except OSError:
                    pass

        def dump_bytecode(self, bucket) -> None:
            try:
                super().dump_bytecode(bucket)
            except OSError:  # a full or read-only cache is no error
                pass

    return _RebuildingBytecodeCache(str(folder))
