"""Stage ⑤: recording applications, results and yearly actuals, and what is due next.

Every check of what a user typed happens here (or in profile/actuals.py for the actuals file)
before store/followup.py appends anything: a bad value is a FollowupError (exit 2, Korean,
names the option or file:line), and the store is left byte for byte as it was.

The plan a follow-up belongs to is the stored revision the final report uses (publish/report.py
`report_source`: the final one, else the latest), never the current profile. The follow-up dates
(result check, actuals due, monitoring) follow content/followup.yaml; the next calls come from that
revision's stored calendar.
"""
from __future__ import annotations

import datetime
import hashlib
import re
from pathlib import Path

from pipeline.content import Content
from pipeline.errors import FollowupError, PipelineError
from pipeline.stages.draft import safe_text

RESULT_WORDS = {"selected": "selected", "선정": "selected",
                "not-selected": "not-selected", "not_selected": "not-selected", "notselected": "not-selected",
                "미선정": "not-selected", "탈락": "not-selected",
                "rejected": "not-selected", "accepted": "selected",
                "withdrawn": "withdrawn", "철회": "withdrawn", "포기": "withdrawn", "cancelled": "withdrawn"}
RESULT_KO = {"selected": "선정", "not-selected": "미선정", "withdrawn": "신청 철회"}
NOTHING = "; 아무것도 기록하지 않았습니다"
PLAUSIBLE_RATIO = 5.0  # a year's energy more than 5× or under 1/5 of the base year's is worth a second look
MAX_AMOUNT_KRW_MILLION = 1_000_000  # 1조 원: without a program cap, a larger award is a typing error
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# ---------------------------------------------------------------- checking what was typed

def parse_date(text, option: str, today: datetime.date | None = None) -> datetime.date:
    """An ISO date (YYYY-MM-DD) between 2000 and today; FollowupError naming the option otherwise."""
    today = today or datetime.date.today()
    value = str(text or "").strip()
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError
        day = datetime.date.fromisoformat(value)
    except ValueError:
        raise FollowupError(f"{option}은(는) YYYY-MM-DD 형식의 날짜여야 합니다 (예: {option} 2026-03-15). "
                            f"받은 값: {safe_text(value) or '(비어 있음)'}{NOTHING}") from None
    if day.year < 2000:
        raise FollowupError(f"{option} {value}: 2000년 이후 날짜여야 합니다{NOTHING}")
    if day > today:
        raise FollowupError(f"{option} {value}: 아직 오지 않은 날짜입니다 (오늘 {today.isoformat()}). "
                            f"이미 일어난 일만 기록합니다{NOTHING}")
    return day


def parse_text(text, option: str, limit: int, required: bool = True) -> str:
    value = " ".join(str(text or "").split())
    if required and not value:
        raise FollowupError(f"{option}이(가) 비어 있습니다{NOTHING}")
    if len(value) > limit or _CONTROL.search(value):
        raise FollowupError(f"{option}은(는) 제어 문자 없이 {limit}자 이하여야 합니다 (지금 {len(value)}자){NOTHING}")
    return value


def parse_revision(company_id: str, text) -> int:
    """'r003', 'R3' or '3' → 3, a complete stored revision; default: the final one, else the latest."""
    from pipeline.store.final import final_revision
    from pipeline.store.revisions import check_revision, revision_numbers

    numbers = revision_numbers(company_id)
    if not numbers:
        raise FollowupError(f"{company_id}: 저장된 리비전(사업계획서)이 없습니다. 먼저 `python -m pipeline plan {company_id}`"
                            f"{NOTHING}")
    if text is None or str(text).strip() == "":
        mark = final_revision(company_id)
        return mark["revision"] if mark else numbers[-1]
    match = re.fullmatch(r"[rR]?0*([1-9][0-9]{0,5})", str(text).strip())
    if not match:
        raise FollowupError(f"--revision은 리비전 번호여야 합니다 (예: --revision r003). 받은 값: {safe_text(text)}{NOTHING}")
    number = int(match.group(1))
    if number not in numbers:
        known = ", ".join(f"r{n:03d}" for n in numbers)
        raise FollowupError(f"{company_id}의 리비전 r{number:03d}이(가) 없습니다 (있는 리비전: {known}){NOTHING}")
    try:
        check_revision(company_id, number)
    except PipelineError as exc:
        raise FollowupError(f"{exc.message}{NOTHING}") from None
    return number


def parse_program(program, content: Content) -> dict:
    value = str(program or "").strip()
    record = content.programs.get(value)
    if record is None:
        close = sorted(p for p in content.programs if value and (value in p or p in value))[:5]
        hint = f" 비슷한 id: {', '.join(close)}." if close else ""
        raise FollowupError(f"--program '{safe_text(value)}'은(는) content/programs/에 없는 지원사업 id입니다.{hint} "
                            f"`python -m pipeline context ID`의 matches[].program_id를 참고하세요{NOTHING}")
    return record


