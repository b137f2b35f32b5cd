"""Company profiles: find, read and validate `companies/<id>.yaml`.

Validation collects every problem of a file in one pass (schema first, then cross-field checks
against content/), each with file, line, field path and what is expected, in Korean.
"""
from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from pipeline.content import Content, read_yaml
from pipeline.locations import companies_dir
from pipeline.errors import Problem, ProfileError, UnknownCompanyError, os_reason
from pipeline.profile.plausibility import input_findings
from pipeline.profile.schema import document_problems
from pipeline.profile.units import ALL_FUEL_UNITS, is_energy_unit, physical_multiplier
from pipeline.profile.yamlsafe import MAX_YAML_BYTES, YamlDocument, YamlSyntaxError, load_yaml

# \Z, not $: `$` also matches before a final newline, and "bolt\n" (a file name ending in a newline) is no id.
COMPANY_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}\Z")
MONTH_TOLERANCE = 0.01  # stated annual total vs the twelve months
SHARE_TOLERANCE_PCT = 0.5



@dataclass
class Profile:
    """A validated profile: its id, file and data, and where each field sits in the file."""

    id: str
    path: Path
    data: dict
    document: YamlDocument
    warnings: list = field(default_factory=list)   # unusual figures (plausibility screening), for the CLI

    def line_of(self, field: str) -> int | None:
        return self.document.line_of(field)


def list_company_ids(folder: Path | None = None) -> list[str]:
    """The ids of the profiles in `folder` (companies/); [] when the folder does not exist.

    A folder that exists but cannot be read (no permission, not a folder) is an error, not "no
    profiles" (glob would say nothing)."""
    import os

    folder = folder or companies_dir()
    try:
        with os.scandir(folder) as entries:
            names = [entry.name for entry in entries]
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise UnknownCompanyError(f"기업 프로필 폴더를 읽을 수 없습니다: {folder} ({os_reason(exc)}). "
                                  "폴더의 권한과 CARBON_COMPANIES_DIR를 확인하세요") from None
    return sorted(name[:-5] for name in names if name.endswith(".yaml") and COMPANY_ID.match(name[:-5]))


def _is_file(path: Path) -> bool:
    """path.is_file(), with a folder that may not be entered reported, not raised as a traceback."""
    try:
        return path.is_file()
    except OSError as exc:
        raise UnknownCompanyError(f"{path}을(를) 읽을 수 없습니다 ({os_reason(exc)}). 폴더의 권한과 "
                                  "CARBON_COMPANIES_DIR를 확인하세요") from None


def unusable_profile_names(folder: Path | None = None) -> list[str]:
    """*.yaml files in companies/ whose names are no company id (so never read): shown escaped."""
    folder = folder or companies_dir()
    return sorted(ascii(p.name)[1:-1] if not p.name.isprintable() else p.name
                  for p in folder.glob("*.yaml") if not COMPANY_ID.match(p.stem))


def resolve_profile_path(company: str, folder: Path | None = None) -> tuple[str, Path]:
    """Map a company id (or a path to a .yaml file) to (id, path); refuses unsafe ids."""
    if company.endswith((".yaml", ".yml")):
        path = Path(company)
        company_id = path.stem
        if not COMPANY_ID.match(company_id):
            raise UnknownCompanyError(
                f"{_shown(str(path))}: 파일 이름 '{_shown(company_id)}'은(는) 기업 id로 쓸 수 없습니다 "
                "(소문자 영문·숫자·하이픈, 64자 이하, 공백·줄바꿈 없이)"
            )
        if not _is_file(path):
            raise UnknownCompanyError(f"{path}: 프로필 파일이 없습니다")
        return company_id, path
    if not COMPANY_ID.match(company):
        raise UnknownCompanyError(
            f"기업 id '{_shown(company)}'은(는) 쓸 수 없습니다: 소문자 영문·숫자·하이픈만 "
            "(64자 이하, 경로 구분자·'..'·공백·줄바꿈 불가)"
        )
    folder = folder or companies_dir()
    path = folder / f"{company}.yaml"
    if not _is_file(path):
        known = ", ".join(list_company_ids(folder)) or "(없음)"
        raise UnknownCompanyError(f"기업 '{company}'의 프로필이 없습니다: {path}. 있는 기업: {known}")
    return company, path


