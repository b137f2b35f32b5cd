"""`status`: where every company stands (profile → diagnosed → matched → draft → feedback → final),
read from the revision store and out/, as a terminal table or a static HTML page."""
from __future__ import annotations

import html
from pathlib import Path

import click

from pipeline.commands.revisions import printable
from pipeline.errors import PipelineError


def company_status(company_id: str) -> dict:
    """Stage and counts of one company, read from the revision store and out/ (never computed)."""
    import json

    from pipeline.store.feedback import items
    from pipeline.store.final import final_revision
    from pipeline.locations import out_root
    from pipeline.store.revisions import read_meta, revision_numbers

    row = {"id": company_id, "name": None, "stage": "profile", "revision": None, "stored_at": None,
           "author": None, "open": 0, "final": None, "revisions": 0, "next": None}
    row["name"] = _company_name(company_id)
    try:
        numbers = revision_numbers(company_id)
    except OSError:
        numbers = []
        row["stage"] = "저장소 읽기 실패"
    row["revisions"] = len(numbers)
    if numbers:
        latest = numbers[-1]
        row["revision"] = latest
        try:
            meta = read_meta(company_id, latest)
            row["stored_at"], row["author"] = meta.get("stored_at"), meta.get("author")
        except (OSError, ValueError, PipelineError):
            pass
        row["stage"] = f"draft r{latest:03d}"
        try:
            row["open"] = sum(1 for i in items(company_id) if i["status"] == "open")
        except (OSError, ValueError, KeyError, PipelineError):
            row["open"] = 0
        if row["open"]:
            row["stage"] = f"feedback (open {row['open']})"
        try:
            final = final_revision(company_id)
        except PipelineError as exc:  # a damaged marker: said, not hidden, and not taken for "no final"
            click.echo(f"경고: {exc.format_message()}", err=True)
            row["stage"] = "final ? (표시 파일 손상)"
            return row
        if final:
            row["final"] = final["revision"]
            row["stage"] = f"final r{final['revision']:03d}"
        _followup(company_id, row)
        return row
    context = out_root() / company_id / "context.json"
    if context.is_file():
        try:
            data = json.loads(context.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        if not isinstance(data, dict):
            data = {}
        if data.get("matches") is not None:
            row["stage"] = "matched"
        elif data.get("diagnosis") is not None:
            row["stage"] = "diagnosed"
    return row


def _followup(company_id: str, row: dict) -> None:
    """Stage ⑤ (applied, selected, monitoring year N) and what is due next, from the follow-up store."""
    from pipeline.content import get_content
    from pipeline.publish.followup import followup_plan

    try:
        plan = followup_plan(company_id, get_content())
    except PipelineError as exc:
        click.echo(f"경고: {company_id} 사후관리 기록: {exc.format_message()}", err=True)
        return
    if plan["stage"]:
        row["stage"] = plan["stage"]
    row["next"] = plan["next"]


def _company_name(company_id: str) -> str | None:
    from pipeline.locations import companies_dir
    from pipeline.profile.yamlsafe import MAX_YAML_BYTES, load_yaml

    path = companies_dir() / f"{company_id}.yaml"
    try:
        if not path.is_file() or path.stat().st_size > MAX_YAML_BYTES:
            return None
        data = load_yaml(path.read_bytes()).data  # safe loader: no objects, no aliases
        name = ((data or {}).get("company") or {}).get("name")
        return str(name) if name else None
    except Exception:  # a broken profile must not break the status table
        return None


def all_status() -> list[dict]:
    from pipeline.profile import list_company_ids
    from pipeline.locations import store_root

    ids = list(list_company_ids())
    root = store_root()
    if root.is_dir():
        from pipeline.profile import COMPANY_ID

        for folder in sorted(root.iterdir()):
            if folder.is_dir() and COMPANY_ID.match(folder.name) and folder.name not in ids:
                ids.append(folder.name)
    return [company_status(company_id) for company_id in sorted(ids)]


STATUS_COLUMNS = [("id", "기업 id"), ("name", "회사명"), ("stage", "단계"), ("revisions", "리비전 수"),
                  ("stored_at", "최신 리비전 시각"), ("author", "작성자"), ("open", "open 피드백"), ("final", "최종본"),
                  ("next", "다음 할 일")]


def _cell(key: str, row: dict) -> str:
    value = row.get(key)
    if value is None:
        return "-"
    if key == "final":
        return f"r{value:03d}"
    if key == "stored_at":
        return printable(str(value)[:16].replace("T", " "))
    return printable(" ".join(str(value).split()))


@click.command()
@click.option("--html", "html_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="정적 HTML 현황 페이지를 이 경로에 씀")
def status(html_file: Path | None) -> None:
    """모든 기업의 단계: profile → diagnosed → matched → draft rN → feedback (open n) → final rN → applied → selected → monitoring N년차."""
    if html_file:
        from pipeline.store.outputs import check_output

        check_output(html_file)  # a protected target is refused before anything is printed
    rows = all_status()
    if not rows:
        click.echo("기업이 없습니다 (companies/*.yaml)")
        return
    table = [[header for _key, header in STATUS_COLUMNS]] + [[_cell(key, row) for key, _h in STATUS_COLUMNS] for row in rows]
    widths = [max(_width(line[i]) for line in table) for i in range(len(STATUS_COLUMNS))]
    for index, line in enumerate(table):
        click.echo("  ".join(cell + " " * (widths[i] - _width(cell)) for i, cell in enumerate(line)).rstrip())
        if index == 0:
            click.echo("  ".join("-" * w for w in widths))
    if html_file:
        from pipeline.store.outputs import write_output

        path = write_output(html_file, status_html(rows).encode("utf-8"))
        click.echo(f"HTML 현황 → {printable(path)}")


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def status_html(rows: list[dict]) -> str:
    import datetime

    e = html.escape
    stamp = datetime.datetime.now().astimezone().isoformat(timespec="minutes")
    head = "".join(f"<th>{e(h)}</th>" for _k, h in STATUS_COLUMNS)
    body = []
    for row in rows:
        stage_class = row["stage"].split(" ")[0]
        cells = []
        for key, _h in STATUS_COLUMNS:
            text = e(_cell(key, row))
            if key == "stage":
                cells.append(f'<td><span class="stage {e(stage_class)}">{text}</span></td>')
            elif key == "open" and row.get("open"):
                cells.append(f'<td class="num open">{text}</td>')
            else:
                cells.append(f'<td{" class=num" if key in ("open", "revisions") else ""}>{text}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["stage"].split(" ")[0]] = counts.get(row["stage"].split(" ")[0], 0) + 1
    legend = " · ".join(f"{e(k)} {v}" for k, v in counts.items())
    return f"""<!DOCTYPE html>
<html lang="ko"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>탄소중립 컨설팅 문서 현황</title>
<style>
body {{ font-family: "Malgun Gothic", "Apple SD Gothic Neo", "Noto Sans KR", sans-serif; margin: 2rem; color: #222; }}
h1 {{ font-size: 1.4rem; }} p.meta {{ color: #666; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border: 1px solid #ccc; padding: .4rem .6rem; text-align: left; vertical-align: top; }}
th {{ background: #f2f4f7; }} td.num {{ text-align: right; }} td.open {{ color: #b42318; font-weight: bold; }}
.stage {{ padding: .1rem .5rem; border-radius: .8rem; background: #eef; white-space: nowrap; }}
.stage.profile {{ background: #eee; }} .stage.diagnosed, .stage.matched {{ background: #e0f2fe; }}
.stage.draft {{ background: #fef3c7; }} .stage.feedback {{ background: #fee4e2; }} .stage.final {{ background: #d1fadf; }}
.stage.applied {{ background: #ede9fe; }} .stage.selected, .stage.monitoring {{ background: #bbf7d0; }}
.stage.not, .stage.withdrawn {{ background: #e5e7eb; }}
</style></head>
<body>
<h1>탄소중립 컨설팅 문서 현황</h1>
<p class="meta">생성: {e(stamp)} · 기업 {len(rows)}곳 · {legend}</p>
<p class="meta">단계: profile → diagnosed → matched → draft rN → feedback (open n) → final rN → applied → selected / not selected → monitoring N년차</p>
<table>
<thead><tr>{head}</tr></thead>
<tbody>
{chr(10).join(body)}
</tbody>
</table>
</body></html>
"""


__all__ = ["status", "company_status", "all_status", "status_html"]