def parse_result(text) -> str:
    value = str(text or "").strip().lower()
    if value not in RESULT_WORDS:
        raise FollowupError(f"--result는 selected(선정), not-selected(미선정), withdrawn(철회) 중 하나여야 합니다. "
                            f"받은 값: {safe_text(text) or '(비어 있음)'}{NOTHING}")
    return RESULT_WORDS[value]


def parse_amount(text, result: str, program: dict | None) -> float | None:
    """The awarded amount in 백만원: ≥ 0, within the program's published cap; only for a selection."""
    if text is None or str(text).strip() == "":
        return None
    value = str(text).strip().replace(",", "")
    try:
        amount = float(value)
        if amount != amount or amount in (float("inf"), float("-inf")):
            raise ValueError
    except ValueError:
        raise FollowupError(f"--amount-krw-million은 백만원 단위 숫자여야 합니다 (예: 120 = 1억 2천만 원). "
                            f"받은 값: {safe_text(text)}{NOTHING}") from None
    if amount < 0:
        raise FollowupError(f"--amount-krw-million은 0 이상이어야 합니다 (받은 값: {value}){NOTHING}")
    if result != "selected" and amount > 0:
        raise FollowupError(f"지원 금액은 선정된 경우에만 적습니다 (결과: {RESULT_KO[result]}, 금액: {value}){NOTHING}")
    cap = ((program or {}).get("support") or {}).get("max_krw_million")
    if isinstance(cap, (int, float)) and not isinstance(cap, bool) and cap > 0 and amount > cap:
        raise FollowupError(f"지원 금액 {amount:,.0f}백만원이 이 사업의 지원한도 {cap:,.0f}백만원(content/programs/"
                            f"{(program or {}).get('id')}.yaml)을 넘습니다. 단위(백만원)를 확인해 주세요{NOTHING}")
    if amount > MAX_AMOUNT_KRW_MILLION:
        raise FollowupError(f"지원 금액 {amount:,.0f}백만원은 너무 큽니다. 단위가 백만원인지 확인해 주세요{NOTHING}")
    return amount


def parse_year(text, base_year: int | None, today: datetime.date | None = None) -> int:
    today = today or datetime.date.today()
    value = str(text or "").strip()
    if not re.fullmatch(r"\d{4}", value):
        raise FollowupError(f"--year는 네 자리 연도여야 합니다 (예: --year 2026). 받은 값: {safe_text(value) or '(비어 있음)'}{NOTHING}")
    year = int(value)
    if year > today.year:
        raise FollowupError(f"--year {year}: 아직 끝나지 않은 해입니다 (올해 {today.year}){NOTHING}")
    if isinstance(base_year, int) and year <= base_year:
        raise FollowupError(f"--year {year}: 사업계획서의 기준연도({base_year}) 이후의 실적이어야 합니다 "
                            f"(기준연도 값은 계획에 이미 있습니다){NOTHING}")
    return year


# ---------------------------------------------------------------- recording

def plan_source(company_id: str) -> dict:
    """The stored revision the follow-up is measured against (publish.report.report_source)."""
    from pipeline.publish.report import report_source

    return report_source(company_id)


def record_application(company_id: str, content: Content, program: str, call: str, submitted: str,
                       revision=None, note: str | None = None, correct: str | None = None, by: str | None = None) -> dict:
    from pipeline.store import followup

    record = parse_program(program, content)
    fields = {
        "program": record["id"],
        "program_name": record.get("name") or record["id"],
        "call": parse_text(call, "--call", 60),
        "submitted": parse_date(submitted, "--submitted").isoformat(),
        "revision": parse_revision(company_id, revision),
        "note": parse_text(note, "--note", 500, required=False),
    }
    if correct is not None:
        correct = parse_text(correct, "--correct", 8).upper()
    return followup.record_application(company_id, fields, correct=correct, by=by)


def record_result(company_id: str, content: Content, application: str, result: str, date: str,
                  amount=None, note: str | None = None, by: str | None = None) -> tuple[dict, dict | None]:
    from pipeline.store import followup

    app_id = parse_text(application, "--application", 8).upper()
    outcome = parse_result(result)
    day = parse_date(date, "--date")
    fields = {"result": outcome, "date": day.isoformat(), "note": parse_text(note, "--note", 500, required=False)}

    def check(app: dict) -> None:  # under the store lock, against the application as recorded
        if day.isoformat() < app["submitted"]:
            raise FollowupError(f"--date {day.isoformat()}: 신청서 제출일({app['submitted']})보다 앞섭니다{NOTHING}")
        fields["amount_krw_million"] = parse_amount(amount, outcome, content.programs.get(app["program"]))

    return followup.record_result(company_id, app_id, fields, by=by, check=check)


def record_actuals(company_id: str, content: Content, path: Path, year, note: str | None = None,
                   by: str | None = None) -> tuple[dict, int]:
    from pipeline.profile.actuals import read_actuals
    from pipeline.store import followup

    source = plan_source(company_id)
    plan_profile = source["context"].get("company") or {}
    number = parse_year(year, plan_profile.get("base_year"))
    data, raw = read_actuals(Path(path), number, plan_profile, content)
    origin = {"name": Path(path).name, "sha256": hashlib.sha256(raw).hexdigest(), "plan_revision": source["number"]}
    record, earlier = followup.record_actuals(company_id, number, data, origin, by=by,
                                              note=parse_text(note, "--note", 500, required=False))
    return record, earlier, plausibility(plan_profile, data, content)


def plausibility(plan_profile: dict, data: dict, content: Content) -> list[str]:
    """Notices (not errors: a year can really differ) where the year's electricity or a fuel is far from
    the base year's, as a unit slip (MWh typed as kWh, m³ as L) would make it."""
    notices = []

    def far(now: float, before: float) -> bool:
        return before > 0 and (now > before * PLAUSIBLE_RATIO or now < before / PLAUSIBLE_RATIO)

    base = plan_profile.get("energy") or {}
    before = sum((base.get("electricity") or {}).get("monthly_kwh") or [])
    now = sum(data["energy"]["electricity"]["monthly_kwh"])
    if far(now, before):
        notices.append(f"전력 사용량 {now:,.0f} kWh가 기준연도 {before:,.0f} kWh의 {now / before:,.2f}배입니다. 단위(kWh)를 확인해 주세요")
    base_fuels = {}
    for fuel in base.get("fuels") or []:
        if isinstance(fuel, dict):
            base_fuels[(fuel.get("fuel"), fuel.get("unit"))] = base_fuels.get((fuel.get("fuel"), fuel.get("unit")), 0) + (fuel.get("amount") or 0)
    for fuel in data["energy"].get("fuels") or []:
        before = base_fuels.get((fuel["fuel"], fuel["unit"]))
        if before and far(fuel["amount"], before):
            name = (content.fuels.get(fuel["fuel"]) or {}).get("name_ko") or fuel["fuel"]
            notices.append(f"{name} {fuel['amount']:,.0f} {fuel['unit']}가 기준연도 {before:,.0f} {fuel['unit']}의 "
                           f"{fuel['amount'] / before:,.2f}배입니다. 단위를 확인해 주세요")
    return notices


# ---------------------------------------------------------------- what is due

def _settings(content: Content) -> dict:
    return content.read("followup.yaml")


def _day(year: int, month: int, day: int) -> datetime.date:
    import calendar

    return datetime.date(year, month, min(day, calendar.monthrange(year, month)[1]))


def actuals_due(year: int, settings: dict) -> datetime.date:
    due = settings.get("actuals_due") or {}
    return _day(year + 1, int(due.get("month", 1)), int(due.get("day", 31)))


def monitoring_window(context: dict, state: dict) -> tuple[int, int] | None:
    """(first, last) year of monitoring: from the year the company was selected (else the first
    year with actuals) to the last KPI target year of the plan; None before either."""
    selected = [a["result"]["date"] for a in state["applications"]
                if (a.get("result") or {}).get("result") == "selected"]
    years = list(state["actuals"])
    if selected:
        first = int(min(selected)[:4])
    elif years:
        first = min(years)
    else:
        return None
    targets = [k["target_year"] for k in (context.get("strategy") or {}).get("kpis") or []
               if isinstance(k, dict) and isinstance(k.get("target_year"), int)]
    last = max(targets + [first] + years)
    return first, last


def call_date(entry: dict, content: Content) -> tuple[datetime.date, datetime.date | None] | None:
    """(first day, last day or None) of a stored calendar entry: the notice's own dates when the entry is
    the notice (not estimated), else the first of the month; None when the call has no date."""
    year, month = entry.get("year"), entry.get("month")
    if not isinstance(year, int) or not isinstance(month, int) or not 1 <= month <= 12:
        return None
    window = (content.programs.get(entry.get("program_id")) or {}).get("window") or {}
    if not entry.get("estimated"):
        try:
            opened = datetime.date.fromisoformat(str(window.get("open")))
            if (opened.year, opened.month) == (year, month):
                closed = window.get("close")
                closed = datetime.date.fromisoformat(str(closed)) if closed else None
                return opened, closed if closed and closed >= opened else None
        except ValueError:
            pass
    return datetime.date(year, month, 1), None


