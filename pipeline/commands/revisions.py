"""CLI commands of the feedback loop: feedback, feedback-list, feedback-resolve, diff, history, final
(`status` is commands/status.py).

See docs/revisions.md for the whole loop. Every user-facing error is a PipelineError (exit 2).
Text that comes from outside (comments, authors, notes, file names) is printed through
`printable`, so terminal control characters in it are shown, not obeyed.
"""
from __future__ import annotations

from pathlib import Path

import click

from pipeline.errors import RevisionError, StoreError

def printable(text) -> str:
    """`text` with control characters (ESC sequences, bidi overrides, …) shown as \\xNN / \\uNNNN
    (terminal.printable; every line reaches the terminal through it anyway) and undecodable file-name bytes readable."""
    from pipeline.commands.terminal import printable as escaped
    from pipeline.store.feedback import readable_name

    return escaped(readable_name("" if text is None else str(text)))


def _company(company: str) -> str:
    """A company id: from companies/ if the profile exists, else a safe id that has revisions."""
    from pipeline.errors import UnknownCompanyError
    from pipeline.profile import COMPANY_ID, resolve_profile_path
    from pipeline.store.revisions import company_dir

    try:
        company_id, _ = resolve_profile_path(company)
        return company_id
    except UnknownCompanyError:
        if COMPANY_ID.match(company) and company_dir(company).is_dir():
            return company  # profile removed or renamed; its revisions are still readable
        raise


def _short(text: str | None, width: int = 60) -> str:
    text = printable(" ".join(str(text or "").split()))
    return text if len(text) <= width else text[: width - 1] + "…"


# ---------------------------------------------------------------- feedback

@click.command()
@click.argument("company")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--revision", "-r", type=int, default=None, help="피드백을 붙일 리비전 번호 (기본: 최신)")
@click.option("--by", default=None, help="가져온 사람 (기본: $CARBON_AUTHOR 또는 사용자 이름)")
@click.option("--force", is_flag=True, help="문서에 적힌 리비전과 --revision이 달라도 --revision에 붙임")
def feedback(company: str, file: Path, revision: int | None, by: str | None, force: bool) -> None:
    """기업이 돌려보낸 .docx의 메모(주석)와 변경 내용(추적)을 피드백 항목으로 저장.

    문서 속성의 기업 id가 다르면 거부하고, --revision 없이는 그 문서가 만들어진 리비전에 붙임."""
    from pipeline.review.identity import target_revision
    from pipeline.review.returned import read_returned_draft
    from pipeline.store.feedback import store_feedback
    from pipeline.store.revisions import revision_numbers, revision_path
    from pipeline.stages.draft import DOCUMENTS

    company_id = _company(company)
    if revision is not None:
        revision_path(company_id, revision)  # unknown revision → clear error before reading the file
    elif not revision_numbers(company_id):
        raise RevisionError(f"{company_id}: 리비전이 없습니다. 먼저 `python -m pipeline plan {company_id}`")
    draft = read_returned_draft(file, DOCUMENTS)
    revision, notes = target_revision(company_id, revision, draft, force)
    for note in notes:
        click.echo(note, err=note.startswith("경고"))
    number, items = store_feedback(company_id, revision, draft, by=by)
    comments = [i for i in items if i["kind"] == "comment"]
    inserted = [i for i in items if i["kind"] == "insertion"]
    deleted = [i for i in items if i["kind"] == "deletion"]
    which = f" ({DOCUMENTS[draft.document]})" if draft.document else ""
    click.echo(f"{company_id} r{number:03d}: {printable(file.name)}{which}에서 메모 {len(comments)}건, "
               f"삽입 {len(inserted)}건, 삭제 {len(deleted)}건을 가져왔습니다 (모두 open)")
    if draft.merged:
        click.echo(f"  (똑같은 메모·변경 {draft.merged}건은 한 항목으로 합쳤습니다: repeats에 횟수)")
    for item in items:
        click.echo("  " + _item_line(item))
    if not items:
        click.echo("  (메모나 변경 추적이 없는 문서입니다. 기록만 남겼습니다)")


