"""Company size and age facts that programs' eligibility rules ask for (pure functions).

소기업 and 소상공인 follow from the main industry (KSIC) and the 평균매출액 (average revenue of the last
three business years) or the head count, by the tables of content/regulations/sme-size.yaml.
Each answer is True, False or None (the profile cannot tell), with the fact that decides it.
"""
from __future__ import annotations

# The fact a 평균매출액 rule asks for when the profile lacks it.
AVERAGE_REVENUE_NEED = "평균매출액(직전 3개 사업연도 평균, 중소기업확인서 기준)"


def ksic_in(ksic: str, code: str, sections: dict) -> bool:
    """A five-digit KSIC code under a section letter (C) or a code prefix (25, 2594)."""
    if code in sections:
        return sections[code]["from"] <= int(ksic[:2]) <= sections[code]["to"]
    return ksic.startswith(code)


def _row(ksic: str, rows: list[dict], sections: dict) -> dict | None:
    # A two-digit entry wins over a section letter (수도업 36 before E, 제조업 중분류 before C).
    for wanted in (lambda c: c not in sections, lambda c: c in sections):
        for row in rows:
            if any(wanted(c) and ksic_in(ksic, c, sections) for c in row["ksic"]):
                return row
    return None


def small_enterprise_threshold(ksic: str, table: dict) -> dict | None:
    """The 별표 3 row (name, max_krw_100m) of the company's industry, or None when no row fits."""
    return _row(ksic, table["small_enterprise"]["thresholds"], table["ksic_sections"])


def small_enterprise(size_class: str, ksic: str, average_revenue_krw_million: float | None, table: dict) -> dict:
    """Whether a company is a 소기업: ok True/False/None, the threshold used and why."""
    if size_class != "중소":
        return {"ok": False, "threshold": None, "why": f"{size_class}기업은 소기업이 아님"}
    row = small_enterprise_threshold(ksic, table)
    if row is None:
        return {"ok": None, "threshold": None, "why": f"KSIC {ksic}의 소기업 기준 업종을 찾지 못함",
                "need": "주된 업종의 소기업 해당 여부(중소기업확인서)"}
    limit = row["max_krw_100m"]
    if average_revenue_krw_million is None:
        return {"ok": None, "threshold": limit, "why": f"{row['name']} 소기업 기준 평균매출액 {limit:,}억 원 이하 — 평균매출액 미기재",
                "need": AVERAGE_REVENUE_NEED}
    value = average_revenue_krw_million / 100
    ok = value <= limit
    return {"ok": ok, "threshold": limit,
            "why": f"평균매출액 {value:,.0f}억 원 — {row['name']} 소기업 기준 {limit:,}억 원 {'이하 충족' if ok else '초과'}"}


def micro_enterprise(small: dict, ksic: str, employees: int, table: dict) -> dict:
    """소상공인: a 소기업 with fewer employees than its industry's limit."""
    rules = table["micro_enterprise"]
    row = _row(ksic, rules["employees_below"], table["ksic_sections"])
    limit = row["employees_lt"] if row else rules["employees_below_default"]
    if small["ok"] is False:
        return {"ok": False, "why": "소기업이 아니므로 소상공인 아님"}
    fewer = employees < limit
    if not fewer:
        return {"ok": False, "why": f"상시근로자 {employees:,}명 — 소상공인 기준 {limit}명 미만 초과"}
    return {"ok": small["ok"], "why": f"상시근로자 {employees:,}명 ({limit}명 미만); {small['why']}", "need": small.get("need")}


def years_in_business(founded: int | None, year: int) -> tuple[int, int] | None:
    """Bounds of the time since founding in `year`, in years: with the founding year only it lies
    between year - founded - 1 and year - founded + 1 (founded late in its year, or early)."""
    if founded is None:
        return None
    return max(year - founded - 1, 0), year - founded + 1
