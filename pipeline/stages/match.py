"""Stage 2 (2차 컨설팅): match the company to the program catalog.

Reads context["company"], context["diagnosis"], content/programs/ and content/matching.yaml; adds
context["matches"] (every program: eligible true/false/null, score 0–100 with its parts, reasons,
missing), context["routing"] and context["calendar"]. Hard eligibility rules first; an unknown
answer never passes or fails silently: it makes eligible null and is listed.
"""
from __future__ import annotations

import datetime

from pipeline.calc.finance import financial_summary
from pipeline.calc import company_size
from pipeline.calc.eligibility import EXPORTS_NEED, condition as _condition, eligibility as _eligibility
from pipeline.content import Content
from pipeline.missing import Missing

# The consulting needs (profile consulting.needs, programs' fits_needs) as the documents name them.
NEED_LABELS = {
    "cbam": "CBAM 대응", "re100": "RE100", "energy_efficiency": "에너지효율", "facility_investment": "설비투자",
    "esg": "ESG", "rd": "R&D", "supply_chain": "공급망 대응", "financing": "자금 조달",
}


def match(context: dict, content: Content, today: datetime.date | None = None) -> dict:
    today = today or datetime.date.today()
    method = content.matching_method
    company, diagnosis = context["company"], context["diagnosis"]
    facts = _facts(company, diagnosis, method, content.sme_size, today)
    facts["program_names"] = {pid: p["name"] for pid, p in content.programs.items()}
    facts["equipment_program_types"] = content.strategy_method["equipment_program_types"]
    missing = Missing(context.setdefault("missing", []))
    checked = {pid: _eligibility(program, facts) for pid, program in content.programs.items()}
    verdict = {pid: _verdict(checks) for pid, checks in checked.items()}
    routing = _routing(method, facts, verdict)
    preferred = {pid for rule in routing for pid in rule["programs"]}
    matches = []
    for program in content.programs.values():
        checks = checked[program["id"]]
        eligible = verdict[program["id"]]
        parts = _score_parts(program, facts, method, today, preferred)
        unknown = sum(1 for c in checks if c["ok"] is None)
        penalty = unknown * method.get("unknown_penalty", 0)
        score = max(0, min(100, round(sum(p["points"] for p in parts) - penalty)))
        ministry = current_ministry(program, content.ministries)
        preferences = [dict(p, earned=_condition(p.get("when"), facts)) for p in program.get("preferences") or []]
        matches.append({
            "program_id": program["id"],
            "name": program["name"],
            "agency": f"{ministry or ''} / {program.get('agency') or ''}".strip(" /"),
            "ministry_at_notice": program.get("ministry") if ministry != program.get("ministry") else None,
            "type": program.get("type"),
            "eligible": eligible,
            "score": score,
            "score_parts": parts + ([{"name": "확인 필요 감점", "points": -penalty, "max": 0, "why": f"판단 불가 조건 {unknown}건"}] if penalty else []),
            "reasons": [c["reason"] for c in checks if c["ok"] is not False] + [p["why"] for p in parts if p["points"] > 0],
            "exclusions": [c["reason"] for c in checks if c["ok"] is False],
            "missing": list(dict.fromkeys(c["need"] for c in checks if c["ok"] is None)),
            "to_confirm": list(program.get("eligibility", {}).get("other") or []),
            "support": program.get("support") or {},
            "window": program.get("window") or {},
            "next_call": _next_call(program.get("window") or {}, today),
            "required_documents": program.get("required_documents") or [],
            # Each 가점 with whether this company earns it (True/False, None: the profile cannot tell).
            "preferences": preferences,
            "preferences_earned": [p["text"] for p in preferences if p["earned"]],
            "preferences_to_confirm": [p["text"] for p in preferences if p["earned"] is None],
            "evaluation_criteria": program.get("evaluation_criteria"),
            "form_items": program.get("form_items"),
            "form_differs_from_type": program.get("form_differs_from_type"),
            "source_url": (program.get("source") or {}).get("url"),
            "verified": program.get("verified", False),
            "routed": program["id"] in preferred,
        })
    # Equal scores: the program type the company's own plan points to comes first (a defined
    # development project → R&D, planned investments → facility programs).
    intended = ({"R&D", "사업화"} if facts["development"] else set()) | ({"설비"} if company.get("planned_investments") else set())
    matches.sort(key=lambda m: ({True: 0, None: 1, False: 2}[m["eligible"]], -m["score"], m["type"] not in intended,
                                m["program_id"]))
    matches = _follow_sequences(matches, routing)
    for rank, item in enumerate(matches, 1):
        item["rank"] = rank
    recommended = [m for m in matches if m["eligible"] is not False and m["score"] >= method.get("recommend_min_score", 0)]
    recommended = recommended[: max(method.get("recommend_count", 5), 1)]
    if len(recommended) < method.get("recommend_count", 5):
        extra = [m for m in matches if m["eligible"] is not False and m not in recommended]
        recommended += extra[: method.get("recommend_count", 5) - len(recommended)]
    for item in recommended:
        item["recommended"] = True
        for need in item["missing"]:
            missing.add(f"matches.{item['program_id']}", need, f"{item['name']} 자격 판단")
    for item in matches:
        item.setdefault("recommended", False)
    if facts["exports"] is None:
        missing.add("exports", EXPORTS_NEED, "지원사업 자격 판단(수출 요건)")
    context["matches"] = matches
    rank_of = {m["program_id"]: m["rank"] for m in matches}
    context["routing"] = [{"id": r["id"], "text": r["text"], "programs": r["programs"],
                           "ranks": [rank_of[pid] for pid in r["programs"]], "sequence": r["sequence"]} for r in routing]
    context["calendar"] = _calendar([m for m in matches if m["recommended"] or m["routed"] and m["eligible"] is not False], today)
    return context


