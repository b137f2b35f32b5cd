"""Concurrency (issue 8 §4): 20 simultaneous `plan` runs lose nothing and never share a number.

One company: 20 runs at once → r001…r020, each intact. Twenty companies (copies of the samples
under other ids): 20 runs at once → each company gets an intact r001.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import docx
import pytest

pytestmark = pytest.mark.hardening

ROOT = Path(__file__).resolve().parents[1]
RUNS = 20
TIMEOUT_S = 600
REVISION_FILES = {"diagnosis.docx", "matching.docx", "plan.docx", "context.json", "profile.yaml", "revision.json"}


def _env(tmp_path: Path) -> dict:
    return dict(os.environ, CARBON_COMPANIES_DIR=str(tmp_path / "companies"), CARBON_OUT_DIR=str(tmp_path / "out"),
                CARBON_REVISIONS_DIR=str(tmp_path / "revisions"), CARBON_AUTHOR="concurrency-test",
                OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")


def run_all_at_once(env: dict, companies: list[str]) -> list[str]:
    procs = [subprocess.Popen([sys.executable, "-m", "pipeline", "plan", c, "--no-page-count"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for c in companies]
    outputs = []
    for company, proc in zip(companies, procs):
        stdout, stderr = proc.communicate(timeout=TIMEOUT_S)
        text = stdout.decode() + stderr.decode()
        assert "Traceback" not in text, text
        assert proc.returncode == 0, f"{company}: {text}"
        outputs.append(stdout.decode())
    return outputs


def assert_revision_intact(folder: Path, company: str, number: int) -> None:
    names = {p.name for p in folder.iterdir()}
    assert REVISION_FILES <= names, f"{folder} is partial: {sorted(names)}"
    meta = json.loads((folder / "revision.json").read_text(encoding="utf-8"))
    assert meta["revision"] == number and meta["company_id"] == company
    for name in ("diagnosis.docx", "matching.docx", "plan.docx"):
        assert docx.Document(str(folder / name)).paragraphs


@pytest.mark.slow  # about 2 min on 2 CPUs (20 full renders)
def test_twenty_simultaneous_runs_for_one_company(tmp_path):
    (tmp_path / "companies").mkdir()
    shutil.copy(ROOT / "companies" / "jinju-bolt.yaml", tmp_path / "companies")
    outputs = run_all_at_once(_env(tmp_path), ["jinju-bolt"] * RUNS)

    store = tmp_path / "revisions" / "jinju-bolt"
    names = sorted(p.name for p in store.iterdir() if p.name.startswith("r"))
    assert names == [f"r{n:03d}" for n in range(1, RUNS + 1)]
    for n in range(1, RUNS + 1):
        assert_revision_intact(store / f"r{n:03d}", "jinju-bolt", n)
    reported = sorted(line.split("리비전 ")[1].split()[0] for out in outputs for line in out.splitlines() if "리비전 r" in line)
    assert reported == names, "each run reports the distinct number it stored"
    assert not list(store.glob(".tmp-*")), "finished runs leave no temporary folders"
    for path in (tmp_path / "out" / "jinju-bolt").glob("*.docx"):
        docx.Document(str(path))


@pytest.mark.slow  # about 2 min on 2 CPUs (20 full renders)
def test_twenty_simultaneous_runs_across_companies(tmp_path):
    companies = tmp_path / "companies"
    companies.mkdir()
    samples = sorted((ROOT / "companies").glob("*.yaml"))
    ids = []
    for i in range(RUNS):
        sample = samples[i % len(samples)]
        company = f"{sample.stem}-copy{i:02d}"
        shutil.copy(sample, companies / f"{company}.yaml")
        ids.append(company)
    run_all_at_once(_env(tmp_path), ids)

    for company in ids:
        store = tmp_path / "revisions" / company
        assert sorted(p.name for p in store.iterdir() if p.name.startswith("r")) == ["r001"], company
        assert_revision_intact(store / "r001", company, 1)
        assert sorted(p.name for p in (tmp_path / "out" / company).iterdir() if not p.name.startswith(".")) == \
            ["context.json", "diagnosis.docx", "matching.docx", "plan.docx"]
