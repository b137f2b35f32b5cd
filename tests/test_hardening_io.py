"""Hardening of I/O, caches, the environment and the command line (issue 17, round 2).

1. caches are never trusted: a damaged chart, template bytecode or schema-pass entry is rebuilt;
2. every command that writes: a full disk or an unwritable target is exit 2 with a Korean message,
   nothing half-written, old files intact; `select` writes its .docx and CSV together or not at all;
3. select reads its YAML with the profile loader's limits;
4. an installed LibreOffice that fails (exit 1, hangs, writes garbage) does not stop `plan`;
5. the environment: a user id without a passwd entry and no HOME, an unreadable companies/;
6. the terminal: stdout on a full device or a closed pipe, usage errors in Korean, control
   characters escaped, library warnings kept off stderr; YAML syntax errors in Korean;
7. outputs are created with the umask's modes (0644), not mkstemp's 0600.
"""
from __future__ import annotations

import errno
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
for entry in (str(ROOT), str(Path(__file__).resolve().parent)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

from test_feedback import cli, make_returned_draft, pipeline_env, run_cli  # noqa: E402
from test_hardening_store import COMPANY, base, fake_render, no_traceback, store, ws  # noqa: E402,F401

pytestmark = pytest.mark.hardening

HANGUL = re.compile("[가-힣]")


def _files(*folders: Path) -> dict[str, bytes]:
    """Every file under `folders` (locks aside): what a failed command must leave as it was."""
    found = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")) if folder.exists() else ():
            if path.is_file() and not path.name.endswith(".lock"):
                found[str(path)] = path.read_bytes()
    return found


# ================================================================ 1. caches are never trusted

DAMAGE = {
    "truncated": lambda raw: raw[: len(raw) // 3],
    "png-signature-then-garbage": lambda raw: b"\x89PNG\r\n\x1a\ngarbage",
    "empty": lambda raw: b"",
    "bit-flip": lambda raw: raw[:-10] + bytes([raw[-10] ^ 0xFF]) + raw[-9:],
    "header-only": lambda raw: raw[:60],
}


@pytest.fixture()
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("CARBON_CACHE_DIR", str(folder))
    monkeypatch.delenv("CARBON_CHART_CACHE", raising=False)
    return folder


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_cache_entry_is_dropped_and_rebuilt(cache, damage):
    from pipeline.store.cache import read_entry, write_entry

    entry = cache / "charts" / "ab" / "entry.png"
    write_entry(entry, b"\x89PNG\r\n\x1a\n" + b"x" * 200)
    assert read_entry(entry) == b"\x89PNG\r\n\x1a\n" + b"x" * 200
    entry.write_bytes(DAMAGE[damage](entry.read_bytes()))
    assert read_entry(entry) is None
    assert not entry.exists()  # dropped: the next run writes it afresh


@pytest.mark.parametrize("kind", ["folder", "dangling-link", "fifo"])
def test_a_cache_entry_that_is_not_a_file_is_no_error(cache, kind):
    from pipeline.store.cache import read_entry, write_entry

    entry = cache / "x" / "entry"
    entry.parent.mkdir(parents=True)
    {"folder": lambda: entry.mkdir(), "dangling-link": lambda: entry.symlink_to(cache / "nowhere"),
     "fifo": lambda: os.mkfifo(entry)}[kind]()
    assert read_entry(entry) is None  # never blocks on a FIFO
    write_entry(entry, b"data")
    assert read_entry(entry) == b"data"


@pytest.mark.parametrize("damage", ["truncated", "png-signature-then-garbage", "old-format-raw-png"])
def test_a_damaged_cached_chart_is_drawn_again(cache, damage):
    from pipeline.render import charts
    from pipeline.store.cache import read_entry

    spec = charts.bar_spec(["전력", "LNG"], [120.0, 30.5], "에너지원별 배출량", "tCO2e")
    png = charts.chart_png(spec)
    (entry,) = (cache / "charts").rglob("*.png")
    raw = entry.read_bytes()
    entry.write_bytes(png if damage == "old-format-raw-png" else DAMAGE[damage](raw))
    with charts.ChartSet({"c": spec}) as chart_set:
        again = chart_set.png("c")
    assert again.startswith(charts.PNG_SIGNATURE) and len(again) == len(png)
    assert read_entry(entry) == again


BYTECODE_DAMAGE = {
    "truncated": lambda raw: raw[:40],
    "garbage-after-header": lambda raw: raw[:60] + b"not a pickle at all",
    "empty": lambda raw: b"",
    "foreign-jinja-file": lambda raw: b"j2\x02garbage",
}


@pytest.mark.parametrize("damage", sorted(BYTECODE_DAMAGE))
def test_a_damaged_template_bytecode_entry_is_compiled_afresh(cache, damage):
    import jinja2

    from pipeline.store.cache import bytecode_cache

    def render() -> str:
        env = jinja2.Environment(loader=jinja2.DictLoader({"t": "{{ 6 * 7 }}"}), bytecode_cache=bytecode_cache())
        return env.get_template("t").render()

    assert render() == "42"
    (entry,) = (cache / "templates").iterdir()
    entry.write_bytes(BYTECODE_DAMAGE[damage](entry.read_bytes()))
    assert render() == "42"
    assert render() == "42"  # and the rebuilt entry is good


def test_a_valid_entry_holding_no_code_is_compiled_afresh(cache):
    import io
    import marshal

    import jinja2

    from pipeline.store.cache import bytecode_cache, write_entry

    env = jinja2.Environment(loader=jinja2.DictLoader({"t": "{{ 6 * 7 }}"}), bytecode_cache=bytecode_cache())
    assert env.get_template("t").render() == "42"
    (entry,) = (cache / "templates").iterdir()
    buffer = io.BytesIO()
    buffer.write(jinja2.bccache.bc_magic)
    import pickle

    source = env.loader.get_source(env, "t")[0]
    pickle.dump(env.bytecode_cache.get_source_checksum(source), buffer, 2)
    marshal.dump(12345, buffer)  # checksums fine, but not a code object
    write_entry(entry, buffer.getvalue())
    fresh = jinja2.Environment(loader=jinja2.DictLoader({"t": "{{ 6 * 7 }}"}), bytecode_cache=bytecode_cache())
    assert fresh.get_template("t").render() == "42"


@pytest.mark.parametrize("damage", ["folder", "garbage", "empty"])
def test_a_damaged_schema_pass_runs_the_schema_again(cache, tmp_path, damage):
    from pipeline.content import get_content
    from pipeline.errors import ProfileError
    from pipeline.profile import _schema_pass_marker, load_profile

    folder = tmp_path / "companies"
    folder.mkdir()
    bad = (ROOT / "companies" / "jinju-bolt.yaml").read_bytes().replace(b"employees: ", b"employees: -", 1)
    (folder / "acme.yaml").write_bytes(bad)
    marker = _schema_pass_marker(bad)
    marker.parent.mkdir(parents=True, exist_ok=True)
    if damage == "folder":
        marker.mkdir()
    else:
        marker.write_bytes(b"schema-ok-but-not-an-entry" if damage == "garbage" else b"")
    with pytest.raises(ProfileError, match="employees"):
        load_profile("acme", get_content(), folder)


def test_plan_with_every_cache_entry_damaged(tmp_path):
    """The issue's example end to end: truncated charts and damaged bytecode block no plan."""
    companies = tmp_path / "companies"
    companies.mkdir()
    shutil.copy(ROOT / "companies" / f"{COMPANY}.yaml", companies)
    env = dict(pipeline_env(tmp_path, companies), CARBON_CACHE_DIR=str(tmp_path / "cache"))
    first = run_cli(["plan", COMPANY, "--no-page-count"], env)
    assert first.returncode == 0, first.stderr
    entries = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert any(p.suffix == ".png" for p in entries) and any(p.suffix == ".bytecode" for p in entries)
    for path in entries:
        path.write_bytes(path.read_bytes()[:50])
    again = run_cli(["plan", COMPANY, "--no-page-count"], env)
    assert again.returncode == 0, again.stderr
    assert again.stderr == ""  # rebuilt silently


# ================================================================ 2. full disk, for every command that writes

def _no_space(*_args, **_kw):
    raise OSError(errno.ENOSPC, "No space left on device")


def _fake_pdfs(monkeypatch):
    import pipeline.render.pdf as pdf

    def convert(paths, outdir, timeout=None):
        Path(outdir).mkdir(parents=True, exist_ok=True)
        made = []
        for path in paths:
            target = Path(outdir) / f"{Path(path).stem}.pdf"
            target.write_bytes(b"%PDF-1.4 fake")
            made.append(target)
        return made

    monkeypatch.setattr(pdf, "convert_to_pdf", convert)
    monkeypatch.setattr(pdf, "count_pages", lambda _pdf: 3)


CBAM_COMPANY = "jinju-bolt"  # exports bolts (CN 7318): a CBAM good
WRITING_COMMANDS = {
    "feedback": lambda ws: ["feedback", COMPANY, str(ws / "reply.docx"), "--revision", "2"],
    "feedback-resolve": lambda ws: ["feedback-resolve", COMPANY, "r001-c1", "--status", "resolved"],
    "final": lambda ws: ["final", COMPANY, "2"],
    "status-html": lambda ws: ["status", "--html", str(ws / "shared" / "status.html")],
    "diff-out": lambda ws: ["diff", COMPANY, "1", "2", "--engine", "docx", "--out", str(ws / "shared" / "d.docx")],
    "select": lambda ws: ["select"],
    "cbam-template": lambda ws: ["cbam-template", CBAM_COMPANY],
    "intake-form": lambda ws: ["intake-form", COMPANY],
    "report": lambda ws: ["report", COMPANY],
    "program-report": lambda ws: ["program-report"],
    "pdf": lambda ws: ["pdf", COMPANY],
}
OUTPUTS = {"cbam-template": f"out/{CBAM_COMPANY}/cbam-communication-{CBAM_COMPANY}.xlsx", "report": f"out/{COMPANY}/report.docx",
           "intake-form": "out/intake", "select": "out/selection/evaluation.csv", "pdf": f"out/{COMPANY}/plan.pdf",
           "status-html": "shared/status.html", "diff-out": "shared/d.docx"}


def _prepare(name: str, ws: Path, monkeypatch) -> None:
    if name == "feedback":
        make_returned_draft(ws / "revisions" / COMPANY / "r001" / "plan.docx", ws / "reply.docx")
    if name in ("select", "program-report", "cbam-template"):
        monkeypatch.setenv("CARBON_COMPANIES_DIR", str(ROOT / "companies"))  # the applicants' profiles
    if name == "pdf":
        _fake_pdfs(monkeypatch)
    (ws / "shared").mkdir(exist_ok=True)


@pytest.mark.parametrize("name", sorted(WRITING_COMMANDS))
def test_full_disk_is_a_message_and_nothing_changes(ws, monkeypatch, name):
    _prepare(name, ws, monkeypatch)
    before = _files(ws / "out", ws / "revisions", ws / "shared")
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", _no_space)
    result = cli(WRITING_COMMANDS[name](ws))
    monkeypatch.setattr(os, "fsync", real_fsync)
    no_traceback(result)
    assert result.exit_code == 2, result.output
    assert "오류:" in result.output and ("공간이 없습니다" in result.output or "저장하지 않았습니다" in result.output), result.output
    after = _files(ws / "out", ws / "revisions", ws / "shared")
    # A log the failed append created stays empty (no records is what an absent log means too); it is
    # not removed, since another process may be waiting on its lock.
    new_empty_logs = {k for k, v in after.items() if k not in before and k.endswith(".jsonl") and v == b""}
    assert {k: v for k, v in after.items() if k not in new_empty_logs} == before, sorted(set(after) ^ set(before))
    assert not [p for p in ws.rglob("*") if p.name.endswith((".part",)) or ".prev-" in p.name]


@pytest.mark.parametrize("name", sorted(OUTPUTS))
def test_an_unwritable_target_is_a_message(ws, monkeypatch, name):
    _prepare(name, ws, monkeypatch)
    target = ws / OUTPUTS[name]
    real_mkstemp = __import__("tempfile").mkstemp

    def refuse(*args, dir=None, **kw):
        if dir is not None and Path(os.path.abspath(dir)) in (Path(os.path.abspath(target)).parent, Path(os.path.abspath(target))):
            raise PermissionError(errno.EACCES, "Permission denied", str(dir))
        return real_mkstemp(*args, dir=dir, **kw)

    monkeypatch.setattr("tempfile.mkstemp", refuse)
    result = cli(WRITING_COMMANDS[name](ws))
    no_traceback(result)
    assert result.exit_code == 2 and "권한이 없습니다" in result.output, result.output


def _select_outputs(ws: Path) -> dict[str, bytes]:
    folder = ws / "out" / "selection"
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")}


@pytest.mark.parametrize("fail_at", [1, 2])
def test_select_writes_its_docx_and_csv_together_or_not_at_all(ws, monkeypatch, fail_at):
    """The second rename fails (or the first): neither new file is left, the old ones are intact."""
    monkeypatch.setenv("CARBON_COMPANIES_DIR", str(ROOT / "companies"))
    assert cli(["select"]).exit_code == 0
    folder = ws / "out" / "selection"
    for name in ("evaluation.docx", "evaluation.csv"):
        (folder / name).write_bytes(b"old " + name.encode())
    old = _select_outputs(ws)
    real_replace, calls = os.replace, []

    def flaky(src, dst, *args, **kw):
        if ".part" in str(src):
            calls.append(dst)
            if len(calls) == fail_at:
                raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst, *args, **kw)

    monkeypatch.setattr(os, "replace", flaky)
    result = cli(["select"])
    no_traceback(result)
    assert result.exit_code == 2 and "이전 파일은 그대로" in result.output, result.output
    monkeypatch.setattr(os, "replace", real_replace)
    assert _select_outputs(ws) == old
    assert not [p for p in folder.iterdir() if p.name.startswith(".evaluation")]


def test_preview_pages_are_replaced_in_one_step(ws, monkeypatch, tmp_path):
    """Old pages of a longer version go in the same step as the new ones arrive; a failure keeps all old pages."""
    from pipeline.commands import preview

    _fake_pdfs(monkeypatch)
    fake = tmp_path / "pdftoppm"
    fake.write_text("#!/bin/sh\nfor last; do :; done\nprintf 'PNG1' > \"$last-1.png\"\nprintf 'PNG2' > \"$last-2.png\"\n")
    fake.chmod(0o755)
    out = ws / "out" / COMPANY / "preview"
    out.mkdir(parents=True)
    for n in (1, 2, 3):
        (out / f"plan-{n}.png").write_bytes(b"old")
    docs = [ws / "out" / COMPANY / "plan.docx"]
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", _no_space)
    from pipeline.errors import OutputError

    with pytest.raises(OutputError):
        preview.write_previews(docs, out, 50, str(fake))
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert sorted(p.name for p in out.iterdir()) == ["plan-1.png", "plan-2.png", "plan-3.png"]
    pages = preview.write_previews(docs, out, 50, str(fake))
    assert [p.name for p in pages] == ["plan-1.png", "plan-2.png"]
    assert sorted(p.name for p in out.iterdir()) == ["plan-1.png", "plan-2.png", "plan.pdf"]
    assert (out / "plan-1.png").read_bytes() == b"PNG1"


# ================================================================ 3. select's input limits

@pytest.mark.parametrize("kind", ["huge", "fifo", "folder"])
def test_select_reads_applications_with_limits(ws, monkeypatch, tmp_path, kind):
    apps = tmp_path / "apps"
    shutil.copytree(ROOT / "applications" / "2025", apps)
    target = apps / "jinju-bolt.yaml"
    target.unlink()
    if kind == "huge":
        with open(target, "wb") as handle:
            handle.truncate(50 * 1024 * 1024)  # sparse: 50 MB that must not be read
    elif kind == "fifo":
        os.mkfifo(target)
    else:
        target.mkdir()
    monkeypatch.setenv("CARBON_APPLICATIONS_DIR", str(apps))
    monkeypatch.setenv("CARBON_COMPANIES_DIR", str(ROOT / "companies"))
    result = cli(["select"])
    no_traceback(result)
    assert result.exit_code == 2 and "jinju-bolt.yaml" in result.output, result.output
    assert ("너무 큽니다" if kind == "huge" else "보통 파일이 아닙니다") in result.output, result.output
    assert not (ws / "out" / "selection").exists()


def test_select_table_with_limits(ws, monkeypatch, tmp_path):
    table = tmp_path / "scoring-2025.yaml"
    with open(table, "wb") as handle:
        handle.truncate(10 * 1024 * 1024)
    monkeypatch.setenv("CARBON_COMPANIES_DIR", str(ROOT / "companies"))
    result = cli(["select", "--table", str(table)])
    no_traceback(result)
    assert result.exit_code == 2 and "너무 큽니다" in result.output, result.output


# ================================================================ 4. a failing LibreOffice

FAKE_SOFFICE = {
    "exits-1": "#!/bin/sh\necho 'soffice: fatal' >&2\nexit 1\n",
    "hangs": "#!/bin/sh\nsleep 60\n",
    "writes-garbage": ("#!/bin/sh\nout=''\nwhile [ $# -gt 0 ]; do\n  if [ \"$1\" = --outdir ]; then out=$2; fi\n"
                       "  case \"$1\" in *.docx) [ -n \"$out\" ] && printf garbage > \"$out/$(basename \"$1\" .docx).pdf\";; esac\n"
                       "  shift\ndone\nexit 0\n"),
}


@pytest.mark.parametrize("behaviour", sorted(FAKE_SOFFICE))
def test_a_failing_installed_libreoffice_only_skips_the_page_count(ws, monkeypatch, tmp_path, capsys, behaviour):
    import pipeline.render.pdf as pdf
    from pipeline.commands.plan import _plan_one

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "soffice").write_text(FAKE_SOFFICE[behaviour])
    (bin_dir / "soffice").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(pdf, "DEFAULT_TIMEOUT_S", 3)
    assert pdf.libreoffice_path() == str(bin_dir / "soffice")
    docs = fake_render(monkeypatch)
    result, _ctx = _plan_one(COMPANY, page_count=True, quiet=True)
    assert result.revision == 3 and result.page_counts == {}
    err = capsys.readouterr().err
    assert "쪽수를 세지 못했습니다" in err and "Traceback" not in err, err
    assert (store(ws) / "r003" / "plan.docx").read_bytes() == docs["plan.docx"]
    assert (ws / "out" / COMPANY / "plan.docx").read_bytes() == docs["plan.docx"]