def _verdict(checks: list[dict]):
    verdicts = [c["ok"] for c in checks]
    return False if False in verdicts else (None if None in verdicts else True)


def _routing(method: dict, facts: dict, verdict: dict) -> list[dict]:
    """The routing rules that apply, agreeing with the eligibility verdicts: a rule never points to
    a program the company cannot apply to. A sequence (do X, then Y) is dropped as a whole when a
    step is ineligible, since its advice names every step; a list of programs to prefer keeps the
    ones still open and is dropped when none is."""
    rules = []
    for rule in method.get("routing", []):
        if not _rule_applies(rule["when"], facts):
            continue
        sequence = bool(rule.get("sequence"))
        programs = [pid for pid in (rule.get("sequence") or rule.get("prefer_programs") or []) if pid in verdict]
        open_ = [pid for pid in programs if verdict[pid] is not False]
        if not open_ or (sequence and open_ != programs):
            continue
        rules.append({"id": rule["id"], "text": rule["text"], "programs": open_, "sequence": sequence})
    return rules


def _follow_sequences(matches: list[dict], routing: list[dict]) -> list[dict]:
    """A later step of a routing sequence never ranks above the step it follows (the advice 'X
    first, then Y' reads off the ranking): a later step placed higher moves to just after it."""
    order = list(matches)
    for rule in routing:
        if not rule["sequence"]:
            continue
        for before, after in zip(rule["programs"], rule["programs"][1:]):
            ids = [m["program_id"] for m in order]
            if ids.index(after) < ids.index(before):
                item = order.pop(ids.index(after))
                order.insert([m["program_id"] for m in order].index(before) + 1, item)
    return order


