"""Returned drafts: comments and tracked changes read back; hostile files rejected, nothing stored.

A real plan is rendered once (subprocess, --no-page-count) into a temporary revision store; each
test copies that store, so tests never touch revisions/ or out/ of the checkout.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

COMPANY = "jinju-mold"


def pipeline_env(base: Path, companies: Path | None = None) -> dict:
    env = dict(os.environ, CARBON_OUT_DIR=str(base / "out"), CARBON_REVISIONS_DIR=str(base / "revisions"),
               CARBON_AUTHOR="테스트 컨설턴트", PYTHONPATH=str(ROOT))
    if companies is not None:
        env["CARBON_COMPANIES_DIR"] = str(companies)
    return env


def run_cli(args: list[str], env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def planned(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("planned")
    result = run_cli(["plan", COMPANY, "--no-page-count", "--note", "first"], pipeline_env(base))
    assert result.returncode == 0, result.stderr
    return base


@pytest.fixture()
def store(planned, tmp_path, monkeypatch) -> Path:
    """A private copy of the planned store, with the environment pointing at it."""
    shutil.copytree(planned / "revisions", tmp_path / "revisions")
    monkeypatch.setenv("CARBON_REVISIONS_DIR", str(tmp_path / "revisions"))
    monkeypatch.setenv("CARBON_OUT_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("CARBON_AUTHOR", "테스트 컨설턴트")
    return tmp_path


def cli(args: list[str]):
    from pipeline.commands import main

    return CliRunner().invoke(main, args, catch_exceptions=False)


# ---------------------------------------------------------------- building a returned draft

def _change(kind: str, text: str, author: str, date: str, wid: int):
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    wrapper = OxmlElement(f"w:{kind}")
    wrapper.set(qn("w:id"), str(wid))
    wrapper.set(qn("w:author"), author)
    wrapper.set(qn("w:date"), date)
    run = OxmlElement("w:r")
    node = OxmlElement("w:t" if kind == "ins" else "w:delText")
    node.set(qn("xml:space"), "preserve")
    node.text = text
    run.append(node)
    wrapper.append(run)
    return wrapper


def make_returned_draft(plan_docx: Path, target: Path) -> dict:
    """A company's reply: one comment, one insertion (two runs), one deletion, one paragraph-mark change."""
    import docx
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    document = docx.Document(str(plan_docx))
    body = [p for p in document.paragraphs if p.text.strip() and p.runs and not p.style.name.startswith(("Heading", "Title", "TOC"))]
    commented, changed = body[3], body[4]
    document.add_comment(commented.runs, text="감축 목표가 너무 높습니다.\n근거를 보완해 주세요", author="검토자 갑", initials="갑")
    original = changed.text
    changed._p.append(_change("ins", " 회신추가표지", "검토자 을", "2026-03-02T10:00:00Z", 9001))
    changed._p.append(_change("ins", " 둘째조각", "검토자 을", "2026-03-02T10:00:00Z", 9002))  # same change, split run
    changed._p.append(_change("del", "삭제할 문구", "검토자 을", "2026-03-02T10:05:00Z", 9003))
    # a paragraph-mark insertion inside w:rPr carries no text and must not become an item
    ppr = changed._p.get_or_add_pPr()
    rpr = OxmlElement("w:rPr")
    mark = OxmlElement("w:ins")
    for key, value in (("w:id", "9004"), ("w:author", "검토자 을"), ("w:date", "2026-03-02T10:00:00Z")):
        mark.set(qn(key), value)
    rpr.append(mark)
    ppr.append(rpr)
    document.save(str(target))
    return {"commented": commented.text, "changed": original}


