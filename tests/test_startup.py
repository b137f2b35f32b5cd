"""Start-up stays light: `python -m pipeline --help` imports none of the heavy libraries.

Checked with `python -X importtime` (every module the interpreter imports is listed on stderr),
so a heavy import pulled in indirectly (e.g. through a new top-level import in pipeline.cli or a
command module) is caught too. Timing itself is measured by `make bench`, not asserted here.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("matplotlib", "docxtpl", "docx", "jsonschema", "python_redlines", "pypdf", "numpy", "lxml")


def _imported_modules(*args: str) -> set[str]:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "pipeline", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":  # the header line
                names.add(name)
    assert "pipeline.cli" in names, "importtime output not understood"
    return names


@pytest.mark.parametrize("args", [("--help",), ("all", "--help"), ("plan", "--help")])
def test_help_imports_no_heavy_library(args):
    names = _imported_modules(*args)
    heavy = sorted(n for n in names if n.split(".")[0] in HEAVY)
    assert not heavy, f"`python -m pipeline {' '.join(args)}` imports {heavy}"
