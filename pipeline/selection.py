"""Applicant evaluation and selection (평가 및 선정): `python -m pipeline select [--slots N]`.

    run_selection(slots=None, table=None) -> Selection

* The scoring table is data: `content/selection/scoring-<year>.yaml` (items, weights, the rule of
  every quantitative item, committee, tie-break, slots, source). `table` may be a path or a year;
  default: $CARBON_SELECTION_TABLE, else the newest scoring-<year>.yaml.
* Applications: `applications/<year>/<company-id>.yaml` (folder named by the table; override with
  $CARBON_APPLICATIONS_DIR), one per applicant, beside the company profile `companies/<id>.yaml`
  which supplies size class, exports, GHG inventory and customers. Format: docs/selection.md.
* Quantitative points come from the profile value through the table's rule, only if the evidence
  was submitted; missing evidence scores 0 and is listed. Qualitative points are the committee's
  scores averaged per item (rounded as the table says); totals are sums of the shown values, so
  every number in the 평가표 adds up.
* Everything is computed and rendered in memory first; then out/selection/evaluation.docx and
  evaluation.csv (UTF-8 with BOM) are written atomically. Invalid input → PipelineError (exit 2),
  nothing written.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import click

from pipeline.content import PROJECT_ROOT, content_root
from pipeline.errors import (
    ApplicationError,
    ContentError,
    PipelineError,
    Problem,
    ProfileError,
)
from pipeline.schema_check import document_problems
from pipeline.yamlsafe import YamlDocument, YamlSyntaxError, load_yaml

COMPANY_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$")
TABLE_FILE = re.compile(r"^scoring-(\d{4})\.yaml$")
RULE_KINDS = ("map", "bands", "links")
OUT_FOLDER = "selection"
DOCX_NAME = "evaluation.docx"
CSV_NAME = "evaluation.csv"


# ====================================================================== paths
def _display(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def find_table(table: str | int | Path | None = None) -> Path:
    """The scoring table: a path, a year (→ scoring-<year>.yaml), $CARBON_SELECTION_TABLE, or the newest."""
    folder = content_root() / "selection"
    if table is None and os.environ.get("CARBON_SELECTION_TABLE"):
        table = os.environ["CARBON_SELECTION_TABLE"]
    if table is None:
        years = sorted(int(m.group(1)) for p in folder.glob("scoring-*.yaml") if (m := TABLE_FILE.match(p.name)))
        if not years:
            raise ContentError(f"{folder}: 평가표 설정(scoring-<연도>.yaml)이 없습니다")
        return folder / f"scoring-{years[-1]}.yaml"
    text = str(table)
    path = folder / f"scoring-{text}.yaml" if re.fullmatch(r"\d{4}", text) else Path(text)
    if not path.is_file():
        known = ", ".join(sorted(p.name for p in folder.glob("scoring-*.yaml"))) or "(없음)"
        raise ContentError(f"평가표 설정 파일이 없습니다: {path}. 있는 파일: {known}")
    return path


def applications_dir(table: dict) -> Path:
    if os.environ.get("CARBON_APPLICATIONS_DIR"):
        return Path(os.environ["CARBON_APPLICATIONS_DIR"])
    return PROJECT_ROOT / table["applications_dir"]


def output_dir() -> Path:
    from pipeline.publish import out_root

    return out_root() / OUT_FOLDER


# ====================================================================== scoring table
def load_table(path: Path) -> dict:
    """Read and check the scoring table; ContentError naming file:line on any problem."""
    path = Path(path)
    try:
        doc = load_yaml(path.read_bytes())
    except OSError as exc:
        raise ContentError(f"{path}: 평가표 설정을 읽을 수 없습니다 ({exc.strerror})") from None
    except YamlSyntaxError as exc:
        raise ContentError(f"{path}:{exc.line or 1}: {exc.message}") from None
    problems = _table_problems(doc)
    if problems:
        lines = "\n".join(f"  - {path}:{doc.line_of(f) or 1} [{f}] {m}" for f, m in problems)
        raise ContentError(f"평가표 설정 오류 {len(problems)}건:\n{lines}")
    data = dict(doc.data)
    data["_path"] = path
    return data


def _table_problems(doc: YamlDocument) -> list[tuple[str, str]]:
    data = doc.data
    out: list[tuple[str, str]] = [(f, "키가 두 번 나옵니다") for f, _ in doc.duplicates]
    if not isinstance(data, dict):
        return out + [("", "'키: 값' 형식이어야 합니다")]
    for key in ("year", "title", "source", "slots", "applications_dir", "committee", "groups", "items", "tie_break"):
        if key not in data:
            out.append((key, f"필수 항목 '{key}'이(가) 없습니다"))
    if out:
        return out
    if not isinstance(data["slots"], int) or data["slots"] < 1:
        out.append(("slots", "선정 기업 수는 1 이상의 정수여야 합니다"))
    if not isinstance(data["source"], dict) or not data["source"].get("document"):
        out.append(("source", "출처(source.document)가 필요합니다"))
    committee = data["committee"]
    if not isinstance(committee, list) or not committee or not all(isinstance(c, str) and c for c in committee):
        out.append(("committee", "평가위원(역할 이름) 목록이 필요합니다"))
    groups = data["groups"]
    if not isinstance(groups, dict) or set(groups) != {"quantitative", "qualitative"}:
        return out + [("groups", "quantitative, qualitative 두 구분이 필요합니다")]
    seen: set[str] = set()
    sums = {"quantitative": 0, "qualitative": 0}
    for i, item in enumerate(data["items"] or []):
        where = f"items[{i}]"
        if not isinstance(item, dict) or not all(k in item for k in ("id", "group", "name", "max", "basis")):
            out.append((where, "id, group, name, max, basis가 필요합니다"))
            continue
        if item["id"] in seen or not COMPANY_ID.match(str(item["id"])):
            out.append((f"{where}.id", f"id '{item['id']}'가 중복이거나 형식(소문자 영문·숫자·하이픈)이 틀립니다"))
        seen.add(item["id"])
        if item["group"] not in sums:
            out.append((f"{where}.group", "quantitative 또는 qualitative여야 합니다"))
            continue
        if not isinstance(item["max"], (int, float)) or item["max"] <= 0:
            out.append((f"{where}.max", "배점은 0보다 큰 숫자여야 합니다"))
            continue
        sums[item["group"]] += item["max"]
        rule = item.get("rule")
        if item["group"] == "qualitative":
            if rule is not None:
                out.append((f"{where}.rule", "정성 항목은 평가위원 점수로 매기므로 rule을 두지 않습니다"))
            continue
        if not isinstance(rule, dict) or rule.get("kind") not in RULE_KINDS:
            out.append((f"{where}.rule", f"정량 항목에는 rule.kind({', '.join(RULE_KINDS)})가 필요합니다"))
            continue
        points = []
        if rule["kind"] == "map":
            if not isinstance(rule.get("points"), dict) or "field" not in rule:
                out.append((f"{where}.rule", "map 규칙에는 field와 points가 필요합니다"))
                continue
            points = list(rule["points"].values()) + [rule.get("otherwise", 0)]
        elif rule["kind"] == "bands":
            bands = rule.get("bands")
            if "field" not in rule or not isinstance(bands, list) or not all(
                isinstance(b, dict) and "points" in b and (("min" in b) != ("above" in b)) for b in bands
            ):
                out.append((f"{where}.rule", "bands 규칙에는 field와 bands(각각 min 또는 above, points)가 필요합니다"))
                continue
            points = [b["points"] for b in bands] + [rule.get("otherwise", 0)]
        else:
            if not rule.get("match_fields") or "connected" not in rule or "not_connected" not in rule:
                out.append((f"{where}.rule", "links 규칙에는 match_fields, connected, not_connected가 필요합니다"))
                continue
            points = [rule["connected"], rule["not_connected"]]
        if not all(isinstance(p, (int, float)) and 0 <= p <= item["max"] for p in points):
            out.append((f"{where}.rule", f"규칙의 점수는 0 이상 배점({item['max']}) 이하여야 합니다"))
    for group, total in sums.items():
        declared = groups[group].get("max") if isinstance(groups[group], dict) else None
        if declared != total:
            out.append((f"groups.{group}.max", f"항목 배점 합계 {total}와 구분 배점 {declared}가 다릅니다"))
    keys = {"qualitative_total", "quantitative_total", "applied_at"} | {f"item:{i}" for i in seen}
    for i, rule in enumerate(data["tie_break"] or []):
        if not isinstance(rule, dict) or rule.get("key") not in keys:
            out.append((f"tie_break[{i}].key", f"쓸 수 있는 값: {', '.join(sorted(keys))}"))
    return out


def _items(table: dict, group: str | None = None) -> list[dict]:
    return [i for i in table["items"] if group is None or i["group"] == group]


# ====================================================================== applications
@dataclass
class Application:
    id: str
    path: Path
    data: dict
    document: YamlDocument
    applied_at: dt.datetime
    profile: object  # pipeline.profile.Profile


def _application_schema(table: dict) -> dict:
    text = {"type": "string", "minLength": 1}
    evidence_props = {}
    for item in _items(table):
        props = {
            "submitted": {"type": "boolean"},
            "document": text,
            "date": {"type": "string", "pattern": DATE.pattern},
            "issuer": text,
            "note": text,
        }
        if item.get("rule", {}).get("kind") == "links":
            props["links"] = {"type": "array", "items": text}
        evidence_props[item["id"]] = {
            "type": "object", "additionalProperties": False, "required": ["submitted"], "properties": props,
        }
    qual = _items(table, "qualitative")
    scores = {
        "type": "object", "additionalProperties": False, "required": [i["id"] for i in qual],
        "properties": {i["id"]: {"type": ["number", "null"], "minimum": 0, "maximum": i["max"]} for i in qual},
    }
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["applied_at", "evidence", "evaluations"],
        "properties": {
            "applied_at": {"type": "string", "pattern": DATETIME.pattern},
            "channel": text,
            "note": text,
            "evidence": {
                "type": "object", "additionalProperties": False,
                "required": [i["id"] for i in _items(table)], "properties": evidence_props,
            },
            "evaluations": {
                "type": "array", "minItems": 1,
                "items": {
                    "type": "object", "additionalProperties": False, "required": ["evaluator", "scores"],
                    "properties": {"evaluator": {"enum": list(table["committee"])}, "scores": scores, "comment": text},
                },
            },
        },
    }


def _pattern_hint(field: str) -> str:
    if field == "applied_at":
        return "접수 시각은 \"YYYY-MM-DD HH:MM\" (예: \"2025-08-19 10:30\")"
    return "날짜는 \"YYYY-MM-DD\" (예: \"2025-08-25\")"


def _note(kind: str, field: str) -> str:
    if kind == "required" and field == "evidence":
        return " (제출하지 않은 증빙은 submitted: false로 적어 주세요)"
    if kind == "maximum" and ".scores." in field:
        return " (배점 상한)"
    if kind == "minItems" and field == "evaluations":
        return " (평가위원 점수 1건 이상)"
    return ""


def _parse_time(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(text, "%Y-%m-%d %H:%M")
    except ValueError:
        return None


def _check_application(doc: YamlDocument, filename: str, table: dict) -> list[Problem]:
    from jsonschema import Draft202012Validator

    def problem(fld: str, message: str) -> Problem:
        return Problem(filename, doc.line_of(fld), fld, message)

    problems = document_problems(doc, filename, Draft202012Validator(_application_schema(table)), what="신청서",
                                 guide="docs/selection.md", pattern_hint=_pattern_hint, note=_note)
    if problems:
        return problems
    data = doc.data
    if _parse_time(data["applied_at"]) is None:
        problems.append(problem("applied_at", f"없는 날짜·시각입니다: '{data['applied_at']}'"))
    for item_id, ev in data["evidence"].items():
        base = f"evidence.{item_id}"
        if "date" in ev:
            try:
                dt.date.fromisoformat(ev["date"])
            except ValueError:
                problems.append(problem(f"{base}.date", f"없는 날짜입니다: '{ev['date']}'"))
        if ev["submitted"]:
            for key in ("document", "date"):
                if key not in ev:
                    problems.append(problem(base, f"제출된 증빙(submitted: true)에는 '{key}'(증빙 {'문서명' if key == 'document' else '제출일'})가 필요합니다"))
    qual_ids = [i["id"] for i in _items(table, "qualitative")]
    seen: dict[str, int] = {}
    for k, evaluation in enumerate(data["evaluations"]):
        name = evaluation["evaluator"]
        if name in seen:
            problems.append(problem(f"evaluations[{k}].evaluator", f"평가위원 '{name}'의 점수가 두 번 있습니다 (evaluations[{seen[name]}])"))
        seen.setdefault(name, k)
        for item_id in qual_ids:
            score = evaluation["scores"][item_id]
            fld = f"evaluations[{k}].scores.{item_id}"
            if isinstance(score, float) and score != score:  # .nan passes the min/max checks
                problems.append(problem(fld, "숫자(0–배점)여야 합니다 (지금 값: .nan)"))
            if data["evidence"][item_id]["submitted"] and score is None:
                problems.append(problem(fld, "증빙이 제출된 항목입니다: 점수(0–배점)를 적어 주세요"))
            if not data["evidence"][item_id]["submitted"] and score is not None:
                problems.append(problem(fld, "증빙 미제출 항목은 0점 처리됩니다: 점수를 비워 두세요 (null)"))
    return problems


def load_applications(table: dict, folder: Path | None = None, content=None) -> list[Application]:
    """Read, validate and pair every application with its company profile; ApplicationError if any is bad."""
    from pipeline.content import get_content
    from pipeline.profile import companies_dir, load_profile

    folder = Path(folder or applications_dir(table))
    if not folder.is_dir():
        raise ApplicationError([Problem(str(folder), None, "", "신청서 폴더가 없습니다")])
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise ApplicationError([Problem(str(folder), None, "", "신청서(<기업 id>.yaml)가 하나도 없습니다")])
    content = content or get_content()
    problems: list[Problem] = []
    apps: list[Application] = []
    for path in files:
        name = _display(path)
        if not COMPANY_ID.match(path.stem):
            problems.append(Problem(name, None, "", f"파일 이름 '{path.stem}'은(는) 기업 id로 쓸 수 없습니다 (소문자 영문·숫자·하이픈)"))
            continue
        try:
            doc = load_yaml(path.read_bytes())
        except OSError as exc:
            problems.append(Problem(name, None, "", f"파일을 읽을 수 없습니다: {exc.strerror}"))
            continue
        except YamlSyntaxError as exc:
            problems.append(Problem(name, exc.line, "", exc.message))
            continue
        found = _check_application(doc, name, table)
        profile_path = companies_dir() / f"{path.stem}.yaml"
        if not profile_path.is_file():
            found.append(Problem(name, 1, "", f"기업 '{path.stem}'의 프로필이 없습니다: {_display(profile_path)} (신청서 파일 이름 = 기업 id)"))
        if found:
            problems.extend(found)
            continue
        try:
            profile = load_profile(path.stem, content)
        except ProfileError as exc:
            problems.extend(exc.problems)
            continue
        apps.append(Application(path.stem, path, doc.data, doc, _parse_time(doc.data["applied_at"]), profile))
    if problems:
        raise ApplicationError(problems)
    return apps


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
    line = app.profile.line_of(path.split("[]")[0])
    return f"{_display(app.profile.path)}:{line}" if line else _display(app.profile.path)


def _score_rule(item: dict, app: Application) -> tuple[Decimal, str]:
    rule = item["rule"]
    data = app.profile.data
    if rule["kind"] == "map":
        values = _values(data, rule["field"])
        if not values:
            return _dec(rule.get("otherwise", 0)), f"프로필에 {rule['field']} 값이 없음 ({_display(app.profile.path)}) → {fmt(_dec(rule.get('otherwise', 0)))}점"
        value = values[0]
        label = rule.get("labels", {}).get(value)
        shown = f"{value}({label})" if label else str(value)
        if value in rule["points"]:
            pts = _dec(rule["points"][value])
        else:
            pts = _dec(rule.get("otherwise", 0))
        return pts, f"{rule['field']} = {shown} ({_where(app, rule['field'])}) → {fmt(pts)}점"
    if rule["kind"] == "bands":
        values = [v for v in _values(data, rule["field"]) if isinstance(v, (int, float))]
        measure = sum((_dec(v) for v in values), Decimal(0))
        unit = rule.get("unit", "")
        for band in rule["bands"]:
            if ("min" in band and measure >= _dec(band["min"])) or ("above" in band and measure > _dec(band["above"])):
                cond = f"{band['min']} 이상" if "min" in band else f"{band['above']} 초과"
                pts = _dec(band["points"])
                return pts, f"{rule['field']} 합계 {fmt(measure)}{unit} ({len(values)}건, {_where(app, rule['field'])}) → {cond} 구간 {fmt(pts)}점"
        pts = _dec(rule.get("otherwise", 0))
        return pts, f"{rule['field']} 합계 {fmt(measure)}{unit} ({len(values)}건) → 해당 구간 없음 {fmt(pts)}점"
    # links: the customers named in the diagram vs the customers in the profile
    known = {str(v).strip() for path in rule["match_fields"] for v in _values(data, path)}
    links = [str(v).strip() for v in app.data["evidence"][item["id"]].get("links", [])]
    matched = [link for link in links if link in known]
    if matched:
        pts = _dec(rule["connected"])
        return pts, f"관계도 거래처 {len(links)}곳 중 {len(matched)}곳이 프로필 고객과 일치 ({', '.join(matched)}) → 연결 확인 {fmt(pts)}점"
    pts = _dec(rule["not_connected"])
    named = f"관계도 거래처 {len(links)}곳" if links else "관계도에 거래처 표시 없음"
    return pts, f"{named}, 프로필 고객({', '.join(rule['match_fields'])})과 일치 없음 → 연결 미확인 {fmt(pts)}점"


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
        scores = [(e["evaluator"], _dec(e["scores"][item["id"]])) for e in app.data["evaluations"]]
        mean = _round(sum((s for _, s in scores), Decimal(0)) / len(scores), digits)
        basis = f"평가위원 {len(scores)}인 평균 ({' + '.join(fmt(s) for _, s in scores)}) ÷ {len(scores)} = {fmt(mean)}점"
        results.append(ItemResult(item, mean, True, ev, basis, scores))
    quant = sum((r.points for r in results if r.item["group"] == "quantitative"), Decimal(0))
    qual = sum((r.points for r in results if r.item["group"] == "qualitative"), Decimal(0))
    evaluator_totals = [
        (e["evaluator"], sum((_dec(v) for v in e["scores"].values() if v is not None), Decimal(0)))
        for e in app.data["evaluations"]
    ]
    ineligible = []
    elig = table.get("eligibility") or {}
    city = app.profile.data["company"].get("city")
    if elig.get("site_city") and city != elig["site_city"]:
        ineligible.append(f"사업장 소재지 {city or '(미기재)'} — 대상은 {elig['site_city']} 내 사업장 보유 기업 ({_where(app, 'company.city')})")
    period = table.get("recruitment") or {}
    if period:
        day = app.applied_at.date()
        if not (dt.date.fromisoformat(period["start"]) <= day <= dt.date.fromisoformat(period["end"])):
            ineligible.append(f"접수 시각 {app.data['applied_at']}이 모집 기간({period['start']} ~ {period['end']}) 밖")
    return Result(
        id=app.id, name=app.profile.data["company"]["name"], application=app, items=results,
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


# ====================================================================== outputs
@dataclass
class Selection:
    table: dict
    slots: int
    results: list[Result]
    docx_path: Path
    csv_path: Path

    @property
    def selected(self) -> list[Result]:
        return [r for r in self.results if r.selected]


def _t(value) -> str:
    from pipeline.stages.draft import safe_text

    return safe_text(value)


def _evidence_text(ir: ItemResult) -> str:
    ev = ir.evidence
    doc = ev.get("document") or ir.item.get("evidence_hint") or ""
    if not ir.submitted:
        return f"미제출 ({doc})" if doc else "미제출"
    extra = f", 발급: {ev['issuer']}" if ev.get("issuer") else ""
    return f"{doc} (제출 {ev['date']}{extra})"


def _short(item: dict) -> str:
    return item.get("short") or item["name"]


def build_markdown(table: dict, results: list[Result], slots: int) -> str:
    quant_items, qual_items = _items(table, "quantitative"), _items(table, "qualitative")
    groups = table["groups"]
    src = table["source"]
    eligible = [r for r in results if not r.ineligible]
    excluded = [r for r in results if r.ineligible]
    period = table.get("recruitment") or {}
    lines: list[str] = []
    add = lines.append

    add("# 1. 평가 개요")
    add("")
    add(f"- 평가 근거: {_t(src['document'])}, {_t(src.get('section', ''))} ({_t(src.get('publisher', ''))})")
    add(f"- 신청 기업: {len(results)}개사 (자격 미달 {len(excluded)}개사), 선정 기업 수: {slots}개사")
    add(f"- 평가위원회: {_t(', '.join(table['committee']))} (성명 생략, 역할만 표시)")
    add(f"- 배점: {_t(groups['quantitative']['name'])} {groups['quantitative']['max']}점, "
        f"{_t(groups['qualitative']['name'])} {groups['qualitative']['max']}점, 합계 100점")
    add(f"- 증빙 미제출 항목은 {fmt(_dec(table.get('missing_evidence_points', 0)))}점. 정성 점수는 평가위원 점수의 "
        f"항목별 평균을 소수 {table.get('rounding', 2)}자리로 반올림하고, 합계는 반올림한 값의 합")
    add("")

    add("# 2. 종합 순위 및 선정 결과")
    add("")
    add(f"| 순위 | 기업 | {_t(groups['quantitative']['name'])} ({groups['quantitative']['max']}) | "
        f"{_t(groups['qualitative']['name'])} ({groups['qualitative']['max']}) | 총점 (100) | 선정 여부 | 비고 |")
    add("|:-:|---|-:|-:|-:|:-:|---|")
    for r in eligible:
        remark = "동점 처리" if r.tie_notes else ""
        add(f"| {r.rank} | {_t(r.name)} | {fmt(r.quantitative)} | {fmt(r.qualitative)} | "
            f"**{fmt(r.total)}** | {'**선정**' if r.selected else '미선정'} | {remark or '-'} |")
    for r in excluded:
        add(f"| 제외 | {_t(r.name)} | {fmt(r.quantitative)} | {fmt(r.qualitative)} | {fmt(r.total)} | 제외 | 자격 미달 |")
    add("")
    notes = [f"- 동점 처리 ({upper}위·{lower}위): {_t(note)}" for r in eligible for upper, lower, note in r.tie_events]
    for r in excluded:
        notes.append(f"- 자격 미달 ({_t(r.name)}): {_t('; '.join(r.ineligible))}")
    if notes:
        lines.extend(notes)
        add("")
    add("## 항목별 점수")
    add("")
    head = [f"{_t(_short(i))} ({i['max']})" for i in quant_items + qual_items]
    add("| 기업 (순위) | " + " | ".join(head) + " | 총점 (100점) |")
    add("|---|" + "-:|" * len(head) + "-:|")
    for r in results:
        cells = [fmt(r.item(i["id"]).points) + ("" if r.item(i["id"]).submitted else "*") for i in quant_items + qual_items]
        add(f"| {_t(r.name)} ({f'{r.rank}위' if r.rank else '제외'}) | " + " | ".join(cells) + f" | **{fmt(r.total)}** |")
    add("")
    add("\\* 증빙 미제출로 0점. 열 이름: " + ", ".join(f"{_t(_short(i))} = {_t(i['name'])}" for i in quant_items + qual_items
                                            if _short(i) != i["name"]) + ".")
    add("")

    add("# 3. 평가 기준")
    add("")
    for group in ("quantitative", "qualitative"):
        add(f"## {_t(groups[group]['name'])} ({groups[group]['max']}점)")
        add("")
        add("| 평가항목 | 배점 (점) | 점수 산정 규칙 | 근거 |")
        add("|---|:-:|---|---|")
        for item in _items(table, group):
            basis = item.get("basis", {})
            add(f"| {_t(item['name'])} | {item['max']} | {_t(_rule_text(item))} | "
                f"계획안: {_t(basis.get('seed', '-'))} / 가정(계획안에 없음): {_t(basis.get('assumption', '-'))} |")
        add("")
    add("동점 처리 순서 (총점이 같을 때):")
    add("")
    for k, rule in enumerate(table["tie_break"], start=1):
        add(f"{k}. {_t(_tie_label(table, rule['key']))} {'빠른' if rule['key'] == 'applied_at' else '높은'} 순 — {_t(rule.get('basis', ''))}")
    add("")
    elig = table.get("eligibility") or {}
    if elig:
        add(f"자격 요건: {_t(elig.get('site_city', ''))} 내 사업장 보유, 모집 기간 안 접수 "
            f"({_t(period.get('start', ''))} ~ {_t(period.get('end', ''))}). "
            f"{_t((elig.get('basis') or {}).get('assumption', ''))}")
        add("")

    add("<!-- pagebreak -->")
    add("")
    add("# 4. 기업별 평가 내역")
    add("")
    for r in results:
        status = f"{r.rank}위, {'선정' if r.selected else '미선정'}" if r.rank else "자격 미달 (순위 제외)"
        add(f"## {_t(r.name)} — {status}")
        add("")
        add(f"기업 id {_t(r.id)} · 접수 {_t(r.application.data['applied_at'])} · 신청서 {_t(_display(r.application.path))} · "
            f"프로필 {_t(_display(r.application.profile.path))}")
        add("")
        add("| 평가항목 | 배점 (점) | 점수 (점) | 산정 근거 · 증빙자료 |")
        add("|---|:-:|:-:|---|")
        for ir in r.items:
            add(f"| {_t(ir.item['name'])} | {ir.item['max']} | {fmt(ir.points)} | "
                f"{_t(ir.basis)} — 증빙: {_t(_evidence_text(ir))} |")
        add(f"| **{_t(groups['quantitative']['name'])} 합계** | {groups['quantitative']['max']} | **{fmt(r.quantitative)}** | |")
        add(f"| **{_t(groups['qualitative']['name'])} 합계** | {groups['qualitative']['max']} | **{fmt(r.qualitative)}** | |")
        add(f"| **총점** | 100 | **{fmt(r.total)}** | |")
        add("")
        add("평가위원별 정성 점수:")
        add("")
        add("| 평가위원 | " + " | ".join(f"{_t(_short(i))} ({i['max']})" for i in qual_items) +
            f" | 합계 ({groups['qualitative']['max']}) |")
        add("|---|" + "-:|" * (len(qual_items) + 1))
        for k, evaluation in enumerate(r.application.data["evaluations"]):
            cells = [("미제출" if evaluation["scores"][i["id"]] is None else fmt(_dec(evaluation["scores"][i["id"]]))) for i in qual_items]
            add(f"| {_t(evaluation['evaluator'])} | " + " | ".join(cells) + f" | {fmt(r.evaluator_totals[k][1])} |")
        add("| **평균(반올림)** | " + " | ".join(f"**{fmt(r.item(i['id']).points)}**" for i in qual_items) +
            f" | **{fmt(r.qualitative)}** |")
        add("")
        add("- 미제출 증빙: " + ("; ".join(_t(m) for m in r.missing) if r.missing else "없음"))
        for note in r.tie_notes:
            add(f"- 동점 처리: {_t(note)}")
        for reason in r.ineligible:
            add(f"- 자격 미달: {_t(reason)}")
        if r.application.data.get("note"):
            add(f"- 비고: {_t(r.application.data['note'])}")
        for evaluation in r.application.data["evaluations"]:
            if evaluation.get("comment"):
                add(f"- {_t(evaluation['evaluator'])} 의견: {_t(evaluation['comment'])}")
        add("")

    add("<!-- pagebreak -->")
    add("")
    add("# 5. 평가위원 확인")
    add("")
    names = ", ".join(f"{r.rank}위 {r.name}" for r in results if r.selected)
    add(f"위와 같이 평가하여 {_t(names)}를 참여기업으로 선정함을 확인합니다.")
    add("")
    add("| 평가위원 | 서명 |")
    add("|---|---|")
    for member in table["committee"]:
        add(f"| {_t(member)} | |")
    add("")
    return "\n".join(lines)


def _rule_text(item: dict) -> str:
    rule = item.get("rule")
    if not rule:
        return "평가위원별 0–{0}점, 평균".format(item["max"])
    if rule["kind"] == "map":
        labels = rule.get("labels", {})
        parts = [f"{labels.get(k, k)} {v}점" for k, v in rule["points"].items()]
        return f"{rule['field']}: " + " / ".join(parts) + f" / 그 밖 {rule.get('otherwise', 0)}점"
    if rule["kind"] == "bands":
        parts = [f"{b['min']} 이상 {b['points']}점" if "min" in b else f"{b['above']} 초과 {b['points']}점" for b in rule["bands"]]
        return f"{rule['field']} 합계 {rule.get('unit', '')}: " + " / ".join(parts) + f" / 그 밖 {rule.get('otherwise', 0)}점"
    return (f"관계도의 거래처(links)가 프로필 고객과 이어지면 {rule['connected']}점, "
            f"제출했으나 연결 미확인 {rule['not_connected']}점")


def _cell(value) -> str:
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text  # no formulas in Excel


def build_csv(table: dict, results: list[Result]) -> bytes:
    items = _items(table)
    groups = table["groups"]
    header = ["순위", "기업 ID", "기업명", "선정", "자격", "접수 시각"]
    header += [f"{i['name']}({i['max']})" for i in _items(table, "quantitative")]
    header += [f"{groups['quantitative']['name']} 합계({groups['quantitative']['max']})"]
    header += [f"{i['name']}({i['max']})" for i in _items(table, "qualitative")]
    header += [f"{groups['qualitative']['name']} 합계({groups['qualitative']['max']})", "총점(100)",
               "평가위원별 정성 합계", "동점 처리", "미제출 증빙"]
    header += [f"근거: {i['name']}" for i in items]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    for r in results:
        row = [r.rank or "제외", r.id, r.name, "선정" if r.selected else ("제외" if r.ineligible else "미선정"),
               "적격" if not r.ineligible else "자격 미달: " + "; ".join(r.ineligible), r.application.data["applied_at"]]
        row += [fmt(r.item(i["id"]).points) for i in _items(table, "quantitative")] + [fmt(r.quantitative)]
        row += [fmt(r.item(i["id"]).points) for i in _items(table, "qualitative")] + [fmt(r.qualitative), fmt(r.total)]
        row += ["; ".join(f"{who} {fmt(total)}" for who, total in r.evaluator_totals), " / ".join(r.tie_notes),
                "; ".join(r.missing)]
        row += [f"{r.item(i['id']).basis} | 증빙: {_evidence_text(r.item(i['id']))}" for i in items]
        writer.writerow([_cell(c) for c in row])
    return buf.getvalue().encode("utf-8-sig")


def _pad(text: str, width: int, left: bool = False) -> str:
    """Pad to a terminal width, counting Korean (East Asian wide) characters as two columns."""
    import unicodedata

    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    space = " " * max(0, width - used)
    return text + space if left else space + text


def _echo_ranking(table: dict, results: list[Result], slots: int) -> None:
    click.echo(f"{table['title']} — 신청 {len(results)}개사, 선정 {slots}개사")
    click.echo(f"{_pad('순위', 4)}  {_pad('총점', 6)}  {_pad('정량', 5)}  {_pad('정성', 6)}  {_pad('선정', 4, left=True)}  기업")
    for r in results:
        mark = "선정" if r.selected else ("제외" if r.ineligible else "-")
        click.echo(f"{_pad(str(r.rank or '제외'), 4)}  {fmt(r.total):>6}  {fmt(r.quantitative):>5}  {fmt(r.qualitative):>6}  "
                   f"{_pad(mark, 4, left=True)}  {r.name} [{r.id}]")
        for note in r.tie_notes:
            click.echo(f"{'':>8}동점: {note}")
        for reason in r.ineligible:
            click.echo(f"{'':>8}자격 미달: {reason}")
        if r.missing:
            click.echo(f"{'':>8}미제출 증빙: {'; '.join(r.missing)}")


def evaluate(slots: int | None = None, table: str | int | Path | None = None) -> tuple[dict, int, list[Result]]:
    """Load the table and the applications, score and rank (no output written)."""
    data = load_table(find_table(table))
    slots = data["slots"] if slots is None else slots
    if not isinstance(slots, int) or slots < 1:
        raise PipelineError(f"선정 기업 수(--slots)는 1 이상이어야 합니다 (지금 값: {slots})")
    apps = load_applications(data)
    results = rank([score_application(a, data) for a in apps], data, slots)
    return data, slots, results


def run_selection(slots: int | None = None, table: str | int | Path | None = None, echo: bool = True) -> Selection:
    """Rank all applicants, select the top `slots`, write the 평가표 (.docx) and the CSV."""
    from pipeline.atomic import write_atomic
    from pipeline.render import template_path
    from pipeline.render.docx import render_docx_bytes

    data, slots, results = evaluate(slots, table)
    eligible = sum(1 for r in results if not r.ineligible)
    today = dt.date.today()
    fields = {
        "doc_title": f"{data['title']}",
        "subtitle": f"정량·정성 평가 결과 및 선정 {min(slots, eligible)}개사 (신청 {len(results)}개사)",
        "prepared_by": data.get("prepared_by") or f"{data['source'].get('publisher', '')} 평가위원회",
        "date": f"{today.year}. {today.month}. {today.day}.",
    }
    docx_bytes = render_docx_bytes(template_path("evaluation"), fields, build_markdown(data, results, slots), {})
    csv_bytes = build_csv(data, results)
    folder = output_dir()
    docx_path = write_atomic(folder / DOCX_NAME, docx_bytes)
    csv_path = write_atomic(folder / CSV_NAME, csv_bytes)
    if echo:
        _echo_ranking(data, results, slots)
        if eligible < slots:
            click.echo(f"주의: 적격 신청 기업이 {eligible}개사로 선정 기업 수 {slots}보다 적습니다")
        click.echo(f"평가표: {docx_path}")
        click.echo(f"CSV:    {csv_path}")
    return Selection(data, slots, results, docx_path, csv_path)