def test_returned_draft_read_back(planned, tmp_path):
    from pipeline.review.returned import read_returned_draft
    from pipeline.stages.draft import DOCUMENTS

    source = planned / "revisions" / COMPANY / "r001" / "plan.docx"
    target = tmp_path / "returned.docx"
    texts = make_returned_draft(source, target)

    # python-docx's paragraph.text skips w:ins: the reason the reader walks the XML itself
    import docx

    assert " 회신추가표지" not in "".join(p.text for p in docx.Document(str(target)).paragraphs)

    draft = read_returned_draft(target, DOCUMENTS)
    assert draft.document == "plan"
    assert len(draft.comments) == 1
    comment = draft.comments[0]
    assert comment["author"] == "검토자 갑"
    assert comment["text"] == "감축 목표가 너무 높습니다.\n근거를 보완해 주세요"
    assert comment["anchor"] == texts["commented"].strip()
    assert comment["date"]
    kinds = [(c["kind"], c["text"]) for c in draft.changes]
    assert kinds == [("insertion", " 회신추가표지 둘째조각"), ("deletion", "삭제할 문구")]
    insertion, deletion = draft.changes
    assert insertion["author"] == "검토자 을" and insertion["date"] == "2026-03-02T10:00:00Z"
    assert insertion["paragraph"] == (texts["changed"] + " 회신추가표지 둘째조각").strip()
    assert deletion["paragraph_before"] == (texts["changed"] + "삭제할 문구").strip()
    assert insertion["heading"]  # the section the change sits in


def test_feedback_command_stores_items(store, tmp_path):
    target = tmp_path / "returned.docx"
    make_returned_draft(store / "revisions" / COMPANY / "r001" / "plan.docx", target)
    rev_before = sorted(p.name for p in (store / "revisions" / COMPANY / "r001").iterdir())

    result = cli(["feedback", COMPANY, str(target)])
    assert result.exit_code == 0, result.output
    assert "메모 1건, 삽입 1건, 삭제 1건" in result.output
    for item_id in ("r001-c1", "r001-i1", "r001-d1"):
        assert item_id in result.output

    from pipeline.store.feedback import items

    stored = {i["id"]: i for i in items(COMPANY)}
    assert set(stored) == {"r001-c1", "r001-i1", "r001-d1"}
    assert all(i["status"] == "open" and i["history"][0]["by"] == "테스트 컨설턴트" for i in stored.values())
    # the revision itself is untouched
    assert sorted(p.name for p in (store / "revisions" / COMPANY / "r001").iterdir()) == rev_before

    # the same file again: refused, nothing added
    again = cli(["feedback", COMPANY, str(target)])
    assert again.exit_code == 2 and "이미" in again.output
    assert len(items(COMPANY)) == 3

    # a second, different reply keeps counting
    second = tmp_path / "second.docx"
    make_returned_draft(store / "revisions" / COMPANY / "r001" / "plan.docx", second)
    with zipfile.ZipFile(second, "a") as archive:  # different bytes, same content
        archive.writestr("customXml/note.xml", "<a/>")
    assert cli(["feedback", COMPANY, str(second), "--revision", "1"]).exit_code == 0
    assert {"r001-c2", "r001-i2", "r001-d2"} <= {i["id"] for i in items(COMPANY)}

    resolved = cli(["feedback-resolve", COMPANY, "r001-c1", "r001-i1", "--status", "resolved", "--by", "컨설턴트 병",
                    "--note", "KPI 목표 조정"])
    assert resolved.exit_code == 0, resolved.output
    assert cli(["feedback-resolve", COMPANY, "r001-d1", "--status", "wont-fix"]).exit_code == 0
    stored = {i["id"]: i for i in items(COMPANY)}
    assert stored["r001-c1"]["status"] == "resolved"
    assert stored["r001-c1"]["history"][-1]["by"] == "컨설턴트 병"
    assert stored["r001-d1"]["status"] == "wont-fix"

    unknown = cli(["feedback-resolve", COMPANY, "r001-c99", "--status", "resolved"])
    assert unknown.exit_code == 2 and "r001-c99" in unknown.output

    from pipeline.store.feedback import items_resolved_by

    assert items_resolved_by(COMPANY, {}) == ["r001-c1", "r001-i1"]

    listing = cli(["feedback-list", COMPANY])
    assert "r001-c2" in listing.output and "r001-c1" not in listing.output


