"""Stage ⑤: 성과 모니터링 — a year's actuals against the plan's KPIs, out/<id>/monitoring-<year>.docx and .json.

The plan is the stored revision the final report uses (final, else latest; publish/report.py
`report_source`): its KPIs (baseline, target, target year, M&V method), its stored profile (products,
unit masses, revenue) and its factor set, never the current profile. Each recorded year's emissions
and energy are recomputed from the actuals by calc/inventory.py `site_inventory`, the function the
diagnosis used for the base year, with the plan's factor set (when content/ has since changed the
grid factor, the plan's stored value is used and the document says so).

A KPI's actual is the value at the KPI's own baseline path (`diagnosis.emissions.total_tco2e`, …)
in the year's recomputed inventory, so every KPI measured the way its baseline was is compared,
and any other KPI (certificates, patents, …) is shown as needing its evidence. Progress is
(baseline − actual) ÷ (baseline − target) × 100; the status compares it with a straight path from
0 % in the year before the project starts to 100 % in the target year.
"""
from __future__ import annotations

import copy
import dataclasses
import datetime
import json
from pathlib import Path

from pipeline.content import Content
from pipeline.errors import FollowupError
from pipeline.missing import marker
from pipeline.publish.markdown_parts import cell as _cell, number as _n, table as _table, text as _t, toc as _toc
from pipeline.stages.draft import safe_text
from pipeline.stages.korean import pick

TITLE = "성과 모니터링 보고서"
STATUS_KO = {"achieved": "달성", "on-track": "순조", "behind": "미흡", "not-achieved": "미달",
             "before-start": "사업 전", "no-target": "목표값 없음", "no-baseline": "기준값 없음", "no-data": "자료 없음"}


def monitoring_name(year: int, suffix: str = "docx") -> str:
    return f"monitoring-{year}.{suffix}"


# ---------------------------------------------------------------- computing

def plan_factors(described: dict, content: Content):
    """The FactorChoice of the plan's factor set and notes where content/ now differs from the plan."""
    from pipeline.calc.factors import choose_factors

    factors = choose_factors({"factor_set": described.get("factor_set"), "gwp_set": described.get("gwp_set")}, content)
    notes = []
    stored = described.get("grid_factor_tco2e_per_mwh")
    if isinstance(stored, (int, float)) and float(factors.grid["value"]) != float(stored):
        notes.append(f"전력배출계수는 content/의 현재 값 {factors.grid['value']} 대신 계획 당시 값 {stored} tCO2eq/MWh를 적용")
        factors = dataclasses.replace(factors, grid=dict(factors.grid, value=stored))
    return factors, notes


def year_profile(plan_profile: dict, data: dict) -> tuple[dict, bool]:
    """The plan's profile with the year's energy, output and revenue; (profile, revenue known)."""
    profile = copy.deepcopy(plan_profile)
    profile["energy"] = copy.deepcopy(data["energy"])
    output = {p["id"]: p for p in data.get("products") or []}
    for product in profile.get("products") or []:
        recorded = output.get(product.get("id"))
        product.pop("annual_output", None)  # a product without a recorded output has no known output this year
        if recorded:
            product["annual_output"] = dict(recorded["annual_output"])
            if recorded.get("unit_mass_kg"):
                product["unit_mass_kg"] = recorded["unit_mass_kg"]
    revenue = data.get("revenue_krw_million")
    if revenue:
        profile["company"]["revenue_krw_million"] = revenue
    return profile, bool(revenue)


def year_inventory(plan_profile: dict, data: dict, content: Content, factors) -> dict:
    """The year's figures at the paths the diagnosis uses (emissions.*, energy.*, re100.*)."""
    from pipeline.calc.exposure import re100_status
    from pipeline.calc.inventory import site_inventory
    from pipeline.missing import Missing

    profile, revenue_known = year_profile(plan_profile, data)
    fuels, s2, totals, energy = site_inventory(profile, content, factors)
    revenue_100m = profile["company"]["revenue_krw_million"] / 100.0
    emissions = dict(totals, scope1=fuels, scope2=s2,
                     intensity_tco2e_per_krw_100m=totals["total_tco2e"] / revenue_100m if revenue_known else None)
    if not revenue_known:
        energy["intensity_toe_per_krw_100m"] = None
    share = re100_status(profile, s2, content, Missing([]))["share_pct"]
    return {"emissions": emissions, "energy": energy, "re100": {"share_pct": share, "renewable_share_pct": share}}


def value_at(figures: dict, path) -> float | None:
    """The number at a KPI path ('diagnosis.emissions.total_tco2e') in a year's figures; None when the
    actuals do not measure it (certificates, TRL, …)."""
    if not isinstance(path, str) or not path.startswith("diagnosis."):
        return None
    node = figures
    for part in path.split(".")[1:]:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return float(node) if isinstance(node, (int, float)) and not isinstance(node, bool) else None


