"""A year's actuals (stage ⑤ monitoring): one YAML file in the shape and units of the profile.

    year: 2026                       # optional; must be the year given to the command
    energy:                          # exactly the profile's energy section (docs/profile.md)
      electricity: {monthly_kwh: [12 values], annual_kwh: …}
      fuels: [{fuel: lng, amount: …, unit: Nm3}, …]
      onsite_renewables: […]         # optional, as in the profile
      renewable_purchases: […]
    products:                        # the year's output of the plan's products (ids of the profile)
      - {id: hex-bolt, annual_output: {amount: 3300, unit: t}}
    revenue_krw_million: 23000       # optional: for the revenue intensity KPI
    note: "…"                        # optional

The file is untrusted like a profile: read by yamlsafe (plain types, line of every field), checked
against the profile schema's own pieces (the `energy` property, `amount_unit`, the id pattern) and by
the profile's energy checks (energy_problems: months against the annual total, known fuels and units).
Every problem names file:line, field and what is expected.
"""
from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path

from pipeline.content import Content, read_yaml
from pipeline.errors import FollowupError, Problem
from pipeline.profile import SCHEMA_PATH, _pattern_hint, energy_problems
from pipeline.profile.schema import document_problems
from pipeline.profile.yamlsafe import MAX_YAML_BYTES, YamlSyntaxError, load_yaml

GUIDE = "docs/followup.md"


@lru_cache(maxsize=1)
def actuals_schema() -> dict:
    """The actuals schema, built from the profile schema so both read the same units and bounds."""
    profile = read_yaml(SCHEMA_PATH)
    defs = copy.deepcopy(profile["$defs"])
    return {
        "$schema": profile["$schema"],
        "type": "object",
        "additionalProperties": False,
        "required": ["energy"],
        "$defs": defs,
        "properties": {
            "year": {"type": "integer", "minimum": 2000, "maximum": 2100},
            "energy": copy.deepcopy(profile["properties"]["energy"]),
            "products": {
                "type": "array",
                "maxItems": 200,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["id", "annual_output"],
                    "properties": {
                        "id": {"$ref": "#/$defs/id"},
                        "annual_output": {"$ref": "#/$defs/amount_unit"},
                        "unit_mass_kg": copy.deepcopy(profile["properties"]["products"]["items"]["properties"]["unit_mass_kg"]),
                    },
                },
            },
            "revenue_krw_million": copy.deepcopy(profile["properties"]["company"]["properties"]["revenue_krw_million"]),
            "note": {"type": "string", "maxLength": 2000},
        },
    }


@lru_cache(maxsize=1)
def _validator():
    from jsonschema import Draft202012Validator

    return Draft202012Validator(actuals_schema())


def read_actuals(path: Path, year: int, plan_profile: dict, content: Content) -> tuple[dict, bytes]:
    """The checked actuals of `year` from the file at `path` and the file's bytes.

    `plan_profile` is the profile stored with the plan's revision (its products and units);
    FollowupError listing every problem otherwise."""
    name = str(path)
    if path.is_dir():
        raise FollowupError(f"{name}은(는) 폴더입니다. 실적 YAML 파일을 주세요 ({GUIDE}); 아무것도 기록하지 않았습니다")
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_YAML_BYTES + 1)
    except OSError as exc:
        raise FollowupError(f"실적 파일을 읽을 수 없습니다: {name}: {exc.strerror or exc}; 아무것도 기록하지 않았습니다") from None
    if len(raw) > MAX_YAML_BYTES:
        raise FollowupError(f"{name}: 파일이 너무 큽니다. 실적 파일은 {MAX_YAML_BYTES // 1024 // 1024} MB 이하여야 합니다; "
                            "아무것도 기록하지 않았습니다")
    try:
        document = load_yaml(raw)
    except YamlSyntaxError as exc:
        raise FollowupError("실적 파일 오류 1건 (아무것도 기록하지 않았습니다):",
                            [Problem(name, exc.line, "", exc.message)]) from None

    def problem(field: str, message: str) -> Problem:
        return Problem(name, document.line_of(field), field, message)

    problems = document_problems(document, name, _validator(), what="실적 파일", guide=GUIDE, pattern_hint=_pattern_hint,
                                 note=lambda kind, field: ". 단위를 확인해 주세요" if kind in ("maximum", "exclusiveMaximum") else "")
    data = document.data
    if isinstance(data, dict):
        try:  # also where the structure is broken elsewhere, so one run reports as much as it can
            extra = _cross_checks(data, year, plan_profile, content, problem)
        except (KeyError, TypeError, AttributeError, ValueError):
            extra = []
        reported = {p.field for p in problems}
        problems.extend(p for p in extra if p.field not in reported)
    if problems:
        problems.sort(key=lambda p: p.line or 0)
        raise FollowupError(f"실적 파일 오류 {len(problems)}건 (아무것도 기록하지 않았습니다):", problems)
    data = dict(data)
    data.setdefault("products", [])
    data["year"] = year
    return data, raw


def _cross_checks(data: dict, year: int, plan_profile: dict, content: Content, problem) -> list[Problem]:
    problems = []
    if "year" in data and data["year"] != year:
        problems.append(problem("year", f"파일의 연도({data['year']})가 명령의 --year {year}와 다릅니다. 같은 연도의 실적인지 확인해 주세요"))
    problems.extend(energy_problems(data["energy"], content, problem))
    plan_products = {p["id"]: p for p in plan_profile.get("products") or [] if isinstance(p, dict)}
    seen: set = set()
    for i, item in enumerate(data.get("products") or []):
        field = f"products[{i}].id"
        if item["id"] in seen:
            problems.append(problem(field, f"제품 id '{item['id']}'가 두 번 나옵니다. 한 항목으로 합쳐 주세요"))
        seen.add(item["id"])
        plan = plan_products.get(item["id"])
        if plan is None:
            problems.append(problem(field, f"제품 id '{item['id']}'가 사업계획서의 제품에 없습니다 (있는 id: {', '.join(plan_products) or '없음'})"))
            continue
        unit = item["annual_output"]["unit"]
        if unit in ("ea", "set") and not (item.get("unit_mass_kg") or plan.get("unit_mass_kg")):
            problems.append(problem(f"products[{i}].annual_output.unit",
                                    f"개수 단위({unit})로 적을 때는 개당 중량이 필요합니다: 이 항목에 unit_mass_kg를 적거나 톤(t)으로 적어 주세요"))
    return problems
