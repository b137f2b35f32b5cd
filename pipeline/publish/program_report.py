"""Stage ④ for the center: the program report (사업 결과보고서) for the city, out/program-report-<year>.docx.

One Korean document for the whole cohort of a year's call (issue 19 item 2):

1. applicants and the selection result, recomputed in memory by stage 0 (pipeline.selection.evaluate,
   called by the command and passed in; nothing written);
2. every company that has revisions in the store: headline figures from the stored context.json of
   its final revision when one is marked, else of its latest (publish.report.report_source), never
   from the current profile;
3. totals over those companies;
4. the schedule as carried out (consulting session dates stored with each revision, the date of the
   reported draft) against the seed's plan (선정 9월 초, 진단·컨설팅 9–10월, 보고서 11월 말);
5. follow-up status (final or draft, open feedback items);
6. one chart (Scope 1+2 per company).

Missing data is shown as `[확인 필요: …]`. A company whose stored revision cannot be read is listed
with the reason rather than stopping the report. The body is Markdown rendered with the diagnosis
template and the report's own title fields; the file is written with store.outputs.write_output.
"""
from __future__ import annotations

import datetime
import re
from pathlib import Path

from pipeline.errors import PipelineError
from pipeline.missing import marker
from pipeline.publish.markdown_parts import cell as _cell, date_text as _date_text, number as _n, table as _table
from pipeline.publish.markdown_parts import toc as _toc
from pipeline.publish.report import report_source
from pipeline.store.feedback import items as _feedback_items
from pipeline.stages.chart_specs import bar_spec
from pipeline.stages.draft import safe_text
from pipeline.stages.korean import pick

PROGRAM_REPORT_TITLE = "탄소중립 컨설팅 사업 결과보고서"
CHART_KEY = "program_emissions"
# The plan's schedule per call year (content/selection/schedule-<year>.yaml).
SCHEDULE = "selection/schedule-{year}.yaml"


def load_schedule(year) -> dict | None:
    """The plan's schedule of that call year, or None when content has none."""
    from pipeline.content import get_content

    content = get_content()
    if year is None or not (content.root / SCHEDULE.format(year=year)).is_file():
        return None
    return content.read(SCHEDULE.format(year=year))


def program_report_name(year: int) -> str:
    return f"program-report-{year}.docx"


def check_year(year) -> int | None:
    """The call year as an int (None = the newest scoring table); PipelineError (exit 2) otherwise."""
    if year is None:
        return None
    text = str(year).strip()
    if not re.fullmatch(r"\d{4}", text) or not 2000 <= int(text) <= 2100:
        raise PipelineError(f"--year는 네 자리 연도여야 합니다 (예: --year 2025). 받은 값: {safe_text(year)}")
    return int(text)


# ---------------------------------------------------------------- gathering

def store_companies() -> list[str]:
    """Company ids with at least one revision in the store, sorted."""
    from pipeline.locations import store_root
    from pipeline.store.revisions import revision_numbers

    root = store_root()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and revision_numbers(p.name))


def _session_dates(context: dict) -> list[datetime.date]:
    sessions = ((context.get("company") or {}).get("consulting") or {}).get("sessions") or []
    dates = []
    for s in sessions:
        if isinstance(s, dict) and s.get("date"):
            try:
                dates.append(datetime.date.fromisoformat(str(s["date"])[:10]))
            except ValueError:
                continue
    return sorted(dates)


def _stored_date(meta: dict) -> datetime.date | None:
    try:
        return datetime.datetime.fromisoformat(str(meta.get("stored_at"))).date()
    except (TypeError, ValueError):
        return None


def company_name(company_id: str) -> str:
    entry = company_entry(company_id)
    return entry.get("name") or company_id


def participants(selected: list[str], stored: list[str]) -> tuple[list[dict], list[str]]:
    """The cohort is the selected applicants (each with its stored figures, or why there are none);
    companies consulted outside the selection are named apart and left out of the totals. Without a
    selection (no applications) every stored company is reported."""
    if not selected:
        return [company_entry(c) for c in stored], []
    return [company_entry(c) for c in selected], [c for c in stored if c not in selected]