def judge(kpi: dict, actual: float | None, year: int, start_year: int) -> dict:
    """Progress and status of one KPI in `year`."""
    baseline, target, target_year = kpi.get("baseline"), kpi.get("target"), kpi.get("target_year")
    row = {"actual": actual, "progress_pct": None, "expected_pct": None}
    if actual is None:
        return dict(row, status="no-data")
    if not isinstance(baseline, (int, float)):
        return dict(row, status="no-baseline")
    if not isinstance(target, (int, float)) or baseline == target:
        return dict(row, status="no-target")
    progress = 100.0 * (baseline - actual) / (baseline - target)
    row["progress_pct"] = progress
    if not isinstance(target_year, int):
        target_year = year
    if year >= target_year:
        return dict(row, expected_pct=100.0, status="achieved" if progress >= 100.0 else "not-achieved")
    if year < start_year:
        return dict(row, status="before-start")
    expected = 100.0 * (year - start_year + 1) / (target_year - start_year + 1)
    row["expected_pct"] = expected
    if progress >= 100.0:
        return dict(row, status="achieved")
    return dict(row, status="on-track" if progress >= expected else "behind")


def monitoring(company_id: str, content: Content, year=None) -> dict:
    """Everything the monitoring document shows, computed (nothing written)."""
    from pipeline.publish.followup import RESULT_KO, followup_plan, monitoring_window, plan_source

    source = plan_source(company_id)
    plan = followup_plan(company_id, content, source=source)
    state = plan["state"]
    if not state["actuals"]:
        raise FollowupError(f"{company_id}: 기록된 실적이 없습니다. 먼저 `python -m pipeline followup-actuals {company_id} "
                            "실적.yaml --year YYYY`로 한 해의 월별 전력·연료·생산량을 기록하세요")
    if year is None:
        year = max(state["actuals"])
    else:
        text = str(year).strip()
        if not text.isdigit() or int(text) not in state["actuals"]:
            raise FollowupError(f"--year {safe_text(year)}: 그해의 실적이 기록되어 있지 않습니다 "
                                f"(기록된 연도: {', '.join(map(str, state['actuals']))})")
        year = int(text)
    context = source["context"]
    plan_profile = context.get("company") or {}
    diagnosis = context["diagnosis"]
    factors, notes = plan_factors(diagnosis.get("factors") or {}, content)
    strategy = context.get("strategy") or {}
    window = monitoring_window(context, state)
    planned_start = (strategy.get("start") or {}).get("year") if isinstance(strategy.get("start"), dict) else None
    start_year = window[0] if window and any((a.get("result") or {}).get("result") == "selected" for a in state["applications"]) \
        else planned_start or (plan_profile.get("base_year") or year) + 1

    years = {}
    for y, record in state["actuals"].items():
        if y > year:
            continue
        years[y] = {"figures": year_inventory(plan_profile, record["data"], content, factors), "record": record}
    kpis = []
    for kpi in strategy.get("kpis") or []:
        if not isinstance(kpi, dict):
            continue
        by_year = {y: judge(kpi, value_at(entry["figures"], kpi.get("baseline_from")), y, start_year)
                   for y, entry in years.items()}
        kpis.append({"id": kpi.get("id"), "name": kpi.get("name"), "unit": kpi.get("unit"), "baseline": kpi.get("baseline"),
                     "target": kpi.get("target"), "target_year": kpi.get("target_year"),
                     "baseline_from": kpi.get("baseline_from"), "mv_method": kpi.get("mv_method"),
                     "evidence": kpi.get("evidence") or [], **by_year[year],
                     "by_year": {str(y): {"actual": r["actual"], "progress_pct": r["progress_pct"], "status": r["status"]}
                                 for y, r in by_year.items()}})
    applications = [{"id": a["id"], "program": a["program"], "program_name": a.get("program_name"), "call": a.get("call"),
                     "submitted": a["submitted"], "revision": a["revision"],
                     "result": (a.get("result") or {}).get("result"),
                     "result_ko": RESULT_KO.get((a.get("result") or {}).get("result"), "결과 대기"),
                     "result_date": (a.get("result") or {}).get("date"),
                     "amount_krw_million": (a.get("result") or {}).get("amount_krw_million")} for a in state["applications"]]
    return {
        "company_id": company_id, "name": plan["name"], "year": year, "monitoring_year": sorted(state["actuals"]).index(year) + 1,
        "plan_revision": source["number"], "final": source["final"], "base_year": plan_profile.get("base_year"),
        "start_year": start_year, "factors": factors.describe(), "factor_notes": notes,
        "baseline": _summary(diagnosis), "years": {y: _summary(e["figures"], e["record"]) for y, e in years.items()},
        "current": years[year]["figures"], "kpis": kpis, "applications": applications,
        "next": plan["next"], "due": [i for i in plan["items"] if not i["done"] and i["kind"] in ("result", "actuals")],
    }


