"""Stage ④: the per-company final report (기업별 최종보고서), out/<id>/report.docx.

Every figure comes from one stored revision: the final one when it is marked (store/final.py),
else the latest. The report reads that revision's revision.json and the context.json stored with
it (the context as the documents used it), never the current profile, so it stays true when the
profile changes later. The feedback store adds what the company asked and how it was handled.

The body is Markdown built here (profile text through stages.draft.safe_text, particles through
stages.korean.pick) and rendered with the diagnosis template (templates/docx/diagnosis.docx) and
the report's own title fields. The file is written with store.outputs.write_output (atomic, under
out/<id>/'s lock); `plan` carries report.docx over when it replaces out/<id>/.
"""
from __future__ import annotations

import datetime
import json
from pathlib import Path

from pipeline.errors import RevisionError
from pipeline.missing import marker
from pipeline.publish.markdown_parts import cell as _cell, date_text as _date_text, number as _n, table as _table
from pipeline.publish.markdown_parts import text as _t, toc as _toc
from pipeline.stages.draft import PAGEBREAK, safe_text
from pipeline.stages.korean import pick

REPORT_FILE = "report.docx"
REPORT_TITLE = "기업별 최종보고서"
NEEDS_KO = {"cbam": "CBAM 대응", "re100": "RE100·재생에너지", "energy_efficiency": "에너지효율", "facility_investment": "설비투자",
            "esg": "ESG", "rd": "연구개발", "supply_chain": "공급망 대응", "financing": "자금 조달"}
STATUS_KO = {"open": "미처리(open)", "resolved": "반영(resolved)", "wont-fix": "미반영(wont-fix)"}
KIND_KO = {"comment": "메모", "insertion": "삽입", "deletion": "삭제"}


# ---------------------------------------------------------------- reading the stored revision

