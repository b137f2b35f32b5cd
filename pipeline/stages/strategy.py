"""Stage 3 (3차 컨설팅): goals, KPIs, consortium, budget frame and schedule for one program.

Reads the diagnosis and matches, content/kpis.yaml and content/strategy.yaml, and the
consultant's input in the profile (consulting: partners, constraints …); adds context["strategy"]. KPI baselines come from content/kpis.yaml
(`baseline_from`); targets are derived from the diagnosis (the selected measures' low-end
savings, the RE100 path) or set by the consultant (profile `overrides.kpi_targets`); what is
neither stays None and is listed as 확인 필요.
"""
from __future__ import annotations

from pipeline.calc.finance import financial_summary
from pipeline.calc.measures import REPLACES_FUEL
from pipeline.content import Content
from pipeline.errors import ContentError, PipelineError
from pipeline.missing import Missing
from pipeline.stages.budget import budget as plan_budget, equipment_spec as plan_equipment_spec, tie_to_budget


def strategy(context: dict, content: Content, program_id: str | None = None) -> dict:
    company, diagnosis = context["company"], context["diagnosis"]
    method = content.strategy_method
    missing = Missing(context.setdefault("missing", []))
    chosen = _choose_program(context, content, program_id)
    program = content.programs[chosen["program_id"]]
    ptype = program.get("type") or "설비"
    measures = _selected_measures(diagnosis, program)
    start = method["project_start"]
    duration = (program.get("support") or {}).get("duration_months") or method["default_duration_months"]
    end_year = start["year"] + (start["month"] - 1 + duration - 1) // 12
    schedule = _schedule(ptype, duration, start, method)
    mv_window = _mv_window(ptype, schedule, start, method)
    # Reductions are reached when a full measurement year after commissioning has shown them.
    goals = _goals(company, diagnosis, measures, mv_window["end_year"] if mv_window else end_year, method)
    kpis, outputs = _kpis(context, measures, ptype, end_year, content, missing, method, schedule, mv_window)
    consortium = _consortium(company, program, ptype, content, method, missing)
    budget = plan_budget(program, measures, company, missing, method)
    equipment_program = ptype in method["equipment_program_types"]
    tie_to_budget(kpis + outputs, budget, missing, whole_budget=not equipment_program)
    finance = financial_summary(company["company"].get("financials"))
    if not finance["complete"]:
        missing.add("company.financials", "최근 3개 사업연도 재무현황(매출액·영업이익·부채총계·자본총계, 재무제표 기준)", "재무현황")
    equipment_spec = plan_equipment_spec(company, measures, budget, content) if equipment_program else []
    context["strategy"] = {
        "program_id": program["id"],
        "program": {k: v for k, v in chosen.items() if k != "why"},
        "program_name": program["name"],
        "program_type": ptype,
        "equipment_program": equipment_program,
        "program_agency": chosen["agency"],
        "chosen_because": chosen["why"],
        "eligible": chosen["eligible"],
        "score": chosen["score"],
        "measures": measures,
        # the equipment the selected measures act on, each once (metering, follow-up lists)
        "measured_equipment": list(dict.fromkeys(e.split(" · ")[-1] for m in measures for e in m["equipment"])),
        "goals": goals,
        "kpis": kpis,
        "outputs": outputs,
        "consortium": consortium,
        "budget": budget,
        "finance": finance,
        "equipment_spec": equipment_spec,
        "schedule": schedule,
        "mv_window": mv_window,
        "bonus_evidence": method.get("bonus_evidence") or {},
        "rd_cost_categories": (method.get("rd_cost_categories") or {}).get("items") or [],
        "start": start,
        "duration_months": duration,
        "end_year": end_year,
    }
    return context


def _choose_program(context: dict, content: Content, program_id: str | None) -> dict:
    settings = context["company"].get("settings") or {}
    overrides = context["company"].get("overrides") or {}
    wanted = program_id or overrides.get("program") or settings.get("target_program")
    by_id = {m["program_id"]: m for m in context["matches"]}
    if wanted:
        if wanted not in by_id:
            raise PipelineError(f"지원사업 id '{wanted}'가 content/programs/에 없습니다")
        chosen = dict(by_id[wanted])
        chosen["why"] = "컨설턴트 지정 사업" + (" (자격 요건 미충족 주의)" if chosen["eligible"] is False else "")
        return chosen
    ranked = [m for m in context["matches"] if m["recommended"]] or context["matches"]
    top = next((m for m in ranked if m["type"] not in ("융자", "보증")), ranked[0])
    chosen = dict(top)
    chosen["why"] = f"매칭 순위 {top['rank']}위, 적합도 {top['score']}점 (융자·보증은 자부담 조달 수단으로 별도 연계)"
    return chosen