def _summary(figures: dict, record: dict | None = None) -> dict:
    emissions, energy = figures.get("emissions") or {}, figures.get("energy") or {}
    out = {key: emissions.get(key) for key in ("scope1_tco2e", "scope2_location_tco2e", "total_tco2e",
                                                 "intensity_tco2e_per_t_output")}
    out.update({"total_toe": energy.get("total_toe"), "electricity_mwh": energy.get("electricity_mwh"),
                "output_t": energy.get("output_t")})
    if record is not None:
        out.update({"version": record["version"], "recorded_at": record["at"], "recorded_by": record["by"],
                    "source": (record.get("source") or {}).get("name")})
    return out


# ---------------------------------------------------------------- the document

def _digits(kpi: dict) -> int:
    values = [abs(v) for v in (kpi.get("baseline"), kpi.get("target"), kpi.get("actual")) if isinstance(v, (int, float))]
    return 3 if values and max(values) < 10 else 1


def _status_cell(kpi: dict) -> str:
    status = kpi["status"]
    if status == "no-data":
        return marker("실적 자료 — " + safe_text(", ".join(kpi["evidence"][:2]) or "증빙"))
    return STATUS_KO[status]


def monitoring_markdown(m: dict) -> str:
    year, name = m["year"], m["name"]
    state = "최종본" if m["final"] else "최신 초안"
    factors = m["factors"]
    out = [f"이 보고서는 {safe_text(name)}{pick(name, '의')} {year}년 실적을 사업계획서 {state} r{m['plan_revision']:03d}의 "
           f"성과지표(KPI)와 비교한 것입니다. 배출량은 계획과 같은 계수 세트로 다시 계산했습니다.", "",
           "# 1. 개요", "",
           f"- 모니터링: {m['monitoring_year']}년차 ({year}년 실적, 기준연도 {_t(m['base_year'], '기준연도')}년)",
           f"- 계수 세트: {safe_text(factors.get('factor_set_name'))} — 전력배출계수 {factors.get('grid_factor_tco2e_per_mwh')} "
           f"tCO2eq/MWh, 지구온난화지수 {safe_text(factors.get('gwp_set'))}"]
    out += [f"- 참고: {safe_text(note)}" for note in m["factor_notes"]]
    if m["applications"]:
        rows = [[safe_text(a["id"]), _cell(a["program_name"] or a["program"]), _cell(a["call"]), _cell(a["submitted"]),
                 a["result_ko"], _cell(a["result_date"] or "–"),
                 _n(a["amount_krw_million"], 0, "지원 금액") if a["result"] == "selected" else "–"]
                for a in m["applications"]]
        out += ["", "## 지원사업 신청과 결과", "", _table(["신청", "사업", "공고", "제출일", "결과", "통보일", "지원액(백만원)"], rows)]
    else:
        out += [f"- 지원사업 신청: {marker('신청 기록 (followup-apply)')}"]
    out += ["", f"# 2. 성과지표(KPI) 비교 ({year}년)", ""]
    if m["kpis"]:
        rows = []
        for k in m["kpis"]:
            d = _digits(k)
            rows.append([_cell(k["name"]), _cell(k["unit"]), _n(k["baseline"], d, "기준값"), _n(k["target"], d, "목표값"),
                         _cell(k["target_year"]), _n(k["actual"], d, "실적") if k["actual"] is not None else "–",
                         f"{k['progress_pct']:,.0f}%" if k["progress_pct"] is not None else "–", _status_cell(k)])
        out += [_table(["지표", "단위", "기준값", "목표값", "목표연도", f"{year}년 실적", "달성률", "판정"], rows), "",
                f"- 달성률 = (기준값 − 실적) ÷ (기준값 − 목표값) × 100. 판정: 목표연도에는 100% 이상이면 달성, 그 전에는 "
                f"사업 시작({m['start_year']}년) 전 해의 0%에서 목표연도의 100%까지 곧게 이은 경로 이상이면 순조, 아래면 미흡입니다."]
    else:
        out.append(f"- 성과지표: {marker('사업계획서의 성과지표')}")
    base, now = m["baseline"], m["years"][year]
    out += ["", "# 3. 에너지·배출량 실적", ""]
    lines = [("전력 사용량 (MWh)", "electricity_mwh", 1), ("에너지 사용량 (toe)", "total_toe", 1),
             ("Scope 1 직접 배출 (tCO2e)", "scope1_tco2e", 1), ("Scope 2 간접 배출 (tCO2e)", "scope2_location_tco2e", 1),
             ("Scope 1+2 합계 (tCO2e)", "total_tco2e", 1), ("생산량 (t)", "output_t", 0),
             ("생산량당 배출 (tCO2e/t)", "intensity_tco2e_per_t_output", 3)]
    rows = []
    for label, key, d in lines:
        b, a = base.get(key), now.get(key)
        change = f"{100.0 * (a - b) / b:+,.1f}%" if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else "–"
        rows.append([label, _n(b, d, "기준연도 값"), _n(a, d, f"{year}년 값"), change])
    out += [_table(["항목", f"기준연도({_t(m['base_year'], '기준연도')})", f"{year}년", "증감"], rows), ""]
    current = m["current"]["emissions"]
    out.append(f"- 전력: {safe_text(current['scope2']['trace_location'])}")
    for fuel in current["scope1"]:
        amount = f"{fuel['amount']:,.0f} {fuel['unit']}"
        out.append(f"- {safe_text(fuel['name_ko'])}: {safe_text(amount)} → {fuel['tco2e']:,.1f} tCO2e")
    record = m["years"][year]
    out.append(f"- 실적 자료: {year}년 실적 기록 {record['version']}판 ({safe_text(str(record['recorded_at'])[:10])}, "
               f"{_t(record.get('recorded_by'), '기록자')})")
    if len(m["years"]) > 1 and m["kpis"]:
        years = sorted(m["years"])
        rows = [[_cell(k["name"])] + [_n(k["by_year"][str(y)]["actual"], _digits(k), "실적") if k["by_year"][str(y)]["actual"]
                                      is not None else "–" for y in years] + [_n(k["target"], _digits(k), "목표값")] for k in m["kpis"]]
        out += ["", "# 4. 연도별 추이", "", _table(["지표"] + [f"{y}년" for y in years] + ["목표값"], rows)]
    out += ["", f"# {5 if len(m['years']) > 1 and m['kpis'] else 4}. 다음 할 일과 필요 자료", ""]
    if m["next"] and not m["due"] and "python -m" not in m["next"]:  # the dated list below already starts with it
        out.append(f"- 다음 할 일: {safe_text(m['next'])}")
    for item in m["due"][:6]:
        when = f"{item['date'].year}년 {item['date'].month}월 {item['date'].day}일"
        out.append(f"- {safe_text(item['summary'].split(' — ')[0])}: {when}까지")
    gaps = [k for k in m["kpis"] if k["status"] == "no-data"]
    for k in gaps:
        out.append(f"- {safe_text(k['name'])}: {marker('증빙 — ' + safe_text(', '.join(k['evidence']) or k.get('mv_method') or '측정 자료'))}")
    if not m["next"] and not m["due"] and not gaps:
        out.append("- 추가로 받을 자료가 없습니다")
    return "\n".join(out) + "\n"


