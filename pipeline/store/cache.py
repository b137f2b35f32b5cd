"""Where derived, rebuildable data is cached between runs (compiled section templates, charts,
profile schema passes).

$CARBON_CACHE_DIR, else $XDG_CACHE_HOME/jinju-carbon, else ~/.cache/jinju-carbon. Caches are an
optimisation only: a missing or unwritable folder just means no cache.
"""
from __future__ import annotations

import os
from pathlib import Path


def cache_dir(kind: str) -> Path | None:
    """The cache folder for `kind`, created on demand; None when caching is impossible."""
    base = os.environ.get("CARBON_CACHE_DIR") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "jinju-carbon"
    folder = Path(base) / kind
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder
