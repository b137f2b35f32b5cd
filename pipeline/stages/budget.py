"""The strategy's money side: the plan's budget from the consultant's quotes (or sourced
estimates), the program's share and cap; each KPI tied to a budget line; and the 기존 ↔ 도입 설비
명세 of equipment programs. Called by the strategy stage; nothing here reads files or writes."""
from __future__ import annotations

from pipeline.content import Content

def tie_to_budget(kpis: list[dict], budget: dict, missing, whole_budget: bool) -> None:
    """Each KPI names the budget line that pays for its task: the measurement line for measured
    KPIs (else the measures' lines), a line named like its task otherwise. A service or R&D
    program funds its tasks from the one project budget; a facility plan without the line asks."""
    lines = [l["item"] for l in budget["lines"]]
    measured = [l for l in lines if "M&V" in l or "측정" in l]
    equipment = [l["item"] for l in budget["lines"] if l["measure_id"]]
    for kpi in kpis:
        if kpi.get("mv_window"):
            kpi["budget_line"] = (measured or equipment or [None])[0]
        else:
            task_word = (kpi.get("task") or "").split("·")[0][:4]
            kpi["budget_line"] = next((l for l in lines if task_word and task_word in l), None)
        if kpi["budget_line"] is None and whole_budget:
            kpi["budget_line"] = "총사업비 (과업 전체)"
        if kpi["budget_line"] is None:
            missing.add(f"overrides.budget_items ({kpi['name']})", f"{kpi['name']} 과업({kpi.get('task')}) 비용 항목과 견적", "성과지표 예산 연계")


def budget(program, measures, company, missing, method) -> dict:
    """The plan's budget from figures the pipeline may state: the consultant's quotes
    (overrides.investment_krw_million, with 설치·공사비 where given), the other cost lines
    (overrides.budget_items), and the program's share and cap. A line without a quote is shown as
    such and left out of the sums, which say so; nothing is estimated without a sourced range, and
    a line priced from one (개략 추정) says so and still asks for the quotes that replace it."""
    support = program.get("support") or {}
    share = support.get("gov_share_pct_midsize") if company["company"]["size_class"] == "중견" and support.get("gov_share_pct_midsize") else support.get("gov_share_pct")
    cap = support.get("max_krw_million")
    overrides = company.get("overrides") or {}
    quotes = overrides.get("investment_krw_million") or {}
    lines = []
    # A service or R&D program funds the work, not the equipment: its budget has no measure lines.
    funded = [] if program.get("type") in method["work_program_types"] else measures
    for m in funded:
        q = quotes.get(m["id"])
        inv = m["investment_krw_million"]
        install = float(q["installation_krw_million"]) if q and q.get("installation_krw_million") is not None else None
        lines.append({
            "item": m["name"], "measure_id": m["id"],
            "kind": "진단·개선 용역" if m.get("kind") == "operation" else ("설비비·설치공사비" if install is None else "설비비"),
            "krw_million": inv, "installation_krw_million": install, "quotes": (q or {}).get("quotes"),
            "basis": (q or {}).get("note") or m.get("investment_basis"),
            # an indicative figure from a sourced unit-cost range, until the quotes come in
            "estimate": None if q else m.get("investment_estimate"),
            "saving_krw_million": m["saving_krw_million"], "payback_years": m["payback_years"],
        })
        if inv is None or lines[-1]["estimate"]:
            missing.add(f"overrides.investment_krw_million.{m['id']}", f"{m['name']} 견적(2곳 이상)", "사업비 구성")
    for extra in overrides.get("budget_items") or []:
        value = float(extra["krw_million"])
        lines.append({"item": extra["item"], "measure_id": None, "kind": "용역·기타", "krw_million": {"low": value, "high": value},
                      "installation_krw_million": None, "quotes": None, "basis": extra["basis"], "estimate": None,
                      "saving_krw_million": None, "payback_years": None})
    needs = method["budget_total_need"]
    total_need = needs.get(program.get("type")) or needs["default"]
    priced = [l for l in lines if l["krw_million"]]
    unpriced = [l["item"] for l in lines if not l["krw_million"]]
    total = basis = None
    if program.get("type") in method["work_program_types"] and cap and share and not priced:
        # Service and R&D programs are budgeted up to the program's limit, not by equipment quotes.
        total = {"low": cap * 100 / share, "high": cap * 100 / share}
        basis = f"지원 한도 {cap:,.0f}백만원 ÷ 정부 지원 비율 {share:g}% (공고문 기준 최대 사업비)"
    elif priced:
        total = {"low": sum(l["krw_million"]["low"] for l in priced), "high": sum(l["krw_million"]["high"] for l in priced)}
        estimated = [l for l in priced if l["estimate"]]
        basis = ("견적·개략 추정 합계" if estimated else "견적 합계") + (f" (견적 미확보 {len(unpriced)}건 제외)" if unpriced else "")
    else:
        missing.add("strategy.budget", total_need, "사업비 구성")
    gov = company_cash = None
    if total and share is not None:
        gov = {k: min(v * share / 100, cap) if cap else v * share / 100 for k, v in total.items()}
        company_cash = {k: total[k] - gov[k] for k in total}
    for line in lines:
        if line["krw_million"] and share is not None:
            line["gov_krw_million"] = {k: v * share / 100 for k, v in line["krw_million"].items()}
        else:
            line["gov_krw_million"] = None
    saving = [l["saving_krw_million"] for l in lines if l["saving_krw_million"]]
    saving_sum = {"low": sum(x["low"] for x in saving), "high": sum(x["high"] for x in saving)} if saving else None
    counted_cost = [l["krw_million"] for l in lines if l["krw_million"] and l["saving_krw_million"]]
    return {
        "max_krw_million": cap,
        "per": support.get("per"),
        "gov_share_pct": share,
        "self_funding_note": support.get("self_funding_note"),
        "vat_note": support.get("vat_note"),
        "total_krw_million": total,
        "total_basis": basis,
        "total_need": total_need,
        "gov_krw_million": gov,
        "gov_capped": bool(total and cap and share and total["high"] * share / 100 > cap),
        "company_krw_million": company_cash,
        "unpriced": unpriced,
        "lines": lines,
        "saving_krw_million": saving_sum,
        "payback_years": ({"low": sum(c["low"] for c in counted_cost) / saving_sum["high"],
                           "high": sum(c["high"] for c in counted_cost) / saving_sum["low"]}
                          if saving_sum and counted_cost and saving_sum["low"] else None),
        "checklist": program.get("required_documents") or (method.get("submission_checklist") or {}).get(program.get("type") or "설비") or [],
        "checklist_from_notice": bool(program.get("required_documents")),
    }