def _named(entries: list[dict], results: list) -> list[dict]:
    """A company without readable figures keeps the name it applied under."""
    names = {r.id: r.name for r in results}
    return [e if "error" not in e else dict(e, name=names.get(e["id"], e["id"])) for e in entries]


def company_entry(company_id: str) -> dict:
    """Headline figures of one company from its reported revision; {'id', 'error'} when unreadable."""
    try:
        source = report_source(company_id)
        feedback = _feedback_items(company_id)
    except PipelineError as exc:
        return {"id": company_id, "error": exc.message}
    context = source["context"]
    diagnosis = context["diagnosis"]
    emissions = diagnosis.get("emissions") or {}
    energy = diagnosis.get("energy") or {}
    products = [p for p in (diagnosis.get("cbam") or {}).get("products") or [] if isinstance(p, dict)]
    covered = []
    for p in products:
        if p.get("covered"):
            see = p.get("see") if isinstance(p.get("see"), dict) else {}
            covered.append({"name": p.get("name"), "direct_per_t": see.get("direct_per_t")})
    company = (context.get("company") or {}).get("company") or {}
    strategy = context.get("strategy") or {}
    return {
        "id": company_id,
        "name": company.get("name") or company_id,
        "number": source["number"],
        "final": source["final"],
        "stored": _stored_date(source["meta"]),
        "stored_at": source["meta"].get("stored_at"),
        "total_tco2e": emissions.get("total_tco2e"),
        "total_toe": energy.get("total_toe"),
        "covered": covered,
        "program": strategy.get("program_name"),
        "sessions": _session_dates(context),
        "open": sum(1 for i in feedback if i.get("status") == "open"),
        "feedback": len(feedback),
    }


# ---------------------------------------------------------------- the sections

