"""Hardening (issue 8 §1): every malformed profile gives exit status 2 and a clear Korean message.

Each case runs `python -m pipeline validate` and `python -m pipeline plan` as real subprocesses, with
a timeout and an address-space cap, against a private companies/ folder holding only the bad file
under a valid id. Expected: exit status 2; stderr names the file, the line and the field given in
tests/bad_profiles/expected.yaml and contains its Korean fragment; no 'Traceback' anywhere; nothing
written to out/ or the revision store.

Stored cases live in tests/bad_profiles/ (one scenario per file, derived from _valid-base.yaml, a
shortened companies/jinju-bolt.yaml). Cases that would bloat the repository (very large files,
non-UTF-8 and NUL bytes, deep nesting) are generated here.
"""
from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.hardening

ROOT = Path(__file__).resolve().parents[1]
CASES = Path(__file__).parent / "bad_profiles"
BASE = CASES / "_valid-base.yaml"
MANIFEST = yaml.safe_load((CASES / "expected.yaml").read_text(encoding="utf-8"))
BAD_ID = "bad-profile"  # a valid id: the file content is what is broken
TIMEOUT_S = 20
MEMORY_BYTES = 1024**3


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))


def run_cli(args: list[str], companies: Path, out: Path, revisions: Path) -> subprocess.Popen:
    """Start `python -m pipeline <args>` from the repository root with private folders."""
    env = dict(os.environ)
    env.update(
        CARBON_COMPANIES_DIR=str(companies),
        CARBON_OUT_DIR=str(out),
        CARBON_REVISIONS_DIR=str(revisions),
        OPENBLAS_NUM_THREADS="1",  # thread buffers would count against the address-space cap
        OMP_NUM_THREADS="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_cap_memory,
    )


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def run_both(tmp_path: Path, company_arg: str, companies: Path) -> dict[str, tuple[int, str, str, Path, Path]]:
    """Run validate and plan at the same time; returns {command: (status, stdout, stderr, out, revisions)}."""
    started = {}
    for command in ("validate", "plan"):
        out, revisions = tmp_path / f"out-{command}", tmp_path / f"revisions-{command}"
        args = [command, company_arg] + (["--no-page-count"] if command == "plan" else [])
        started[command] = (run_cli(args, companies, out, revisions), out, revisions)
    results = {}
    for command, (proc, out, revisions) in started.items():
        try:
            stdout, stderr = proc.communicate(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            pytest.fail(f"`{command} {company_arg}` took more than {TIMEOUT_S} s")
        results[command] = (proc.returncode, stdout.decode("utf-8", "replace"), stderr.decode("utf-8", "replace"), out, revisions)
    return results


def check_rejected(results, *, path: str, field: str | None, line: int | None, text: str) -> None:
    for command, (status, stdout, stderr, out, revisions) in results.items():
        where = f"`{command}`: stderr was:\n{stderr}\nstdout was:\n{stdout}"
        assert "Traceback" not in stdout + stderr, where
        assert status == 2, f"exit status {status}; {where}"
        assert path in stderr, f"file {path} not named; {where}"
        if line is not None:
            assert re.search(re.escape(f"{path}:{line}") + r"(?!\d)", stderr), f"line {line} not named; {where}"
        if field is not None:
            assert field in stderr, f"field {field} not named; {where}"
        assert text in stderr, f"'{text}' missing; {where}"
        assert files_under(out) == [], f"`{command}` wrote to out/: {files_under(out)}"
        assert files_under(revisions) == [], f"`{command}` wrote to the revision store: {files_under(revisions)}"


def companies_with(tmp_path: Path, data: bytes | None = None, source: Path | None = None) -> Path:
    companies = tmp_path / "companies"
    companies.mkdir()
    target = companies / f"{BAD_ID}.yaml"
    if source is not None:
        target.write_bytes(source.read_bytes())
    else:
        target.write_bytes(data)
    return companies


# --- the stored corpus ---------------------------------------------------------------------------

def test_corpus_and_manifest_match():
    stored = sorted(p.name for p in CASES.glob("*.yaml") if p.name not in ("expected.yaml", BASE.name))
    assert stored == sorted(MANIFEST), "every file in tests/bad_profiles/ needs exactly one manifest entry"
    assert len(stored) >= 45
    for name, expected in MANIFEST.items():
        assert set(expected) == {"field", "line", "text"}, name
        assert re.search(r"[가-힣]", expected["text"]), f"{name}: the expected fragment must be Korean"


def test_base_of_the_corpus_is_valid(tmp_path):
    """Control: the unbroken base passes, so each case fails for its own defect."""
    companies = companies_with(tmp_path, source=BASE)
    out = tmp_path / "out"
    proc = run_cli(["validate", BAD_ID], companies, out, tmp_path / "revisions")
    stdout, stderr = proc.communicate(timeout=TIMEOUT_S)
    assert proc.returncode == 0, stderr.decode()
    assert f"정상: {BAD_ID}" in stdout.decode()


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_bad_profile(tmp_path, name):
    expected = MANIFEST[name]
    companies = companies_with(tmp_path, source=CASES / name)
    results = run_both(tmp_path, BAD_ID, companies)
    check_rejected(results, path=str(companies / f"{BAD_ID}.yaml"), **expected)


# --- generated cases (kept out of the repository) ----------------------------------------------

def _base_lines() -> list[bytes]:
    return BASE.read_bytes().splitlines(keepends=True)


def _line_of(lines: list[bytes], needle: bytes) -> int:
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def _non_utf8() -> tuple[bytes, dict]:
    lines = _base_lines()
    n = _line_of(lines, b"  name: ")
    lines[n - 1] = "  name: (주)상평하이텐볼트 (가상)\n".encode("euc-kr")  # saved from an old Korean editor
    return b"".join(lines), {"field": None, "line": n, "text": "UTF-8이 아닌 바이트"}


def _whole_file_euc_kr() -> tuple[bytes, dict]:
    return BASE.read_text(encoding="utf-8").encode("cp949", errors="replace"), {"field": None, "line": 1, "text": "UTF-8로 저장해 주세요"}


def _nul_byte() -> tuple[bytes, dict]:
    lines = _base_lines()
    n = _line_of(lines, b"  city: ")
    lines[n - 1] = "  city: 진주\x00시\n".encode()
    return b"".join(lines), {"field": None, "line": n, "text": "제어 문자"}


def _control_character() -> tuple[bytes, dict]:
    lines = _base_lines()
    n = _line_of(lines, b"  region: ")
    lines[n - 1] = "  region: 경남\x1b[31m\n".encode()
    return b"".join(lines), {"field": None, "line": n, "text": "제어 문자"}


def _very_large() -> tuple[bytes, dict]:
    padding = b"# " + b"x" * 98 + b"\n"
    return BASE.read_bytes() + padding * 30_000, {"field": None, "line": None, "text": "파일이 너무 큽니다"}


def _with_products(count: int) -> bytes:
    item = "  - id: p{n}\n    name: 제품 {n}\n    hs_code: \"7318.15\"\n    processes: [forging]\n"
    head, tail = BASE.read_text(encoding="utf-8").split("products:\n", 1)
    return (head + "products:\n" + "".join(item.format(n=n) for n in range(count)) + tail).encode()


def _too_many_nodes() -> tuple[bytes, dict]:
    """1.9 MB of products (under the byte limit): refused at the node limit, so bounded in time."""
    data = _with_products(24_000)
    assert 1_500_000 < len(data) < 2 * 1024 * 1024
    return data, {"field": None, "line": None, "text": "항목(키·값)이 너무 많습니다"}


def _too_many_products() -> tuple[bytes, dict]:
    return _with_products(250), {"field": "products", "line": 16, "text": "200개 이하"}


def _deep_nesting() -> tuple[bytes, dict]:
    return BASE.read_bytes() + b"overrides: " + b"[" * 50_000 + b"]" * 50_000 + b"\n", {
        "field": None, "line": None, "text": "너무 깊게 중첩"}


def _deep_block_nesting() -> tuple[bytes, dict]:
    nested = "".join(" " * (i + 1) + f"k{i}:\n" for i in range(1500))
    return BASE.read_bytes() + b"overrides:\n" + nested.encode(), {"field": None, "line": None, "text": "너무 깊게 중첩"}


def _long_line() -> tuple[bytes, dict]:
    lines = _base_lines()
    n = _line_of(lines, b"  main_business: ")
    lines[n - 1] = b"  main_business: " + "가".encode() * 100_000 + b"\n"
    return b"".join(lines), {"field": "company.main_business", "line": n, "text": "2000자 이하"}


GENERATED = {
    "non-utf8-line": _non_utf8,
    "whole-file-euc-kr": _whole_file_euc_kr,
    "nul-byte": _nul_byte,
    "terminal-escape": _control_character,
    "very-large-file": _very_large,
    "too-many-nodes-near-size-limit": _too_many_nodes,
    "too-many-products": _too_many_products,
    "deep-flow-nesting": _deep_nesting,
    "deep-block-nesting": _deep_block_nesting,
    "very-long-line": _long_line,
}


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_bad_profile(tmp_path, name):
    data, expected = GENERATED[name]()
    companies = companies_with(tmp_path, data)
    results = run_both(tmp_path, BAD_ID, companies)
    check_rejected(results, path=str(companies / f"{BAD_ID}.yaml"), **expected)


def test_sparse_multi_gigabyte_file_is_not_read_into_memory(tmp_path):
    companies = companies_with(tmp_path, b"")
    with open(companies / f"{BAD_ID}.yaml", "r+b") as handle:
        handle.truncate(4 * 1024**3)  # 4 GB of zero bytes, sparse: bigger than the memory cap
    results = run_both(tmp_path, BAD_ID, companies)
    check_rejected(results, path=str(companies / f"{BAD_ID}.yaml"), field=None, line=None, text="파일이 너무 큽니다")


# --- unsafe ids on the command line -------------------------------------------------------------

UNSAFE_IDS = ["../etc/passwd", "a/b", "..", ".", "bad-profile/../bad-profile", "/etc/passwd",
              "Bad-Profile", "bad profile", "-", "bad-profile\\..\\x", "%2e%2e%2fetc"]


@pytest.mark.parametrize("company", UNSAFE_IDS)
def test_unsafe_company_id(tmp_path, company):
    companies = companies_with(tmp_path, source=BASE)
    results = run_both(tmp_path, company, companies)
    for command, (status, stdout, stderr, out, revisions) in results.items():
        where = f"`{command} {company}`: {stderr}"
        assert "Traceback" not in stdout + stderr, where
        assert status == 2, where
        assert company in stderr and "쓸 수 없습니다" in stderr, where
        assert files_under(out) == [] and files_under(revisions) == [], where


# --- many problems, one run ---------------------------------------------------------------------

def _broken(replacements: list[tuple[str, str]]) -> bytes:
    text = BASE.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text.encode()


def test_many_schema_problems_in_one_file_are_all_reported(tmp_path):
    data = _broken([
        ("base_year: 2024", "base_year: 2024년"),
        ("revenue_krw_million: 21800", "revenue_krw_million: 21,800"),
        ("size_class: 중소", "size_class: 대기업"),
        ('ksic: "25941"', "ksic: 25941"),
        ('hs_code: "7318.15"', 'hs_code: "73AB"'),
        ("amount: 415000", "amount: -415000"),
        ("type: press", "type: 프레스"),
        ("esg_report: false", "esg_report: 예\n  colour: blue"),
        ("  contact_role: 생산관리팀장\n", "  contact_role: 생산관리팀장\n  employees: 70\n"),
    ])
    companies = companies_with(tmp_path, data)
    expected = ["[base_year]", "[company.revenue_krw_million]", "[company.size_class]", "[company.ksic]",
                "[products[0].hs_code]", "[energy.fuels[0].amount]", "[processes[0].equipment[0].type]",
                "[readiness.esg_report]", "[readiness.colour]", "[company.employees] 키가 두 번 나옵니다"]
    results = run_both(tmp_path, BAD_ID, companies)
    check_rejected(results, path=str(companies / f"{BAD_ID}.yaml"), field=None, line=None, text="프로필 오류")
    for command, (_status, _stdout, stderr, _out, _rev) in results.items():
        missing = [e for e in expected if e not in stderr]
        assert not missing, f"`{command}` did not report {missing}:\n{stderr}"
        assert f"프로필 오류 {len(expected)}건" in stderr, stderr


def test_many_cross_field_problems_in_one_file_are_all_reported(tmp_path):
    data = _broken([
        ("annual_kwh: 5622400", "annual_kwh: 56224000"),
        ("fuel: diesel", "fuel: whale_oil"),
        ('hs_code: "7318.16"', 'hs_code: "73181"'),
        ("  - id: heat-treatment", "  - id: forging"),
        ("material: steel_wire_rod", "material: unobtainium"),
        ("    share_pct: 16\n", "    share_pct: 60\n"),
        ("        annual_tonnes: 680\n", "        annual_tonnes: 680\n  - country: DE\n    share_pct: 50\n"),
    ])
    companies = companies_with(tmp_path, data)
    expected = ["[energy.electricity.annual_kwh]", "[energy.fuels[1].fuel]", "[products[1].hs_code]",
                "[processes[1].id]", "[scope3.purchased_materials[0].material]", "[exports[1].country]", "[exports]"]
    results = run_both(tmp_path, BAD_ID, companies)
    check_rejected(results, path=str(companies / f"{BAD_ID}.yaml"), field=None, line=None, text="프로필 오류")
    for command, (_status, _stdout, stderr, _out, _rev) in results.items():
        missing = [e for e in expected if e not in stderr]
        assert not missing, f"`{command}` did not report {missing}:\n{stderr}"


# --- valid but extreme: a correct result, never a traceback --------------------------------------

REQUIRED_ONLY = """\
base_year: 2024
company: {name: (주)최소 (가상), size_class: 중소, employees: 1, revenue_krw_million: 1, region: 경남, ksic: "25941"}
products: [{id: part, name: 부품, hs_code: "7318"}]
processes: [{id: machining, name: 가공}]
energy:
  electricity:
    monthly_kwh: [{months}]
"""

EDGE_VALID = {
    "corpus-base-without-roof-area": BASE.read_bytes(),
    "required-fields-only": REQUIRED_ONLY.replace("{months}", ", ".join(["1000"] * 12)).encode(),
}


def test_zero_energy_is_refused_with_a_message(tmp_path):
    companies = companies_with(tmp_path, REQUIRED_ONLY.replace("{months}", ", ".join(["0"] * 12)).encode())
    results = run_both(tmp_path, BAD_ID, companies)
    check_rejected(results, path=str(companies / f"{BAD_ID}.yaml"), field="energy", line=None, text="모두 0")


@pytest.mark.parametrize("name", sorted(EDGE_VALID))
def test_edge_valid_profile_plans_cleanly(tmp_path, name):
    companies = companies_with(tmp_path, EDGE_VALID[name])
    proc = run_cli(["plan", BAD_ID, "--no-page-count"], companies, tmp_path / "out", tmp_path / "revisions")
    stdout, stderr = proc.communicate(timeout=60)
    text = stdout.decode() + stderr.decode()
    assert "Traceback" not in text, text
    assert proc.returncode == 0, text
