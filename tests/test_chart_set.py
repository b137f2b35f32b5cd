"""Charts for a render (pipeline.render.charts.ChartSet): cache, background worker, fallbacks.

The background worker is only an optimisation, so every test compares it with drawing in this
process: same PNG bytes, same errors, and no worker process left behind.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.errors import RenderError
from pipeline.render import charts

ROOT = Path(__file__).resolve().parents[1]
SPECS = {
    "scopes": charts.bar_spec(["Scope 1", "Scope 2 (위치)"], [120.5, 300], "Scope별 배출량", "tCO2e"),
    "monthly": charts.monthly_spec([10, 12, None, 9, 8, 7, 11, 12, 13, 9, 8, 10], "월별 전력", "MWh"),
    "sources": charts.shares_spec(["전력", "LNG", "경유"], [70, 25, 5], "에너지원별", "toe"),
}


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("CARBON_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("CARBON_CHART_CACHE", raising=False)
    return tmp_path / "charts"


def test_background_worker_draws_the_same_pngs_and_fills_the_cache(cache, monkeypatch):
    monkeypatch.setenv("CARBON_CHART_CACHE", "off")
    here = {name: charts.chart_png(spec) for name, spec in SPECS.items()}
    monkeypatch.delenv("CARBON_CHART_CACHE")
    with charts.ChartSet(SPECS, background=True) as chart_set:
        assert chart_set._worker is not None, "no worker was started"
        worker = chart_set._worker._process
        assert {name: chart_set.png(name) for name in SPECS} == here
    assert not worker.is_alive()
    assert len(list(cache.rglob("*.png"))) == len(SPECS)


def test_a_damaged_cache_file_is_drawn_again(cache):
    png = charts.chart_png(SPECS["sources"])
    (cached,) = cache.rglob("*.png")
    cached.write_bytes(b"not a png")
    with charts.ChartSet({"sources": SPECS["sources"]}) as chart_set:
        assert chart_set.png("sources") == png
    from pipeline.store.cache import read_entry

    assert read_entry(cached) == png  # re-cached, with its checksum


def test_cached_charts_start_no_worker(cache):
    for spec in SPECS.values():
        charts.chart_png(spec)
    with charts.ChartSet(SPECS, background=True) as chart_set:
        assert chart_set._worker is None
        assert chart_set.png("sources")[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_bad_spec_is_refused_before_any_drawing(cache):
    bad = dict(SPECS, monthly=charts.monthly_spec([1, 2, 3], "월별 전력", "MWh"))
    with pytest.raises(RenderError, match="12개"):
        charts.ChartSet(bad, background=True)
    with pytest.raises(RenderError, match="'LNG'의 값"):
        charts.ChartSet({"x": charts.bar_spec(["전력", "LNG"], [1, "많음"], "배출량", "t")})
    with pytest.raises(RenderError, match="차트 종류"):
        charts.chart_png({"kind": "radar", "title": "?"})


def test_a_dying_worker_falls_back_to_drawing_here(cache, monkeypatch):
    parent = os.getpid()
    draw = charts._draw

    def dies_in_the_worker(spec):
        if os.getpid() != parent:
            os._exit(3)  # killed mid-way, e.g. out of memory
        return draw(spec)

    monkeypatch.setattr(charts, "_draw", dies_in_the_worker)
    with charts.ChartSet(SPECS, background=True) as chart_set:
        pngs = {name: chart_set.png(name) for name in SPECS}
    monkeypatch.setattr(charts, "_draw", draw)
    monkeypatch.setenv("CARBON_CHART_CACHE", "off")
    assert pngs == {name: charts.chart_png(spec) for name, spec in SPECS.items()}


def test_an_error_in_the_worker_is_raised_here(cache, monkeypatch):
    def broken(labels, values, title, unit):
        raise RenderError(f"{title}: 그릴 수 없음")

    monkeypatch.setitem(charts._DRAW, "bar", broken)  # inherited by the forked worker, too
    with charts.ChartSet(SPECS, background=True) as chart_set:
        assert chart_set.png("monthly")[:4] == b"\x89PNG"
        with pytest.raises(RenderError, match="그릴 수 없음"):
            chart_set.png("scopes")
    assert not list(cache.rglob("*.part"))


def test_a_worker_started_early_draws_what_is_missing(cache, monkeypatch):
    charts.chart_png(SPECS["scopes"])
    worker = charts.ChartWorker.start()
    with charts.ChartSet(SPECS, worker=worker) as chart_set:
        assert chart_set._worker is worker
        pngs = {name: chart_set.png(name) for name in SPECS}
    assert not worker._process.is_alive()
    monkeypatch.setenv("CARBON_CHART_CACHE", "off")
    assert pngs == {name: charts.chart_png(spec) for name, spec in SPECS.items()}


def test_a_worker_started_early_is_stopped_when_everything_is_cached(cache):
    for spec in SPECS.values():
        charts.chart_png(spec)
    worker = charts.ChartWorker.start()
    with charts.ChartSet(SPECS, worker=worker) as chart_set:
        assert chart_set._worker is None and not worker._process.is_alive()
        assert chart_set.png("monthly")[:8] == charts.PNG_SIGNATURE
    worker.stop()  # stopping twice is harmless (the plan command stops it in a finally)


@pytest.mark.parametrize("submitted", [True, False], ids=["drawing", "waiting-for-jobs"])
def test_the_worker_does_not_outlive_a_killed_parent(tmp_path, submitted):
    """SIGKILL the process that started the worker: the worker exits by itself (no orphan),
    whether it was drawing or still waiting for its jobs."""
    pid_file = tmp_path / "worker.pid"
    start = ("charts.ChartSet(specs, background=True)._worker" if submitted else "charts.ChartWorker.start()")
    script = f"""