def _item_line(item: dict) -> str:
    where = f" [{_short(item.get('heading'), 24)}]" if item.get("heading") else ""
    if item["kind"] == "comment":
        body = f"메모 {_short(item.get('author'))}: “{_short(item.get('text'))}” ← “{_short(item.get('anchor'), 40)}”"
    elif item["kind"] == "insertion":
        body = f"삽입 {_short(item.get('author'))}: +“{_short(item.get('text'))}”"
    else:
        body = f"삭제 {_short(item.get('author'))}: −“{_short(item.get('text'))}”"
    status = f" ({item['status']})" if "status" in item else ""
    return f"{item['id']}{status}{where} {body}"


@click.command(name="feedback-list")
@click.argument("company")
@click.option("--all", "show_all", is_flag=True, help="해결·미반영 항목도 표시 (기본: open만)")
def feedback_list(company: str, show_all: bool) -> None:
    """피드백 항목과 상태."""
    from pipeline.store.feedback import items

    company_id = _company(company)
    listed = [i for i in items(company_id) if show_all or i["status"] == "open"]
    if not listed:
        click.echo(f"{company_id}: {'피드백 없음' if show_all else 'open 피드백 없음'}")
        return
    for item in listed:
        click.echo(_item_line(item))
        last = item["history"][-1]
        if len(item["history"]) > 1:
            note = (": " + _short(last["note"], 80)) if last.get("note") else ""
            click.echo(f"      {printable(last['status'])} — {_short(last['by'])}, {printable(last['at'])}{note}")


@click.command(name="feedback-resolve")
@click.argument("company")
@click.argument("item_ids", nargs=-1, required=True)
@click.option("--status", type=click.Choice(["resolved", "wont-fix", "open"]), required=True,
              help="resolved(반영) · wont-fix(반영하지 않음) · open(다시 열기)")
@click.option("--by", default=None, help="처리한 사람 (기본: $CARBON_AUTHOR 또는 사용자 이름)")
@click.option("--note", default=None, help="처리 메모 (예: overrides로 KPI 목표 조정)")
def feedback_resolve(company: str, item_ids: tuple[str, ...], status: str, by: str | None, note: str | None) -> None:
    """피드백 항목의 상태를 바꿈. resolved 항목은 다음 plan 리비전의 resolves_feedback에 기록됨."""
    from pipeline.store.feedback import set_status

    company_id = _company(company)
    events = set_status(company_id, list(item_ids), status, by=by, note=note)
    for event in events:
        click.echo(f"{printable(event['item'])}: {event['status']} ({_short(event['by'])}, {event['at']})")
    if status == "resolved":
        click.echo("다음 `plan` 리비전이 이 항목들을 resolves_feedback으로 기록합니다")


# ---------------------------------------------------------------- diff

@click.command()
@click.argument("company")
@click.argument("a", type=int)
@click.argument("b", type=int)
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="빨간줄 문서 경로 (기본: out/<id>/diff-rAAA-rBBB.docx)")
@click.option("--document", type=click.Choice(["plan", "diagnosis", "matching"]), default="plan", show_default=True)
@click.option("--engine", type=click.Choice(["auto", "redlines", "docx"]), default="auto", show_default=True,
              help="auto: python-redlines, 안 되면 python-docx 간이 비교")