def _facts(company: dict, diagnosis: dict, method: dict, sme_size: dict, today: datetime.date) -> dict:
    info = company["company"]
    status = (company.get("regulation_status") or {}).get("k_ets")
    certs = {c["name"].replace(" ", "") for c in company.get("certifications", [])}
    needs = set((company.get("consulting") or {}).get("needs", []))
    derived = set()
    if diagnosis["cbam"]["covered"]:
        derived.add("cbam")
    if diagnosis["re100"]["demanded_by"]:
        derived.add("re100")
    if diagnosis["measures"]:
        derived |= {"energy_efficiency", "facility_investment"}
    if diagnosis["readiness"]["level"] <= 2:
        derived.add("esg")
    if any(d.get("demands") for d in company.get("customer_demands", [])):
        derived.add("supply_chain")
    founded = info.get("founded")
    sections = sme_size.get("ksic_sections", {})
    # 평균매출액 (중소기업기본법 시행령 제7조: the last three fiscal years' average): as the company's
    # 중소기업확인서 states it, else from the three years of its financial statements.
    average = info.get("average_revenue_krw_million") or financial_summary(info.get("financials"))["revenue_avg_krw_million"]
    small = company_size.small_enterprise(info["size_class"], info["ksic"], average, sme_size)
    return {
        "size": info["size_class"],
        "small": small,
        "micro": company_size.micro_enterprise(small, info["ksic"], info["employees"], sme_size),
        "revenue": {"last_year": info["revenue_krw_million"], "3yr_average": average},
        "base_year": company["base_year"],
        "ksic": info["ksic"],
        "region": info["region"],
        "city": info.get("city"),
        "in_complex": (info.get("industrial_complex") or {}).get("member"),
        # No exports section: not known (asked); an empty list: no exports.
        "exports": bool(company["exports"]) if "exports" in company else None,
        "eu_export": diagnosis["cbam"]["eu_export"],
        "cbam_covered": diagnosis["cbam"]["covered"] if all(p["covered"] is not None for p in diagnosis["cbam"]["products"]) or diagnosis["cbam"]["covered"] else None,
        "k_ets": status,
        "certs": certs,
        "inventory": (company.get("readiness") or {}).get("ghg_inventory"),
        "prior": set((company.get("consulting") or {}).get("prior_programs", [])),
        "toe": diagnosis["energy"]["total_toe"],
        "years": (company["base_year"] - founded) if founded else None,
        # Age when applying (this year or later): a maximum age is judged on it.
        "age_now": company_size.years_in_business(founded, max(today.year, company["base_year"])),
        "needs": needs,
        "derived_needs": derived,
        "demands": {d for c in company.get("customer_demands", []) for d in c.get("demands", [])},
        "smart_factory": (company.get("readiness") or {}).get("smart_factory_level"),
        "smart_factory_levels": method.get("smart_factory_levels", []),
        "capital_region": set(method.get("capital_region", [])),
        "ksic_sections": sections,
        "measures": diagnosis["measures"],
        "development": bool(((company.get("consulting") or {}).get("development") or {}).get("metrics")),
    }


def _score_parts(program: dict, f: dict, method: dict, today: datetime.date, preferred: set) -> list[dict]:
    w = method["weights"]
    fits = set(program.get("fits_needs") or [])
    stated, derived = fits & f["needs"], fits & f["derived_needs"]
    covered = stated | derived
    # Share of the program's purposes (up to two) that the company needs: a single-purpose
    # program that fits exactly (CBAM infrastructure for a CBAM exporter) scores in full.
    need_pts = w["needs"] * min(len(covered), 2) / min(len(fits), 2) if fits else 0
    parts = [{"name": "수요 부합", "points": round(need_pts, 1), "max": w["needs"],
              "why": f"필요 분야 부합: {', '.join(NEED_LABELS.get(x, x) for x in sorted(covered))}" if covered else "기업 수요와 직접 관련 적음"}]
    diag_pts, why = 0.0, []
    ptype = program.get("type")
    if "cbam" in fits and f["cbam_covered"]:
        diag_pts, why = w["diagnosis"], ["CBAM 대상 제품 보유(진단)"]
    elif ptype in f["equipment_program_types"] and f["measures"]:
        diag_pts, why = w["diagnosis"] * 0.8, [f"진단에서 설비 개선 조치 {len(f['measures'])}건 도출"]
    elif ptype in ("컨설팅/바우처",) and (f["inventory"] in (None, "none")):
        diag_pts, why = w["diagnosis"] * 0.8, ["배출량 산정·관리 체계 보완 필요(진단)"]
    elif ptype in ("R&D", "사업화") and f["development"]:
        diag_pts, why = w["diagnosis"], ["개발 과제와 정량 목표 정의(면담)"]
    elif ptype in ("R&D", "사업화") and "rd" in f["needs"]:
        diag_pts, why = w["diagnosis"] * 0.6, ["기술개발 수요(프로필)"]
    if program["id"] in preferred:
        diag_pts, why = w["diagnosis"], why + ["라우팅 규칙상 우선 사업"]
    parts.append({"name": "진단 근거", "points": round(diag_pts, 1), "max": w["diagnosis"], "why": "; ".join(why) or "진단 결과와 직접 연결 약함"})
    earned = [p["text"] for p in program.get("preferences") or [] if _condition(p.get("when"), f)]
    pref_pts = w["preferences"] * min(len(earned), 2) / 2
    parts.append({"name": "가점 요건", "points": round(pref_pts, 1), "max": w["preferences"], "why": "; ".join(earned) or "해당 가점 없음"})
    nxt = _next_call(program.get("window") or {}, today)
    timing = w["timing"] if nxt["months_ahead"] is not None and nxt["months_ahead"] <= 12 else (w["timing"] / 2 if nxt["months_ahead"] is None else 0)
    parts.append({"name": "신청 시기", "points": round(timing, 1), "max": w["timing"], "why": nxt["text"]})
    return parts


