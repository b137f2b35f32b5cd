"""Stage 2 (2차 컨설팅): match the company to the program catalog.

Reads context["company"], context["diagnosis"], content/programs/ and content/matching.yaml; adds
context["matches"] (every program: eligible true/false/null, score 0–100 with its parts, reasons,
missing), context["routing"] and context["calendar"]. Hard eligibility rules first; an unknown
answer never passes or fails silently: it makes eligible null and is listed.
"""
from __future__ import annotations

import datetime

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
    facts = _facts(company, diagnosis, method)
    facts["program_names"] = {pid: p["name"] for pid, p in content.programs.items()}
    missing = Missing(context.setdefault("missing", []))
    routing = [rule for rule in method.get("routing", []) if _rule_applies(rule["when"], facts)]
    preferred = {pid for rule in routing for pid in rule.get("prefer_programs", []) + rule.get("sequence", [])}
    matches = []
    for program in content.programs.values():
        checks = _eligibility(program, facts)
        verdicts = [c["ok"] for c in checks]
        eligible = False if False in verdicts else (None if None in verdicts else True)
        parts = _score_parts(program, facts, method, today, preferred)
        unknown = sum(1 for c in checks if c["ok"] is None)
        penalty = unknown * method.get("unknown_penalty", 0)
        score = max(0, min(100, round(sum(p["points"] for p in parts) - penalty)))
        ministry = current_ministry(program, content.ministries)
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
            "missing": [c["need"] for c in checks if c["ok"] is None],
            "to_confirm": list(program.get("eligibility", {}).get("other") or []),
            "support": program.get("support") or {},
            "window": program.get("window") or {},
            "next_call": _next_call(program.get("window") or {}, today),
            "required_documents": program.get("required_documents") or [],
            "preferences": program.get("preferences") or [],
            "source_url": (program.get("source") or {}).get("url"),
            "verified": program.get("verified", False),
            "routed": program["id"] in preferred,
        })
    # Equal scores: the program type the company's own plan points to comes first (a defined
    # development project → R&D, planned investments → facility programs).
    intended = ({"R&D", "사업화"} if facts["development"] else set()) | ({"설비"} if company.get("planned_investments") else set())
    matches.sort(key=lambda m: ({True: 0, None: 1, False: 2}[m["eligible"]], -m["score"], m["type"] not in intended,
                                m["program_id"]))
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
    context["matches"] = matches
    context["routing"] = [{"id": r["id"], "text": r["text"], "programs": r.get("sequence") or r.get("prefer_programs", [])} for r in routing]
    context["calendar"] = _calendar([m for m in matches if m["recommended"] or m["routed"] and m["eligible"] is not False], today)
    return context


def _facts(company: dict, diagnosis: dict, method: dict) -> dict:
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
    return {
        "size": info["size_class"],
        "ksic": info["ksic"],
        "region": info["region"],
        "in_complex": (info.get("industrial_complex") or {}).get("member"),
        "exports": bool(company.get("exports")),
        "eu_export": diagnosis["cbam"]["eu_export"],
        "cbam_covered": diagnosis["cbam"]["covered"] if all(p["covered"] is not None for p in diagnosis["cbam"]["products"]) or diagnosis["cbam"]["covered"] else None,
        "k_ets": status,
        "certs": certs,
        "inventory": (company.get("readiness") or {}).get("ghg_inventory"),
        "prior": set((company.get("consulting") or {}).get("prior_programs", [])),
        "toe": diagnosis["energy"]["total_toe"],
        "years": (company["base_year"] - founded) if founded else None,
        "needs": needs,
        "derived_needs": derived,
        "demands": {d for c in company.get("customer_demands", []) for d in c.get("demands", [])},
        "smart_factory": (company.get("readiness") or {}).get("smart_factory_level"),
        "capital_region": set(method.get("capital_region", [])),
        "high_emission": tuple(method.get("high_emission_ksic_prefixes", [])),
        "ksic_sections": method.get("ksic_sections", {}),
        "measures": diagnosis["measures"],
        "development": bool(((company.get("consulting") or {}).get("development") or {}).get("metrics")),
    }


def _check(ok, reason, need=None):
    return {"ok": ok, "reason": reason, "need": need}