def _selected_measures(diagnosis: dict, program: dict) -> list[dict]:
    """The diagnosis's selected measure set (one source of truth for both documents)."""
    wanted = diagnosis.get("selected_measures") or []
    return [m for m in diagnosis["measures"] if m["id"] in wanted]


def _low(rng):
    return rng["low"] if rng else None


def _goals(company, d, measures, end_year, method) -> list[dict]:
    goals = []
    cut = sum(_low(m["saving_tco2e"]) or 0 for m in measures)
    if cut:
        share = 100 * cut / d["emissions"]["total_tco2e"]
        goals.append({"goal": f"{end_year}년까지 Scope 1+2 배출량 {cut:,.0f} tCO2e/년 감축 (기준연도 대비 {share:.1f}%)",
                      "basis": "선정 조치별 절감률 하한 × 설비 에너지 기준값"})
    mwh = sum(_low(m["saving_mwh"]) or 0 for m in measures)
    if mwh:
        goals.append({"goal": f"전력 사용량 {mwh:,.0f} MWh/년 절감", "basis": "전력 조치 절감 범위 하한"})
    covered = [p for p in d["cbam"]["products"] if p["covered"]]
    if covered:
        goals.append({"goal": f"CBAM 대상 {len(covered)}개 제품의 실제 내재배출량 산정·제3자 검증 완료", "basis": "EU 고객사 신고용 데이터"})
    re = d["re100"]
    milestone = method["goal_years"]["renewable_milestone"]
    target = next((p for p in re["path"] if p["year"] == milestone), None)
    if re["demanded_by"] and target:
        goals.append({"goal": f"{milestone}년 재생에너지 비중 {target['target_pct']}% (부족분 {target['gap_mwh']:,.0f} MWh) 이행 경로 확정",
                      "basis": "RE100 중간목표"})
    if d["readiness"]["inventory"] in (None, "none", "internal"):
        goals.append({"goal": "사업장 온실가스 인벤토리 정례화 및 검증 대응 체계 구축",
                      "basis": f"준비도 {d['readiness']['level']}단계({d['readiness']['label']})"})
    return goals


