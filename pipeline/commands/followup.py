"""Stage ⑤ commands: record applications, results and yearly actuals; monitor; export the calendar.

    followup-apply ID --program P --call 2026-1 --submitted 2026-03-15 [--revision r003]
    followup-result ID --application A1 --result selected --amount-krw-million 120 --date 2026-05-20
    followup-actuals ID FILE --year 2026
    followup-list ID
    monitor ID [--year 2026]
    calendar [ID] [--out FILE]

Checks are in pipeline/publish/followup.py and pipeline/profile/actuals.py; the records are kept
by pipeline/store/followup.py (append-only). Every user-facing error is a PipelineError (exit 2).
"""
from __future__ import annotations

from pathlib import Path

import click

from pipeline.commands.revisions import _company, printable
from pipeline.errors import FollowupError

def _need(**given) -> None:
    """Korean messages for options left out (click's own are English)."""
    missing = [name for name, value in given.items() if value is None or str(value).strip() == ""]
    if missing:
        raise FollowupError(f"필요한 값이 빠졌습니다: {', '.join(missing)}. `--help`로 형식을 확인하세요; 아무것도 기록하지 않았습니다")


AUTHOR = click.option("--by", "by", default=None, help="기록자 (기본: CARBON_AUTHOR 또는 로그인 이름)")
NOTE = click.option("--note", default=None, help="메모 (500자 이하)")


@click.command("followup-apply")
@click.argument("company")
@click.option("--program", default=None, help="(필수) 지원사업 id (content/programs/의 파일 이름, 예: sme-carbon-facility-general)")
@click.option("--call", "call", default=None, help="(필수) 공고 (예: 2026-1 또는 '2026년 1차')")
@click.option("--submitted", default=None, help="(필수) 신청서 제출일 YYYY-MM-DD")
@click.option("--revision", default=None, help="제출한 사업계획서 리비전 (예: r003; 기본: 최종본, 없으면 최신)")
@click.option("--correct", default=None, help="이미 기록한 신청(예: A1)을 고쳐 새 판으로 기록")
@NOTE
@AUTHOR
def followup_apply(company, program, call, submitted, revision, correct, note, by) -> None:
    """지원사업 신청을 기록합니다 (사후관리 ⑤: 사업, 공고, 제출일, 제출한 리비전)."""
    from pipeline.content import get_content
    from pipeline.publish.followup import record_application

    _need(**{"--program": program, "--call": call, "--submitted": submitted})
    company_id = _company(company)
    record = record_application(company_id, get_content(), program, call, submitted, revision, note, correct, by)
    what = f"{record['id']} {record['version']}판(수정)" if record["version"] > 1 else record["id"]
    click.echo(f"{company_id}: 신청 {what} 기록 — {printable(record['program_name'])} ({printable(record['call'])}), "
               f"제출 {record['submitted']}, 사업계획서 r{record['revision']:03d}")


@click.command("followup-result")
@click.argument("company")
@click.option("--application", default=None, help="(필수) 신청 기록 id (예: A1; followup-list로 확인)")
@click.option("--result", default=None, help="(필수) selected(선정) · not-selected(미선정) · withdrawn(철회)")
@click.option("--date", "date", default=None, help="(필수) 결과 통보일 YYYY-MM-DD")
@click.option("--amount-krw-million", "--amount", "amount", default=None, help="지원 확정 금액, 백만원 (선정일 때만)")
@NOTE
@AUTHOR
def followup_result(company, application, result, date, amount, note, by) -> None:
    """신청의 선정 결과를 기록합니다. 나중에 다시 기록하면 새 기록이 앞의 것을 대체합니다 (이력은 보존)."""
    from pipeline.content import get_content
    from pipeline.publish.followup import RESULT_KO, record_result

    _need(**{"--application": application, "--result": result, "--date": date})
    company_id = _company(company)
    record, previous = record_result(company_id, get_content(), application, result, date, amount, note, by)
    amount_text = f", 지원액 {record['amount_krw_million']:,.0f}백만원" if record.get("amount_krw_million") is not None else ""
    replaced = f" (이전 결과 '{RESULT_KO[previous['result']]}' {previous['date']}을(를) 대체)" if previous else ""
    click.echo(f"{company_id}: {record['application']} 결과 {RESULT_KO[record['result']]} ({record['date']}){amount_text} 기록{replaced}")