def _shown(text: str) -> str:
    """A name as typed, with newlines and other invisible characters escaped (\\n), never raw."""
    return text if text.isprintable() else ascii(text)[1:-1]


def load_profile(company: str, content: Content, folder: Path | None = None) -> Profile:
    """Read and validate one profile; raises ProfileError listing every problem."""
    company_id, path = resolve_profile_path(company, folder)
    try:
        with open(path, "rb") as handle:  # never more than the limit: a huge file must not exhaust memory
            raw = handle.read(MAX_YAML_BYTES + 1)
        if len(raw) > MAX_YAML_BYTES:
            size = path.stat().st_size
            raise ProfileError([Problem(str(path), None, "", f"파일이 너무 큽니다 ({size:,} 바이트). 프로필은 {MAX_YAML_BYTES // 1024 // 1024} MB 이하여야 합니다")])
    except OSError as exc:
        raise ProfileError([Problem(str(path), None, "", f"파일을 읽을 수 없습니다: {exc.strerror}")]) from None
    try:
        document = load_yaml(raw)
    except YamlSyntaxError as exc:
        raise ProfileError([Problem(str(path), exc.line, "", exc.message)]) from None
    passed = _schema_pass_marker(raw)
    seen = _passed_before(passed)
    problems = validate_document(document, str(path), content, schema_passed=seen)
    if problems:
        raise ProfileError(problems)
    if not seen:
        _remember(passed)
    warnings = input_findings(document.data, content, lambda f, m: Problem(str(path), document.line_of(f), f, m))[1]
    return Profile(id=company_id, path=path, data=document.data, document=document, warnings=warnings)


def validate_document(document: YamlDocument, filename: str, content: Content,
                      schema_passed: bool = False) -> list[Problem]:
    """Every problem of a profile document: the schema (skipped when `schema_passed`, i.e. these
    exact bytes passed it before), then the cross-field checks against content/ (always run)."""
    def problem(field: str, message: str) -> Problem:
        return Problem(filename, document.line_of(field), field, message)

    data = document.data
    if schema_passed and isinstance(data, dict):
        try:
            return _cross_checks(data, content, problem)
        except (KeyError, TypeError, AttributeError, ValueError):  # the remembered pass was wrong
            return validate_document(document, filename, content)
    problems = document_problems(document, filename, _validator(), what="프로필", guide="docs/profile.md",
                                 pattern_hint=_pattern_hint, note=_note)
    if not isinstance(data, dict):
        return problems
    if not problems:
        problems.extend(_cross_checks(data, content, problem))
        return problems
    # Structure is broken somewhere: still run the cross-field checks where they can run, so one
    # pass reports as much as possible, but never twice for a field already reported.
    try:
        extra = _cross_checks(data, content, problem)
    except (KeyError, TypeError, AttributeError, ValueError):
        extra = []
    reported = {p.field for p in problems}
    problems.extend(p for p in extra if p.field not in reported)
    return problems


SCHEMA_PATH = Path(__file__).with_name("profile_schema.yaml")


@lru_cache(maxsize=1)
def _validator():
    from jsonschema import Draft202012Validator

    return Draft202012Validator(read_yaml(SCHEMA_PATH))


def _schema_pass_marker(raw: bytes) -> Path | None:
    """Where a schema pass of these exact profile bytes is remembered ($CARBON_CACHE_DIR/profiles).

    The schema check is a pure function of the bytes, the schema, the code that loads and checks
    them and jsonschema, so the key hashes all of them; importing jsonschema alone is ~0.08 s of a ~0.7 s re-plan. Only
    passes are remembered; the cross-field checks against content/ always run."""
    import hashlib
    import importlib.util

    from pipeline.store.cache import cache_dir

    try:
        folder = cache_dir("profiles")
        spec = importlib.util.find_spec("jsonschema")
        if folder is None or spec is None or not spec.origin:
            return None
        key = hashlib.sha256()
        here = Path(__file__)
        for part in (SCHEMA_PATH, here, here.with_name("yamlsafe.py"), here.with_name("schema.py")):
            key.update(part.read_bytes())
        key.update(f"{spec.origin}:{Path(spec.origin).stat().st_mtime_ns}".encode())
        key.update(raw)
        return folder / f"{key.hexdigest()}.schema-ok"
    except OSError:
        return None


