"""Stage 0 scoring: each application against the table's rules, then ranking with the tie-break."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from pipeline.errors import ContentError
from pipeline.selection.inputs import Application, _display, _items


# ====================================================================== scoring
@dataclass
class ItemResult:
    item: dict
    points: Decimal
    submitted: bool
    evidence: dict
    basis: str                                   # how the points follow from the evidence
    evaluator_scores: list[tuple[str, Decimal | None]] = field(default_factory=list)


@dataclass
class Result:
    id: str
    name: str
    application: Application
    items: list[ItemResult]
    quantitative: Decimal
    qualitative: Decimal
    total: Decimal
    missing: list[str]
    evaluator_totals: list[tuple[str, Decimal]]
    ineligible: list[str]
    rank: int | None = None
    selected: bool = False
    tie_notes: list[str] = field(default_factory=list)
    tie_events: list[tuple[int, int, str]] = field(default_factory=list)  # (upper rank, lower rank, note)

    def item(self, item_id: str) -> ItemResult:
        return next(r for r in self.items if r.item["id"] == item_id)


def _dec(value) -> Decimal:
    return Decimal(str(value))


def fmt(value: Decimal) -> str:
    return f"{value:.0f}" if value == value.to_integral_value() else f"{value:.2f}"


def _values(data, path: str) -> list:
    """Values at a dotted path; `name[]` walks every element of a list."""
    current = [data]
    for part in path.split("."):
        many = part.endswith("[]")
        key = part[:-2] if many else part
        step = []
        for node in current:
            value = node.get(key) if isinstance(node, dict) else None
            if value is None:
                continue
            if many:
                if isinstance(value, list):
                    step.extend(v for v in value if v is not None)
            else:
                step.append(value)
        current = step
    return current


def _where(app: Application, path: str) -> str:
    facts = app.facts
    line = facts.line_of(path.split("[]")[0])
    return f"{_display(facts.path)}:{line}" if line else _display(facts.path)


def _rule_field(rule: dict, app: Application, key: str, what: str):
    """The rule's profile field(s) (`field`, `match_fields`), or for an online-form application the
    application's own (`applicant_field`, `applicant_match_fields`): both are data in the table."""
    if not app.from_form:
        return rule[key]
    form_key = f"applicant_{key}"
    if form_key not in rule:
        raise ContentError(f"평가표 설정의 {what} 규칙에 {form_key}가 없어 온라인 신청서({_display(app.path)})의 "
                           f"applicant 값으로 점수를 매길 수 없습니다 (docs/selection.md)")
    return rule[form_key]


def _score_rule(item: dict, app: Application) -> tuple[Decimal, str]:
    rule = item["rule"]
    data = app.facts.data
    source = "신청서" if app.from_form else "프로필"
    if rule["kind"] == "map":
        field_path = _rule_field(rule, app, "field", item["name"])
        values = _values(data, field_path)
        if not values:
            return _dec(rule.get("otherwise", 0)), f"{source}에 {field_path} 값이 없음 ({_display(app.facts.path)}) → {fmt(_dec(rule.get('otherwise', 0)))}점"
        value = values[0]
        label = rule.get("labels", {}).get(value)
        shown = f"{value}({label})" if label else str(value)
        if value in rule["points"]:
            pts = _dec(rule["points"][value])
        else:
            pts = _dec(rule.get("otherwise", 0))
        return pts, f"{field_path} = {shown} ({_where(app, field_path)}) → {fmt(pts)}점"
    if rule["kind"] == "bands":
        field_path = _rule_field(rule, app, "field", item["name"])
        values = [v for v in _values(data, field_path) if isinstance(v, (int, float)) and not isinstance(v, bool)]
        measure = sum((_dec(v) for v in values), Decimal(0))
        unit = rule.get("unit", "")
        for band in rule["bands"]:
            if ("min" in band and measure >= _dec(band["min"])) or ("above" in band and measure > _dec(band["above"])):
                cond = f"{band['min']} 이상" if "min" in band else f"{band['above']} 초과"
                pts = _dec(band["points"])
                return pts, f"{field_path} 합계 {fmt(measure)}{unit} ({len(values)}건, {_where(app, field_path)}) → {cond} 구간 {fmt(pts)}점"
        pts = _dec(rule.get("otherwise", 0))
        return pts, f"{field_path} 합계 {fmt(measure)}{unit} ({len(values)}건) → 해당 구간 없음 {fmt(pts)}점"
    # links: the customers named in the diagram vs the customers in the profile (or the form)
    match_fields = _rule_field(rule, app, "match_fields", item["name"])
    known = {str(v).strip() for path in match_fields for v in _values(data, path)}
    links = [str(v).strip() for v in app.data["evidence"][item["id"]].get("links", [])]
    matched = [link for link in links if link in known]
    if matched:
        pts = _dec(rule["connected"])
        return pts, f"관계도 거래처 {len(links)}곳 중 {len(matched)}곳이 프로필 고객과 일치 ({', '.join(matched)}) → 연결 확인 {fmt(pts)}점"
    pts = _dec(rule["not_connected"])
    named = f"관계도 거래처 {len(links)}곳" if links else "관계도에 거래처 표시 없음"
    return pts, f"{named}, {source} 고객({', '.join(match_fields)})과 일치 없음 → 연결 미확인 {fmt(pts)}점"


