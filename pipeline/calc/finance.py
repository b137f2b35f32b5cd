"""재무현황: the ratios program forms ask for, from the company's financial statements.

부채비율 = 부채총계 ÷ 자본총계 × 100 and 영업이익률 = 영업이익 ÷ 매출액 × 100 (the definitions of the
Bank of Korea's 기업경영분석 and of the forms' 재무현황 tables). A ratio whose inputs are missing
stays None; a company with negative equity (자본잠식) has no meaningful 부채비율.
"""
from __future__ import annotations


def financial_summary(rows: list[dict] | None, years: int = 3) -> dict:
    """The latest `years` fiscal years, oldest first, with their ratios, and what is missing."""
    rows = sorted(rows or [], key=lambda r: r["year"])[-years:]
    table = []
    for row in rows:
        revenue = row.get("revenue_krw_million")
        profit = row.get("operating_profit_krw_million")
        liabilities = row.get("total_liabilities_krw_million")
        equity = row.get("total_equity_krw_million")
        table.append({
            "year": row["year"],
            "revenue_krw_million": revenue,
            "operating_profit_krw_million": profit,
            "operating_margin_pct": profit / revenue * 100 if profit is not None and revenue else None,
            "total_liabilities_krw_million": liabilities,
            "total_equity_krw_million": equity,
            "debt_ratio_pct": liabilities / equity * 100 if liabilities is not None and equity and equity > 0 else None,
            "capital_impaired": equity is not None and equity <= 0,
        })
    complete = len(table) == years and all(
        r["operating_profit_krw_million"] is not None and r["total_liabilities_krw_million"] is not None
        and r["total_equity_krw_million"] is not None for r in table)
    revenues = [r["revenue_krw_million"] for r in table if r["revenue_krw_million"] is not None]
    return {
        "years": table,
        "complete": complete,
        "revenue_avg_krw_million": sum(revenues) / len(revenues) if len(revenues) == years else None,
        "latest_operating_profit_krw_million": table[-1]["operating_profit_krw_million"] if table else None,
    }
