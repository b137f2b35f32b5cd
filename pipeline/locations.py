"""Where a run reads and writes: the project folder and the folders under it, each overridable by
an environment variable (CARBON_CONTENT_DIR, CARBON_COMPANIES_DIR, CARBON_OUT_DIR,
CARBON_REVISIONS_DIR). One module, so every command resolves a folder the same way.

A variable that is set but empty, or only white space (`CARBON_OUT_DIR=` in a shell or a `.env`
file, an unset variable in a CI template) counts as unset: the default folder is used. It never
means "the current folder" — `Path("")` is `.`, and a run would then read profiles from, or write
drafts and revisions into, wherever it was started. To use the current folder, say so: `CARBON_OUT_DIR=.`.
"""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def env_path(variable: str) -> Path | None:
    """The folder named by environment `variable`, or None when it is unset, empty or only white space."""
    value = os.environ.get(variable)
    if value is None or not value.strip():
        return None
    return Path(value)


def content_root() -> Path:
    return env_path("CARBON_CONTENT_DIR") or PROJECT_ROOT / "content"


def companies_dir() -> Path:
    return env_path("CARBON_COMPANIES_DIR") or PROJECT_ROOT / "companies"


def out_root() -> Path:
    return env_path("CARBON_OUT_DIR") or PROJECT_ROOT / "out"


def store_root() -> Path:
    """The revision store."""
    return env_path("CARBON_REVISIONS_DIR") or PROJECT_ROOT / "revisions"