_PASSED = b"schema-ok"


def _passed_before(marker: Path | None) -> bool:
    """These bytes passed the schema before: a verified entry (a damaged one is dropped, and the schema runs)."""
    from pipeline.store.cache import read_entry

    return read_entry(marker) == _PASSED


def _remember(marker: Path | None) -> None:
    from pipeline.store.cache import write_entry

    write_entry(marker, _PASSED)  # a cache only: a failure is no error


def _pattern_hint(field: str) -> str:
    if field.endswith("hs_code"):
        return "HS 코드는 숫자 4·6·8·10자리 (예: \"7318.15\")"
    if field.endswith("business_number"):
        return "사업자등록번호는 NNN-NN-NNNNN"
    if field.endswith("ksic"):
        return "KSIC 코드는 숫자 5자리 문자열 (예: \"25941\")"
    if field.endswith("country"):
        return "국가 코드는 ISO 영문 대문자 2자리 (예: DE)"
    return "소문자 영문·숫자·하이픈 id (예: heat-treatment)"


def _note(kind: str, field: str) -> str:
    return ". 단위를 확인해 주세요" if kind in ("maximum", "exclusiveMaximum") else ""


def _cross_checks(data: dict, content: Content, problem) -> list[Problem]:
    """Checks that need more than one field, or content/ (known fuels, units, ids)."""
    problems: list[Problem] = []
    this_year = datetime.date.today().year
    if data["base_year"] > this_year:
        problems.append(problem("base_year", f"기준연도는 올해({this_year}) 이하여야 합니다 (지금 값: {data['base_year']})"))

    product_ids = _unique_ids(data["products"], "products", problem, problems)
    process_ids = _unique_ids(data["processes"], "processes", problem, problems)

    for i, product in enumerate(data["products"]):
        digits = re.sub(r"[ .]", "", product["hs_code"])
        if len(digits) not in (4, 6, 8, 10):
            problems.append(problem(f"products[{i}].hs_code", f"HS 코드는 숫자 4·6·8·10자리여야 합니다 (지금 {len(digits)}자리: '{product['hs_code']}')"))
        for j, pid in enumerate(product.get("processes", [])):
            if pid not in process_ids:
                problems.append(problem(f"products[{i}].processes[{j}]", f"공정 id '{pid}'가 processes에 없습니다 (있는 id: {', '.join(sorted(process_ids))})"))

    exports = data.get("exports", [])
    countries = [e["country"] for e in exports]
    for i, country in enumerate(countries):
        if country in countries[:i]:
            problems.append(problem(f"exports[{i}].country", f"수출국 '{country}'가 두 번 나옵니다. 한 항목으로 합쳐 주세요"))
    total_share = sum(e["share_pct"] for e in exports)
    if total_share > 100 + SHARE_TOLERANCE_PCT:
        problems.append(problem("exports", f"수출국별 매출 비중의 합이 100%를 넘습니다 ({total_share:g}%)"))
    for i, export in enumerate(exports):
        for j, customer in enumerate(export.get("customers", [])):
            for k, pid in enumerate(customer.get("products", [])):
                if pid not in product_ids:
                    problems.append(problem(f"exports[{i}].customers[{j}].products[{k}]", f"제품 id '{pid}'가 products에 없습니다"))

    sources_known = set(content.fuels) | {"electricity"}
    share_sums: dict[str, float] = {}
    for i, process in enumerate(data["processes"]):
        for j, source in enumerate(process.get("energy_sources", [])):
            if source not in sources_known:
                problems.append(problem(f"processes[{i}].energy_sources[{j}]", f"알 수 없는 에너지원 '{source}'. 쓸 수 있는 값: {', '.join(sorted(sources_known))}"))
        for source, share in process.get("energy_shares_pct", {}).items():
            if source not in sources_known:
                problems.append(problem(f"processes[{i}].energy_shares_pct.{source}", f"알 수 없는 에너지원 '{source}'. 쓸 수 있는 값: {', '.join(sorted(sources_known))}"))
            share_sums[source] = share_sums.get(source, 0.0) + share
    for source, total in sorted(share_sums.items(), key=lambda item: str(item[0])):
        if total > 100 + SHARE_TOLERANCE_PCT:
            problems.append(problem("processes", f"에너지원 '{source}'의 공정별 비중 합이 100%를 넘습니다 ({total:g}%)"))

    problems.extend(energy_problems(data["energy"], content, problem))

    scope3 = data.get("scope3", {})
    s3 = content.scope3
    for key, table, id_field in (("purchased_materials", "materials", "material"), ("purchased_spend", "spend", "category"), ("transport", "transport", "mode"), ("waste", "waste", "type")):
        known = s3.get(table, {}) or {}
        for i, item in enumerate(scope3.get(key, [])):
            if item[id_field] not in known:
                problems.append(problem(f"scope3.{key}[{i}].{id_field}", f"알 수 없는 값 '{item[id_field]}'. content/factors/scope3.yaml의 {table}: {', '.join(sorted(known))}"))

    settings = data.get("settings", {})
    factor_set = settings.get("factor_set")
    if factor_set and factor_set not in content.factor_sets.get("sets", {}):
        problems.append(problem("settings.factor_set", f"알 수 없는 계수 세트 '{factor_set}'. 있는 값: {', '.join(content.factor_sets.get('sets', {}))}"))
    target = settings.get("target_program")
    if target and target not in content.programs:
        problems.append(problem("settings.target_program", f"지원사업 id '{target}'가 content/programs/에 없습니다"))
    overrides = data.get("overrides") or {}
    if overrides.get("program") and overrides["program"] not in content.programs:
        problems.append(problem("overrides.program", f"지원사업 id '{overrides['program']}'가 content/programs/에 없습니다"))
    known_kpis = {k["id"] for k in content.kpis}
    for kpi_id in overrides.get("kpi_targets") or {}:
        if kpi_id not in known_kpis:
            problems.append(problem(f"overrides.kpi_targets.{kpi_id}", f"알 수 없는 성과지표 id '{kpi_id}' (content/kpis.yaml)"))
    known_measures = {m["id"] for m in content.measures}
    for measure_id, quote in (overrides.get("investment_krw_million") or {}).items():
        if measure_id not in known_measures:
            problems.append(problem(f"overrides.investment_krw_million.{measure_id}", f"알 수 없는 개선 조치 id '{measure_id}' (content/measures.yaml)"))
        elif quote["low"] > quote["high"]:
            problems.append(problem(f"overrides.investment_krw_million.{measure_id}", "견적 하한(low)이 상한(high)보다 큽니다"))
    for i, pid in enumerate(data.get("consulting", {}).get("prior_programs", [])):
        if pid not in content.programs:
            problems.append(problem(f"consulting.prior_programs[{i}]", f"지원사업 id '{pid}'가 content/programs/에 없습니다"))
    problems.extend(_kpi_target_bounds(overrides.get("kpi_targets") or {}, content, problem))
    problems.extend(input_findings(data, content, problem)[0])
    return problems