def _eligibility(program: dict, f: dict) -> list[dict]:
    rules = program.get("eligibility") or {}
    checks = []
    sizes = rules.get("size_classes")
    if sizes:
        ok = f["size"] in sizes
        checks.append(_check(ok, f"기업 규모 {f['size']}기업 {'충족' if ok else '— 대상: ' + '·'.join(sizes)}"))
    prefixes = rules.get("industries_ksic_prefixes")
    if prefixes:
        ok = any(_ksic_matches(f["ksic"], p, f["ksic_sections"]) for p in prefixes)
        checks.append(_check(ok, f"업종 KSIC {f['ksic']} {'해당' if ok else '— 대상 업종 아님 (' + ', '.join(prefixes) + ')'}"))
    regions = rules.get("regions")
    if regions:
        ok = f["region"] in regions
        checks.append(_check(ok, f"소재지 {f['region']} {'대상 지역' if ok else '— 대상 지역: ' + ', '.join(regions)}"))
    if rules.get("requires_export"):
        checks.append(_check(f["exports"], "수출 실적 있음" if f["exports"] else "수출 실적 필요(프로필상 수출 없음)"))
    if rules.get("requires_eu_export"):
        checks.append(_check(f["eu_export"], "EU 수출 있음" if f["eu_export"] else "EU 수출 필요"))
    if rules.get("requires_cbam_goods"):
        ok = f["cbam_covered"]
        checks.append(_check(ok, "CBAM 대상 품목 생산" if ok else ("CBAM 대상 품목 아님" if ok is False else "CBAM 대상 여부 판단 불가"),
                             None if ok is not None else "제품 CN 코드(8자리)"))
    if rules.get("exclude_k_ets"):
        if f["k_ets"] is None:
            checks.append(_check(None, "배출권 할당·목표관리 지정 여부 미기재", "배출권거래제·목표관리 지정 여부"))
        else:
            ok = f["k_ets"] == "none"
            checks.append(_check(ok, "배출권 할당·목표관리 비대상" if ok else "배출권 할당·목표관리업체는 제외 대상"))
    if rules.get("only_k_ets"):
        ok = f["k_ets"] == "allocated"
        checks.append(_check(ok if f["k_ets"] is not None else None,
                             "배출권 할당대상업체 전용 사업" + (" — 해당" if ok else " — 비해당"), None if f["k_ets"] is not None else "배출권거래제 지정 여부"))
    for cert in rules.get("required_certifications") or []:
        ok = cert.replace(" ", "") in f["certs"]
        checks.append(_check(ok, f"{cert} {'보유' if ok else '필요(미보유)'}"))
    if rules.get("requires_emissions_data"):
        if f["inventory"] is None:
            checks.append(_check(None, "기존 배출량 산정 여부 미기재", "온실가스 인벤토리 보유 여부"))
        else:
            ok = f["inventory"] != "none"
            checks.append(_check(ok, "배출량 산정 자료 보유" if ok else "기존 배출량 산정 자료 필요(본 진단 결과로 보완 가능)"))
    if rules.get("requires_consortium"):
        checks.append(_check(None, "컨소시엄(원청·수요기업 등) 구성이 필요", "컨소시엄 참여 기관의 참여 의사"))
    prior = rules.get("requires_prior_program") or []
    if prior:
        ok = bool(f["prior"] & set(prior))
        names = ", ".join(f.get("program_names", {}).get(pid, pid) for pid in prior)
        checks.append(_check(ok, "선행 사업 선정 이력 " + ("있음" if ok else f"필요: {names} (먼저 신청)")))
    low, high = rules.get("energy_toe_min"), rules.get("energy_toe_max")
    if low is not None or high is not None:
        ok = (low is None or f["toe"] >= low) and (high is None or f["toe"] < high)
        checks.append(_check(ok, f"에너지 사용량 {f['toe']:,.0f} toe ({low or 0:,}–{high or '∞'} toe 구간 {'해당' if ok else '밖'})"))
    years = rules.get("min_years_in_business")
    if years:
        if f["years"] is None:
            checks.append(_check(None, "업력 판단 불가", "설립연도"))
        else:
            ok = f["years"] >= years
            checks.append(_check(ok, f"업력 {f['years']}년 ({years}년 이상 {'충족' if ok else '미달'})"))
    if rules.get("excludes_prior_participation") and program["id"] in f["prior"]:
        checks.append(_check(False, "이미 지원받은 사업(중복 참여 제한)"))
    return checks


def _ksic_matches(ksic: str, prefix: str, sections: dict) -> bool:
    if prefix in sections:
        return sections[prefix]["from"] <= int(ksic[:2]) <= sections[prefix]["to"]
    return ksic.startswith(prefix)


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
    elif ptype in ("설비", "융자", "보증") and f["measures"]:
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
    earned = [p["text"] for p in program.get("preferences") or [] if _preference(p.get("key"), f)]
    pref_pts = w["preferences"] * min(len(earned), 2) / 2
    parts.append({"name": "가점 요건", "points": round(pref_pts, 1), "max": w["preferences"], "why": "; ".join(earned) or "해당 가점 없음"})
    nxt = _next_call(program.get("window") or {}, today)
    timing = w["timing"] if nxt["months_ahead"] is not None and nxt["months_ahead"] <= 12 else (w["timing"] / 2 if nxt["months_ahead"] is None else 0)
    parts.append({"name": "신청 시기", "points": round(timing, 1), "max": w["timing"], "why": nxt["text"]})
    return parts


def _preference(key, f) -> bool:
    if key == "non_capital_region":
        return f["region"] not in f["capital_region"]
    if key == "not_in_industrial_complex":
        return f["in_complex"] is False
    if key == "cbam_exporter":
        return bool(f["cbam_covered"] and f["eu_export"])
    if key == "high_emission_industry":
        return f["ksic"].startswith(f["high_emission"])
    if key == "root_industry":
        return "뿌리기업" in f["certs"]
    if key == "green_certified":
        return "녹색인증" in f["certs"]
    if key == "smart_factory":
        return f["smart_factory"] in ("중간1", "중간2", "고도화")
    if key == "supply_chain_buyer":
        return bool(f["demands"])
    if key == "esg_consulting_done":
        return any("esg" in p for p in f["prior"])
    return False


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