@click.command("followup-actuals")
@click.argument("company")
@click.argument("file", required=False, type=click.Path(path_type=Path))
@click.option("--year", default=None, help="(필수) 실적 연도 (예: 2026)")
@NOTE
@AUTHOR
def followup_actuals(company, file, year, note, by) -> None:
    """한 해의 실적(월별 전력, 연료, 생산량: 프로필 energy와 같은 형식·단위)을 YAML 파일에서 기록합니다."""
    from pipeline.content import get_content
    from pipeline.publish.followup import record_actuals

    _need(**{"실적 파일(FILE)": file, "--year": year})
    company_id = _company(company)
    record, earlier, notices = record_actuals(company_id, get_content(), file, year, note, by)
    for notice in notices:
        click.echo(f"확인: {notice}", err=True)
    again = f" — {earlier}개의 이전 판을 대체 (이력 보존)" if earlier else ""
    click.echo(f"{company_id}: {record['year']}년 실적 {record['version']}판 기록 ({printable(record['source']['name'])}){again}. "
               f"비교: python -m pipeline monitor {company_id} --year {record['year']}")


@click.command("followup-list")
@click.argument("company")
def followup_list(company) -> None:
    """기록된 신청·결과·실적과 다음 할 일을 보여 줍니다."""
    from pipeline.content import get_content
    from pipeline.publish.followup import RESULT_KO, followup_plan

    company_id = _company(company)
    plan = followup_plan(company_id, get_content())
    state = plan["state"]
    click.echo(f"{company_id}: 단계 {plan['stage'] or '신청 전'}")
    for app in state["applications"]:
        result = app.get("result")
        text = f"{RESULT_KO[result['result']]} {result['date']}" if result else "결과 대기"
        if result and result.get("amount_krw_million") is not None:
            text += f", {result['amount_krw_million']:,.0f}백만원"
        click.echo(f"  {app['id']} (판 {app['version']}) {printable(app['program_name'])} · {printable(app['call'])} · "
                   f"제출 {app['submitted']} · r{app['revision']:03d} → {text}"
                   + (f" (결과 기록 {len(app['results'])}건)" if len(app["results"]) > 1 else ""))
    for year, record in state["actuals"].items():
        click.echo(f"  {year}년 실적: {record['version']}판, {printable(record['source'].get('name'))} "
                   f"({record['at'][:10]}, {printable(record['by'])})")
    if plan["next"]:
        click.echo(f"다음 할 일: {printable(plan['next'])}")


@click.command()
@click.argument("company")
@click.option("--year", default=None, help="실적 연도 (기본: 기록된 가장 최근 연도)")
def monitor(company, year) -> None:
    """성과 모니터링: 실적을 사업계획서 KPI(기준값·목표값)와 비교해 out/<id>/monitoring-<연도>.docx·.json을 씁니다."""
    from pipeline.content import get_content
    from pipeline.publish.monitor import STATUS_KO, write_monitoring

    company_id = _company(company)
    docx_path, json_path, m = write_monitoring(company_id, get_content(), year)
    click.echo(f"{company_id}: {m['year']}년 실적 vs 사업계획서 r{m['plan_revision']:03d} KPI")
    for k in m["kpis"]:
        def num(value):
            return f"{value:,.3f}" if isinstance(value, (int, float)) else "-"

        progress = f"{k['progress_pct']:,.0f}%" if k["progress_pct"] is not None else "-"
        click.echo(f"  {printable(k['name'])} ({printable(k['unit'])}): 기준 {num(k['baseline'])} → 목표 {num(k['target'])}, "
                   f"실적 {num(k['actual'])}, 달성률 {progress}, {STATUS_KO[k['status']]}")
    click.echo(f"성과 모니터링 → {printable(docx_path)}, {printable(json_path)}")


@click.command("calendar")
@click.argument("company", required=False)
@click.option("--out", "out_file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="저장할 .ics 경로 (기본: out/<id>/calendar.ics, 기업을 안 주면 out/calendar.ics)")
def calendar(company, out_file) -> None:
    """신청 일정과 사후관리 일정(결과 확인, 실적 제출, 모니터링)을 달력 파일(.ics)로 내보냅니다."""
    from pipeline.content import get_content
    from pipeline.exports.ics import calendar_bytes
    from pipeline.locations import out_root
    from pipeline.publish.followup import followup_plan
    from pipeline.publish.program_report import store_companies
    from pipeline.store.outputs import check_output, write_output

    ids = [_company(company)] if company else store_companies()
    target = out_file or (out_root() / ids[0] / "calendar.ics" if company else out_root() / "calendar.ics")
    check_output(target)  # a protected target is refused before anything is computed
    content = get_content()
    items = []
    for company_id in ids:
        items.extend(followup_plan(company_id, content)["items"])
    if not items:
        click.echo("내보낼 일정이 없습니다 (저장된 리비전의 공고 일정이나 사후관리 기록이 없음)")
    path = write_output(target, calendar_bytes(items))
    counts: dict[str, int] = {}
    for item in items:
        counts[item["kind"]] = counts.get(item["kind"], 0) + 1
    names = {"call": "공고", "result": "결과 확인", "actuals": "실적 제출", "monitoring": "모니터링"}
    summary = ", ".join(f"{names[k]} {v}건" for k, v in counts.items())
    click.echo(f"기업 {len(ids)}곳, 일정 {len(items)}건 ({summary or '없음'}) → {printable(path)}")