@click.option("--author", default=None, help="변경 추적 작성자 이름 (기본: $CARBON_AUTHOR 또는 사용자 이름)")
def diff(company: str, a: int, b: int, out_file: Path | None, document: str, engine: str, author: str | None) -> None:
    """두 리비전의 문서를 비교: 변경 추적(빨간줄) .docx와 바뀐 섹션·수치 요약."""
    from pipeline.locations import out_root
    from pipeline.publish.documents import DOCUMENT_FILES
    from pipeline.review.redline import load_context, make_redline, summarize
    from pipeline.store.outputs import check_output, write_output
    from pipeline.store.revisions import author_name, read_document, revision_path

    company_id = _company(company)
    if a == b:
        raise RevisionError("서로 다른 두 리비전을 주세요")
    folder_a, folder_b = revision_path(company_id, a), revision_path(company_id, b)
    name = DOCUMENT_FILES[document]
    target = out_file or out_root() / company_id / (f"diff-r{a:03d}-r{b:03d}.docx" if document == "plan"
                                                   else f"diff-{document}-r{a:03d}-r{b:03d}.docx")
    check_output(target)  # a protected target is refused before any work
    doc_a, doc_b = read_document(company_id, a, name), read_document(company_id, b, name)
    redline = make_redline(doc_a, doc_b, f"r{a:03d}→r{b:03d} ({author_name(author)})", engine=engine)
    target = write_output(target, redline.data)
    click.echo(f"{company_id}: r{a:03d} → r{b:03d} {name} 변경 추적 문서 → {printable(target)}")
    click.echo(f"  비교 엔진: {redline.engine}")
    if redline.fallback_reason:
        click.echo(f"  주의: {redline.fallback_reason}")
    summary = summarize(doc_a, doc_b, load_context(folder_a / "context.json"), load_context(folder_b / "context.json"))
    if summary.sections:
        click.echo("바뀐 섹션:")
        labels = {"added": "새 섹션", "removed": "삭제된 섹션", "changed": "변경"}
        for section in summary.sections:
            click.echo(f"  - {section['heading']}: {labels[section['status']]} "
                       f"(문단 추가 {section['added']}, 삭제 {section['removed']}, 수정 {section['changed']})")
    else:
        click.echo("바뀐 섹션: 없음")
    if summary.numbers:
        click.echo("바뀐 수치 (context.json):")
        for change in summary.numbers:
            old, new = _fmt(change["old"]), _fmt(change["new"])
            if old == new:  # a change below the printed precision
                old, new = repr(change["old"]), repr(change["new"])
            click.echo(f"  - {change['path']}: {old} → {new}")
    else:
        click.echo("바뀐 수치: 없음")


def _fmt(value) -> str:
    if value is None:
        return "(없음)"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.1f}"
    return str(value)


# ---------------------------------------------------------------- history, final

@click.command()
@click.argument("company")
def history(company: str) -> None:
    """리비전 목록: 시각, 작성자, 메모, 쪽수, open 피드백, 최종본 표시."""
    from pipeline.store.feedback import open_counts
    from pipeline.store.final import final_revision
    from pipeline.store.revisions import read_meta, revision_numbers

    company_id = _company(company)
    numbers = revision_numbers(company_id)
    if not numbers:
        click.echo(f"{company_id}: 리비전 없음 (python -m pipeline plan {company_id})")
        return
    try:
        final = final_revision(company_id)
    except StoreError as exc:
        click.echo(f"경고: {exc.format_message()}", err=True)
        final = None
    final_no = final["revision"] if final else None
    counts = open_counts(company_id)
    for number in numbers:
        try:
            meta = read_meta(company_id, number)
        except (OSError, ValueError):
            click.echo(f"r{number:03d}  (revision.json을 읽을 수 없음)")
            continue
        pages = meta.get("page_counts") if isinstance(meta.get("page_counts"), dict) else {}
        pages_text = ", ".join(f"{printable(k)} {printable(v)}쪽" for k, v in pages.items()) or "쪽수 미측정"
        mark = "★최종" if number == final_no else "     "
        resolves = meta.get("resolves_feedback") if isinstance(meta.get("resolves_feedback"), list) else []
        extra = f"  해결 {len(resolves)}건" if resolves else ""
        click.echo(f"r{number:03d} {mark}  {printable(meta.get('stored_at'))}  {_short(meta.get('author'))}  {pages_text}  "
                   f"open 피드백 {counts.get(number, 0)}{extra}  {_short(meta.get('note'), 120)}".rstrip())
    if final:
        click.echo(f"최종본: r{final_no:03d} ({printable(final.get('marked_at'))}, {_short(final.get('marked_by'))})")


@click.command()
@click.argument("company")
@click.argument("number", type=int)
@click.option("--force", is_flag=True, help="이미 최종본이 있어도 바꿈")
@click.option("--by", default=None, help="지정한 사람 (기본: $CARBON_AUTHOR 또는 사용자 이름)")
@click.option("--note", default=None, help="메모 (예: 2026-03-15 제출)")
def final(company: str, number: int, force: bool, by: str | None, note: str | None) -> None:
    """리비전 N을 최종본(제출본)으로 지정. 이후 plan은 --force가 있어야 실행됨."""
    from pipeline.store.final import mark_final

    company_id = _company(company)
    record = mark_final(company_id, number, force=force, by=by, note=note)
    click.echo(f"{company_id}: r{number:03d}을(를) 최종본으로 지정했습니다 ({record['marked_at']}, {_short(record['marked_by'])}). "
               "이후 plan에는 --force가 필요합니다")