# ================================================================ 5. the environment

def test_no_passwd_entry_and_no_home_in_process(ws, monkeypatch, cache):
    import pwd

    from pipeline.locations import cache_root, home_dir

    def no_entry(_uid):
        raise KeyError("getpwuid(): uid not found")

    monkeypatch.setattr(pwd, "getpwuid", no_entry)
    for variable in ("HOME", "XDG_CACHE_HOME", "CARBON_CACHE_DIR"):
        monkeypatch.delenv(variable, raising=False)
    assert home_dir() is None and cache_root() is None
    monkeypatch.setenv("HOME", "/")
    assert home_dir() is None  # never cache into /
    monkeypatch.setenv("HOME", "   ")
    assert home_dir() is None
    monkeypatch.setenv("CARBON_CACHE_DIR", str(cache))
    assert cache_root() == cache


def _no_passwd_uid() -> int:
    import pwd

    uid = 54321
    while True:
        try:
            pwd.getpwuid(uid)
            uid += 1
        except KeyError:
            return uid


@pytest.fixture()
def shared_tmp():
    """A folder another user id can enter (pytest's own are 0700)."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="carbon-nopasswd-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _as_uid_without_passwd(args: list[str], env: dict) -> subprocess.CompletedProcess:
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        pytest.skip("switching to a uid without a passwd entry needs root and setpriv; the in-process cases cover the rest")
    uid = _no_passwd_uid()
    return subprocess.run([setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", sys.executable, "-m",
                           "pipeline", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)


@pytest.mark.parametrize("home", ["unset", "writable", "not-writable", "empty"])
def test_a_user_id_without_a_passwd_entry_can_plan(shared_tmp, home):
    """As containers run: a uid with no passwd entry, with or without HOME (needs root to switch uid)."""
    companies = shared_tmp / "companies"
    companies.mkdir(mode=0o755)
    shutil.copy(ROOT / "companies" / f"{COMPANY}.yaml", companies)
    (companies / f"{COMPANY}.yaml").chmod(0o644)
    work = shared_tmp / "work"
    work.mkdir()
    work.chmod(0o777)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "CARBON_COMPANIES_DIR": str(companies),
           "CARBON_OUT_DIR": str(work / "out"), "CARBON_REVISIONS_DIR": str(work / "revisions"), "PYTHONPATH": str(ROOT)}
    if home in ("writable", "not-writable"):
        (work / "home").mkdir()
        (work / "home").chmod(0o777 if home == "writable" else 0o755)  # 0755: root's, not this uid's
        env["HOME"] = str(work / "home")
    elif home == "empty":
        env["HOME"] = ""
    for args in (["plan", COMPANY, "--no-page-count"], ["history", COMPANY], ["validate"]):
        proc = _as_uid_without_passwd(args, env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert proc.stderr == "", proc.stderr  # no traceback, no matplotlib warning about its config folder
    assert "정상: " in proc.stdout


def test_a_companies_folder_the_user_may_not_enter(shared_tmp):
    companies = shared_tmp / "companies"
    companies.mkdir(mode=0o700)  # root's; the other uid may not list or enter it
    shutil.copy(ROOT / "companies" / f"{COMPANY}.yaml", companies)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "CARBON_COMPANIES_DIR": str(companies),
           "CARBON_OUT_DIR": str(shared_tmp / "out"), "CARBON_REVISIONS_DIR": str(shared_tmp / "rev"), "PYTHONPATH": str(ROOT)}
    for args in (["validate"], ["plan", COMPANY], ["validate", COMPANY]):
        proc = _as_uid_without_passwd(args, env)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert "읽을 수 없습니다" in proc.stderr and "권한이 없습니다" in proc.stderr, proc.stderr


@pytest.mark.parametrize("args", [["validate"], ["all"], ["status"], ["plan", "no-such-company"]])
def test_an_unreadable_companies_folder_is_not_no_profiles(ws, monkeypatch, args):
    companies = ws / "companies"
    real = os.scandir

    def denied(path="."):
        if Path(path) == companies:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", denied)
    result = cli(args)
    no_traceback(result)
    assert result.exit_code == 2 and "기업 프로필 폴더를 읽을 수 없습니다" in result.output, result.output


def test_a_companies_path_that_is_a_file(ws, monkeypatch):
    blocker = ws / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("CARBON_COMPANIES_DIR", str(blocker))
    result = cli(["validate"])
    no_traceback(result)
    assert result.exit_code == 2 and "읽을 수 없습니다" in result.output, result.output


@pytest.mark.parametrize("value", ["", "   "])
def test_blank_author_and_tables_mean_unset(monkeypatch, value):
    from pipeline.selection.inputs import find_table
    from pipeline.store.revisions import author_name

    monkeypatch.setenv("CARBON_AUTHOR", value)
    assert author_name(None).strip()
    monkeypatch.setenv("CARBON_SELECTION_TABLE", value)
    monkeypatch.setenv("CARBON_APPLICATIONS_DIR", value)
    assert find_table().name.startswith("scoring-")


# ================================================================ 6. the terminal

def _env(ws: Path) -> dict:
    return pipeline_env(ws, ws / "companies")


@pytest.mark.parametrize("args", [["validate", COMPANY], ["history", COMPANY], ["--help"], ["context", COMPANY],
                                  ["feedback-list", COMPANY, "--all"]])
def test_stdout_on_a_full_device(ws, args):
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=ROOT, env=_env(ws), stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr, proc.stderr
    assert "출력(stdout)을 쓸 수 없습니다" in proc.stderr and "공간이 없습니다" in proc.stderr


def test_plan_with_stdout_on_a_full_device_still_stores(ws):
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "pipeline", "plan", COMPANY, "--no-page-count"], cwd=ROOT,
                              env=_env(ws), stdout=full, stderr=subprocess.PIPE, text=True, timeout=180)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert (store(ws) / "r003" / "plan.docx").is_file()  # the work was done; only the report of it was lost


def test_a_closed_pipe_is_a_quiet_end(ws):
    proc = subprocess.run(f"{sys.executable} -m pipeline context {COMPANY} | head -c 10 > /dev/null", shell=True,
                          cwd=ROOT, env=_env(ws), stderr=subprocess.PIPE, text=True, timeout=120)
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr and proc.stderr == "", proc.stderr


USAGE = {
    "missing-argument": (["plan"], "필수 인자 COMPANY"),
    "no-such-option": (["plan", COMPANY, "--bogus"], "'--bogus' 옵션은 없습니다"),
    "no-such-command": (["plann"], "'plann' 명령은 없습니다 (혹시: plan)"),
    "bad-choice": (["preview", COMPANY, "--doc", "foo"], "'foo'은(는) 쓸 수 없습니다"),
    "not-an-integer": (["select", "--slots", "x"], "정수가 아닙니다"),
    "out-of-range": (["preview", COMPANY, "--dpi", "5"], "허용 범위"),
    "option-needs-value": (["plan", COMPANY, "--author"], "'--author' 옵션에는 값이 필요합니다"),
    "extra-argument": (["history", COMPANY, "extra"], "필요 없는 인자"),
    "missing-required-option": (["feedback-resolve", COMPANY, "r001-c1"], "필수 옵션 --status"),
    "directory-for-a-file": (["feedback", COMPANY, "/tmp"], "폴더입니다"),
    "flag-with-value": (["plan", f"{COMPANY}", "--force=yes"], "값을 받지 않습니다"),
}


@pytest.mark.parametrize("case", sorted(USAGE))
def test_usage_errors_are_in_korean(ws, case):
    args, expected = USAGE[case]
    result = cli(args)
    assert result.exit_code == 2, result.output
    assert expected in result.output, result.output
    assert "Error:" not in result.output and "Usage:" not in result.output and "Try '" not in result.output
    assert "오류:" in result.output


@pytest.mark.parametrize("text", ["\x1b[2J", "\x1b]0;title\x07", "\u202e", "\x9b31m", "\r"])
def test_control_characters_in_arguments_are_escaped_everywhere(ws, text):
    from pipeline.commands import terminal

    for args in (["plan", f"x{text}y"], ["history", f"x{text}y"], ["plan", COMPANY, f"--bogus{text}"]):
        result = cli(args)
        assert result.exit_code == 2
        assert text not in result.output, result.output
    assert terminal.printable(f"a{text}b") != f"a{text}b" and "\n" in terminal.printable("a\nb\tc")


def test_control_characters_in_a_note_are_shown_not_obeyed(ws, monkeypatch):
    fake_render(monkeypatch)
    result = cli(["plan", COMPANY, "--no-page-count", "--author", "\x1b[31m갑\u202e", "--note", "\x1b]0;t\x07메모"])
    assert result.exit_code == 0, result.output
    history = cli(["history", COMPANY])
    assert "\x1b" not in history.output and "\u202e" not in history.output and "\\x1b" in history.output


def test_escaped_json_stays_json(ws):
    import json

    from pipeline.commands.terminal import printable

    text = json.dumps({"a": "x\u202ey\x7f"}, ensure_ascii=False)
    assert json.loads(printable(text)) == {"a": "x\u202ey\x7f"}


def test_matplotlib_warnings_do_not_reach_stderr(cache, capfd):
    from pipeline.render import charts

    charts.chart_png(charts.bar_spec(["전력 🔧", "LNG ✓"], [1.0, 2.0], "배출 🔥", "t"))
    err = capfd.readouterr().err
    assert "UserWarning" not in err and ".py:" not in err and "Glyph" not in err, err
    assert "차트 글꼴(NanumGothic)에 없어" in err and "🔧" in err


def test_library_warnings_are_kept_off_the_terminal(ws):
    """A warning a library issues during a command (naming its source file) is not shown; CARBON_DEBUG shows it."""
    code = ("import sys, warnings; import pipeline.profile as p; real = p.validate_companies\n"
            "def noisy(*a, **k):\n    warnings.warn('lib noise in /site-packages/lib/x.py', UserWarning)\n    return real(*a, **k)\n"
            "p.validate_companies = noisy\nfrom pipeline.commands import main\nmain(['validate', '%s'])\n") % COMPANY
    quiet = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(ws), capture_output=True, text=True, timeout=120)
    assert quiet.returncode == 0 and "정상" in quiet.stdout, quiet.stderr
    assert quiet.stderr == "", quiet.stderr
    debug = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=dict(_env(ws), CARBON_DEBUG="1"),
                           capture_output=True, text=True, timeout=120)
    assert "lib noise" in debug.stderr  # the check above can fail


YAML_CASES = {
    "stray-bracket": "a: ]\n",
    "unknown-escape": 'a: "\\q"\n',
    "percent-start": "a: %x\n",
    "at-start": "a: @x\n",
    "backtick-start": "a: `x`\n",
    "duplicate-directive": "%YAML 1.1\n%YAML 1.1\n---\na: 1\n",
    "lone-star": "a: * x\n",
    "text-after-document-end": "a: 1\n...\nb\n",
    "unclosed-flow": "a: {b: 1\n",
    "tab": "a:\n\tb: 1\n",
}


@pytest.mark.parametrize("case", sorted(YAML_CASES))
def test_yaml_syntax_errors_are_in_korean_with_file_and_line(ws, case):
    (ws / "companies" / "broken.yaml").write_text(YAML_CASES[case], encoding="utf-8")
    result = cli(["validate", "broken"])
    assert result.exit_code == 2, result.output
    line = next(l for l in result.output.splitlines() if "broken.yaml" in l)
    assert re.search(r"broken\.yaml:\d+", line), line
    message = line.split("YAML 문법 오류:", 1)[-1]
    assert HANGUL.search(message) and not re.search(r"\b(found|expected|while)\b", message), line


# ================================================================ 7. modes of what is written

@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_outputs_and_store_files_follow_the_umask(ws, monkeypatch, umask, mode):
    fake_render(monkeypatch)
    old = os.umask(umask)
    try:
        assert cli(["plan", COMPANY, "--no-page-count"]).exit_code == 0
        assert cli(["status", "--html", str(ws / "status.html")]).exit_code == 0
        monkeypatch.setenv("CARBON_COMPANIES_DIR", str(ROOT / "companies"))
        assert cli(["cbam-template", CBAM_COMPANY]).exit_code == 0
    finally:
        os.umask(old)
    written = [ws / "status.html", ws / "out" / COMPANY / "plan.docx",
               ws / "out" / CBAM_COMPANY / f"cbam-communication-{CBAM_COMPANY}.xlsx", store(ws) / "r003" / "plan.docx",
               store(ws) / "r003" / "revision.json"]
    for path in written:
        assert stat.S_IMODE(path.stat().st_mode) == mode, (path, oct(path.stat().st_mode))