import os, signal, sys
sys.path.insert(0, {str(ROOT)!r})
os.environ["CARBON_CHART_CACHE"] = "off"
from pipeline.render import charts
specs = {{f"c{{i}}": charts.bar_spec(["a", "b"], [i, i + 1], f"차트 {{i}}", "t") for i in range(8)}}
worker = {start}
open({str(pid_file)!r}, "w").write(str(worker._process.pid))
os.kill(os.getpid(), signal.SIGKILL)
"""
    # Output to a file, not a pipe: an orphan holding the pipe would keep run() waiting.
    with open(tmp_path / "stderr.txt", "wb") as stderr:
        proc = subprocess.run([sys.executable, "-c", script], stdout=subprocess.DEVNULL, stderr=stderr, timeout=60)
    assert proc.returncode == -signal.SIGKILL, (tmp_path / "stderr.txt").read_text()
    worker = int(pid_file.read_text())
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _running(worker):
        time.sleep(0.1)
    orphan = _running(worker)
    if orphan:
        os.kill(worker, signal.SIGKILL)  # do not leave it behind when the test fails
    assert not orphan, "the chart worker kept running after its parent was killed"


def _running(pid: int) -> bool:
    """Alive and not a zombie (a container's init may not reap orphans)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def test_plan_starts_the_chart_worker_early_only_when_charts_will_likely_be_drawn(tmp_path, monkeypatch):
    """A first plan, or one after the profile changed, starts it; a re-plan of the same profile does not."""
    from pipeline.commands.plan import _charts_likely_drawn
    from pipeline.store.revisions import store_revision

    monkeypatch.setenv("CARBON_REVISIONS_DIR", str(tmp_path / "revisions"))
    profile = tmp_path / "acme.yaml"
    profile.write_bytes(b"base_year: 2024\n")
    assert _charts_likely_drawn("acme", profile)
    store_revision("acme", {"profile.yaml": profile.read_bytes()}, {"company_id": "acme"})
    assert not _charts_likely_drawn("acme", profile)
    profile.write_bytes(b"base_year: 2025\n")
    assert _charts_likely_drawn("acme", profile)


@pytest.mark.parametrize("label", ["몸체·디스크·스템 CNC 가공", "공정 미배분(공용설비·사무 등)", "Scope 1",
                                   "가나다라마바사아자차카타파하가나다라마바사", "인버터(VSD) 공기압축기 교체"])
def test_tick_labels_break_after_spaces_and_middle_dots(label):
    lines = charts._wrap(label).split("\n")
    assert "".join(lines).replace(" ", "") == label.replace(" ", "")  # nothing lost or added
    assert all(0 < len(line) <= 8 + 3 for line in lines)
    at = 0
    for line in lines[:-1]:  # a break falls after a space or '·' unless a word was too long
        at = label.index(line, at) + len(line)
        word = re.search(r"[^ ·]*$", label[:at]).group() + re.match(r"[^ ·]*", label[at:]).group()
        assert label[at - 1] == "·" or label[at:at + 1] == " " or len(word) > 8 + 3, (line, lines)