def _mv_window(ptype, schedule, start, method) -> dict | None:
    """The measurement year of the measures: the `mv_months` after the commissioning phase ends."""
    phase = (method.get("commissioning_phase") or {}).get(ptype)
    row = next((r for r in schedule["rows"] if r["phase"] == phase), None)
    if row is None:
        return None
    first = start["month"] - 1 + row["end"]          # months from January of the start year, 0-based
    last = first + method["mv_months"] - 1
    label = lambda m: f"{(start['year'] + m // 12) % 100}.{m % 12 + 1}"   # 27.10, as the schedule prints months
    return {"from": label(first), "to": label(last), "months": method["mv_months"],
            "end_year": start["year"] + last // 12, "after_phase": phase}


def _kpis(context, measures, ptype, end_year, content, missing, method, schedule, mv_window) -> list[dict]:
    """The plan's KPIs from content/kpis.yaml: an absolute baseline (a KPI's `level`, or its
    `baseline_from`), targets from the selected measures and the diagnosis where a rule below
    derives them, otherwise the consultant's `overrides.kpi_targets` or a 확인 필요 marker.

    A KPI is in the plan only when a phase of the schedule delivers it (its `task`) and its
    baseline is a real number other than 0 (an evaluator cannot score a rise from nothing); the
    target year of measure KPIs is the end of the measurement year after commissioning."""
    company, d = context["company"], context["diagnosis"]
    flags = {
        "cbam_covered": d["cbam"]["covered"],
        "re100_demand": bool(d["re100"]["demanded_by"]),
        "has_fuel": bool(d["emissions"]["scope1"]),
        "has_solar_potential": bool(d["re100"]["solar"].get("capacity_kwp")),
    }
    derived = _derived_targets(company, d, measures, method)
    kpi_overrides = (company.get("overrides") or {}).get("kpi_targets") or {}
    candidates, outputs = [], []
    for kpi in content.kpis:
        if ptype not in (kpi.get("applies_to_program_types") or []):
            continue
        when = kpi.get("applies_when")
        if when and not flags.get(when):
            continue
        task = (method.get("kpi_tasks") or {}).get(ptype, {}).get(kpi.get("task"))
        if task is None or task not in {r["phase"] for r in schedule["rows"]}:
            continue  # nothing in this plan's schedule delivers it
        name, unit = kpi["name"], kpi["unit"]
        target = derived.get(kpi["id"])
        if kpi.get("level"):   # a reduction, stated as the level it brings down
            baseline = _baseline(context, kpi["level"]["from"])
            name, unit = kpi["level"]["name"], kpi["level"]["unit"]
            if target is not None and baseline is not None:
                target = baseline - target
        else:
            baseline = _baseline(context, kpi["baseline_from"])
        overridden = kpi_overrides.get(kpi["id"]) is not None
        if overridden:
            target = float(kpi_overrides[kpi["id"]])  # consultant's target, recorded in the profile's overrides
        if target is not None and target == baseline:
            continue  # already reached (e.g. certified): not a goal of this project
        if baseline == 0 and not overridden:
            # a count from zero (reports, certificates): a deliverable of its task, not a scored KPI
            if kpi["id"] in derived and target is None:
                continue  # nothing selected delivers it (e.g. no electrification measure)
            outputs.append({"id": kpi["id"], "name": name, "unit": unit, "target": target, "task": task,
                            "evidence": kpi.get("evidence") or []})
            if target is None:
                missing.add(f"overrides.kpi_targets.{kpi['id']}", f"{kpi['name']} 목표값", "성과물 목표")
            continue
        # Derived targets miss data; the others are the consultant's to set (profile overrides).
        need = f"{kpi['name']} 목표값" + (" 산정 근거(설비 기준값·단가)" if kpi["id"] in derived else "")
        measured = kpi.get("task") == "mv" and mv_window
        candidates.append({
            "id": kpi["id"], "name": name, "unit": unit, "baseline": baseline, "target": target,
            "target_need": need, "baseline_from": (kpi.get("level") or {}).get("from") or kpi["baseline_from"],
            "task": task, "mv_window": f"{mv_window['from']}–{mv_window['to']}" if measured else None,
            "target_year": (mv_window["end_year"] if measured else end_year) if kpi["id"] != "renewable_share"
            else method["goal_years"]["renewable_milestone"],
            "formula": kpi.get("formula"), "mv_method": kpi.get("mv_method"), "evidence": kpi.get("evidence") or [],
            "target_rule": kpi.get("target_rule"),
        })
    # Up to max_kpis: first those with a target, the ones tied to this company's exposure (CBAM,
    # RE100, fuel, solar) before the general ones; then those the consultant still has to set.
    # Shown in library order.
    specific = {kpi["id"] for kpi in content.kpis if kpi.get("applies_when")}
    ranked = sorted(candidates, key=lambda k: (k["target"] is None, k["id"] not in specific))
    kept = {k["id"] for k in ranked[: method["max_kpis"]]}
    chosen = [k for k in candidates if k["id"] in kept]
    for kpi in chosen:
        if kpi["target"] is None:
            field = f"strategy.kpis.{kpi['id']}" if kpi["id"] in derived else f"overrides.kpi_targets.{kpi['id']}"
            missing.add(field, kpi["target_need"], "성과지표 목표")
        if kpi["baseline"] is None:
            missing.add(f"strategy.kpis.{kpi['id']}.baseline ({kpi['baseline_from']})", f"{kpi['name']} 기준값", "성과지표 기준값")
    return chosen, outputs


def _baseline(context: dict, path: str | None) -> float | None:
    """A KPI's value before the project: the context value at `path` (true/false count as 1/0).
    No path: the KPI counts what the project adds (reductions, capacity, reports), so 0."""
    if path is None:
        return 0.0
    value = context
    for part in path.split("."):
        if path.startswith("company.") and isinstance(value, dict) and part not in value:
            return None   # optional profile data the consultant has not recorded: asked for
        if not isinstance(value, dict) or part not in value:
            raise ContentError(f"content/kpis.yaml: baseline_from '{path}'이(가) 컨텍스트에 없습니다 ('{part}')")
        value = value[part]
    if value is None:
        return None
    return float(value)  # bool → 1.0 / 0.0


def _derived_targets(company, d, measures, method) -> dict[str, float | None]:
    """Targets the diagnosis and the selected measures determine (low end of the saving ranges),
    and the development project the consultant recorded (TRL)."""
    dev = (company.get("consulting") or {}).get("development") or {}
    cut = sum(_low(m["saving_tco2e"]) or 0 for m in measures) or None
    mwh = sum(_low(m["saving_mwh"]) or 0 for m in measures) or None
    tj = sum(_low(m["saving_tj"]) or 0 for m in measures)
    mj_per_toe = d["energy"]["conversion"]["mj_per_toe"]
    elec_toe = (mwh or 0) * 1000 * d["energy"]["conversion"]["electricity_mj_per_kwh"] / mj_per_toe
    saved_toe = (elec_toe + tj * 1e6 / mj_per_toe) or None
    covered = [p for p in d["cbam"]["products"] if p["covered"]]
    output_t, revenue = d["energy"]["output_t"], company["company"]["revenue_krw_million"]
    fuel_tj = sum(line["tj_net"] for line in d["emissions"]["scope1"])
    switched_tj = sum(m["baseline_tj"] or 0 for m in measures if m.get("saving_basis") == REPLACES_FUEL)
    return {
        "ghg_reduction": cut,
        "energy_saving_toe": saved_toe,
        "energy_saving_mwh": mwh,
        "energy_saving_rate": 100 * saved_toe / d["energy"]["total_toe"] if saved_toe else None,
        "emission_intensity_output": (d["emissions"]["total_tco2e"] - cut) / output_t if cut and output_t else None,
        "energy_intensity_revenue": (d["energy"]["total_toe"] - saved_toe) / (revenue / 100) if saved_toe and revenue else None,
        "energy_cost_saving": sum(_low(m["saving_krw_million"]) or 0 for m in measures) or None,
        "renewable_share": next((p["target_pct"] for p in d["re100"]["path"]
                                 if p["year"] == method["goal_years"]["renewable_milestone"]), None),
        "onsite_pv_capacity": d["re100"]["solar"].get("capacity_kwp"),
        "cbam_verification_reports": float(len(covered)) if covered else None,
        "product_carbon_footprint": float(len(covered)) if covered else None,
        "fuel_to_electric_switch": 100 * switched_tj / fuel_tj if switched_tj and fuel_tj else None,
        "ghg_inventory_verified": 1.0,
        "rd_trl": float(dev["trl_target"]) if dev.get("trl_target") else None,
        "iso50001_certification": 1.0,
        "iso14001_certification": 1.0,
    }


def _consortium(company, program, ptype, content, method, missing) -> dict:
    """Members named in the profile (consulting.partners), never invented; the roles this program
    type needs and nobody fills are listed as open. The program's own operator is never a member."""
    operators = {x.strip() for x in str(program.get("agency") or "").split("/") if x.strip()}
    named, refused = [], []
    for p in (company.get("consulting") or {}).get("partners") or []:
        if p["name"].strip() in operators:
            refused.append(p["name"])   # the agency that runs the program evaluates it: not a participant
            continue
        named.append({"name": p["name"], "kind": p.get("kind"), "role": p["role"], "contribution": p.get("contribution"),
                      "status": "확정" if p.get("confirmed") else "협의 중"})
    filled = {n["kind"] for n in named}
    open_roles = [{"kind": kind, "role": method["consortium_roles"][kind]}
                  for kind in method["partner_kinds_by_type"].get(ptype, []) if kind not in filled]
    required = bool((program.get("eligibility") or {}).get("requires_consortium"))
    if required and not named:
        missing.add("consulting.partners", "컨소시엄 참여기관(기관명·역할·참여 형태)", "추진 체계")
    roles = method["lead_roles"]
    return {"lead": company["company"]["name"], "lead_role": roles.get(ptype) or roles["default"],
            "partners": named, "open_roles": open_roles[: method["max_partners"]], "refused": refused,
            "consortium_required": required}


def _schedule(ptype, duration, start, method) -> dict:
    """The program type's phases over the program's duration: phases written for a shorter
    project are stretched to it (a 24-month R&D plan does not end in month 12). Beyond 12
    months the chart is drawn in quarters, so it stays legible on A4."""
    phases = method["schedules"].get(ptype) or method["schedules"]["설비"]
    written = max(p[2] for p in phases)
    stretch = duration / written if duration > written else 1.0
    phases = [(name, max(1, round((s - 1) * stretch) + 1), round(e * stretch), out) for name, s, e, out in phases]
    months = max(duration, max(p[2] for p in phases))
    step = 3 if months > 12 else 1
    labels = []
    for offset in range(0, months, step):
        m = start["month"] - 1 + offset
        year = start["year"] + m // 12 - 2000
        labels.append(f"{year}.{m % 12 + 1}" if step == 1 else f"{year}.{m % 12 + 1}–{(m + step - 1) % 12 + 1}")
    rows = [{"phase": name, "start": s, "end": e, "deliverable": out,
             "cells": ["■" if s <= i + step and i + 1 <= e else "" for i in range(0, months, step)]}
            for name, s, e, out in phases]
    return {"months": labels, "rows": rows, "unit": "분기" if step == 3 else "월"}
