"""Program eligibility rules against a company's facts (pure functions; the match stage builds the facts).

Each rule of a program's `eligibility` (content/programs/README.md) gives one check: ok True, False
or None (the profile cannot tell), the reason as the documents show it, and for None the fact to ask.
A 가점's `when` condition is judged the same way (`condition`).
"""
from __future__ import annotations

from pipeline.calc import company_size

# What an absent `exports` section asks for (an empty list means: no exports).
EXPORTS_NEED = "수출 실적(수출국별 매출 비중; 수출이 없으면 '없음')"


def _check(ok, reason, need=None):
    return {"ok": ok, "reason": reason, "need": need}


def eligibility(program: dict, f: dict) -> list[dict]:
    rules = program.get("eligibility") or {}
    checks = []
    sizes = rules.get("size_classes")
    if sizes:
        checks.append(_size_check(sizes, f))
    prefixes = rules.get("industries_ksic_prefixes")
    if prefixes:
        ok = any(company_size.ksic_in(f["ksic"], p, f["ksic_sections"]) for p in prefixes)
        checks.append(_check(ok, f"업종 KSIC {f['ksic']} {'해당' if ok else '— 대상 업종 아님 (' + ', '.join(prefixes) + ')'}"))
    regions = rules.get("regions")
    if regions:
        ok = f["region"] in regions
        checks.append(_check(ok, f"소재지 {f['region']} {'대상 지역' if ok else '— 대상 지역: ' + ', '.join(regions)}"))
    cities = rules.get("cities")
    if cities:
        ok = None if f["city"] is None else f["city"] in cities
        checks.append(_check(ok, f"소재 시·군 {f['city'] or '미기재'} {'대상' if ok else ('— 대상: ' + ', '.join(cities) if ok is False else '')}".strip(),
                             None if ok is not None else "사업장 소재 시·군"))
    if rules.get("revenue_max_krw_100m") is not None:
        checks.append(_revenue_check(rules["revenue_max_krw_100m"], rules.get("revenue_basis") or "3yr_average", f))
    if rules.get("requires_export"):
        ok = f["exports"]
        checks.append(_check(ok, "수출 실적 있음" if ok else ("수출 실적 필요(프로필상 수출 없음)" if ok is False else "수출 실적 미기재"),
                             None if ok is not None else EXPORTS_NEED))
    if rules.get("requires_eu_export"):
        ok = f["eu_export"]
        checks.append(_check(ok, "EU 수출 있음" if ok else ("EU 수출 필요" if ok is False else "EU 수출 여부 미기재"),
                             None if ok is not None else EXPORTS_NEED))
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
    if rules.get("requires_industrial_complex"):
        ok = f["in_complex"]
        checks.append(_check(ok, "산업단지 입주" if ok else ("산업단지 입주기업 대상(비입주)" if ok is False else "산업단지 입주 여부 미기재"),
                             None if ok is not None else "산업단지 입주 여부"))
    prior = rules.get("requires_prior_program") or []
    if prior:
        # The profile lists the programs the company reported; one not listed may still have been
        # received, so a missing prerequisite is asked, not held against the company.
        names = ", ".join(f.get("program_names", {}).get(pid, pid) for pid in prior)
        if f["prior"] & set(prior):
            checks.append(_check(True, "선행 사업 선정 이력 있음"))
        else:
            checks.append(_check(None, f"선행 사업 선정 이력 확인 필요: {names} (미선정이면 먼저 신청)", f"{names} 선정 이력"))
    level = rules.get("smart_factory_level_min")
    if level:
        checks.append(_smart_factory_check(level, f))
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
    most = rules.get("years_in_business_max")
    if most is not None:
        checks.append(_max_age_check(most, f))
    if rules.get("excludes_prior_participation") and program["id"] in f["prior"]:
        checks.append(_check(False, "이미 지원받은 사업(중복 참여 제한)"))
    return checks


def _size_check(sizes: list, f: dict) -> dict:
    if f["size"] in sizes:
        return _check(True, f"기업 규모 {f['size']}기업 충족")
    if f["size"] == "중소" and ("소기업" in sizes or "소상공인" in sizes):
        label = "소기업" if "소기업" in sizes else "소상공인"
        derived = f["small"] if label == "소기업" else f["micro"]
        ok = derived["ok"]
        verdict = "해당" if ok else ("아님" if ok is False else "판단 불가")
        return _check(ok, f"기업 규모 {label} {verdict} ({derived['why']})", derived.get("need") if ok is None else None)
    return _check(False, f"기업 규모 {f['size']}기업 — 대상: {'·'.join(sizes)}")


def _revenue_check(ceiling: float, basis: str, f: dict) -> dict:
    value = f["revenue"].get(basis)
    label = {"3yr_average": "최근 3개년 평균 매출액", "last_year": f"직전 연도({f['base_year']}년) 매출액"}.get(basis, basis)
    if value is None:
        last = f["revenue"]["last_year"] / 100
        hint = f"기준연도 매출 {last:,.0f}억 원{'으로 상한 초과' if last > ceiling else ''}"
        return _check(None, f"{label} {ceiling:,}억 원 이하 요건 — 판단 불가 ({hint})", company_size.AVERAGE_REVENUE_NEED)
    ok = value / 100 <= ceiling
    return _check(ok, f"{label} {value / 100:,.0f}억 원 ({ceiling:,}억 원 {'이하 충족' if ok else '초과'})")


def _smart_factory_check(level: str, f: dict) -> dict:
    levels, have = f["smart_factory_levels"], f["smart_factory"]
    if have is None or have not in levels or level not in levels:
        return _check(None, f"스마트공장 수준 '{level}' 이상 요건 — 수준 미기재", "스마트공장 수준(수준확인 등급)")
    ok = levels.index(have) >= levels.index(level)
    return _check(ok, f"스마트공장 수준 '{have}' ('{level}' 이상 {'충족' if ok else '미달'})")


def _max_age_check(most: int, f: dict) -> dict:
    age = f["age_now"]
    if age is None:
        return _check(None, f"업력 {most}년 이내 요건 — 설립연도 미기재", "설립연도")
    low, high = age
    if low >= most:
        return _check(False, f"업력 {low}년 이상 ({most}년 이내 대상 — 초과)")
    if high <= most:
        return _check(True, f"업력 {most}년 이내 충족")
    return _check(None, f"업력 {most}년 이내 여부는 설립일에 따라 달라짐", "설립일(법인등기부상 연월일)")


def condition(when: dict | None, f: dict):
    """Whether the company meets a 가점's condition: True, False, or None (the profile cannot tell,
    or the notice's wording is not data: text only)."""
    if not when:
        return None
    results = [_fact(key, value, f) for key, value in when.items()]
    return False if False in results else (None if None in results else True)


def _fact(key: str, value, f: dict):
    if key == "in_industrial_complex":
        return None if f["in_complex"] is None else f["in_complex"] is value
    if key == "capital_region":
        return (f["region"] in f["capital_region"]) is value
    if key == "ksic_prefixes":
        return any(company_size.ksic_in(f["ksic"], str(p), f["ksic_sections"]) for p in value)
    if key == "certifications_any":
        return any(c.replace(" ", "") in f["certs"] for c in value)
    if key == "smart_factory_level_min":
        return _smart_factory_check(value, f)["ok"]
    if key == "cbam_exporter":
        both = (f["cbam_covered"], f["eu_export"])
        return None if None in both and False not in both else all(both) is value
    if key == "customer_demands":
        return bool(f["demands"]) is value
    if key == "prior_programs_any":
        return True if f["prior"] & set(value) else None
    return None
