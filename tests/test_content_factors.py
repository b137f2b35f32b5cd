"""Checks on content/factors and content/regulations: every record is sourced and typed,
ids are exactly those other code relies on, CBAM rules parse, factor sets reference existing ids."""
from pathlib import Path
import re

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
FACTORS = ROOT / "content" / "factors"
REGS = ROOT / "content" / "regulations"


def load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def assert_source(src, where):
    assert isinstance(src, dict), f"{where}: source must be a mapping"
    for key in ("publisher", "document", "table", "url"):
        assert key in src, f"{where}: source lacks {key}"
    assert src["publisher"] and src["document"], f"{where}: publisher/document empty"


def assert_record(rec, where, need_unit=True):
    assert "source" in rec, f"{where}: no source"
    assert_source(rec["source"], where)
    assert "version" in rec, f"{where}: no version"
    assert "valid_from" in rec, f"{where}: no valid_from"
    if need_unit:
        assert "unit" in rec, f"{where}: no unit"
    if rec.get("verified") is False:
        assert rec.get("note"), f"{where}: verified: false needs a note"


# ---------------------------------------------------------------- gwp
def test_gwp_sets():
    sets = load(FACTORS / "gwp.yaml")["sets"]
    assert set(sets) == {"SAR", "AR4", "AR5", "AR6"}
    assert (sets["SAR"]["ch4"], sets["SAR"]["n2o"]) == (21, 310)
    assert (sets["AR4"]["ch4"], sets["AR4"]["n2o"]) == (25, 298)
    assert (sets["AR5"]["ch4"], sets["AR5"]["n2o"], sets["AR5"]["ch4_fossil"]) == (28, 265, 30)
    assert (sets["AR6"]["ch4"], sets["AR6"]["n2o"], sets["AR6"]["ch4_fossil"]) == (27.9, 273, 29.8)
    for k, rec in sets.items():
        assert_record(rec, f"gwp.{k}")


# ---------------------------------------------------------------- fuels
FUEL_IDS = {"city_gas": "Nm3", "lng": "kg", "propane": "kg", "butane": "kg",
            "diesel": "L", "kerosene": "L", "gasoline": "L", "bunker_c": "L"}


def test_fuel_ids_and_units():
    fuels = load(FACTORS / "fuels.yaml")["fuels"]
    assert set(fuels) == set(FUEL_IDS)
    for fid, fuel in fuels.items():
        assert fuel["physical_unit"] == FUEL_IDS[fid]
        assert fuel["state"] in {"gas", "liquid", "solid"}
        assert set(fuel["calorific_values"]) >= {"kr-2017", "kr-2022"}
        assert set(fuel["emission_factors"]) >= {"ipcc-2006", "kr-kets"}
        for rev, cv in fuel["calorific_values"].items():
            where = f"fuels.{fid}.calorific_values.{rev}"
            assert_record(cv, where)
            assert cv["unit"] == f"MJ/{FUEL_IDS[fid]}", where
            for k in ("net", "gross"):
                assert k in cv and (cv[k] is None or cv[k] > 0), where
            if cv["net"] is None or cv["gross"] is None:
                assert cv.get("note"), f"{where}: null value needs a note"
            if cv["net"] and cv["gross"]:
                assert cv["gross"] > cv["net"], where
        for sid, ef in fuel["emission_factors"].items():
            where = f"fuels.{fid}.emission_factors.{sid}"
            assert_record(ef, where)
            assert ef["unit"] == "kg/TJ", where
            assert ef["co2"] > 10000 and ef["ch4"] >= 0 and ef["n2o"] >= 0, where


def test_city_gas_values():
    cg = load(FACTORS / "fuels.yaml")["fuels"]["city_gas"]
    assert (cg["calorific_values"]["kr-2022"]["net"], cg["calorific_values"]["kr-2022"]["gross"]) == (38.5, 42.7)
    assert cg["emission_factors"]["ipcc-2006"]["co2"] == 56100


# ---------------------------------------------------------------- electricity
def test_electricity():
    doc = load(FACTORS / "electricity.yaml")
    grid = doc["grid"]
    expected = {"kr-2014-2016": 0.4594, "kr-2017-2019": 0.4781, "kr-2020-2022": 0.4541, "kr-2023": 0.4173}
    for gid, value in expected.items():
        assert grid[gid]["value"] == value
    for gid, rec in grid.items():
        assert_record(rec, f"electricity.grid.{gid}")
        assert rec["unit"] == "tCO2eq/MWh"
        assert rec["basis"] and "published" in rec
    for cid, rec in doc["energy_conversion"].items():
        assert_record(rec, f"electricity.energy_conversion.{cid}")
        assert rec["basis"] in {"소비기준", "발전기준"}
        assert "mj_per_kwh_gross" in rec and "mj_per_kwh_net" in rec


