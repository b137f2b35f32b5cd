"""The folders are the architecture (issue 21): layers enforced by import-linter, a small top level,
modules of a readable size."""
from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PIPELINE = ROOT / "pipeline"
LINT = Path(sys.executable).with_name("lint-imports")
# The package face, the entry point and the few modules every layer shares.
TOP_LEVEL = {"__init__.py", "__main__.py", "errors.py", "content.py", "missing.py", "locations.py"}
MAX_LINES = 400


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), "--no-cache"], cwd=cwd, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(cwd)})


def test_import_contracts_are_kept():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def _lint_with(tmp_path: Path, module: str, line: str) -> subprocess.CompletedProcess:
    """import-linter on a copy of the tree with `line` appended to `module` (a path under pipeline/)."""
    shutil.copytree(PIPELINE, tmp_path / "pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "pipeline" / module
    target.write_text(target.read_text() + f"\n{line}  # noqa\n")
    return _lint(tmp_path)


def test_an_upward_import_breaks_the_build(tmp_path):
    """The check is not a formality: calc importing a command (a layer far above) fails it."""
    result = _lint_with(tmp_path, "calc/cbam.py", "from pipeline.commands import main")
    assert result.returncode != 0
    assert "BROKEN" in result.stdout and "pipeline.calc.cbam -> pipeline.commands" in result.stdout


def test_a_cycle_between_siblings_breaks_the_build(tmp_path):
    result = _lint_with(tmp_path, "commands/plan.py", "from pipeline.commands import batch")
    assert result.returncode != 0 and "BROKEN" in result.stdout


def test_top_level_holds_only_the_face_and_shared_modules():
    modules = {p.name for p in PIPELINE.glob("*.py")}
    assert modules <= TOP_LEVEL, f"move into a package: {sorted(modules - TOP_LEVEL)}"
    packages = {p.name for p in PIPELINE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    for name in packages:
        assert (PIPELINE / name / "__init__.py").is_file(), f"pipeline/{name}/ has no __init__.py"


def test_long_modules_say_why():
    for path in sorted(PIPELINE.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").count("\n")
        if lines > MAX_LINES:
            doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
            assert f"Longer than {MAX_LINES} lines" in doc, f"{path.relative_to(ROOT)}: {lines} lines, no reason given"
