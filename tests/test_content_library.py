"""Schema checks for the content libraries: measures, KPIs and partners.

Only pyyaml is used, so these tests run before the pipeline package exists.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

CONTENT = Path(__file__).resolve().parent.parent / "content"

EQUIPMENT_TYPES = {
    "furnace", "boiler", "compressor", "pump", "fan", "motor", "lighting",
    "hvac", "press", "machining", "chiller", "dryer", "other",
}
ENERGY_SOURCES = {"electricity", "fuel"}
INVESTMENT_BASES = {"per_kw", "per_unit", "per_m2", "fixed"}
PROGRAM_TYPES = {"설비", "사업화", "R&D", "컨설팅/바우처", "융자", "보증"}
APPLIES_WHEN = {None, "cbam_covered", "re100_demand", "has_fuel", "has_solar_potential"}
PARTNER_KINDS = {
    "university", "research_institute", "testing_body", "demand_company",
    "public_agency", "verifier", "esco", "consultant", "finance",
}
NEEDS = {
    "cbam", "re100", "energy_efficiency", "facility_investment", "esg", "rd",
    "supply_chain", "financing",
}

MEASURE_KEYS = {
    "id", "name_ko", "applies_to", "saving_pct", "investment", "lifetime_years",
    "load_factor", "co_benefits", "source", "verified", "note",
}
KPI_KEYS = {
    "id", "name", "unit", "formula", "baseline_from", "target_rule", "mv_method",
    "evidence", "applies_to_program_types", "applies_when", "source",
}
PARTNER_KEYS = {"id", "name", "kind", "region", "roles", "fits", "program_types", "source"}


def _load(name: str) -> dict:
    with open(CONTENT / name, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@pytest.fixture(scope="module")
def measures() -> list[dict]:
    return _load("measures.yaml")["measures"]


@pytest.fixture(scope="module")
def kpis() -> list[dict]:
    return _load("kpis.yaml")["kpis"]


@pytest.fixture(scope="module")
def partners() -> list[dict]:
    return _load("partners.yaml")["partners"]


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _check_range(rng: dict, where: str) -> None:
    low, high = rng.get("low"), rng.get("high")
    for v in (low, high):
        assert v is None or (_is_number(v) and v >= 0), f"{where}: {v!r} must be a number ≥ 0 or null"
    if low is not None and high is not None:
        assert low <= high, f"{where}: low {low} > high {high}"


def _assert_unique(items: list[dict], what: str) -> None:
    ids = [i["id"] for i in items]
    dupes = {i for i in ids if ids.count(i) > 1}
    assert not dupes, f"duplicate {what} ids: {sorted(dupes)}"


# ---------------------------------------------------------------- measures

def test_measures_count_and_unique(measures):
    assert len(measures) >= 14
    _assert_unique(measures, "measure")


OPTIONAL_MEASURE_KEYS = {"saving_basis", "auto_apply", "kind", "preconditions", "applies_when", "alternatives"}
SAVING_BASES = {"equipment_energy", "replaced_fuel_final_energy", "no_load_loss", "recoverable_heat"}


def test_measure_keys(measures):
    for m in measures:
        assert MEASURE_KEYS <= set(m) <= MEASURE_KEYS | OPTIONAL_MEASURE_KEYS, f"{m.get('id')}: keys {sorted(set(m) ^ MEASURE_KEYS)}"
        assert m.get("saving_basis", "equipment_energy") in SAVING_BASES, m["id"]
        assert isinstance(m["name_ko"], str) and m["name_ko"].strip()
        assert isinstance(m["co_benefits"], str) and m["co_benefits"].strip()
        assert isinstance(m["verified"], bool)


def test_measure_applies_to(measures):
    for m in measures:
        app = m["applies_to"]
        assert app["equipment_types"], m["id"]
        assert set(app["equipment_types"]) <= EQUIPMENT_TYPES, (m["id"], app["equipment_types"])
        assert app["energy_source"] in ENERGY_SOURCES, m["id"]


def test_measure_ranges(measures):
    for m in measures:
        _check_range(m["saving_pct"], f"{m['id']}.saving_pct")
        for v in m["saving_pct"].values():
            assert v is None or v <= 100, m["id"]
        inv = m["investment"]
        assert inv["basis"] in INVESTMENT_BASES, m["id"]
        assert isinstance(inv["unit"], str) and inv["unit"].startswith("KRW"), m["id"]
        _check_range(inv, f"{m['id']}.investment")
        lf = m["load_factor"]
        assert lf is None or (_is_number(lf) and 0 < lf <= 1), m["id"]
        lt = m["lifetime_years"]
        assert lt is None or (_is_number(lt) and lt > 0), m["id"]


INVESTMENT_KINDS = {"installed_cost", "standard_installed_cost"}


def test_a_sourced_investment_range_says_where_it_comes_from(measures):
    """Issue 14 item 5: a unit-cost range is shown as 개략 추정 — publisher year, so it must name its
    publisher, title, year, address and place in the document, its price year and kind (an installed
    cost, never a subsidy rate); a foreign-currency range keeps the published figures and its
    exchange rate with a source, and leaves the KRW fields to the code."""
    for m in measures:
        inv = m["investment"]
        foreign = (inv.get("currency_original") or "KRW") != "KRW"
        if foreign:
            assert inv.get("low") is None and inv.get("high") is None, f"{m['id']}: KRW is computed from *_original × fx"
            _check_range({"low": inv.get("low_original"), "high": inv.get("high_original")}, f"{m['id']}.investment.original")
            fx = inv.get("fx") or {}
            assert _is_number(fx.get("rate")) and fx["rate"] > 0 and fx.get("source"), m["id"]
        priced = (inv.get("low_original") if foreign else inv.get("low")) is not None
        if not priced:
            continue
        src = inv.get("source") or {}
        for key in ("publisher", "title", "year", "url", "locator"):
            assert src.get(key), f"{m['id']}.investment.source.{key}"
        assert isinstance(inv.get("price_year"), int), m["id"]
        assert inv.get("kind") in INVESTMENT_KINDS, m["id"]
        assert inv.get("vat_included") in (True, False, None), m["id"]
        assert isinstance(inv.get("verified"), bool), m["id"]


def test_measure_missing_numbers_are_explained(measures):
    """A null saving range or an unverified value must carry a note saying why."""
    for m in measures:
        s = m["saving_pct"]
        if not m["verified"] or s["low"] is None or s["high"] is None:
            assert isinstance(m["note"], str) and m["note"].strip(), m["id"]


def test_measure_sources(measures):
    for m in measures:
        src = m["source"]
        assert set(src) >= {"publisher", "document", "table", "url", "year"}, m["id"]
        assert src["publisher"] and src["document"], m["id"]


def test_load_factors_map():
    data = _load("measures.yaml")
    lfs = data["load_factors"]
    assert set(lfs) <= EQUIPMENT_TYPES
    for eq, entry in lfs.items():
        v = entry["value"]
        assert v is None or (_is_number(v) and 0 < v <= 1), eq
        assert isinstance(entry["verified"], bool), eq
        assert "source" in entry, eq
        if v is None or not entry["verified"]:
            assert entry.get("note"), eq


def test_measure_covers_required_topics(measures):
    ids = {m["id"] for m in measures}
    for required in (
        "compressed_air_leak_repair", "inverter_compressor", "inverter_pump", "inverter_fan",
        "premium_motor_ie3_ie4", "furnace_insulation_upgrade", "furnace_waste_heat_recovery",
        "burner_air_fuel_tuning", "boiler_economizer", "led_lighting", "heat_pump_process_heat",
        "high_efficiency_transformer", "ems_fems_monitoring", "chiller_optimisation",
        "hydraulic_press_servo_retrofit", "onsite_solar_pv",
    ):
        assert required in ids, required


# ---------------------------------------------------------------- KPIs

def test_kpis_count_and_unique(kpis):
    assert len(kpis) >= 14
    _assert_unique(kpis, "KPI")


def test_kpi_keys_and_values(kpis):
    for k in kpis:
        assert KPI_KEYS | {"task"} <= set(k) <= KPI_KEYS | {"task", "level"}, f"{k.get('id')}: keys {sorted(set(k) ^ KPI_KEYS)}"
        for key in ("name", "unit", "formula", "target_rule", "mv_method"):
            assert isinstance(k[key], str) and k[key].strip(), (k["id"], key)
        # Resolved against real contexts in tests/test_stages.py (test_kpi_baselines_come_from_content).
        assert k["baseline_from"] is None or k["baseline_from"].startswith(("diagnosis.", "company.")), (k["id"], k["baseline_from"])
        assert k["applies_when"] in APPLIES_WHEN, k["id"]
        assert k["evidence"] and all(isinstance(e, str) for e in k["evidence"]), k["id"]
        pts = k["applies_to_program_types"]
        assert pts and set(pts) <= PROGRAM_TYPES, (k["id"], pts)
        src = k["source"]
        assert set(src) >= {"publisher", "document", "url", "year"}, k["id"]
        assert src["publisher"] and src["document"], k["id"]


def test_kpi_formulas_do_not_hardcode_emission_factor(kpis):
    """Factors live in content/factors; a KPI formula must not embed a grid factor."""
    from pipeline.content import get_content

    factors = [str(g["value"]) for g in get_content().electricity["grid"].values()]
    assert "0.4541" in factors  # the list is read, not empty
    for k in kpis:
        assert not [f for f in factors if f in k["formula"]], k["id"]


# ---------------------------------------------------------------- partners

def test_partners_count_and_unique(partners):
    assert len(partners) >= 14
    _assert_unique(partners, "partner")


def test_partner_keys_and_values(partners):
    for p in partners:
        assert set(p) == PARTNER_KEYS, f"{p.get('id')}: keys {sorted(set(p) ^ PARTNER_KEYS)}"
        assert p["kind"] in PARTNER_KINDS, p["id"]
        assert p["roles"] and all(isinstance(r, str) for r in p["roles"]), p["id"]
        assert p["fits"] and set(p["fits"]) <= NEEDS, (p["id"], p["fits"])
        assert p["program_types"] and set(p["program_types"]) <= PROGRAM_TYPES, p["id"]
        assert p["source"].get("publisher"), p["id"]
        assert "url" in p["source"] and "note" in p["source"], p["id"]


def test_partners_contain_no_contact_data(partners):
    """No phone numbers or e-mail addresses (rule: no personal data, roles only)."""
    import re

    phone = re.compile(r"\b0\d{1,2}-\d{3,4}-\d{4}\b")
    text = yaml.safe_dump(partners, allow_unicode=True)
    assert not phone.search(text), phone.search(text)
    assert "@" not in text