def to_json(m: dict) -> dict:
    """The JSON written beside the document (dates as ISO text; traces left out)."""
    def clean(value):
        if isinstance(value, dict):
            return {str(k): clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, (datetime.date, datetime.datetime)):
            return value.isoformat()
        return value

    out = {k: v for k, v in m.items() if k not in ("current", "due")}
    out["due"] = [{"date": i["date"].isoformat(), "kind": i["kind"], "summary": i["summary"]} for i in m["due"]]
    return clean(out)


def write_monitoring(company_id: str, content: Content, year=None) -> tuple[Path, Path, dict]:
    """Compute, render, then write out/<id>/monitoring-<year>.docx and .json (each atomically)."""
    from pipeline.locations import out_root
    from pipeline.render import template_path
    from pipeline.render.docx import render_docx_bytes
    from pipeline.store.outputs import write_output

    m = monitoring(company_id, content, year)
    body = monitoring_markdown(m)
    today = datetime.date.today()
    fields = {"company_name": m["name"], "doc_title": TITLE,
              "subtitle": f"{m['year']}년 실적 · 사업계획서 r{m['plan_revision']:03d} ({'최종본' if m['final'] else '최신 초안'}) 기준",
              "prepared_by": "진주시 탄소중립지원센터 · 컨설팅 수행기관", "date": f"{today.year}. {today.month}. {today.day}.",
              "toc": _toc(body)}
    data = render_docx_bytes(template_path("diagnosis"), fields, body)
    payload = json.dumps(to_json(m), ensure_ascii=False, indent=2).encode("utf-8")
    folder = out_root() / company_id
    docx_path = write_output(folder / monitoring_name(m["year"]), data)
    json_path = write_output(folder / monitoring_name(m["year"], "json"), payload)
    return docx_path, json_path, m