def report_source(company_id: str) -> dict:
    """The revision the report describes: {'number', 'final', 'final_mark', 'meta', 'context'}.

    The final revision when one is marked, else the latest; RevisionError (Korean, exit 2) when the
    company has no revision or the revision's files cannot be read."""
    from pipeline.store.final import final_revision
    from pipeline.store.revisions import read_meta, revision_numbers, revision_path

    numbers = revision_numbers(company_id)
    if not numbers:
        raise RevisionError(f"{company_id}: 저장된 리비전이 없습니다. 먼저 `python -m pipeline plan {company_id}`로 "
                            "사업계획서 초안을 만드세요 (최종보고서는 저장된 리비전의 수치만 씁니다)")
    mark = final_revision(company_id)  # StoreError for a damaged marker: reported, never guessed
    number = mark["revision"] if mark else numbers[-1]
    folder = revision_path(company_id, number)
    try:
        meta = read_meta(company_id, number)
    except (OSError, ValueError):
        raise RevisionError(f"{company_id} r{number:03d}의 revision.json({folder})이 없거나 손상되었습니다") from None
    try:
        context = json.loads((folder / "context.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        context = None
    if not isinstance(context, dict) or not isinstance(context.get("diagnosis"), dict):
        raise RevisionError(f"{company_id} r{number:03d}의 context.json({folder / 'context.json'})이 없거나 손상되었습니다; "
                            "저장된 수치를 읽을 수 없어 보고서를 만들지 않았습니다")
    history = []
    for n in numbers:  # the drafts up to the reported one, from their stored revision.json
        if n > number:
            break
        try:
            entry = meta if n == number else read_meta(company_id, n)
        except (OSError, ValueError, RevisionError):
            continue
        history.append({"revision": n, "stored_at": entry.get("stored_at"), "author": entry.get("author"),
                        "note": entry.get("note")})
    return {"number": number, "final": bool(mark), "final_mark": mark, "meta": meta, "context": context,
            "history": history}


def _feedback_items(company_id: str) -> list[dict]:
    from pipeline.store.feedback import items

    return items(company_id)


# ---------------------------------------------------------------- formatting helpers

def _low(value):
    """The low end of a {low, high} range, or a plain number; None otherwise."""
    if isinstance(value, dict):
        value = value.get("low")
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


# ---------------------------------------------------------------- the sections

def _consulting(context: dict) -> str:
    consulting = (context.get("company") or {}).get("consulting") or {}
    out = ["# 1. 컨설팅 수행 기록", ""]
    sessions = consulting.get("sessions") or []
    if sessions:
        rows = [[_cell(s.get("name") or f"{n}차"), _cell(s.get("date")), _cell(s.get("topic") or s.get("topics"))]
                for n, s in enumerate(sessions, 1) if isinstance(s, dict)]
        out += [_table(["회차", "일자", "주제"], rows), ""]
    else:
        out += [f"- 회차별 일자: {marker('컨설팅 회차별 일자·주제 (프로필에 기록 없음)')}", ""]
    needs = [NEEDS_KO.get(n, n) for n in consulting.get("needs") or []]
    out += ["## 기업이 밝힌 수요와 현황", ""]
    out.append(f"- 지원 필요 분야: {_t(', '.join(needs) if needs else None, '지원 필요 분야')}")
    for key, label in (("reason", "참여 동기"), ("problem", "현재 문제"), ("commitment", "경영진 의지"),
                       ("market", "시장·고객 요구"), ("differentiation", "기업의 강점"), ("prior_results", "이전 성과")):
        if consulting.get(key):
            out.append(f"- {label}: {safe_text(consulting[key])}")
    for item in consulting.get("constraints") or []:
        out.append(f"- 제약 조건: {safe_text(item)}")
    if consulting.get("prior_programs"):
        out.append(f"- 이전 참여 사업: {safe_text(', '.join(map(str, consulting['prior_programs'])))}")
    return "\n".join(out) + "\n"


def _measures(context: dict) -> list[dict]:
    diagnosis = context["diagnosis"]
    selected = list(diagnosis.get("selected_measures") or [])
    by_id = {m.get("id"): m for m in diagnosis.get("measures") or [] if isinstance(m, dict)}
    return [by_id.get(i) or {"id": i, "name": i} for i in selected]


def _diagnosis(context: dict) -> str:
    diagnosis = context["diagnosis"]
    emissions = diagnosis.get("emissions") or {}
    energy = diagnosis.get("energy") or {}
    base_year = (context.get("company") or {}).get("base_year")
    out = ["# 2. 진단 결과 요약", "",
           f"- 기준연도: {_t(base_year, '기준연도')}년",
           f"- Scope 1 (직접 배출): {_n(emissions.get('scope1_tco2e'))} tCO2e",
           f"- Scope 2 (간접 배출, 지역 기준): {_n(emissions.get('scope2_location_tco2e'))} tCO2e",
           f"- Scope 1+2 합계: {_n(emissions.get('total_tco2e'))} tCO2e",
           f"- 에너지 사용량: {_n(energy.get('total_toe'))} toe (전력 {_n(energy.get('electricity_mwh'))} MWh)", ""]
    products = (diagnosis.get("cbam") or {}).get("products") or []
    out += ["## CBAM 대상 제품과 내재배출량(SEE)", ""]
    if products:
        rows = []
        for p in products:
            see = p.get("see") if isinstance(p.get("see"), dict) else None
            direct = _n(see.get("direct_per_t"), 3, "SEE 산정 자료") if see else "–"
            rows.append([_cell(p.get("name")), _cell(p.get("cn_display") or p.get("hs_code")),
                         "대상" if p.get("covered") else "비대상", _n(p.get("output_t"), 0, "생산량"), direct])
        out += [_table(["제품", "CN 코드", "CBAM", "생산량(t)", "직접 SEE(tCO2e/t)"], rows), ""]
    else:
        out += ["- 등록된 제품이 없습니다", ""]
    out += ["## 선정한 개선 조치", ""]
    measures = _measures(context)
    if measures:
        rows, total, unknown = [], 0.0, 0
        for m in measures:
            low = _low(m.get("saving_tco2e"))
            if low is None:
                unknown += 1
            else:
                total += low
            inv = m.get("investment_krw_million")
            inv_text = (f"{_n(_low(inv), 0)}–{_n(inv.get('high'), 0)}" if isinstance(inv, dict) and inv.get("high") is not None
                        else _n(_low(inv), 0, "투자비 견적")) + (" (개략 추정)" if m.get("investment_estimate") else "")
            rows.append([_cell(m.get("name")), _n(low, 1, "감축량 산정 자료"), inv_text])
        out += [_table(["조치", "감축량 하한(tCO2e/년)", "투자비(백만원)"], rows), ""]
        note = f" (감축량을 산정하지 못한 조치 {unknown}건 제외)" if unknown else ""
        out.append(f"- 선정 조치 감축량 하한 합계: {total:,.1f} tCO2e/년{note}")
    else:
        out.append("- 선정한 개선 조치가 없습니다")
    return "\n".join(out) + "\n"


def _matching(context: dict) -> str:
    strategy = context.get("strategy") or {}
    out = ["# 3. 지원사업 매칭 결과", "",
           f"- 선택한 사업: {_t(strategy.get('program_name'), '선택한 사업')} ({_t(strategy.get('program_type'), '사업 유형')})",
           f"- 주관 기관: {_t(strategy.get('program_agency'), '주관 기관')}"]
    if strategy.get("chosen_because"):
        out.append(f"- 선택 이유: {safe_text(strategy['chosen_because'])}")
    matches = [m for m in context.get("matches") or [] if isinstance(m, dict)]
    if matches:
        rows = [[str(n), _cell(m.get("name")), _cell(m.get("type")), "적격" if m.get("eligible") else "부적격",
                 _n(m.get("score"), 0, "점수")] for n, m in enumerate(matches[:8], 1)]
        out += ["", "## 매칭 순위 (상위)", "", _table(["순위", "사업", "유형", "자격", "적합도"], rows)]
    return "\n".join(out) + "\n"


def _strategy(context: dict) -> str:
    strategy = context.get("strategy") or {}
    out = ["# 4. 추진 전략과 성과지표(KPI)", ""]
    for goal in strategy.get("goals") or []:
        if isinstance(goal, dict) and goal.get("goal"):
            out.append(f"- 목표: {safe_text(goal['goal'])}")
    kpis = [k for k in strategy.get("kpis") or [] if isinstance(k, dict)]
    if kpis:
        def digits(k):  # intensities (0.8 tCO2eq/t) need more places than totals
            values = [v for v in (k.get("baseline"), k.get("target")) if isinstance(v, (int, float))]
            return 3 if values and max(abs(v) for v in values) < 10 else 1

        rows = [[_cell(k.get("name")), _cell(k.get("unit")), _n(k.get("baseline"), digits(k)),
                 _n(k.get("target"), digits(k), k.get("target_need") or "목표값"), _cell(k.get("target_year"))] for k in kpis]
        out += ["", _table(["지표", "단위", "기준값", "목표값", "목표연도"], rows)]
    else:
        out.append(f"- 성과지표: {marker('성과지표')}")
    return "\n".join(out) + "\n"


def _draft_state(source: dict, feedback: list[dict]) -> str:
    meta, number = source["meta"], source["number"]
    open_count = sum(1 for i in feedback if i.get("status") == "open")
    state = "최종본(제출본)" if source["final"] else "최신 초안 (최종본 미지정)"
    out = ["# 5. 사업계획서 초안 현황", "",
           f"- 리비전: r{number:03d} — {state}",
           f"- 저장 일시: {_date_text(meta.get('stored_at'))}",
           f"- 작성자: {_t(meta.get('author'), '작성자')}",
           f"- 지문(fingerprint): {_t(meta.get('fingerprint'), '지문')}",
           f"- 미처리 피드백: {open_count}건 (전체 {len(feedback)}건)"]
    if source["final"]:
        mark = source["final_mark"] or {}
        out.append(f"- 최종본 지정: {_date_text(mark.get('marked_at'))}, {_t(mark.get('marked_by'), '지정자')}")
    history = source.get("history") or []
    if history:
        rows = [[f"r{h['revision']:03d}", _date_text(h.get("stored_at")), _cell(h.get("author") or "–"),
                 safe_text(h["note"]) if h.get("note") else "–"] for h in history]
        out += ["", "## 초안 작성 이력", "", _table(["리비전", "저장 일시", "작성자", "메모"], rows)]
    return "\n".join(out) + "\n"


def _requests(feedback: list[dict]) -> str:
    out = ["# 6. 기업 요청 사항과 처리 결과", ""]
    if not feedback:
        return "\n".join(out + ["- 돌려받은 초안의 메모·수정 요청이 없습니다"]) + "\n"
    rows = []
    for item in feedback:
        note = ""
        for event in reversed(item.get("history") or []):
            if event.get("status") == item.get("status") and event.get("note") and event.get("note") != "가져옴":
                note = event["note"]
                break
        rows.append([safe_text(item.get("id", "")), f"r{item.get('revision', 0):03d}", KIND_KO.get(item.get("kind"), "항목"),
                     _cell(item.get("text") or "(내용 없음)"), STATUS_KO.get(item.get("status"), _cell(item.get("status"))),
                     safe_text(note) if note else "–"])
    out.append(_table(["항목", "리비전", "종류", "요청 내용", "처리", "처리 내용"], rows))
    return "\n".join(out) + "\n"


def _roadmap(context: dict, stored_year: int) -> str:
    years = [stored_year + 1, stored_year + 2, stored_year + 3]
    out = ["# 7. 향후 1–3년 로드맵", ""]
    strategy = context.get("strategy") or {}
    chosen = strategy.get("program_id")
    calendar = [c for c in context.get("calendar") or [] if isinstance(c, dict)]
    dated = sorted((c for c in calendar if isinstance(c.get("year"), int) and stored_year <= c["year"] <= years[-1]),
                   key=lambda c: (c["year"], c.get("month") or 0))
    rolling = [c for c in calendar if c.get("year") is None]
    out += ["## 지원사업 신청 일정", ""]
    if dated or rolling:
        rows = [[_cell(c.get("text")), _cell(c.get("name")) + (" ★ 선택 사업" if c.get("program_id") == chosen else ""),
                 _cell(c.get("type"))] for c in dated + rolling]
        out += [_table(["시기", "사업", "유형"], rows), ""]
    else:
        out += ["- 일정이 확인된 지원사업이 없습니다", ""]
    out += ["## 연도별 추진 과제", ""]
    start = strategy.get("start") or {}
    end_year = strategy.get("end_year")
    names = [safe_text(m.get("name")) for m in _measures(context) if m.get("name")]
    first = years[0]
    if isinstance(start, dict) and start.get("year"):
        first = start["year"]
        out.append(f"- {start['year']}년 {start.get('month') or ''}월~: {_t(strategy.get('program_name'))} 신청·수행"
                   f" ({_t(strategy.get('duration_months'), '사업 기간')}개월)")
    if names:
        span = f"{first}년~{end_year}년" if isinstance(end_year, int) and end_year > first else f"{first}년"
        out.append(f"- {span}: 선정 조치 이행 — {', '.join(names)}")
    kpis = [k for k in strategy.get("kpis") or [] if isinstance(k, dict) and k.get("target_year")]
    for year in sorted({k["target_year"] for k in kpis}):
        names_k = ", ".join(safe_text(k.get("name")) for k in kpis if k["target_year"] == year)
        out.append(f"- {year}년: 성과 측정·검증(M&V) — {names_k}")
    if (context["diagnosis"].get("cbam") or {}).get("covered"):
        out.append("- 매년: CBAM 제품별 실제 내재배출량 산정 자료(월별 전력·연료, 제품별 생산량, 전구물질 공급사 SEE) 수집")
    else:
        out.append("- 매년: 월별 전력·연료 사용량과 생산량 기록 유지 (배출량 재산정·성과 모니터링 자료)")
    return "\n".join(out) + "\n"


def _missing(context: dict) -> str:
    out = ["# 8. 아직 받지 못한 자료", ""]
    seen, rows = set(), []
    for item in context.get("missing") or []:
        need = item.get("need") if isinstance(item, dict) else item
        if not need or need in seen:
            continue
        seen.add(need)
        used = item.get("used_for") if isinstance(item, dict) else None
        rows.append([str(len(rows) + 1), _cell(need), _cell(used or "–")])
    if rows:
        out.append(_table(["번호", "필요 자료", "쓰임"], rows))
    else:
        out.append("- 빠진 자료가 없습니다")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- the document

def report_markdown(source: dict, feedback: list[dict]) -> str:
    context = source["context"]
    company = (context.get("company") or {}).get("company") or {}
    name = company.get("name") or context.get("meta", {}).get("company_id", "")
    try:
        stored_year = datetime.datetime.fromisoformat(str(source["meta"].get("stored_at"))).year
    except (TypeError, ValueError):
        stored_year = datetime.date.today().year
    state = "최종본" if source["final"] else "최신 초안"
    lead = (f"이 보고서는 {safe_text(name)}{pick(name, '의')} 컨설팅 결과를 정리한 것입니다. 모든 수치는 "
            f"사업계획서 {state} r{source['number']:03d}에 저장된 값입니다.")
    parts = [lead, _consulting(context), _diagnosis(context), _matching(context), _strategy(context),
             _draft_state(source, feedback), _requests(feedback), _roadmap(context, stored_year), PAGEBREAK, _missing(context)]
    return "\n\n".join(p.rstrip() for p in parts) + "\n"


def render_report(company_id: str) -> tuple[bytes, dict]:
    """The report as .docx bytes and the revision it describes."""
    from pipeline.render import template_path
    from pipeline.render.docx import render_docx_bytes

    source = report_source(company_id)
    feedback = _feedback_items(company_id)
    body = report_markdown(source, feedback)
    company = (source["context"].get("company") or {}).get("company") or {}
    today = datetime.date.today()
    fields = {
        "company_name": company.get("name") or company_id,
        "doc_title": REPORT_TITLE,
        "subtitle": f"사업계획서 r{source['number']:03d} ({'최종본' if source['final'] else '최신 초안'}) 기준",
        "prepared_by": "진주시 탄소중립지원센터 · 컨설팅 수행기관",
        "date": f"{today.year}. {today.month}. {today.day}.",
        "toc": _toc(body),
    }
    return render_docx_bytes(template_path("diagnosis"), fields, body), source


def write_report(company_id: str) -> tuple[Path, dict]:
    """Render and write out/<id>/report.docx atomically; returns (path, source)."""
    from pipeline.locations import out_root
    from pipeline.store.outputs import write_output

    data, source = render_report(company_id)
    path = write_output(out_root() / company_id / REPORT_FILE, data)
    return path, source
