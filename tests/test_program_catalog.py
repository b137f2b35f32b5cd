"""Shape checks for the support-program catalog in content/programs/*.yaml.

Uses only pyyaml. The field meanings are documented in content/programs/README.md.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml

PROGRAM_DIR = Path(__file__).resolve().parents[1] / "content" / "programs"
FILES = sorted(PROGRAM_DIR.glob("*.yaml"))

TOP_KEYS = {
    "id", "name", "name_en", "ministry", "agency", "ministry_as_of", "type", "support",
    "eligibility", "preferences", "fits_needs", "measures_funded", "window",
    "required_documents", "evaluation_criteria", "form_items", "form_differs_from_type", "excludes_programs",
    "source", "verified", "note",
}
SUPPORT_KEYS = {
    "max_krw_million", "per", "gov_share_pct", "gov_share_pct_midsize", "self_funding_note",
    "loan_rate_note", "duration_months",
}
ELIGIBILITY_KEYS = {
    "size_classes", "industries_ksic_prefixes", "regions", "requires_export", "requires_eu_export",
    "requires_cbam_goods", "exclude_k_ets", "only_k_ets", "required_certifications",
    "requires_emissions_data", "requires_consortium", "requires_prior_program", "energy_toe_min",
    "energy_toe_max", "min_years_in_business", "years_in_business_max", "revenue_max_krw_100m", "revenue_basis",
    "smart_factory_level_min", "requires_industrial_complex", "cities", "excludes_prior_participation", "other",
}
WINDOW_KEYS = {"year", "open", "close", "recurring", "typical_months", "note"}
SOURCE_KEYS = {"url", "publisher", "title", "checked"}

TYPES = {"R&D", "사업화", "설비", "컨설팅/바우처", "융자", "보증"}
PER = {"기업", "과제", "컨소시엄", "사업장"}
SIZE_CLASSES = {"중소", "중견", "소기업", "소상공인"}
REVENUE_BASES = {"3yr_average", "last_year"}
SMART_FACTORY_LEVELS = {"기초", "중간1", "중간2", "고도화"}
# A 가점's `when`: the company facts it needs (pipeline/calc/eligibility.py condition).
WHEN_KEYS = {"in_industrial_complex", "capital_region", "ksic_prefixes", "certifications_any",
             "smart_factory_level_min", "cbam_exporter", "customer_demands", "prior_programs_any"}
RECURRING = {"annual", "monthly", "rolling", "once"}
NEEDS = {"cbam", "re100", "energy_efficiency", "facility_investment", "esg", "rd", "supply_chain", "financing"}
PREFERENCE_KEYS = {
    "non_capital_region", "not_in_industrial_complex", "cbam_exporter", "high_emission_industry",
    "root_industry", "green_certified", "smart_factory", "esg_consulting_done", "supply_chain_buyer",
}
ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def _load(path: Path) -> dict:
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    assert isinstance(data, dict), f"{path.name}: top level must be a mapping"
    return data


@pytest.fixture(scope="module")
def programs() -> dict[str, dict]:
    return {p.stem: _load(p) for p in FILES}


def test_at_least_30_programs():
    assert len(FILES) >= 30, f"only {len(FILES)} program files in {PROGRAM_DIR}"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_program_shape(path: Path):
    d = _load(path)
    name = path.name
    assert set(d) == TOP_KEYS, f"{name}: missing {TOP_KEYS - set(d)}, unknown {set(d) - TOP_KEYS}"
    assert d["id"] == path.stem, f"{name}: id {d['id']!r} != file name"
    assert ID_RE.match(d["id"]), f"{name}: id must be lowercase ascii, digits, hyphens"
    assert d["type"] in TYPES, f"{name}: type {d['type']!r} not in {sorted(TYPES)}"
    assert isinstance(d["name"], str) and d["name"], f"{name}: name required"
    assert isinstance(d["verified"], bool), f"{name}: verified must be true/false"
    assert re.match(r"^\d{4}-\d{2}$", str(d["ministry_as_of"])), f"{name}: ministry_as_of must be YYYY-MM"

    sup = d["support"]
    assert isinstance(sup, dict) and set(sup) == SUPPORT_KEYS, f"{name}: support keys {set(sup) ^ SUPPORT_KEYS}"
    assert sup["per"] in PER, f"{name}: support.per {sup['per']!r}"
    for k in ("max_krw_million", "gov_share_pct", "gov_share_pct_midsize", "duration_months"):
        assert sup[k] is None or (isinstance(sup[k], (int, float)) and not isinstance(sup[k], bool)), f"{name}: support.{k}"
    for k in ("gov_share_pct", "gov_share_pct_midsize"):
        assert sup[k] is None or 0 <= sup[k] <= 100, f"{name}: support.{k} out of range"

    el = d["eligibility"]
    assert isinstance(el, dict) and set(el) == ELIGIBILITY_KEYS, f"{name}: eligibility keys {set(el) ^ ELIGIBILITY_KEYS}"
    assert el["size_classes"] and set(el["size_classes"]) <= SIZE_CLASSES, f"{name}: size_classes"
    for k in ("requires_export", "requires_eu_export", "requires_cbam_goods", "exclude_k_ets", "only_k_ets",
              "requires_emissions_data", "requires_consortium", "requires_industrial_complex",
              "excludes_prior_participation"):
        assert isinstance(el[k], bool), f"{name}: eligibility.{k} must be bool"
    assert not (el["exclude_k_ets"] and el["only_k_ets"]), f"{name}: exclude_k_ets and only_k_ets both true"
    for k in ("required_certifications", "requires_prior_program", "other"):
        assert isinstance(el[k], list), f"{name}: eligibility.{k} must be a list"
    for k in ("min_years_in_business", "years_in_business_max"):
        assert el[k] is None or (isinstance(el[k], int) and el[k] > 0), f"{name}: eligibility.{k}"
    assert el["revenue_max_krw_100m"] is None or el["revenue_max_krw_100m"] > 0, f"{name}: revenue_max_krw_100m"
    assert (el["revenue_basis"] in REVENUE_BASES) if el["revenue_max_krw_100m"] is not None else el["revenue_basis"] is None, \
        f"{name}: a revenue ceiling names its basis (3yr_average | last_year), no basis without a ceiling"
    assert el["smart_factory_level_min"] is None or el["smart_factory_level_min"] in SMART_FACTORY_LEVELS, f"{name}: smart_factory_level_min"
    for k in ("industries_ksic_prefixes", "regions", "cities"):
        assert el[k] is None or (isinstance(el[k], list) and el[k]), f"{name}: eligibility.{k} null or non-empty list"

    assert isinstance(d["preferences"], list), f"{name}: preferences must be a list"
    for pref in d["preferences"]:
        assert set(pref) == {"key", "text", "when"}, f"{name}: preference keys {set(pref)}"
        assert pref["key"] is None or pref["key"] in PREFERENCE_KEYS, f"{name}: preference key {pref['key']!r}"
        assert (pref["when"] is None) == (pref["key"] is None), f"{name}: a keyed preference has its condition (when), a text-only one none"
        assert pref["when"] is None or (isinstance(pref["when"], dict) and pref["when"] and set(pref["when"]) <= WHEN_KEYS), \
            f"{name}: preference when {pref['when']!r}"
        assert pref["text"], f"{name}: preference text empty"
    assert set(d["fits_needs"]) <= NEEDS and d["fits_needs"], f"{name}: fits_needs {d['fits_needs']}"
    assert isinstance(d["measures_funded"], list), f"{name}: measures_funded must be a list"

    win = d["window"]
    assert isinstance(win, dict) and set(win) == WINDOW_KEYS, f"{name}: window keys {set(win) ^ WINDOW_KEYS}"
    assert isinstance(win["year"], int), f"{name}: window.year"
    assert win["recurring"] in RECURRING, f"{name}: window.recurring {win['recurring']!r}"
    assert all(isinstance(m, int) and 1 <= m <= 12 for m in win["typical_months"]), f"{name}: typical_months"
    for k in ("open", "close"):
        assert win[k] is None or isinstance(win[k], dt.date), f"{name}: window.{k} must be an ISO date or null"
    if win["open"] and win["close"]:
        assert win["open"] <= win["close"], f"{name}: window opens after it closes"

    assert d["required_documents"] is None or isinstance(d["required_documents"], list), f"{name}: required_documents"
    ev = d["evaluation_criteria"]
    assert ev is None or (isinstance(ev, dict) and set(ev) == {"source", "total_points", "items"}), f"{name}: evaluation_criteria keys"
    assert d["form_items"] is None or (isinstance(d["form_items"], list) and all(isinstance(x, str) and x for x in d["form_items"])), \
        f"{name}: form_items is null or the form's headings"
    assert d["form_differs_from_type"] in (None, True, False), f"{name}: form_differs_from_type"
    assert isinstance(d["excludes_programs"], list), f"{name}: excludes_programs must be a list"

    src = d["source"]
    assert isinstance(src, dict) and set(src) == SOURCE_KEYS, f"{name}: source keys {set(src) ^ SOURCE_KEYS}"
    assert isinstance(src["url"], str) and src["url"].startswith("http"), f"{name}: source.url"
    assert isinstance(src["checked"], dt.date), f"{name}: source.checked must be an ISO date"
    assert src["publisher"] and src["title"], f"{name}: source.publisher/title"

    if not d["verified"]:
        assert d["note"], f"{name}: unverified entries need a note saying what is unverified"


def test_cross_references_resolve(programs):
    ids = set(programs)
    for pid, d in programs.items():
        for ref in d["eligibility"]["requires_prior_program"] + d["excludes_programs"]:
            assert ref in ids, f"{pid}: references unknown program id {ref!r}"


def test_k_ets_routing_present(programs):
    """The matcher routes K-ETS companies away from SME facility grants; keep both sides in the catalog."""
    assert any(d["eligibility"]["only_k_ets"] for d in programs.values())
    assert any(d["eligibility"]["exclude_k_ets"] for d in programs.values())


PLAN_DIR = PROGRAM_DIR.parent / "sections" / "plan"


def _plan_sections(program_type: str) -> set[str]:
    structure = yaml.safe_load((PLAN_DIR / "structure.yaml").read_text(encoding="utf-8"))
    return {Path(f).stem for f in structure.get(program_type) or structure["default"]}


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_evaluation_criteria_are_sourced_and_answered_by_plan_sections(path: Path):
    """Each published criterion names the plan sections (of the plan this program type gets) that answer
    it; points add up to what the notice states; the source is one an evaluator can check."""
    d = _load(path)
    ev = d["evaluation_criteria"]
    if ev is None:
        return
    name = path.name
    src = ev["source"]
    assert set(src) == {"url", "title", "publisher", "year"}, f"{name}: evaluation_criteria.source keys {set(src)}"
    assert str(src["url"]).startswith("http") and src["title"] and src["publisher"], f"{name}: evaluation_criteria.source"
    assert isinstance(src["year"], int) and 2015 <= src["year"] <= 2030, f"{name}: evaluation_criteria.source.year"
    assert ev["items"], f"{name}: evaluation_criteria without items (use null)"
    sections = _plan_sections(d["type"])
    for item in ev["items"]:
        assert set(item) <= {"criterion", "points", "answered_by", "note"} and {"criterion", "points", "answered_by"} <= set(item), \
            f"{name}: criterion keys {set(item)}"
        assert isinstance(item["criterion"], str) and item["criterion"], f"{name}: criterion text"
        assert item["points"] is None or (isinstance(item["points"], (int, float)) and item["points"] > 0), f"{name}: points"
        assert item["answered_by"] and set(item["answered_by"]) <= sections, \
            f"{name}: {item['criterion']}: answered_by {item['answered_by']} not all in the {d['type']} plan ({sorted(sections)})"
    points = [item["points"] for item in ev["items"]]
    if ev["total_points"] is not None:
        assert None not in points and sum(points) == ev["total_points"], f"{name}: points add up to {sum(p or 0 for p in points)}, the notice says {ev['total_points']}"
    else:
        assert all(p is None for p in points) or None not in points, f"{name}: points given for some items only"


def test_plan_sections_named_by_criteria_exist():
    """The ids are the plan's section files (content/sections/plan/<id>.md)."""
    for path in FILES:
        ev = _load(path)["evaluation_criteria"] or {"items": []}
        for item in ev["items"]:
            for sid in item["answered_by"]:
                assert (PLAN_DIR / f"{sid}.md").is_file(), f"{path.name}: no plan section {sid}"