# ---------------------------------------------------------------- units
def test_units():
    u = load(FACTORS / "units.yaml")
    assert u["kcal_to_kj"]["value"] == 4.1868
    assert u["toe_kcal"]["value"] == 10_000_000
    assert u["toe_basis"]["value"] == "gross"
    for k in ("kcal_to_kj", "toe_kcal", "toe_basis"):
        assert_record(u[k], f"units.{k}")


# ---------------------------------------------------------------- factor sets
def test_factor_sets_reference_existing_ids():
    fs = load(FACTORS / "factor_sets.yaml")
    fuels = load(FACTORS / "fuels.yaml")["fuels"]
    elec = load(FACTORS / "electricity.yaml")
    gwp = load(FACTORS / "gwp.yaml")["sets"]
    assert fs["default"] in fs["sets"]
    assert set(fs["sets"]) >= {"kr-default", "kr-kets-phase4", "ipcc-2006"}
    for sid, s in fs["sets"].items():
        for fid, fuel in fuels.items():
            assert s["calorific"] in fuel["calorific_values"], (sid, fid)
            assert s["fuel_ef"] in fuel["emission_factors"], (sid, fid)
        assert s["grid"] in elec["grid"], sid
        assert s["energy_conversion"] in elec["energy_conversion"], sid
        assert s["gwp"] in gwp, sid
        assert s["name"], sid
    kd = fs["sets"]["kr-default"]
    assert (kd["calorific"], kd["fuel_ef"], kd["grid"], kd["energy_conversion"], kd["gwp"]) == (
        "kr-2022", "kr-kets", "kr-2023", "kr-2022", "AR5")
    assert fs["sets"]["kr-kets-phase4"]["grid"] == "kr-2020-2022"
    assert fs["sets"]["ipcc-2006"]["fuel_ef"] == "ipcc-2006"


# ---------------------------------------------------------------- scope 3
MATERIAL_IDS = {"steel_wire_rod", "steel_bar", "steel_plate", "stainless_steel", "cast_iron",
                "aluminium_billet_primary", "aluminium_billet_recycled", "aluminium_alloy_plate",
                "titanium_alloy", "copper", "zinc", "plastics_generic", "packaging_paper"}
TRANSPORT_IDS = {"truck", "truck_small", "rail", "ship_container", "air_freight"}
WASTE_IDS = {"metal_scrap_recycled", "general_waste_incineration", "general_waste_landfill"}
SPEND_IDS = {"machinery_services", "purchased_services", "industrial_chemicals", "capital_equipment"}


def test_scope3_ids_and_records():
    s3 = load(FACTORS / "scope3.yaml")
    assert set(s3["materials"]) == MATERIAL_IDS
    assert set(s3["transport"]) == TRANSPORT_IDS
    assert set(s3["waste"]) == WASTE_IDS
    assert set(s3["spend"]) >= SPEND_IDS
    assert sorted(s3["categories"]) == list(range(1, 16))
    for group, unit in (("materials", "tCO2e/t"), ("transport", "kgCO2e/tkm"), ("waste", "tCO2e/t")):
        for rid, rec in s3[group].items():
            where = f"scope3.{group}.{rid}"
            assert_record(rec, where)
            assert rec["unit"] == unit, where
            assert rec["value"] is None or rec["value"] > 0, where
            if rec["value"] is None:
                assert rec.get("note") and rec.get("verified") is False, where
    for rid, rec in s3["spend"].items():
        assert_record(rec, f"scope3.spend.{rid}")
        assert rec["currency"] and rec["base_year"], rid
    assert_record(s3["currency"]["usd_krw"], "scope3.currency.usd_krw")
    for n, c in s3["categories"].items():
        assert c["name_ko"] and c["name_en"], n


# ---------------------------------------------------------------- CBAM
def cbam_sector(code, rules):
    """Reference classifier over the prefix rules (tests only; pipeline code has its own)."""
    digits = re.sub(r"\D", "", code)
    hits = [r for r in rules if digits.startswith(r["prefix"])
            and not any(digits.startswith(e) for e in r.get("except") or [])]
    return hits[0]["sector"] if hits else None


@pytest.fixture(scope="module")
def cbam():
    return load(REGS / "cbam.yaml")


def test_cbam_rules_parse(cbam):
    assert_source(cbam["source"], "cbam")
    sectors = cbam["sectors"]
    assert set(sectors) == {"iron_steel", "aluminium", "cement", "fertilisers", "hydrogen", "electricity"}
    for s in sectors.values():
        assert s["emissions"] in {"direct", "direct_indirect"} and s["name_ko"]
    prefixes = set()
    for r in cbam["rules"]:
        assert re.fullmatch(r"\d{2,8}", r["prefix"]), r
        assert r["sector"] in sectors, r
        assert r.get("emissions") in (None, "direct", "direct_indirect"), r
        for e in r.get("except") or []:
            assert re.fullmatch(r"\d{2,8}", e) and e.startswith(r["prefix"]), (r["prefix"], e)
        assert r["prefix"] not in prefixes, r["prefix"]
        prefixes.add(r["prefix"])