def energy_problems(energy: dict, content: Content, problem, prefix: str = "energy") -> list[Problem]:
    """Checks of an energy section (a profile's, or a year's actuals): the twelve months against the
    stated annual total, not everything zero, known fuels and units that fit each fuel."""
    problems: list[Problem] = []
    electricity = energy["electricity"]
    months_total = sum(electricity["monthly_kwh"])
    stated = electricity.get("annual_kwh")
    if stated is not None and abs(stated - months_total) > MONTH_TOLERANCE * max(stated, months_total, 1):
        problems.append(problem(f"{prefix}.electricity.annual_kwh", f"연간 전력량 {stated:,.0f} kWh가 월별 합계 {months_total:,.0f} kWh와 1% 넘게 다릅니다. 둘 중 하나를 고쳐 주세요"))

    fuel_total = sum(f["amount"] for f in energy.get("fuels", []) if isinstance(f.get("amount"), (int, float)))
    if months_total <= 0 and fuel_total <= 0:
        problems.append(problem(prefix, "전력과 연료 사용량이 모두 0입니다. 그해의 실제 사용량(한전·가스 고지서)을 적어 주세요"))

    for i, fuel in enumerate(energy.get("fuels", [])):
        field = f"{prefix}.fuels[{i}]"
        record = content.fuels.get(fuel["fuel"])
        if record is None:
            problems.append(problem(f"{field}.fuel", f"알 수 없는 연료 '{fuel['fuel']}'. content/factors/fuels.yaml에 있는 값: {', '.join(sorted(content.fuels))}"))
            continue
        unit = fuel["unit"]
        if unit not in ALL_FUEL_UNITS:
            problems.append(problem(f"{field}.unit", f"알 수 없는 단위 '{unit}'. 쓸 수 있는 단위: {', '.join(ALL_FUEL_UNITS)}"))
        elif is_energy_unit(unit):
            if "basis" not in fuel:
                problems.append(problem(f"{field}.basis", f"열량 단위({unit})로 적을 때는 basis가 필요합니다: gross(총발열량, 도시가스 고지서) 또는 net(순발열량)"))
        else:
            if physical_multiplier(unit, record["physical_unit"]) is None:
                problems.append(problem(f"{field}.unit", f"'{fuel['fuel']}'에는 단위 '{unit}'를 쓸 수 없습니다. {record['physical_unit']} 계열 단위나 열량 단위(MJ, GJ, TJ, Gcal, kWh, toe)를 써 주세요"))
            if "basis" in fuel:
                problems.append(problem(f"{field}.basis", "basis는 열량 단위(MJ, GJ …)로 적을 때만 씁니다. 물리량 단위에는 빼 주세요"))
    return problems