def _num(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _d(day: datetime.date | None, missing: str) -> str:
    return f"{day.year}. {day.month}. {day.day}." if day else marker(safe_text(missing))


def fmt(value) -> str:
    """A score as the 평가표 shows it (whole numbers without decimals)."""
    return f"{value:.0f}" if value == value.to_integral_value() else f"{value:.2f}"


def _selection_part(table: dict, slots: int, results: list) -> str:
    out = ["# 1. 신청 기업과 선정 결과", ""]
    selected = [r for r in results if r.selected]
    out.append(f"- 평가표: {safe_text(table.get('title') or '')}")
    out.append(f"- 신청 {len(results)}개사, 선정 정원 {slots}개사, 선정 {len(selected)}개사")
    if results:
        applied = sorted(r.application.applied_at for r in results if getattr(r.application, "applied_at", None))
        if applied:
            first, last = applied[0].date(), applied[-1].date()
            out.append(f"- 신청서 접수: {_d(first, '접수일')} ~ {_d(last, '접수일')}")
        rows = [[str(r.rank) if r.rank else "제외", _cell(r.name), fmt(r.total),
                 "선정" if r.selected else ("자격 미달" if r.ineligible else "미선정")] for r in results]
        out += ["", _table(["순위", "기업", "총점", "선정"], rows)]
    else:
        out.append(f"- 신청 기업: {marker('신청서 (applications 폴더에 없음)')}")
    return "\n".join(out) + "\n"


def _companies_part(entries: list[dict]) -> str:
    out = ["# 2. 참여 기업별 주요 수치", ""]
    good = [e for e in entries if "error" not in e]
    if not good:
        out.append("- 저장된 리비전이 있는 기업이 아직 없습니다 (진단·컨설팅 결과 없음). "
                   "기업별 사업계획서 초안을 만들면 이 표가 채워집니다.")
        for e in entries:
            out.append(f"- {safe_text(e.get('name') or e['id'])}: {marker('진단·컨설팅 결과(저장된 리비전)')}")
        return "\n".join(out) + "\n"
    out.append("수치는 기업별 최종본(없으면 최신 초안) 리비전에 저장된 값입니다.")
    out.append("")
    rows = []
    for e in good:
        products = ", ".join(f"{safe_text(p['name'] or '제품')} ({_n(p['direct_per_t'], 3, 'SEE 산정 자료')} tCO2e/t)"
                             for p in e["covered"]) or "대상 제품 없음"
        rows.append([_cell(e["name"]), f"r{e['number']:03d}", _n(e["total_tco2e"], 1, "Scope 1+2 배출량"),
                     _n(e["total_toe"], 1, "에너지 사용량"), products, _cell(e["program"] or None)])
    if rows:
        out.append(_table(["기업", "리비전", "Scope 1+2 (tCO2e)", "에너지 (toe)", "CBAM 대상 제품 (직접 SEE)",
                           "목표 지원사업"], rows))
    for e in entries:
        if "error" in e:
            out += ["", f"- {safe_text(e.get('name') or e['id'])}: {marker('진단·컨설팅 결과(저장된 리비전)가 없거나 읽을 수 없음')}"]
    return "\n".join(out) + "\n"


def _totals_part(entries: list[dict]) -> str:
    good = [e for e in entries if "error" not in e]
    out = ["# 3. 참여 기업 합계", ""]
    if not good:
        return "\n".join(out + ["- 합계를 낼 기업이 없습니다"]) + "\n"

    def total(key: str) -> tuple[float, int]:
        values = [e[key] for e in good if _num(e[key])]
        return sum(values), len(good) - len(values)

    ghg, ghg_gap = total("total_tco2e")
    toe, toe_gap = total("total_toe")
    gap = lambda n: f" (수치가 없는 {n}개사 제외)" if n else ""  # noqa: E731
    cbam = sum(1 for e in good if e["covered"])
    products = sum(len(e["covered"]) for e in good)
    programs = sorted({e["program"] for e in good if e["program"]})
    out += [f"- 기업 수: {len(good)}개사 (최종본 {sum(1 for e in good if e['final'])}개사)",
            f"- Scope 1+2 배출량 합계: {ghg:,.1f} tCO2e{gap(ghg_gap)}",
            f"- 에너지 사용량 합계: {toe:,.1f} toe{gap(toe_gap)}",
            f"- CBAM 대상 제품이 있는 기업: {cbam}개사 (대상 제품 {products}개)",
            f"- 목표 지원사업: {safe_text(', '.join(programs)) if programs else marker('목표 지원사업')}"]
    return "\n".join(out) + "\n"


def _schedule_part(entries: list[dict], results: list, schedule: dict | None) -> str:
    good = [e for e in entries if "error" not in e]
    steps = {s["key"]: s for s in (schedule or {}).get("steps") or []}
    out = ["# 4. 추진 일정: 계획과 실제", "", "## 사업 계획", ""]
    if steps:
        out += [_table(["단계", "계획"], [[_cell(s["name"]), _cell(s["plan"])] for s in steps.values()]), ""]
    else:
        out += [f"- {marker('이 연도 사업 계획의 추진 일정')}", ""]
    out += ["## 기업별 실제 일정", ""]
    if not good:
        return "\n".join(out + ["- 진단·컨설팅을 수행한 기업이 아직 없습니다"]) + "\n"
    rows = []
    for e in good:
        sessions = e["sessions"]
        rows.append([_cell(e["name"]), str(len(sessions)) if sessions else "0",
                     _d(sessions[0] if sessions else None, "컨설팅 회차 일자"),
                     _d(sessions[-1] if sessions else None, "컨설팅 회차 일자"),
                     f"{_d(e['stored'], '저장 일시')} (r{e['number']:03d}, {'최종본' if e['final'] else '최신 초안'})"])
    out.append(_table(["기업", "회차", "첫 컨설팅", "마지막 컨설팅", "사업계획서 초안"], rows))
    sessions = [d for e in good for d in e["sessions"]]
    drafts = [e["stored"] for e in good if e["stored"]]
    out += ["", "## 계획 대비", ""]
    out.append(_against("진단·컨설팅", sessions, steps.get("consulting"), "컨설팅 회차 일자 (저장된 리비전에 기록 없음)"))
    out.append(_against("사업계획서·보고서 작성", drafts, steps.get("report"), "사업계획서 초안 저장 일시"))
    out.append(f"- 선정 일자: {marker('선정 심의 일자 (평가표 설정에 기록 없음)')}")
    return "\n".join(out) + "\n"


def _against(what: str, dates: list, step: dict | None, need: str) -> str:
    """Recorded dates against the plan's window for one step, by date (year included)."""
    if not dates:
        return f"- {what}: {marker(need)}"
    span = f"{_d(min(dates), '')} ~ {_d(max(dates), '')}"
    if not step:
        return f"- {what}: {span} — {marker('이 연도 사업 계획의 추진 일정')}"
    start, end = step.get("start"), step.get("end")
    early = [d for d in dates if start and d < start]
    late = [d for d in dates if end and d > end]
    if not early and not late:
        return f"- {what}: {span} — 계획({_cell(step['plan'])}) 안"
    parts = ([f"계획보다 이른 {len(early)}건"] if early else []) + ([f"계획보다 늦은 {len(late)}건"] if late else [])
    return f"- {what}: {span} — 계획({_cell(step['plan'])}) 밖: {', '.join(parts)}"


def _followup_part(entries: list[dict]) -> str:
    good = [e for e in entries if "error" not in e]
    out = ["# 5. 결과와 후속 관리 현황", ""]
    if not good:
        return "\n".join(out + ["- 후속 관리 대상 기업이 없습니다"]) + "\n"
    rows = [[_cell(e["name"]), f"r{e['number']:03d}", "최종본(제출본)" if e["final"] else "초안 (최종본 미지정)",
             f"{e['open']}건 (전체 {e['feedback']}건)", _date_text(e["stored_at"])] for e in good]
    out.append(_table(["기업", "리비전", "상태", "미처리 피드백", "저장 일시"], rows))
    waiting = [e for e in good if not e["final"] or e["open"]]
    if waiting:
        names = ", ".join(safe_text(e["name"]) for e in waiting)
        out += ["", f"- 마무리가 필요한 기업: {names} (최종본 지정 또는 피드백 처리)"]
    else:
        out += ["", "- 모든 참여 기업의 사업계획서가 최종본으로 지정되었고 미처리 피드백이 없습니다"]
    out += ["", _applications_part(good)]
    return "\n".join(out) + "\n"


RESULT_WORDS = {"selected": "선정", "not-selected": "미선정", "withdrawn": "철회"}


def _applications_part(entries: list[dict]) -> str:
    """Stage ⑤ as recorded: each company's applications and their results (the follow-up store)."""
    from pipeline.store import followup

    rows, selected, awarded = [], 0, 0.0
    for e in entries:
        for app in followup.state(e["id"])["applications"]:
            result = app.get("result") or {}
            word = RESULT_WORDS.get(result.get("result"), "결과 대기")
            amount = result.get("amount_krw_million")
            if result.get("result") == "selected":
                selected += 1
                awarded += amount or 0
            rows.append([_cell(e["name"]), _cell(app.get("program_name") or app["program"]), _d(datetime.date.fromisoformat(app["submitted"]), "제출일"),
                         word, _n(amount, 0) if amount is not None else "–"])
    title = "**지원사업 신청과 결과** (후속 관리 기록)"
    if not rows:
        return f"{title}\n\n- 기록된 신청이 없습니다"
    table = _table(["기업", "지원사업", "제출일", "결과", "지원금 (백만원)"], rows)
    return (f"{title}\n\n{table}\n\n- 신청 {len(rows)}건, 선정 {selected}건, 지원금 합계 {_n(awarded, 0)}백만원")


def chart_spec(entries: list[dict]) -> dict | None:
    good = [e for e in entries if "error" not in e and _num(e["total_tco2e"])]
    if not good:
        return None
    return bar_spec([e["name"] for e in good], [e["total_tco2e"] for e in good], "기업별 Scope 1+2 배출량", "tCO2e")


def program_markdown(table: dict, slots: int, results: list, entries: list[dict], chart: bool,
                     others: list[str] = (), schedule: dict | None = None) -> str:
    year = table.get("year")
    good = [e for e in entries if "error" not in e]
    center = "진주시 탄소중립지원센터"
    lead = (f"이 보고서는 {year}년 {center}{pick(center, '의')} 중소기업 탄소중립 컨설팅 사업 결과를 정리한 것입니다. "
            f"신청·선정 결과는 평가표로 다시 계산한 값이고, 기업별 수치는 각 기업의 저장된 리비전 값입니다.")
    parts = [lead, _selection_part(table, slots, results), _companies_part(entries)]
    if others:
        names = ", ".join(safe_text(company_name(c)) for c in others)
        parts.append(f"- 선정 외 컨설팅 기업 (이 보고서의 합계에서 제외): {names}")
    if chart:
        parts.append(f"![기업별 Scope 1+2 배출량 (tCO2e)](image:{CHART_KEY})")
    elif good:
        parts.append(f"- 배출량 그래프: {marker('기업별 Scope 1+2 배출량')}")
    parts += [_totals_part(entries), _schedule_part(entries, results, schedule), _followup_part(entries)]
    return "\n\n".join(p.rstrip() for p in parts) + "\n"


# ---------------------------------------------------------------- the document

def render_program_report(selection: tuple[dict, int, list], year: int | None = None) -> tuple[bytes, dict]:
    """The program report as .docx bytes and a summary {'year', 'companies', 'applicants', 'selected'}.

    `selection` is pipeline.selection.evaluate(table=year)'s (table, slots, results), computed by the
    command (publish/ and selection/ are sibling layers and do not import each other)."""
    from pipeline.render import template_path
    from pipeline.render.charts import chart_png
    from pipeline.render.docx import render_docx_bytes
    table, slots, results = selection
    entries, others = participants([r.id for r in results if r.selected], store_companies())
    entries = _named(entries, results)
    spec = chart_spec(entries)
    images = {CHART_KEY: chart_png(spec)} if spec else {}
    body = program_markdown(table, slots, results, entries, bool(images), others, load_schedule(table.get("year")))
    today = datetime.date.today()
    call_year = table.get("year") or year or today.year
    fields = {
        "company_name": "진주시 탄소중립지원센터",
        "doc_title": PROGRAM_REPORT_TITLE,
        "subtitle": f"{call_year}년 중소기업 탄소중립 역량 강화 컨설팅 — 참여 기업 {sum(1 for e in entries if 'error' not in e)}개사",
        "prepared_by": "진주시 탄소중립지원센터 · 컨설팅 수행기관",
        "date": f"{today.year}. {today.month}. {today.day}.",
        "toc": _toc(body),
    }
    data = render_docx_bytes(template_path("diagnosis"), fields, body, images)
    summary = {"year": call_year, "companies": [e["id"] for e in entries if "error" not in e],
               "unreadable": [e["id"] for e in entries if "error" in e],
               "applicants": len(results), "selected": sum(1 for r in results if r.selected)}
    return data, summary


def write_program_report(selection: tuple[dict, int, list], year: int | None = None) -> tuple[Path, dict]:
    """Render and write out/program-report-<year>.docx atomically; returns (path, summary)."""
    from pipeline.locations import out_root
    from pipeline.store.outputs import write_output

    data, summary = render_program_report(selection, year)
    path = write_output(out_root() / program_report_name(summary["year"]), data)
    return path, summary