# Equipment facts shown in the 기존 설비 column, in this order (their Korean words are the 자료요청서's).
_SPEC_FACTS = ("drive", "control", "burner", "lamp", "motor_class", "hvac_kind")


def equipment_spec(company: dict, measures: list[dict], budget: dict, content: Content) -> list[dict]:
    """기존 설비 ↔ 도입 설비 명세: for each equipment measure of the plan, the equipment it replaces or
    improves (from the profile) beside what is to be installed (the planned investment's model,
    capacity, efficiency, quantity and location, from the quote or catalogue). Unknown cells stay None."""
    words = content.read("intake/fields.yaml")
    existing = {}
    for process in company.get("processes") or []:
        for item in process.get("equipment") or []:
            existing[f"{process['name']} · {item['name']}"] = item
    planned = company.get("planned_investments") or []
    cost = {line["measure_id"]: line for line in budget["lines"] if line.get("measure_id")}
    rows = []
    for m in measures:
        if m.get("kind") == "operation":
            continue
        plan = next((p for p in planned if p.get("measure") == m["id"]), {})
        for label in m["equipment"]:
            item = existing.get(label) or {}
            facts = []
            for key in _SPEC_FACTS:
                if item.get(key):
                    values = (words.get(f"processes[].equipment[].{key}") or {}).get("values") or {}
                    facts.append(values.get(item[key], item[key]))
            rows.append({
                "measure": m["name"], "measure_id": m["id"],
                "existing": {"name": item.get("name") or label.split(" · ")[-1], "process": label.split(" · ")[0],
                             "count": item.get("count"), "rated_kw": item.get("rated_kw"),
                             "year_installed": item.get("year_installed"), "facts": facts},
                "new": {key: plan.get(key) for key in ("model", "capacity", "efficiency", "quantity", "location")},
                "planned": bool(plan),
                "krw_million": (cost.get(m["id"]) or {}).get("krw_million"),
            })
    return rows
