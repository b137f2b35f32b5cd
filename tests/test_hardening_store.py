"""Hardening of what is stored and written (issue 17, "Lost or overwritten data" and the store's
share of "Tracebacks instead of messages"): nothing stored is lost or overwritten, every failure is
exit 2 with a Korean message.

1. append-only logs: whole lines, verified; a damaged tail repaired (kept aside) or refused;
2. outputs a user names never land on the revision store, a profile, content/ or the code;
3. out/<id>/ is replaced as a whole or not at all; a damaged marker or a changed store is no problem;
4. CARBON_*_DIR set to "" means unset;
5. a `final` issued while a `plan` runs stops that plan from storing (without --force).

One real plan (and one imported reply) is made per module; each test works on a private copy.
Plans inside tests render fake documents (the rendering is tested elsewhere), so they are fast.
"""
from __future__ import annotations

import errno
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
for entry in (str(ROOT), str(Path(__file__).resolve().parent)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

from test_feedback import cli, make_returned_draft, pipeline_env, run_cli  # noqa: E402

pytestmark = pytest.mark.hardening

COMPANY = "jinju-mold"
ITEMS = ("r001-c1", "r001-i1", "r001-d1")


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """A store with r001 (a real plan), a reply imported on it (3 items) and r002 (a copy of r001)."""
    base = tmp_path_factory.mktemp("hardening-store")
    companies = base / "companies"
    companies.mkdir()
    shutil.copy(ROOT / "companies" / f"{COMPANY}.yaml", companies)
    env = pipeline_env(base, companies)
    result = run_cli(["plan", COMPANY, "--no-page-count"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    r001 = base / "revisions" / COMPANY / "r001"
    reply = base / "reply.docx"
    make_returned_draft(r001 / "plan.docx", reply)
    result = run_cli(["feedback", COMPANY, str(reply)], env)
    assert result.returncode == 0, result.stdout + result.stderr
    r002 = r001.with_name("r002")
    shutil.copytree(r001, r002)
    meta = json.loads((r002 / "revision.json").read_text(encoding="utf-8"))
    (r002 / "revision.json").write_text(json.dumps(dict(meta, revision=2), ensure_ascii=False), encoding="utf-8")
    return base


@pytest.fixture()
def ws(base, tmp_path, monkeypatch) -> Path:
    for name in ("companies", "revisions", "out"):
        shutil.copytree(base / name, tmp_path / name, symlinks=True)
    monkeypatch.setenv("CARBON_COMPANIES_DIR", str(tmp_path / "companies"))
    monkeypatch.setenv("CARBON_REVISIONS_DIR", str(tmp_path / "revisions"))
    monkeypatch.setenv("CARBON_OUT_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("CARBON_AUTHOR", "테스트 컨설턴트")
    monkeypatch.delenv("CARBON_CONTENT_DIR", raising=False)
    return tmp_path


def store(ws: Path) -> Path:
    return ws / "revisions" / COMPANY


def status_log(ws: Path) -> Path:
    return store(ws) / "feedback" / "status.jsonl"


def statuses() -> dict[str, str]:
    from pipeline.store.feedback import items

    return {item["id"]: item["status"] for item in items(COMPANY)}


def fake_render(monkeypatch, tag: bytes = b"new ", during=None) -> dict[str, bytes]:
    """Make publish() render `tag + name` for each document (and call `during` while "rendering")."""
    import pipeline.publish.documents as documents

    docs = {name: tag + name.encode() for name in documents.DOCUMENT_FILES.values()}

    def render_all(context, **_kw):
        if during is not None:
            during()
        return dict(docs)

    monkeypatch.setattr(documents, "render_all", render_all)
    return docs


def plan_in_process(force: bool = False):
    from pipeline.commands.plan import _plan_one

    result, _ctx = _plan_one(COMPANY, force=force, page_count=False, quiet=True)
    return result


def revision_names(ws: Path) -> list[str]:
    return sorted(p.name for p in store(ws).iterdir() if p.is_dir() and p.name[:1] == "r" and p.name[1:].isdigit())


def no_traceback(result) -> None:
    assert "Traceback" not in result.output, result.output


# ================================================================ 1. append-only logs

def test_log_without_final_newline_keeps_the_earlier_change(ws):
    assert cli(["feedback-resolve", COMPANY, "r001-c1", "--status", "resolved"]).exit_code == 0
    log = status_log(ws)
    log.write_bytes(log.read_bytes().rstrip(b"\n"))  # a hand edit (or an editor) dropped the newline
    result = cli(["feedback-resolve", COMPANY, "r001-i1", "--status", "wont-fix"])
    assert result.exit_code == 0, result.output
    assert statuses() == {"r001-c1": "resolved", "r001-i1": "wont-fix", "r001-d1": "open"}
    lines = log.read_bytes().split(b"\n")
    assert lines[-1] == b"" and all(json.loads(line) for line in lines[:-1])


@pytest.mark.parametrize("tail", [b'{"item": "r001-d1", "sta', b'{"item": "r001-d1"}\xff\xfe', b"\x00" * 37,
                                  b'garbage\n{"item": "r001-d1", "status": "resol'])
def test_log_with_a_cut_last_line_is_repaired_and_the_cut_kept(ws, tail):
    assert cli(["feedback-resolve", COMPANY, "r001-c1", "--status", "resolved"]).exit_code == 0
    log = status_log(ws)
    sound = log.read_bytes()
    log.write_bytes(sound + tail)  # a short write on a full disk, a crash, a half-saved edit
    result = cli(["feedback-resolve", COMPANY, "r001-i1", "--status", "resolved"])
    assert result.exit_code == 0, result.output
    assert "손상" in result.output and "보관" in result.output  # said loudly, on stderr
    assert statuses() == {"r001-c1": "resolved", "r001-i1": "resolved", "r001-d1": "open"}
    sides = list(log.parent.glob("status.jsonl.damaged-*"))
    assert len(sides) == 1 and sides[0].read_bytes() == tail
    assert log.read_bytes().startswith(sound)
    assert all(json.loads(line) for line in log.read_bytes().splitlines())


def test_short_write_is_refused_and_the_log_left_as_it_was(ws, monkeypatch):
    assert cli(["feedback-resolve", COMPANY, "r001-c1", "--status", "resolved"]).exit_code == 0
    before = status_log(ws).read_bytes()
    real_write = os.write

    def short_write(fd, data):  # a nearly full disk: only part of the line fits
        if b'"status"' in bytes(data):
            return real_write(fd, bytes(data)[: len(data) // 2])
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", short_write)
    result = cli(["feedback-resolve", COMPANY, "r001-i1", "r001-d1", "--status", "wont-fix"])
    monkeypatch.setattr(os, "write", real_write)
    no_traceback(result)
    assert result.exit_code == 2, result.output
    assert "저장하지 않았습니다" in result.output and "r001-i1: wont-fix" not in result.output
    assert status_log(ws).read_bytes() == before
    assert statuses()["r001-i1"] == "open"


def test_full_disk_on_append_is_a_message(ws, monkeypatch):
    real_write = os.write

    def full(fd, data):
        if b'"status"' in bytes(data):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full)
    result = cli(["feedback-resolve", COMPANY, "r001-c1", "--status", "resolved"])
    monkeypatch.setattr(os, "write", real_write)
    no_traceback(result)
    assert result.exit_code == 2 and "기록할 수 없습니다" in result.output
    assert statuses()["r001-c1"] == "open"


@pytest.mark.parametrize("line", [b"[1, 2]", b'"just text"', b"17", b"null", b'{"item": 5, "status": "resolved"}',
                                  b'{"item": "r001-c1", "status": "done"}', b'{"item": "r001-c1"}'])
def test_status_line_that_is_not_a_status_event_is_skipped_with_a_warning(ws, line):
    log = status_log(ws)
    log.write_bytes(line + b"\n" + json.dumps({"item": "r001-d1", "status": "wont-fix", "by": "x", "at": "2026-01-01T00:00:00+09:00",
                                               "note": ""}).encode() + b"\n")
    listing = cli(["feedback-list", COMPANY, "--all"])
    no_traceback(listing)
    assert listing.exit_code == 0 and "r001-c1" in listing.output
    assert "건너뛰었습니다" in listing.output
    assert cli(["feedback-resolve", COMPANY, "r001-c1", "--status", "resolved"]).exit_code == 0
    assert statuses() == {"r001-c1": "resolved", "r001-i1": "open", "r001-d1": "wont-fix"}
    assert cli(["status"]).exit_code == 0 and cli(["history", COMPANY]).exit_code == 0


def test_final_log_without_final_newline_keeps_every_marking(ws):
    assert cli(["final", COMPANY, "1"]).exit_code == 0
    log = store(ws) / "final.log.jsonl"
    log.write_bytes(log.read_bytes().rstrip(b"\n"))
    assert cli(["final", COMPANY, "2", "--force"]).exit_code == 0
    records = [json.loads(line) for line in log.read_bytes().splitlines()]
    assert [r["revision"] for r in records] == [1, 2] and records[1]["replaced"] == 1


def _resolve_many(args) -> None:
    worker, count = args
    from pipeline.store.feedback import set_status

    for n in range(count):
        set_status(COMPANY, [ITEMS[n % 3]], "resolved" if n % 2 else "open", note=f"w{worker}-{n}")


def test_concurrent_appends_on_a_damaged_log_lose_nothing(ws):
    log = status_log(ws)
    log.write_bytes(b'{"item": "r001-c1", "sta')  # damaged before the runs start
    workers, count = 6, 15
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        pool.map(_resolve_many, [(w, count) for w in range(workers)])
    records = [json.loads(line) for line in log.read_bytes().splitlines()]
    assert sorted(r["note"] for r in records) == sorted(f"w{w}-{n}" for w in range(workers) for n in range(count))
    assert len(list(log.parent.glob("status.jsonl.damaged-*"))) == 1  # repaired once, by the first writer


# ================================================================ 2. protected output paths

def _protected_targets(ws: Path) -> list[Path]:
    r001 = store(ws) / "r001"
    return [r001 / "plan.docx", r001 / "context.json", store(ws) / "r002" / "revision.json",
            ws / "companies" / f"{COMPANY}.yaml", sorted((store(ws) / "feedback").glob("r001-*.json"))[0]]


@pytest.mark.parametrize("index", range(5))
def test_diff_out_never_overwrites_a_revision_or_a_profile(ws, index):
    target = _protected_targets(ws)[index]
    before = target.read_bytes()
    result = cli(["diff", COMPANY, "1", "2", "--engine", "docx", "--out", str(target)])
    no_traceback(result)
    assert result.exit_code == 2 and "쓰지 않습니다" in result.output, result.output
    assert target.read_bytes() == before


@pytest.mark.parametrize("index", range(5))
def test_status_html_never_overwrites_a_revision_or_a_profile(ws, index):
    target = _protected_targets(ws)[index]
    before = target.read_bytes()
    result = cli(["status", "--html", str(target)])
    no_traceback(result)
    assert result.exit_code == 2 and "쓰지 않습니다" in result.output, result.output
    assert target.read_bytes() == before


def test_protected_paths_through_symlinks_and_dot_dots(ws):
    target = store(ws) / "r001" / "context.json"
    before = target.read_bytes()
    link = ws / "innocent.html"
    link.symlink_to(target)
    linked_dir = ws / "shared"
    linked_dir.symlink_to(store(ws))
    dotted = ws / "out" / ".." / "revisions" / COMPANY / "r001" / "context.json"
    for path in (link, linked_dir / "r001" / "context.json", dotted, Path(os.path.relpath(target))):
        result = cli(["status", "--html", str(path)])
        assert result.exit_code == 2 and "쓰지 않습니다" in result.output, (path, result.output)
    assert target.read_bytes() == before and link.is_symlink()


def test_content_code_and_published_files_are_protected(ws, monkeypatch):
    from pipeline.store.outputs import protected_reason

    for path in (ROOT / "content" / "README.md", ROOT / "pipeline" / "__init__.py", ROOT / "templates" / "docx" / "plan.docx",
                 ROOT / "Makefile", ROOT / "pyproject.toml", ROOT / ".gitignore", ROOT / "tests" / "x.html",
                 ws / "out" / COMPANY / "context.json", ws / "out" / COMPANY / "plan.docx", ROOT / "companies" / "x.yaml",
                 ROOT / "revisions" / COMPANY / "r001" / "plan.docx"):
        assert protected_reason(path), path
    monkeypatch.setenv("CARBON_CONTENT_DIR", str(ws / "my-content"))
    assert protected_reason(ws / "my-content" / "programs" / "x.yaml")
    for path in (ws / "status.html", ws / "out" / "status.html", ws / "out" / COMPANY / "diff-r001-r002.docx",
                 ROOT / "status.html", Path("/tmp") / "status.html"):
        assert protected_reason(path) is None, path


def test_outputs_are_written_atomically_readable_and_failures_are_messages(ws):
    old_mask = os.umask(0o022)
    try:
        page = ws / "shared" / "status.html"
        result = cli(["status", "--html", str(page)])
        assert result.exit_code == 0, result.output
        assert page.stat().st_mode & 0o777 == 0o644  # colleagues can open it (mkstemp alone gives 0600)
        assert not [p for p in page.parent.iterdir() if p.name.endswith(".part")]
        blocker = ws / "a-file"
        blocker.write_text("x")
        result = cli(["status", "--html", str(blocker / "status.html")])  # the parent is a file
        no_traceback(result)
        assert result.exit_code == 2 and "오류:" in result.output and "쓸 수 없습니다" in result.output, result.output
        result = cli(["diff", COMPANY, "1", "2", "--engine", "docx", "--out", str(blocker / "d.docx")])
        no_traceback(result)
        assert result.exit_code == 2, result.output
    finally:
        os.umask(old_mask)


# ================================================================ 3. out/<id>/ as a whole

def _out(ws: Path) -> Path:
    return ws / "out" / COMPANY


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def test_a_failure_midway_leaves_out_unchanged(ws, monkeypatch):
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc to see which file is being synced")
    from pipeline.errors import PipelineError

    before = _snapshot(_out(ws))
    fake_render(monkeypatch)
    out_root = str(ws / "out")
    real_fsync = os.fsync
    seen = []

    def fsync(fd):  # the disk fills up while the third file of out/ is written
        target = os.readlink(f"/proc/self/fd/{fd}")
        if target.startswith(out_root) and os.path.isfile(target):
            seen.append(target)
            if len(seen) == 3:
                raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(PipelineError) as caught:
        plan_in_process()
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert "r003" in caught.value.format_message()  # the revision itself was stored
    assert _snapshot(_out(ws)) == before, "out/<id>/ must hold the old revision whole"
    assert sorted(p.name for p in (ws / "out").iterdir() if ".new-" in p.name or p.name.endswith(".old")) == []


@pytest.mark.parametrize("how", ["removed", "other-store"])
def test_plan_after_the_store_changed_replaces_stale_drafts(ws, monkeypatch, how):
    fake_render(monkeypatch, b"first ")
    plan_in_process()  # r003
    plan_in_process()  # r004: out/ says r004
    if how == "removed":
        shutil.rmtree(ws / "revisions")
    else:
        monkeypatch.setenv("CARBON_REVISIONS_DIR", str(ws / "other-revisions"))
    docs = fake_render(monkeypatch, b"second ")
    result = plan_in_process()
    assert result.revision == 1
    out = _snapshot(_out(ws))
    assert {name: out[name] for name in docs} == docs, "out/<id>/ must show the revision just stored"
    stored = Path(os.environ["CARBON_REVISIONS_DIR"]) / COMPANY / "r001"
    assert out["context.json"] == (stored / "context.json").read_bytes()


def test_out_ahead_of_this_run_is_kept(ws, monkeypatch):
    """A concurrent run that stored a newer revision and published it first is not overwritten."""
    from pipeline.publish.documents import _publish_latest

    fake_render(monkeypatch, b"newer ")
    plan_in_process()  # r003 in out/
    before = _snapshot(_out(ws))
    _publish_latest(COMPANY, {"plan.docx": b"older"}, 2)  # the slower run with r002
    assert _snapshot(_out(ws)) == before


@pytest.mark.parametrize("marker", [b"", b"abc", b"\xff\xfe\x00", b"[1]", b'{"revision": "x"}', b"99999", b"-3",
                                    b'{"revision": 99999, "store": "/elsewhere"}', "folder", "link"])
def test_a_damaged_marker_is_no_traceback(ws, monkeypatch, marker):
    path = _out(ws) / ".revision"
    path.unlink(missing_ok=True)
    if marker == "folder":
        path.mkdir()
        (path / "x").write_text("x")
    elif marker == "link":
        path.symlink_to(ws / "nowhere")
    else:
        path.write_bytes(marker)
    docs = fake_render(monkeypatch)
    result = plan_in_process()
    assert result.revision == 3
    out = _snapshot(_out(ws))
    assert {name: out[name] for name in docs} == docs


def test_a_swap_left_unfinished_is_recovered(ws, monkeypatch):
    out = _out(ws)
    before = _snapshot(out)
    # killed between the two renames: the old folder moved aside, the new one never arrived
    old = out.with_name(f".{COMPANY}.old")
    os.rename(out, old)
    partial = out.with_name(f".{COMPANY}.new-dead")
    partial.mkdir()
    (partial / "plan.docx").write_bytes(b"half")
    # a diff written now finds the previous folder back, whole
    result = cli(["diff", COMPANY, "1", "2", "--engine", "docx"])
    assert result.exit_code == 0, result.output
    assert {k: v for k, v in _snapshot(out).items() if not k.startswith("diff-")} == before
    assert not old.exists() and not partial.exists()
    # killed after the swap, before .old was removed
    shutil.copytree(out, old)
    docs = fake_render(monkeypatch)
    plan_in_process()
    assert not old.exists()
    now = _snapshot(out)
    assert {name: now[name] for name in docs} == docs
    assert "diff-r001-r002.docx" in now, "a diff beside the drafts is carried over"


def test_a_failed_swap_puts_the_old_folder_back(ws, monkeypatch):
    from pipeline.errors import PipelineError

    out = _out(ws)
    before = _snapshot(out)
    fake_render(monkeypatch)
    real_rename = os.rename

    def rename(src, dst):
        if ".new-" in str(src):
            raise OSError(errno.EIO, "Input/output error")
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(PipelineError):
        plan_in_process()
    monkeypatch.setattr(os, "rename", real_rename)
    assert _snapshot(out) == before


def test_stale_copies_are_dropped_and_other_files_kept(ws, monkeypatch):
    out = _out(ws)
    (out / "plan.pdf").write_bytes(b"%PDF of r001")
    (out / "cbam-communication-x.xlsx").write_bytes(b"consultant's workbook")
    (out / ".plan.docx.abc.part").write_bytes(b"leftover")
    old_mask = os.umask(0o022)
    try:
        fake_render(monkeypatch)
        plan_in_process()
    finally:
        os.umask(old_mask)
    names = {p.name for p in out.iterdir()}
    assert "plan.pdf" not in names and ".plan.docx.abc.part" not in names
    assert (out / "cbam-communication-x.xlsx").read_bytes() == b"consultant's workbook"
    assert out.stat().st_mode & 0o777 == 0o755 and (out / "plan.docx").stat().st_mode & 0o777 == 0o644


def test_out_dir_overlapping_the_store_is_refused(ws, monkeypatch):
    """CARBON_OUT_DIR pointing at the revision store must never swap a company's revisions away."""
    from pipeline.errors import PipelineError

    monkeypatch.setenv("CARBON_OUT_DIR", str(ws / "revisions"))
    fake_render(monkeypatch)
    with pytest.raises(PipelineError) as caught:
        plan_in_process()
    assert "CARBON_OUT_DIR" in caught.value.format_message()
    assert revision_names(ws) == ["r001", "r002", "r003"] and (store(ws) / "feedback").is_dir()
    assert not (store(ws) / "plan.docx").exists()


# ================================================================ 4. empty environment variables

@pytest.mark.parametrize("variable,function,default", [
    ("CARBON_OUT_DIR", "out_root", "out"), ("CARBON_REVISIONS_DIR", "store_root", "revisions"),
    ("CARBON_COMPANIES_DIR", "companies_dir", "companies"), ("CARBON_CONTENT_DIR", "content_root", "content")])
@pytest.mark.parametrize("value", ["", "  ", "\t"])
def test_an_empty_variable_means_unset(monkeypatch, variable, function, default, value):
    import pipeline.locations as locations

    monkeypatch.setenv(variable, value)
    assert getattr(locations, function)() == locations.PROJECT_ROOT / default
    monkeypatch.setenv(variable, ".")  # the current folder only when asked for
    assert getattr(locations, function)() == Path(".")


def test_empty_companies_variable_reads_the_project_profiles(tmp_path):
    env = dict(os.environ, CARBON_COMPANIES_DIR="", CARBON_CONTENT_DIR="", PYTHONPATH=str(ROOT))
    (tmp_path / "jinju-bolt.yaml").write_text("company: {name: 이것은 현재 폴더의 가짜 프로필}\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "pipeline", "validate", "jinju-bolt"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jinju-bolt.yaml"]


# ================================================================ 5. final during a plan

def test_final_issued_while_a_plan_runs_stops_that_plan(ws, monkeypatch):
    from pipeline.errors import PipelineError
    from pipeline.store.final import mark_final

    fake_render(monkeypatch, during=lambda: mark_final(COMPANY, 2, by="다른 컨설턴트"))
    with pytest.raises(PipelineError) as caught:
        plan_in_process()
    assert "최종본" in caught.value.format_message() and "--force" in caught.value.format_message()
    assert revision_names(ws) == ["r001", "r002"], "no revision after the final one"
    assert not list(store(ws).glob(".tmp-*"))
    fake_render(monkeypatch)
    assert plan_in_process(force=True).revision == 3  # --force still works


def test_final_and_plan_force_flags_are_per_run(ws, monkeypatch):
    from pipeline.errors import PipelineError

    assert cli(["final", COMPANY, "1"]).exit_code == 0
    fake_render(monkeypatch)
    assert plan_in_process(force=True).revision == 3
    with pytest.raises(PipelineError):
        plan_in_process(force=False)
    assert revision_names(ws) == ["r001", "r002", "r003"]


# ================================================================ damaged store files, full disks, users

def test_zero_byte_feedback_file_is_reported_not_a_traceback(ws, tmp_path):
    damaged = store(ws) / "feedback" / "r001-00000000000000000000-deadbeef.json"
    damaged.write_bytes(b"")
    listing = cli(["feedback-list", COMPANY, "--all"])
    no_traceback(listing)
    assert listing.exit_code == 0 and "손상된 피드백 파일" in listing.output and "r001-c1" in listing.output
    assert cli(["status"]).exit_code == 0 and cli(["history", COMPANY]).exit_code == 0
    reply = tmp_path / "second.docx"
    make_returned_draft(store(ws) / "r001" / "plan.docx", reply)
    result = cli(["feedback", COMPANY, str(reply), "--revision", "2"])
    no_traceback(result)
    assert result.exit_code == 2 and "손상된 피드백 파일" in result.output
    assert len(list((store(ws) / "feedback").glob("r*.json"))) == 2


@pytest.mark.parametrize("content", [b"", b"{", b"[]", b'{"revision": "2"}', b'{"revision": 0}', b"\xff"])
def test_damaged_final_marker(ws, monkeypatch, content):
    from pipeline.errors import PipelineError

    (store(ws) / "final.json").write_bytes(content)
    for args in (["status"], ["history", COMPANY]):
        result = cli(args)
        no_traceback(result)
        assert result.exit_code == 0 and "손상" in result.output, result.output
    fake_render(monkeypatch)
    with pytest.raises(PipelineError) as caught:  # a damaged marker is not "no final"
        plan_in_process()
    assert "손상" in caught.value.format_message()
    assert cli(["final", COMPANY, "2"]).exit_code == 2
    assert cli(["final", COMPANY, "2", "--force"]).exit_code == 0
    assert json.loads((store(ws) / "final.json").read_text(encoding="utf-8"))["revision"] == 2


def test_empty_revision_folder_is_not_a_final_version_or_a_feedback_target(ws, tmp_path):
    (store(ws) / "r003").mkdir()
    result = cli(["final", COMPANY, "3"])
    no_traceback(result)
    assert result.exit_code == 2 and "완전한 리비전이 아닙니다" in result.output
    assert not (store(ws) / "final.json").exists()
    reply = tmp_path / "reply.docx"
    make_returned_draft(store(ws) / "r001" / "plan.docx", reply)
    result = cli(["feedback", COMPANY, str(reply), "--revision", "3"])  # the empty folder, asked for
    assert result.exit_code == 2 and "r003" in result.output
    # Without --revision a reply goes to the revision it was made from (r001, see test_hardening_input.py),
    # so the empty latest folder is no target then.


@pytest.mark.parametrize("damage", ["missing", "garbage", "empty", "truncated"])
def test_missing_or_damaged_stored_document_in_diff(ws, damage):
    path = store(ws) / "r002" / "plan.docx"
    if damage == "missing":
        path.unlink()
    elif damage == "garbage":
        path.write_bytes(b"this is not a zip")
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    result = cli(["diff", COMPANY, "1", "2", "--engine", "docx"])
    no_traceback(result)
    assert result.exit_code == 2 and "r002" in result.output, result.output
    assert not (_out(ws) / "diff-r001-r002.docx").exists()


def test_full_disk_while_importing_or_marking_final(ws, monkeypatch, tmp_path):
    reply = tmp_path / "reply.docx"
    make_returned_draft(store(ws) / "r001" / "plan.docx", reply)

    def no_space(*_args, **_kw):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "link", no_space)
    for args in (["feedback", COMPANY, str(reply), "--revision", "2"], ["final", COMPANY, "2"]):
        result = cli(args)
        no_traceback(result)
        assert result.exit_code == 2 and "저장하지 않았습니다" in result.output, result.output
    assert len(list((store(ws) / "feedback").glob("r*.json"))) == 1
    assert not (store(ws) / "final.json").exists()


def test_a_user_without_a_passwd_entry(monkeypatch):
    import getpass

    from pipeline.store.revisions import author_name

    def no_entry():
        raise KeyError("getpwuid(): uid not found: 12345")

    monkeypatch.setattr(getpass, "getuser", no_entry)
    monkeypatch.delenv("CARBON_AUTHOR", raising=False)
    assert author_name(None)
    assert author_name("갑") == "갑"


def test_no_home_means_no_cache_not_a_traceback(monkeypatch):
    from pipeline.store.cache import cache_dir

    import pwd

    def no_entry(_uid):
        raise KeyError("getpwuid(): uid not found: 12345")

    for variable in ("CARBON_CACHE_DIR", "XDG_CACHE_HOME", "HOME"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr(pwd, "getpwuid", no_entry)  # what Path.home() and expanduser() rely on without $HOME
    assert cache_dir("templates") is None
    monkeypatch.setenv("CARBON_CACHE_DIR", "")
    assert cache_dir("templates") is None


def test_a_damaged_template_bytecode_cache_is_rebuilt(tmp_path, monkeypatch):
    import jinja2

    from pipeline.store.cache import bytecode_cache

    monkeypatch.setenv("CARBON_CACHE_DIR", str(tmp_path))
    env = jinja2.Environment(loader=jinja2.DictLoader({"t": "{{ 1 + 1 }}"}), bytecode_cache=bytecode_cache())
    assert env.get_template("t").render() == "2"
    for path in (tmp_path / "templates").iterdir():
        path.write_bytes(path.read_bytes()[:20])  # truncated: the magic header survives, the pickle does not
    fresh = jinja2.Environment(loader=jinja2.DictLoader({"t": "{{ 1 + 1 }}"}), bytecode_cache=bytecode_cache())
    assert fresh.get_template("t").render() == "2"


def test_terminal_control_characters_are_not_echoed_raw(ws):
    result = cli(["feedback-resolve", COMPANY, "r001-c1", "--status", "resolved", "--by", "\x1b[2J갑",
                  "--note", "\x1b]0;title\x07메모\u202e"])
    assert result.exit_code == 0
    listing = cli(["feedback-list", COMPANY, "--all"])
    history = cli(["history", COMPANY])
    for output in (result.output, listing.output, history.output):
        assert "\x1b" not in output and "\x07" not in output and "\u202e" not in output
    assert "\\x1b" in listing.output


def test_a_failing_libreoffice_does_not_stop_the_plan(ws, monkeypatch, capsys):
    import pipeline.render.pdf as pdf
    from pipeline.errors import ConversionError

    def broken(*_args, **_kw):
        raise ConversionError("LibreOffice PDF 변환 실패 (종료 코드 81)")

    monkeypatch.setattr(pdf, "libreoffice_path", lambda: "/usr/bin/soffice")
    monkeypatch.setattr(pdf, "convert_to_pdf", broken)
    docs = fake_render(monkeypatch)
    from pipeline.commands.plan import _plan_one

    result, _ctx = _plan_one(COMPANY, page_count=True, quiet=True)
    assert result.revision == 3 and result.page_counts == {}
    assert "쪽수를 세지 못했습니다" in capsys.readouterr().err
    assert (store(ws) / "r003" / "plan.docx").read_bytes() == docs["plan.docx"]


def test_a_reply_whose_file_name_is_not_utf8(ws, tmp_path):
    env = pipeline_env(ws, ws / "companies")
    name = os.fsdecode("회신_사업계획서.docx".encode("cp949"))  # as unpacked from a Korean Windows zip
    reply = tmp_path / name
    make_returned_draft(store(ws) / "r001" / "plan.docx", reply)
    result = run_cli(["feedback", COMPANY, str(reply), "--revision", "2"], env)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stdout + result.stderr
    assert "회신_사업계획서.docx" in result.stdout
    listing = run_cli(["feedback-list", COMPANY], env)
    assert listing.returncode == 0 and "r002-c1" in listing.stdout
    from pipeline.store.feedback import imports

    assert [r["source"]["name"] for r in imports(COMPANY) if r["revision"] == 2] == ["회신_사업계획서.docx"]
