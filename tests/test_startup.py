"""Start-up stays light: `python -m pipeline --help` imports none of the heavy libraries.

Checked with `python -X importtime` (every module the interpreter imports is listed on stderr),
so a heavy import pulled in indirectly (e.g. through a new top-level import in pipeline.commands or a
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
    assert "pipeline.commands" in names, "importtime output not understood"
    return names


@pytest.mark.parametrize("args", [("--help",), ("all", "--help"), ("plan", "--help")])
def test_help_imports_no_heavy_library(args):
    names = _imported_modules(*args)
    heavy = sorted(n for n in names if n.split(".")[0] in HEAVY)
    assert not heavy, f"`python -m pipeline {' '.join(args)}` imports {heavy}"


# ----------------------------------------------------------------------------- chart cache
def test_chart_cache_returns_the_drawn_png(tmp_path, monkeypatch):
    from pipeline.errors import RenderError
    from pipeline.render import charts

    monkeypatch.setenv("CARBON_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("CARBON_CHART_CACHE", "off")
    drawn = charts.bar_chart(["전력", "LNG"], [12.5, 3], "배출량", "tCO2e")
    assert not any(tmp_path.rglob("*.png"))
    monkeypatch.delenv("CARBON_CHART_CACHE")
    first = charts.bar_chart(["전력", "LNG"], [12.5, 3], "배출량", "tCO2e")
    assert len(list(tmp_path.rglob("*.png"))) == 1
    assert charts.bar_chart(["전력", "LNG"], [12.5, 3], "배출량", "tCO2e") == first == drawn
    assert charts.bar_chart(["전력", "LNG"], [12.5, 4], "배출량", "tCO2e") != first  # other values, other key
    with pytest.raises(RenderError):
        charts.monthly_chart([1, 2, 3], "월별", "MWh")
    assert len(list(tmp_path.rglob("*.png"))) == 2 and not any(tmp_path.rglob("*.part"))


def test_replan_with_cached_charts_does_not_import_matplotlib(tmp_path):
    import os

    env = dict(os.environ, CARBON_CACHE_DIR=str(tmp_path / "cache"), CARBON_OUT_DIR=str(tmp_path / "out"),
               CARBON_REVISIONS_DIR=str(tmp_path / "revisions"), CARBON_AUTHOR="test")
    env.pop("CARBON_CHART_CACHE", None)
    cmd = [sys.executable, "-X", "importtime", "-m", "pipeline", "plan", "jinju-bolt", "--no-page-count"]
    runs = [subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120) for _ in range(2)]
    for proc in runs:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "| matplotlib" in runs[0].stderr  # first run draws the charts
    assert "matplotlib" not in runs[1].stderr  # second run reads them from the cache


# ----------------------------------------------------------------------------- schema pass cache
def test_replan_of_an_unchanged_profile_imports_no_jsonschema(tmp_path):
    import os

    env = dict(os.environ, CARBON_CACHE_DIR=str(tmp_path / "cache"), CARBON_OUT_DIR=str(tmp_path / "out"),
               CARBON_REVISIONS_DIR=str(tmp_path / "revisions"), CARBON_AUTHOR="test")
    cmd = [sys.executable, "-X", "importtime", "-m", "pipeline", "plan", "jinju-bolt", "--no-page-count"]
    runs = [subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120) for _ in range(2)]
    for proc in runs:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "| jsonschema" in runs[0].stderr  # the first run checks the schema
    assert "jsonschema" not in runs[1].stderr  # the same bytes passed it before


def test_schema_pass_is_remembered_for_the_exact_bytes_only(tmp_path, monkeypatch):
    from pipeline.content import get_content
    from pipeline.errors import ProfileError
    from pipeline.profile import _schema_pass_marker, load_profile

    monkeypatch.setenv("CARBON_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "companies"
    folder.mkdir()
    good = (ROOT / "companies" / "jinju-bolt.yaml").read_bytes()
    (folder / "acme.yaml").write_bytes(good)
    load_profile("acme", get_content(), folder)
    assert _schema_pass_marker(good).is_file()

    bad_schema = good.replace(b"employees: ", b"employees: -", 1)  # one byte: checked again, refused
    (folder / "acme.yaml").write_bytes(bad_schema)
    with pytest.raises(ProfileError, match="employees"):
        load_profile("acme", get_content(), folder)
    assert not _schema_pass_marker(bad_schema).is_file()

    # Even a forged pass marker skips the schema only: the cross-checks against content/ still run.
    bad_fuel = good.replace(b"fuel: city_gas", b"fuel: moon_gas", 1)
    _schema_pass_marker(bad_fuel).touch()
    (folder / "acme.yaml").write_bytes(bad_fuel)
    with pytest.raises(ProfileError, match="moon_gas"):
        load_profile("acme", get_content(), folder)


def test_a_wrong_schema_pass_falls_back_to_the_full_check(tmp_path, monkeypatch):
    """A forged pass for a structurally broken profile that trips the cross-checks: the full check
    runs instead of a crash. (The cache folder is the user's own: a forged pass is not a trust
    boundary, but it must not end in a traceback.)"""
    from pipeline.content import get_content
    from pipeline.errors import ProfileError
    from pipeline.profile import _schema_pass_marker, load_profile

    monkeypatch.setenv("CARBON_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "companies"
    folder.mkdir()
    broken = (ROOT / "companies" / "jinju-bolt.yaml").read_bytes().replace(b"\nprocesses:", b"\nprocesses: 5\nold_processes:", 1)
    _schema_pass_marker(broken).touch()
    (folder / "acme.yaml").write_bytes(broken)
    with pytest.raises(ProfileError, match="processes"):
        load_profile("acme", get_content(), folder)
