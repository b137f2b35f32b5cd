"""Where a run reads and writes: the project folder and the folders under it, each overridable by
an environment variable (CARBON_CONTENT_DIR, CARBON_COMPANIES_DIR, CARBON_OUT_DIR,
CARBON_REVISIONS_DIR). One module, so every command resolves a folder the same way."""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def content_root() -> Path:
    return Path(os.environ.get("CARBON_CONTENT_DIR", PROJECT_ROOT / "content"))


def companies_dir() -> Path:
    return Path(os.environ.get("CARBON_COMPANIES_DIR", PROJECT_ROOT / "companies"))


def out_root() -> Path:
    return Path(os.environ.get("CARBON_OUT_DIR", PROJECT_ROOT / "out"))


def store_root() -> Path:
    """The revision store."""
    return Path(os.environ.get("CARBON_REVISIONS_DIR", PROJECT_ROOT / "revisions"))
