"""Look-ups in the EU's CBAM tables: default values (Implementing Regulation (EU) 2025/2621) and
benchmarks (Implementing Regulation (EU) 2025/2620), as content/cbam/*.csv hold them.

A CN code of the profile may be shorter than the table's lines (a 6-digit HS code against 8-digit
CN lines). It decides a value only when every line under it carries the same value; otherwise the
answer is None with the reason, and the caller asks for the longer code. Nothing is guessed.
"""
from __future__ import annotations

import re

NO_VALUE = {"", "N/A", "see below", "–", "-"}


def digits_of(code) -> str:
    return re.sub(r"[^0-9]", "", str(code or ""))


def _number(text) -> float | None:
    text = (text or "").strip()
    if text in NO_VALUE:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _indicators(text: str) -> set[str]:
    """'(C)/(F)' → {'C', 'F'}; '(F)(1)' → {'F', '1'}."""
    return set(re.findall(r"\(([0-9A-Z])\)", text or ""))


_INDEXES: dict[tuple[int, str], tuple[list, dict]] = {}


def _indexed(rows: list[dict], kind: str, build) -> dict:
    """`build(rows)`, computed once per table (content parses each file once per process, so the
    same list comes back): a plan looks up dozens of codes and years in 1,000+ rows."""
    key = (id(rows), kind)
    hit = _INDEXES.get(key)
    if hit is None or hit[0] is not rows:
        hit = _INDEXES[key] = (rows, build(rows))
    return hit[1]


def _default_lines(rows: list[dict]) -> dict[str, dict[str, dict]]:
    """table name → {CN digits: row}, heading rows without a value left out."""
    out: dict[str, dict[str, dict]] = {}
    for r in rows:
        if (r["total"] or "").strip() not in ("see below", ""):
            out.setdefault(r["country"], {})[digits_of(r["cn_code"])] = r
    return out


def _benchmark_lines(rows: list[dict]) -> dict[str, dict[str, list[dict]]]:
    """column key → {CN digits: rows with a value in that column}."""
    out: dict[str, dict[str, list[dict]]] = {}
    for key in ("column_a", "column_b"):
        by_cn: dict[str, list[dict]] = {}
        for r in rows:
            if _number(r[f"{key}_bm_tco2e_per_t"]) is not None:
                by_cn.setdefault(digits_of(r["cn_code"]), []).append(r)
        out[key] = by_cn
    return out


def markup(year: int, sector: str, rules: dict) -> float:
    """The mark-up on a default value declared for goods imported in `year` (fraction)."""
    table = rules["default_value_markup"]
    if sector in table.get("flat_by_sector", {}):
        return float(table["flat_by_sector"][sector])
    values = {int(k): float(v) for k, v in table["values"].items()}
    if year in values:
        return values[year]
    return float(table["applies_from_2028_onwards"]) if year > max(values) else 0.0


def _one_line(code: str, lines: dict[str, dict], value_of) -> tuple[dict | None, str | None]:
    """The table line that decides `code`: the longest line the code starts with, or — for a code
    shorter than the lines — the lines under it when they all agree on the value."""
    over = [c for c in lines if code.startswith(c)]
    if over:
        best = max(over, key=len)
        return lines[best], None
    under = [lines[c] for c in lines if c.startswith(code)]
    if not under:
        return None, "표에 없는 CN 코드"
    values = {value_of(line) for line in under}
    if len(values) == 1:
        return under[0], None
    return None, f"CN {code} 아래 세부 코드마다 값이 다름 (8자리 CN 코드 필요)"


def default_value(cn_code, country: str, rows: list[dict], rules: dict) -> dict:
    """The EU default value of a good for its country of origin (ISO code), with its route.

    A country row showing '–' falls back to 'Other countries and territories' (Annex I rule). An
    origin outside the tables the content holds gives None with the reason: the full table of that
    country would be needed, and the fallback is not the same as that country's value.
    """
    names = rules["default_value_countries"]
    code = digits_of(cn_code)
    sheet = names.get(country)
    if sheet is None:
        return {"value": None, "reason": f"원산지 {country}의 EU 기본값 표가 콘텐츠에 없음"}
    fallback = names["_other"]
    tables = _indexed(rows, "default", _default_lines)
    for table, is_fallback in ((sheet, False), (fallback, True)):
        lines = tables.get(table, {})
        line, reason = _one_line(code, lines, lambda r: (r["total"], r["route"]))
        if line is None:
            return {"value": None, "reason": reason}
        total = _number(line["total"])
        if total is None:  # '–': no value for this country → the fallback table
            continue
        return {
            "value": total,
            "direct": _number(line["direct"]),
            "indirect": _number(line["indirect"]),
            "route": sorted(_indicators(line["route"])),
            "cn_line": digits_of(line["cn_code"]),
            "description": line["description"],
            "table": table,
            "fallback": is_fallback,
            "source_row": line.get("source_row"),
            "reason": None,
        }
    return {"value": None, "reason": "기본값 없음"}


def _years(indicators: set[str], production_years: str) -> tuple[int, int] | None:
    found = re.findall(r"\d{4}", production_years or "")
    if len(found) == 2:
        return int(found[0]), int(found[1])
    return None


def benchmark(cn_code, column: str, route: list[str], year: int, rows: list[dict]) -> dict:
    """The CBAM benchmark of a good: Column 'A' (process benchmark, used with actual data) or 'B'
    (default benchmark, used with default values and for precursors without the producer's value).

    `route` is the production route of the origin country from the default-value table (e.g.
    ['C'], ['C', 'F'], ['L']); where several apply, the highest value of the year counts
    (Implementing Regulation (EU) 2025/2620, Annex point 5.1). Lines for production years
    2028–2030 stand for the later years too (no value is set beyond 2030).
    """
    code = digits_of(cn_code)
    key = "column_a" if column == "A" else "column_b"
    by_cn = _indexed(rows, "benchmark", _benchmark_lines)[key]

    def value(lines: list[dict]) -> float | None:
        fitting = []
        for r in lines:
            marks = _indicators(r[f"{key}_indicator"])
            routes = {m for m in marks if m.isalpha()}
            if routes and route and not routes & set(route):
                continue
            if routes and not route:
                return None  # route-specific values and no route known
            span = _years(marks, r[f"{key}_production_years"])
            if span and not (span[0] <= year <= span[1] or (year > span[1] and span[1] == 2030)):
                continue
            fitting.append(_number(r[f"{key}_bm_tco2e_per_t"]))
        return max(fitting) if fitting else None

    # only the lines that can decide this code: those it starts with, or that start with it
    per_cn = {c: value(lines) for c, lines in by_cn.items() if code.startswith(c) or c.startswith(code)}
    line, reason = _one_line(code, {c: {"cn": c, "value": v} for c, v in per_cn.items()}, lambda r: r["value"])
    if line is None or line["value"] is None:
        return {"value": None, "column": column, "reason": reason or "해당 생산경로의 벤치마크 없음"}
    return {"value": line["value"], "column": column, "cn_line": line["cn"], "route": route, "reason": None}


def cn_display(code) -> str:
    """'73181588' → '7318 15 88', as the CN prints codes."""
    d = digits_of(code)
    return " ".join([d[:4]] + [d[i:i + 2] for i in range(4, len(d), 2)])