def _next_call(window: dict, today: datetime.date) -> dict:
    """When the program's next call opens, from the notice dates or the usual months."""
    recurring = window.get("recurring")
    if recurring in ("monthly", "rolling"):
        return {"months_ahead": 0, "month": None, "year": None, "text": "상시·매월 접수" if recurring == "monthly" else "상시 접수", "estimated": False}
    opened = window.get("open")
    if opened:
        try:
            date = datetime.date.fromisoformat(str(opened))
        except ValueError:
            date = None
        if date and date >= today:
            return {"months_ahead": _months(today, date), "month": date.month, "year": date.year,
                    "text": f"{date:%Y.%m.%d} 접수 시작 (공고)", "estimated": False}
    months = window.get("typical_months") or ([datetime.date.fromisoformat(str(opened)).month] if opened else [])
    if months and recurring in ("annual", None):
        year = today.year if min(months) > today.month else today.year + 1
        first = min(months) if year > today.year else min(m for m in months if m > today.month)
        return {"months_ahead": _months(today, datetime.date(year, first, 1)), "month": first, "year": year,
                "text": f"{year}년 {first}월경 예상 (직전 공고 기준, 공고 확인 필요)", "estimated": True}
    return {"months_ahead": None, "month": None, "year": None, "text": "공고 시기 미정 (확인 필요)", "estimated": True}


def _months(a: datetime.date, b: datetime.date) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


def _calendar(programs: list[dict], today: datetime.date) -> list[dict]:
    rows = []
    for item in programs:
        call = item["next_call"]
        rows.append({"program_id": item["program_id"], "name": item["name"], "year": call["year"], "month": call["month"],
                     "text": call["text"], "estimated": call["estimated"], "type": item["type"]})
    rows.sort(key=lambda r: (r["year"] or 9999, r["month"] or 13, r["program_id"]))
    return rows


def _rule_applies(when: dict, f: dict) -> bool:
    for key, value in when.items():
        if key == "k_ets" and f["k_ets"] not in value:
            return False
        if key == "cbam_covered" and bool(f["cbam_covered"]) != value:
            return False
        if key == "eu_export" and f["eu_export"] != value:
            return False
        if key == "customer_demands" and not (f["demands"] & set(value)):
            return False
        if key == "toe_between" and not (value[0] <= f["toe"] < value[1]):
            return False
    return True


def current_ministry(program: dict, ministries: dict) -> str | None:
    """The ministry that runs the program now: a record keeps the name its notice used (with
    `ministry_as_of`); renames and transfers of functions since then come from the 정부조직법 record."""
    name, as_of = program.get("ministry"), str(program.get("ministry_as_of") or "")
    for move in ministries.get("transfers") or []:
        if program.get("id") in move["programs"] and name == move["from"] and as_of < str(move["effective"]):
            return move["to"]
    for rename in ministries.get("renames") or []:
        if name == rename["old"] and as_of < str(rename["effective"]):
            name = rename["new"]
    return name
