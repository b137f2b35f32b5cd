"""Stage 0 inputs: the scoring table (content/selection/scoring-<year>.yaml) and the applications,
read and checked; every problem names file:line and field."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.locations import PROJECT_ROOT, content_root, env_path, env_text, out_root
from pipeline.errors import (
    ApplicationError,
    ContentError,
    Problem,
    ProfileError,
)
from pipeline.profile import COMPANY_ID  # one definition of a company id
from pipeline.profile.schema import document_problems
from pipeline.profile.yamlsafe import YamlDocument, YamlSyntaxError, load_yaml, read_limited
from pipeline.selection.applicant import ApplicantFacts, applicant_schema

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z")
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}\Z")
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
    if table is None and env_text("CARBON_SELECTION_TABLE"):
        table = env_text("CARBON_SELECTION_TABLE").strip()
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
    if env_path("CARBON_APPLICATIONS_DIR"):
        return env_path("CARBON_APPLICATIONS_DIR")
    return PROJECT_ROOT / table["applications_dir"]


def output_dir() -> Path:
    return out_root() / OUT_FOLDER


# ====================================================================== scoring table
def load_table(path: Path) -> dict:
    """Read and check the scoring table; ContentError naming file:line on any problem."""
    path = Path(path)
    try:
        doc = load_yaml(read_limited(path, "평가표 설정"))
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
    """One application. Its quantitative facts come from its `applicant` block when it has one (an
    online-form application: what the applicant declared is what is evaluated, even after the
    company's profile grows during the consulting), else from the company profile."""

    id: str
    path: Path
    data: dict
    document: YamlDocument
    applied_at: dt.datetime
    profile: object  # pipeline.profile.Profile, or None for an online-form applicant without one

    @property
    def from_form(self) -> bool:
        return isinstance(self.data.get("applicant"), dict)

    @property
    def facts(self):
        """What the scoring rules read: `.data`, `.path`, `.line_of(field)`."""
        return ApplicantFacts(self) if self.from_form else self.profile

    @property
    def name(self) -> str:
        if self.from_form:
            return self.data["applicant"]["company_name"]
        return self.profile.data["company"]["name"]

    @property
    def pending(self) -> bool:
        """No committee scores yet (an imported application before the evaluation)."""
        return not self.data.get("evaluations")


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
    applicant, defs = applicant_schema()
    return {
        "$defs": defs,
        "type": "object",
        "additionalProperties": False,
        "required": ["applied_at", "evidence"],
        "properties": {
            "applied_at": {"type": "string", "pattern": DATETIME.pattern},
            "channel": text,
            "note": text,
            "applicant": applicant,
            "evidence": {
                "type": "object", "additionalProperties": False,
                "required": [i["id"] for i in _items(table)], "properties": evidence_props,
            },
            "evaluations": {  # absent or empty: the committee has not scored yet (select says so)
                "type": "array",
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
    return ""


def _parse_time(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(text, "%Y-%m-%d %H:%M")
    except ValueError:
        return None


def application_validator(table: dict):
    from jsonschema import Draft202012Validator

    return Draft202012Validator(_application_schema(table))


def _check_application(doc: YamlDocument, filename: str, table: dict, validator=None) -> list[Problem]:
    def problem(fld: str, message: str) -> Problem:
        return Problem(filename, doc.line_of(fld), fld, message)

    validator = validator or application_validator(table)
    problems = document_problems(doc, filename, validator, what="신청서",
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
    for k, evaluation in enumerate(data.get("evaluations") or []):
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
    from pipeline.locations import companies_dir
    from pipeline.profile import load_profile

    folder = Path(folder or applications_dir(table))
    if not folder.is_dir():
        raise ApplicationError([Problem(str(folder), None, "", "신청서 폴더가 없습니다")])
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise ApplicationError([Problem(str(folder), None, "", "신청서(<기업 id>.yaml)가 하나도 없습니다")])
    content = content or get_content()
    problems: list[Problem] = []
    apps: list[Application] = []
    validator = application_validator(table)
    for path in files:
        name = _display(path)
        if not COMPANY_ID.match(path.stem):
            problems.append(Problem(name, None, "", f"파일 이름 '{path.stem}'은(는) 기업 id로 쓸 수 없습니다 (소문자 영문·숫자·하이픈)"))
            continue
        try:
            doc = load_yaml(read_limited(path, "신청서"))
        except OSError as exc:
            problems.append(Problem(name, None, "", f"파일을 읽을 수 없습니다: {exc.strerror}"))
            continue
        except YamlSyntaxError as exc:
            problems.append(Problem(name, exc.line, "", exc.message))
            continue
        found = _check_application(doc, name, table, validator)
        profile_path = companies_dir() / f"{path.stem}.yaml"
        from_form = isinstance(doc.data, dict) and isinstance(doc.data.get("applicant"), dict)
        if not from_form and not profile_path.is_file():
            found.append(Problem(name, 1, "", f"기업 '{path.stem}'의 프로필이 없습니다: {_display(profile_path)} "
                                              "(신청서 파일 이름 = 기업 id; 온라인 신청서로 가져온 신청서는 applicant 항목이 대신함)"))
        if found:
            problems.extend(found)
            continue
        profile = None
        if not from_form:
            try:
                profile = load_profile(path.stem, content)
            except ProfileError as exc:
                problems.extend(exc.problems)
                continue
        apps.append(Application(path.stem, path, doc.data, doc, _parse_time(doc.data["applied_at"]), profile))
    if problems:
        raise ApplicationError(problems)
    return apps