def followup_plan(company_id: str, content: Content, today: datetime.date | None = None,
                  source: dict | None = None) -> dict:
    """Stage, dated follow-up items and the next thing to do for one company.

    {'stage': 'applied' | 'selected' | 'not selected' | 'withdrawn' | 'monitoring N년차 (YYYY년)' | None,
     'items': [{'date', 'kind', 'uid', 'summary', 'description', 'done'}], 'next': text, 'state': store state}"""
    from pipeline.store import followup

    today = today or datetime.date.today()
    settings = _settings(content)
    state = followup.state(company_id)
    if source is None:
        try:
            source = plan_source(company_id)
        except PipelineError:
            source = None
    context = (source or {}).get("context") or {}
    name = ((context.get("company") or {}).get("company") or {}).get("name") or company_id
    items: list[dict] = []

    def item(date, kind, key, summary, description="", end=None, done=False, ref=None):
        items.append({"date": date, "end": end, "kind": kind, "uid": f"{company_id}-{key}", "company": company_id, "ref": ref,
                      "summary": f"{summary} — {name}", "description": description, "done": done})

    chosen = (context.get("strategy") or {}).get("program_id")
    applied = {(a["program"]) for a in state["applications"]}
    for entry in context.get("calendar") or []:
        if not isinstance(entry, dict):
            continue
        dates = call_date(entry, content)
        if dates is None:
            continue
        mark = " (선택 사업)" if entry.get("program_id") == chosen else ""
        estimated = " (예상)" if entry.get("estimated") else ""
        item(dates[0], "call", f"call-{entry.get('program_id')}-{entry['year']}-{entry['month']:02d}",
             f"[공고{estimated}] {entry.get('name')}{mark}", str(entry.get("text") or ""), end=dates[1],
             done=entry.get("program_id") in applied and dates[0] <= today)
    days = int(settings.get("result_check_days") or 60)
    for app in state["applications"]:
        submitted = datetime.date.fromisoformat(app["submitted"])
        result = app.get("result")
        item(submitted + datetime.timedelta(days=days), "result", f"{app['id']}-result",
             f"[선정 결과 확인] {app.get('program_name') or app['program']} ({app['id']})",
             f"{app['submitted']} 제출, 공고 {app.get('call')}; 결과를 followup-result로 기록",
             done=result is not None, ref=app["id"])
    window = monitoring_window(context, state)
    if window:
        first, last = window
        after = int(settings.get("monitoring_days_after_actuals_due") or 28)
        for year in range(first, last + 1):
            due = actuals_due(year, settings)
            have = year in state["actuals"]
            item(due, "actuals", f"actuals-{year}", f"[실적 제출 기한] {year}년 월별 전력·연료·생산량",
                 f"{year}년 실적을 followup-actuals로 기록", done=have, ref=year)
            item(due + datetime.timedelta(days=after), "monitoring", f"monitoring-{year}",
                 f"[성과 모니터링] {year}년 KPI 비교 문서", f"python -m pipeline monitor {company_id} --year {year}")
    items.sort(key=lambda i: (i["date"], i["kind"]))
    return {"stage": _stage(state), "items": items, "next": _next(company_id, state, items, today), "state": state, "name": name}


def _stage(state: dict) -> str | None:
    if state["actuals"]:
        return f"monitoring {len(state['actuals'])}년차 ({max(state['actuals'])}년)"
    results = [(a.get("result") or {}).get("result") for a in state["applications"]]
    if not results:
        return None
    if "selected" in results:
        return "selected"
    if None in results:
        return "applied"
    return "not selected" if "not-selected" in results else "withdrawn"


def _next(company_id: str, state: dict, items: list[dict], today: datetime.date) -> str | None:
    open_items = [i for i in items if not i["done"] and i["kind"] != "monitoring"]
    pending = [i for i in open_items if i["kind"] == "result"]
    if pending:
        first = pending[0]
        late = " (지남)" if first["date"] < today else ""
        return f"선정 결과 기록 {first['ref']}: {first['date'].isoformat()}까지 확인{late}"
    due = [i for i in open_items if i["kind"] == "actuals"]
    if due:
        first = due[0]
        late = " (지남)" if first["date"] < today else ""
        return f"{first['ref']}년 실적 제출: {first['date'].isoformat()}까지{late}"
    calls = [i for i in open_items if i["kind"] == "call" and i["date"] >= today]
    if calls and (not state["applications"] or all((a.get("result") or {}).get("result") in ("not-selected", "withdrawn")
                                                   for a in state["applications"])):
        first = next((i for i in calls if "(선택 사업)" in i["summary"]), calls[0])
        return f"다음 공고: {first['summary'].split(' — ')[0]} {first['date'].isoformat()}"
    if state["actuals"]:
        return f"성과 모니터링: python -m pipeline monitor {company_id} --year {max(state['actuals'])}"
    return None
