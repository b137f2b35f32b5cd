"""Crash safety (issue 8 §3): a `plan` run killed with SIGKILL at any moment loses nothing.

`plan` runs are started as subprocesses and killed after seeded random delays spread over a whole
run. After every kill: each visible revisions/<id>/rNNN is complete (revision.json naming its own
number, every document, the context and the profile; each .docx opens with python-docx), numbers
run r001, r002, … without gaps, leftover `.tmp-*` folders are not counted as revisions, and the
next run succeeds with the next number.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import docx
import pytest

pytestmark = pytest.mark.hardening

ROOT = Path(__file__).resolve().parents[1]
COMPANY = "jinju-bolt"
SEED = 20260408
KILLS = 12
TIMEOUT_S = 120
REVISION_FILES = {"diagnosis.docx", "matching.docx", "plan.docx", "context.json", "profile.yaml", "revision.json"}


@pytest.fixture()
def store(tmp_path):
    companies = tmp_path / "companies"
    companies.mkdir()
    shutil.copy(ROOT / "companies" / f"{COMPANY}.yaml", companies)
    env = dict(os.environ, CARBON_COMPANIES_DIR=str(companies), CARBON_OUT_DIR=str(tmp_path / "out"),
               CARBON_REVISIONS_DIR=str(tmp_path / "revisions"), CARBON_AUTHOR="crash-test")
    return env, tmp_path / "revisions" / COMPANY, tmp_path / "out" / COMPANY


def start_plan(env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pipeline", "plan", COMPANY, "--no-page-count"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def run_plan(env) -> tuple[int, str]:
    proc = start_plan(env)
    stdout, stderr = proc.communicate(timeout=TIMEOUT_S)
    text = stdout.decode() + stderr.decode()
    assert "Traceback" not in text, text
    assert proc.returncode == 0, text
    return proc.returncode, text


def revisions(folder: Path) -> list[int]:
    if not folder.is_dir():
        return []
    return sorted(int(p.name[1:]) for p in folder.iterdir() if p.is_dir() and p.name[:1] == "r" and p.name[1:].isdigit())


def assert_store_intact(folder: Path) -> list[int]:
    numbers = revisions(folder)
    assert numbers == list(range(1, len(numbers) + 1)), f"gap or odd numbering: {numbers}"
    for n in numbers:
        rev = folder / f"r{n:03d}"
        names = {p.name for p in rev.iterdir()}
        assert REVISION_FILES <= names, f"{rev} is partial: {sorted(names)}"
        meta = json.loads((rev / "revision.json").read_text(encoding="utf-8"))
        assert meta["revision"] == n and meta["company_id"] == COMPANY
        for name in ("diagnosis.docx", "matching.docx", "plan.docx"):
            assert docx.Document(str(rev / name)).paragraphs, f"{rev / name} has no paragraphs"
    return numbers


def assert_out_readable(out: Path) -> None:
    for path in out.glob("*.docx"):  # visible files only; `.name.*.part` leftovers are hidden temp files
        docx.Document(str(path))
    if (out / "context.json").exists():
        json.loads((out / "context.json").read_text(encoding="utf-8"))


@pytest.mark.slow  # 14 runs, 40–90 s
def test_sigkill_at_random_points_leaves_no_partial_revision(store):
    env, folder, out = store
    run_plan(env)  # the first run also warms caches; time the second
    began = time.monotonic()
    run_plan(env)
    duration = time.monotonic() - began
    assert assert_store_intact(folder) == [1, 2]

    rng = random.Random(SEED)
    # half spread over the whole run, half over its last third (rendering done, store and publish)
    delays = [rng.uniform(0, duration * 1.1) for _ in range(KILLS // 2)]
    delays += [rng.uniform(duration * 0.6, duration * 1.05) for _ in range(KILLS - KILLS // 2)]
    killed_mid_run = 0
    for delay in delays:
        proc = start_plan(env)
        time.sleep(delay)
        if proc.poll() is None:
            proc.kill()  # SIGKILL: no cleanup handler runs
            killed_mid_run += 1
        proc.communicate(timeout=TIMEOUT_S)
        assert_store_intact(folder)
        assert_out_readable(out)
    assert killed_mid_run >= KILLS // 3, "the delays should kill most runs before they finish"

    before = revisions(folder)
    _status, text = run_plan(env)
    after = assert_store_intact(folder)
    assert after == before + [before[-1] + 1]
    assert f"r{after[-1]:03d}" in text
    assert_out_readable(out)
    leftovers = sorted(p.name for p in folder.iterdir() if p.name.startswith(".tmp-"))
    assert all(p.is_dir() for p in folder.glob(".tmp-*"))
    print(f"crash safety: {len(delays)} runs started, {killed_mid_run} killed mid-run, "
          f"{len(after)} intact revisions, {len(leftovers)} .tmp-* leftovers ignored")


@pytest.mark.slow  # 8 runs, about 30 s
def test_sigkill_while_the_revision_is_being_stored(store):
    """Kill each run the moment its `.tmp-*` folder appears (plus a seeded 0–30 ms), i.e. inside the store."""
    env, folder, out = store
    run_plan(env)
    rng = random.Random(SEED + 1)
    caught = 0
    for _ in range(6):
        known = {p.name for p in folder.glob(".tmp-*")}
        proc = start_plan(env)
        deadline = time.monotonic() + TIMEOUT_S
        while proc.poll() is None and time.monotonic() < deadline:
            if any(p.name not in known for p in folder.glob(".tmp-*")):
                time.sleep(rng.uniform(0, 0.03))
                if proc.poll() is None:
                    proc.kill()
                    caught += 1
                break
            time.sleep(0.001)
        proc.communicate(timeout=TIMEOUT_S)
        assert_store_intact(folder)
        assert_out_readable(out)
    leftovers = len(list(folder.glob(".tmp-*")))
    print(f"crash safety: {caught} runs killed while storing, {leftovers} .tmp-* leftovers ignored")
    assert caught >= 3, "the runs should be caught while storing"
    before = revisions(folder)
    _status, text = run_plan(env)
    assert assert_store_intact(folder) == before + [before[-1] + 1]
    assert f"r{before[-1] + 1:03d}" in text
    assert [p for p in folder.glob(".tmp-*") if not p.is_dir()] == []


def test_leftover_tmp_folders_are_ignored_and_old_ones_cleaned(store):
    env, folder, out = store
    run_plan(env)
    fresh = folder / ".tmp-0123456789abcdef0123456789abcdef"  # as left by a run killed a moment ago
    fresh.mkdir()
    (fresh / "diagnosis.docx").write_bytes(b"PK\x03\x04 truncated")
    old = folder / ".tmp-fedcba9876543210fedcba9876543210"  # left by a run killed hours ago
    old.mkdir()
    (old / "plan.docx").write_bytes(b"PK")
    two_hours_ago = time.time() - 2 * 3600
    os.utime(old, (two_hours_ago, two_hours_ago))

    _status, text = run_plan(env)
    assert assert_store_intact(folder) == [1, 2]
    assert "r002" in text
    assert fresh.is_dir(), "a recent .tmp-* may belong to a live run and must be left alone"
    assert not old.exists(), "a .tmp-* older than an hour is a dead run's leftover and is removed"


def test_revision_numbers_ignore_stray_entries(store):
    env, folder, out = store
    run_plan(env)
    (folder / "r002").write_text("not a revision folder")  # a stray file where the next revision would go
    (folder / "notes.txt").write_text("consultant's note")
    _status, text = run_plan(env)
    numbers = revisions(folder)
    assert numbers == [1, 3], numbers
    assert "r003" in text


def test_unusable_revision_store_is_a_message_not_a_traceback(store, tmp_path):
    env, folder, out = store
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the revision store should be")
    proc = start_plan(dict(env, CARBON_REVISIONS_DIR=str(blocker)))
    stdout, stderr = proc.communicate(timeout=TIMEOUT_S)
    text = stdout.decode() + stderr.decode()
    assert "Traceback" not in text, text
    assert proc.returncode == 2, text
    assert "리비전을 저장할 수 없습니다" in text and str(blocker) in text
    assert not out.exists(), "nothing is published when the revision could not be stored"