def test_unknown_revision_is_refused(store, tmp_path):
    target = tmp_path / "returned.docx"
    make_returned_draft(store / "revisions" / COMPANY / "r001" / "plan.docx", target)
    result = cli(["feedback", COMPANY, str(target), "--revision", "7"])
    assert result.exit_code == 2 and "r007" in result.output
    assert not (store / "revisions" / COMPANY / "feedback").exists()


# ---------------------------------------------------------------- hostile files (issue 8 §2)

CONTENT_TYPES = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                 'content-types"><Default Extension="xml" ContentType="application/xml"/></Types>')
W_DOC = '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>{}</w:body></w:document>'


def _zip(path: Path, members: dict[str, bytes | str], compression=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _bomb(path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        with archive.open("word/document.xml", "w", force_zip64=True) as handle:
            chunk = b"\0" * (1024 * 1024)
            for _ in range(40):  # 40 MB of zeros, about 40 KB compressed
                handle.write(chunk)
    return path


def _huge(path: Path) -> Path:
    with open(path, "wb") as handle:  # sparse: 51 MB that take no disk space
        handle.truncate(51 * 1024 * 1024)
    return path


HOSTILE = {
    "not_a_zip": (lambda p: (p.write_bytes(b"%PDF-1.7 not a word file\n" * 10), p)[1], "zip"),
    "empty_file": (lambda p: (p.write_bytes(b""), p)[1], "zip"),
    "truncated_zip": (lambda p: (p.write_bytes(b"PK\x03\x04" + b"\0" * 40), p)[1], "zip"),
    "zip_bomb": (_bomb, "압축"),
    "missing_document": (lambda p: _zip(p, {"[Content_Types].xml": CONTENT_TYPES, "word/styles.xml": "<a/>"}), "word/document.xml"),
    "dtd": (lambda p: _zip(p, {"[Content_Types].xml": CONTENT_TYPES, "word/document.xml":
            '<?xml version="1.0"?><!DOCTYPE w:document SYSTEM "http://example.invalid/x.dtd">' + W_DOC.format("")}), "DTD"),
    "entity_expansion": (lambda p: _zip(p, {"[Content_Types].xml": CONTENT_TYPES, "word/document.xml":
            '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">'
            '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
            + W_DOC.format('<w:p><w:r><w:t>&lol3;</w:t></w:r></w:p>')}), "DTD"),
    "external_entity": (lambda p: _zip(p, {"[Content_Types].xml": CONTENT_TYPES, "word/document.xml":
            '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
            + W_DOC.format('<w:p><w:r><w:t>&xxe;</w:t></w:r></w:p>')}), "DTD"),
    "entity_in_comments": (lambda p: _zip(p, {"[Content_Types].xml": CONTENT_TYPES,
            "word/document.xml": W_DOC.format("<w:p/>"),
            "word/comments.xml": '<!DOCTYPE c [<!ENTITY x SYSTEM "file:///etc/hostname">]><c>&x;</c>'}), "DTD"),
    "malformed_xml": (lambda p: _zip(p, {"[Content_Types].xml": CONTENT_TYPES, "word/document.xml": "<w:document><w:body>"}), "XML"),
    "no_body": (lambda p: _zip(p, {"[Content_Types].xml": CONTENT_TYPES, "word/document.xml": "<root/>"}), "본문"),
    "huge_file": (_huge, "너무 큽니다"),
    "deep_nesting": (lambda p: _zip(p, {"[Content_Types].xml": CONTENT_TYPES, "word/document.xml":
            W_DOC.format("<w:p>" * 5000 + "</w:p>" * 5000)}), "깊습니다"),
    "too_many_changes": (lambda p: _zip(p, {"[Content_Types].xml": CONTENT_TYPES, "word/document.xml": W_DOC.format(
            '<w:p>' + '<w:ins w:author="a"><w:r><w:t>x</w:t></w:r></w:ins><w:r><w:t>y</w:t></w:r>' * 10001 + '</w:p>')}),
            "너무 많습니다"),
}


@pytest.mark.hardening
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_returned_draft_is_rejected(store, tmp_path, case):
    build, expected = HOSTILE[case]
    path = build(tmp_path / f"{case}.docx")
    result = cli(["feedback", COMPANY, str(path)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert expected in result.output, result.output
    assert not (store / "revisions" / COMPANY / "feedback").exists()  # nothing stored
    assert sorted(p.name for p in (store / "revisions" / COMPANY).iterdir()) == ["r001"]


@pytest.mark.hardening
def test_hostile_file_in_a_subprocess_prints_no_traceback(store, tmp_path):
    path = HOSTILE["external_entity"][0](tmp_path / "xxe.docx")
    env = pipeline_env(store)
    result = run_cli(["feedback", COMPANY, str(path)], env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and result.stderr.startswith("오류:")
    assert "root:" not in result.stdout + result.stderr  # /etc/passwd was never read


@pytest.mark.hardening
def test_lying_zip_header_is_read_with_a_cap(tmp_path, monkeypatch):
    """A member larger than MAX_PART_BYTES is refused even if it compresses modestly."""
    from pipeline.review import returned as feedback_read
    from pipeline.errors import FeedbackError

    monkeypatch.setattr(feedback_read, "MAX_PART_BYTES", 1000)
    path = _zip(tmp_path / "big.docx", {"word/document.xml": W_DOC.format("<w:p/>" * 500)})
    with pytest.raises(FeedbackError, match="너무 큽니다"):
        feedback_read.read_returned_draft(path)


def test_feedback_json_is_valid_and_append_only(store, tmp_path):
    target = tmp_path / "returned.docx"
    make_returned_draft(store / "revisions" / COMPANY / "r001" / "plan.docx", target)
    assert cli(["feedback", COMPANY, str(target)]).exit_code == 0
    folder = store / "revisions" / COMPANY / "feedback"
    files = [p for p in folder.iterdir() if p.suffix == ".json"]
    assert len(files) == 1
    record = json.loads(files[0].read_text(encoding="utf-8"))
    assert record["revision"] == 1 and record["source"]["sha256"] and record["source"]["document"] == "plan"
    before = files[0].read_bytes()
    assert cli(["feedback-resolve", COMPANY, "r001-c1", "--status", "resolved"]).exit_code == 0
    assert files[0].read_bytes() == before  # status changes go to status.jsonl, never into the import
    assert (folder / "status.jsonl").read_text(encoding="utf-8").count("\n") == 1


def test_in_memory_docx_with_no_feedback(store, tmp_path):
    import docx

    path = tmp_path / "clean.docx"
    document = docx.Document()
    document.add_paragraph("검토 의견 없음")
    buffer = io.BytesIO()
    document.save(buffer)
    path.write_bytes(buffer.getvalue())
    result = cli(["feedback", COMPANY, str(path)])
    assert result.exit_code == 0 and "메모 0건" in result.output


@pytest.mark.hardening
def test_long_anchor_is_capped(tmp_path):
    from pipeline.review.returned import ANCHOR_CHARS, read_returned_draft

    body = ('<w:p><w:commentRangeStart w:id="1"/>' + "<w:r><w:t>가나다라마</w:t></w:r>" * 2000
            + '<w:commentRangeEnd w:id="1"/></w:p>')
    comments = ('<w:comments xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
                '<w:comment w:id="1" w:author="검토자"><w:p><w:r><w:t>길다</w:t></w:r></w:p></w:comment></w:comments>')
    path = _zip(tmp_path / "long.docx", {"word/document.xml": W_DOC.format(body), "word/comments.xml": comments})
    draft = read_returned_draft(path)
    assert draft.comments[0]["text"] == "길다"
    assert draft.comments[0]["anchor"].startswith("가나다라마가나다라마")
    assert len(draft.comments[0]["anchor"]) <= ANCHOR_CHARS + 1