def _round(value: Decimal, digits: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def score_application(app: Application, table: dict) -> Result:
    zero = _dec(table.get("missing_evidence_points", 0))
    digits = int(table.get("rounding", 2))
    results: list[ItemResult] = []
    missing: list[str] = []
    for item in _items(table):
        ev = app.data["evidence"][item["id"]]
        if not ev["submitted"]:
            what = ev.get("document") or item.get("evidence_hint") or item["name"]
            missing.append(f"{item['name']}: {what}")
            results.append(ItemResult(item, zero, False, ev, f"증빙 미제출 → {fmt(zero)}점"))
            continue
        if item["group"] == "quantitative":
            pts, basis = _score_rule(item, app)
            results.append(ItemResult(item, pts, True, ev, basis))
            continue
        if app.pending:  # `evaluate` refuses to rank these; the points shown say why
            results.append(ItemResult(item, Decimal(0), True, ev, "평가위원 점수 미입력"))
            continue
        scores = [(e["evaluator"], _dec(e["scores"][item["id"]])) for e in app.data["evaluations"]]
        mean = _round(sum((s for _, s in scores), Decimal(0)) / len(scores), digits)
        basis = f"평가위원 {len(scores)}인 평균 ({' + '.join(fmt(s) for _, s in scores)}) ÷ {len(scores)} = {fmt(mean)}점"
        results.append(ItemResult(item, mean, True, ev, basis, scores))
    quant = sum((r.points for r in results if r.item["group"] == "quantitative"), Decimal(0))
    qual = sum((r.points for r in results if r.item["group"] == "qualitative"), Decimal(0))
    evaluator_totals = [
        (e["evaluator"], sum((_dec(v) for v in e["scores"].values() if v is not None), Decimal(0)))
        for e in app.data.get("evaluations") or []
    ]
    ineligible = []
    elig = table.get("eligibility") or {}
    city_field = elig.get("applicant_field", "applicant.city") if app.from_form else elig.get("field", "company.city")
    city = next(iter(_values(app.facts.data, city_field)), None)
    if elig.get("site_city") and city != elig["site_city"]:
        ineligible.append(f"사업장 소재지 {city or '(미기재)'} — 대상은 {elig['site_city']} 내 사업장 보유 기업 ({_where(app, city_field)})")
    period = table.get("recruitment") or {}
    if period:
        day = app.applied_at.date()
        if not (dt.date.fromisoformat(period["start"]) <= day <= dt.date.fromisoformat(period["end"])):
            ineligible.append(f"접수 시각 {app.data['applied_at']}이 모집 기간({period['start']} ~ {period['end']}) 밖")
    return Result(
        id=app.id, name=app.name, application=app, items=results,
        quantitative=quant, qualitative=qual, total=quant + qual, missing=missing,
        evaluator_totals=evaluator_totals, ineligible=ineligible,
    )


_TIE_LABELS = {"qualitative_total": "정성 합계", "quantitative_total": "정량 합계", "applied_at": "접수 시각"}


def _tie_value(result: Result, key: str):
    if key == "qualitative_total":
        return result.qualitative
    if key == "quantitative_total":
        return result.quantitative
    if key == "applied_at":
        return result.application.applied_at
    return result.item(key.split(":", 1)[1]).points


def _tie_label(table: dict, key: str) -> str:
    if key.startswith("item:"):
        item = next(i for i in table["items"] if i["id"] == key[5:])
        return f"{item['name']} 점수"
    return _TIE_LABELS[key]


def _show_tie_value(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, dt.datetime) else fmt(value)


def rank(results: list[Result], table: dict, slots: int) -> list[Result]:
    """Order eligible applicants (total, then the tie-break keys), number them, select the top `slots`."""
    keys = [t["key"] for t in table["tie_break"]]

    def sort_key(r: Result):
        parts = [-r.total]
        for key in keys:
            value = _tie_value(r, key)
            parts.append(value if key == "applied_at" else -value)
        return (*parts, r.id)

    for result in results:  # ranking again starts from scratch
        result.rank, result.selected, result.tie_notes, result.tie_events = None, False, [], []
    eligible = sorted((r for r in results if not r.ineligible), key=sort_key)
    for position, result in enumerate(eligible, start=1):
        result.rank = position
        result.selected = position <= slots
    for a, b in zip(eligible, eligible[1:]):
        if a.total != b.total:
            continue
        for key in keys:
            va, vb = _tie_value(a, key), _tie_value(b, key)
            if va != vb:
                note = (f"총점 동점({fmt(a.total)}점) → {_tie_label(table, key)} "
                        f"{_show_tie_value(va)} 대 {_show_tie_value(vb)}로 {a.name} 우선")
                break
        else:
            note = f"총점 동점({fmt(a.total)}점)이고 동점 처리 기준도 모두 같음 → 기업 id 순으로 임시 배열, 평가위원회 결정 필요"
        a.tie_notes.append(f"{b.rank}위 {b.name}와 " + note)
        b.tie_notes.append(f"{a.rank}위 {a.name}와 " + note)
        a.tie_events.append((a.rank, b.rank, note))
    ineligible = sorted((r for r in results if r.ineligible), key=sort_key)
    return eligible + ineligible