def _kpi_target_bounds(targets: dict, content: Content, problem) -> list[Problem]:
    """A consultant's KPI target within what its unit allows (content/plausibility.yaml kpi_targets)."""
    rules = content.plausibility.get("kpi_targets") or {}
    kpis = {k["id"]: k for k in content.kpis}
    out = []
    for kpi_id, value in targets.items():
        kpi = kpis.get(kpi_id)
        if kpi is None or not isinstance(value, (int, float)):
            continue
        rule = (rules.get("by_id") or {}).get(kpi_id) or (rules.get("by_unit") or {}).get(kpi["unit"])
        if rule and not rule.get("min", 0) <= value <= rule["max"]:
            out.append(problem(f"overrides.kpi_targets.{kpi_id}", f"{kpi['name']}({kpi['unit']}) 목표는 {rule.get('min', 0):g}–"
                               f"{rule['max']:g} 사이여야 합니다 (지금 값: {value:g}). {rule['reason']}"))
    return out


def _unique_ids(items: list, field: str, problem, problems: list) -> set:
    seen: set = set()
    for i, item in enumerate(items):
        if item["id"] in seen:
            problems.append(problem(f"{field}[{i}].id", f"id '{item['id']}'가 중복됩니다. id는 서로 달라야 합니다"))
        seen.add(item["id"])
    return seen


def validate_companies(ids: list[str], content: Content, folder: Path | None = None,
                       warnings: list | None = None) -> tuple[list[str], list[Problem]]:
    """Validate several profiles; returns (valid ids, all problems) and adds "id: warning" lines to
    `warnings` (unusual figures). ContentError propagates."""
    valid, problems = [], []
    for company in ids:
        try:
            profile = load_profile(company, content, folder)
            valid.append(company)
            if warnings is not None:
                warnings.extend(f"{profile.id}: {w}" for w in profile.warnings)
        except ProfileError as exc:
            problems.extend(exc.problems)
        except UnknownCompanyError as exc:
            problems.append(Problem(company, None, "", exc.message))
    return valid, problems

