"""Where a run reads and writes: the project folder and the folders under it, each overridable by
an environment variable (CARBON_CONTENT_DIR, CARBON_COMPANIES_DIR, CARBON_OUT_DIR,
CARBON_REVISIONS_DIR), the home folder and the cache root. One module, so every command reads the
environment the same way (`env_text`, `env_path`).

A variable that is set but empty, or only white space (`CARBON_OUT_DIR=` in a shell or a `.env`
file, an unset variable in a CI template) counts as unset: the default folder is used. It never
means "the current folder" — `Path("")` is `.`, and a run would then read profiles from, or write
drafts and revisions into, wherever it was started. To use the current folder, say so: `CARBON_OUT_DIR=.`.
"""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def env_text(variable: str) -> str | None:
    """Environment `variable`, or None when it is unset, empty or only white space. Every
    environment variable the pipeline reads (CARBON_*, HOME, XDG_CACHE_HOME) is read through here."""
    value = os.environ.get(variable)
    if value is None or not value.strip():
        return None
    return value


def env_path(variable: str) -> Path | None:
    """The folder named by environment `variable`, or None when it is unset, empty or only white space."""
    value = env_text(variable)
    return None if value is None else Path(value)


def home_dir() -> Path | None:
    """The user's home folder, or None when there is none to use: no $HOME and no passwd entry for
    the user id (containers run so), or a home of "/" or "." (never write caches there)."""
    home = env_path("HOME")
    if home is None:
        try:
            import pwd

            home = Path(pwd.getpwuid(os.getuid()).pw_dir)
        except (ImportError, KeyError, OSError, AttributeError):  # no pwd (Windows) or no passwd entry
            return None
    return None if str(home) in ("", "/", ".") else home


def cache_root() -> Path | None:
    """$CARBON_CACHE_DIR, else $XDG_CACHE_HOME/jinju-carbon, else ~/.cache/jinju-carbon; None
    when there is no place for caches (then nothing is cached)."""
    explicit = env_path("CARBON_CACHE_DIR")
    if explicit is not None:
        return explicit
    xdg = env_path("XDG_CACHE_HOME")
    if xdg is not None:
        return xdg / "jinju-carbon"
    home = home_dir()
    return None if home is None else home / ".cache" / "jinju-carbon"


def content_root() -> Path:
    return env_path("CARBON_CONTENT_DIR") or PROJECT_ROOT / "content"


def companies_dir() -> Path:
    return env_path("CARBON_COMPANIES_DIR") or PROJECT_ROOT / "companies"


def out_root() -> Path:
    return env_path("CARBON_OUT_DIR") or PROJECT_ROOT / "out"


def store_root() -> Path:
    """The revision store."""
    return env_path("CARBON_REVISIONS_DIR") or PROJECT_ROOT / "revisions"