@pytest.mark.parametrize("code,sector", [
    ("7318.15", "iron_steel"), ("7318 15 95", "iron_steel"), ("72085100", "iron_steel"),
    ("72021100", "iron_steel"), ("72024100", "iron_steel"), ("72026000", "iron_steel"),
    ("7326.90", "iron_steel"), ("26011200", "iron_steel"), ("7604.21", "aluminium"),
    ("7616.99", "aluminium"), ("25231000", "cement"), ("31021010", "fertilisers"),
    ("2814.10", "fertilisers"), ("28041000", "hydrogen"), ("27160000", "electricity"),
    ("72022100", None), ("72023000", None), ("72029980", None), ("72042100", None),
    ("7320.20", None), ("7325.10", None), ("7602.00", None), ("7615.10", None),
    ("8481.80", None), ("8482.10", None), ("8708.99", None), ("31056000", None),
])
def test_cbam_classification(cbam, code, sector):
    assert cbam_sector(code, cbam["rules"]) == sector


def test_cbam_other_sections(cbam):
    dm = cbam["de_minimis"]
    assert dm["mass_t_per_importer_year"] == 50
    assert set(dm["excluded_sectors"]) == {"electricity", "hydrogen"}
    assert_record(dm, "cbam.de_minimis")
    po = cbam["free_allocation_phase_out"]
    assert po["values"] == {2026: 0.975, 2027: 0.95, 2028: 0.90, 2029: 0.775, 2030: 0.515,
                            2031: 0.39, 2032: 0.265, 2033: 0.14, 2034: 0.0}
    assert_record(po, "cbam.free_allocation_phase_out")
    assert cbam["default_value_markup"]["values"] == {2026: 0.10, 2027: 0.20, 2028: 0.30}
    cp = cbam["cost_parameters"]
    for k in ("certificate_price_eur_per_t", "eur_krw", "cross_sectoral_correction_factor", "korean_carbon_price_krw_per_t"):
        assert_record(cp[k], f"cbam.cost_parameters.{k}")
    assert cp["korean_carbon_price_krw_per_t"]["applies_only_if"] == "k_ets_allocated"
    assert cp["certificate_price_eur_per_t"]["value"] == 75.36 and cp["eur_krw"]["value"] == 1475.40
    for k, table in cbam["tables"].items():  # the EU's own files, each with source, version and fingerprint
        assert_source(table["source"], f"cbam.tables.{k}")
        assert table["version"] and (table.get("sha256") or table.get("source_file_sha256"))
    pe = cbam["proposed_extension"]
    assert pe["status"] == "proposal" and str(pe["applies_from"]) == "2028-01-01"
    assert_source(pe["source"], "cbam.proposed_extension")
    eu = cbam["eu_countries"]
    assert len(eu) == 27 and len(set(eu)) == 27
    assert "DE" in eu and not {"NO", "IS", "LI", "CH", "GB"} & set(eu)


# ---------------------------------------------------------------- other regulations
def test_re100():
    r = load(REGS / "re100.yaml")
    assert r["interim_targets"]["values"] == {2030: 60, 2040: 90, 2050: 100}
    assert_source(r["interim_targets"]["source"], "re100.interim_targets")
    assert set(r["instruments"]) == {"green_premium", "rec", "third_party_ppa", "direct_ppa", "onsite_solar", "equity"}
    for k, i in r["instruments"].items():
        assert i["name_ko"] and "counts_for_re100" in i and "counts_for_k_ets" in i and i["sources"], k
        for s in i["sources"]:
            assert_source(s, f"re100.instruments.{k}")
    for group in ("solar", "prices"):
        for k, rec in r[group].items():
            assert_record(rec, f"re100.{group}.{k}")


def test_due_diligence():
    d = load(REGS / "due_diligence.yaml")["regimes"]
    assert {"eu_csddd", "de_lksg", "eu_battery_regulation", "k_esg", "k_esg_supply_chain"} <= set(d)
    assert d["k_esg"]["items"]["total"] == 61
    for k, rec in d.items():
        assert_record(rec, f"due_diligence.{k}", need_unit=False)
        assert rec["applies_when"] and rec["status"] and rec["sme_supplier_asked_for"], k


def test_korea_energy():
    k = load(REGS / "korea_energy.yaml")
    assert k["energy_intensive_business"]["threshold_toe_per_year"] == 2000
    assert_record(k["energy_intensive_business"], "korea_energy.energy_intensive_business")
    assert_record(k["ghg_target_management"], "korea_energy.ghg_target_management")
    assert_record(k["k_ets"], "korea_energy.k_ets")
    sup = k["support_thresholds"]
    assert (sup["energy_audit_subsidy"]["min_toe"], sup["energy_audit_subsidy"]["max_toe"]) == (500, 2000)
    assert sup["gyeongnam_sme_audit"]["max_toe"] == 10000
    for key, rec in sup.items():
        assert_record(rec, f"korea_energy.support_thresholds.{key}")
