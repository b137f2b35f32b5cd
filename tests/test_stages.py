"""Each stage on the sample companies, and the JSON contract other tools read."""
import copy
import json

import pytest

from pipeline.publish.context import build_context, context_json
from pipeline.content import get_content
from pipeline.profile import list_company_ids, load_profile
from pipeline.stages.diagnose import diagnose
from pipeline.stages.match import match

SAMPLES = ["jinju-bolt", "jinju-alu", "jinju-aero", "jinju-valve"]


@pytest.fixture(scope="module")
def contexts():
    return {c: build_context(c, with_documents=False)[1] for c in list_company_ids()}


def test_every_profile_builds(contexts):
    assert set(SAMPLES) <= set(contexts)


@pytest.mark.parametrize("company", SAMPLES)
def test_json_contract(contexts, company):
    data = json.loads(context_json(contexts[company]))
    for key in ("company", "diagnosis", "matches", "strategy"):
        assert key in data
    e = data["diagnosis"]["emissions"]
    for key in ("scope1_tco2e", "scope2_location_tco2e", "scope2_market_tco2e", "scope3_tco2e", "total_tco2e"):
        assert key in e
    assert e["total_tco2e"] == pytest.approx(e["scope1_tco2e"] + e["scope2_location_tco2e"])
    assert data["diagnosis"]["energy"]["total_toe"] > 0
    cbam = data["diagnosis"]["cbam"]
    assert isinstance(cbam["covered"], bool)
    for product in cbam["products"]:
        assert {"hs_code", "covered", "sector"} <= set(product)
    for m in data["matches"]:
        assert {"program_id", "name", "eligible", "score", "reasons", "missing"} <= set(m)
        assert m["eligible"] in (True, False, None) and 0 <= m["score"] <= 100
    s = data["strategy"]
    assert s["program_id"] in {m["program_id"] for m in data["matches"]}
    assert s["kpis"], "a plan needs KPIs"
    for kpi in s["kpis"]:
        assert {"name", "unit", "baseline", "target", "target_year"} <= set(kpi)
    text = context_json(contexts[company])
    assert "\\u" not in text  # Korean not escaped


def test_cbam_samples(contexts):
    assert contexts["jinju-bolt"]["diagnosis"]["cbam"]["covered"] is True
    assert contexts["jinju-alu"]["diagnosis"]["cbam"]["covered"] is True
    assert contexts["jinju-aero"]["diagnosis"]["cbam"]["covered"] is False
    assert contexts["jinju-valve"]["diagnosis"]["cbam"]["covered"] is False
    for company in ("jinju-bolt", "jinju-alu", "jinju-forge"):
        covered = [p for p in contexts[company]["diagnosis"]["cbam"]["products"] if p["covered"]]
        for p in covered:
            see = p["see"]
            # eq. 59–60: own process plus every precursor, per tonne of the good
            expected = (see["own_direct_tco2e"] + sum(x["mass_t"] * x["see_direct"] for x in see["precursors"])) / see["activity_t"]
            assert see["precursors"] and see["direct_per_t"] == pytest.approx(expected)
            assert see["direct_per_t"] > 5 * see["own_direct_per_t"], "precursors dominate a forged or extruded good"
            assert p["default"]["value"] is not None
        priced = [p for p in covered if p.get("cost_paths")]
        assert priced, "cost paths"
        assert [r["year"] for r in priced[0]["cost_paths"]] == list(range(2026, 2035))
        assert all(r["actual"] and r["default"] for p in priced for r in p["cost_paths"])


def test_embedded_emissions_allocation_adds_up(contexts):
    d = contexts["jinju-bolt"]["diagnosis"]
    products = d["cbam"]["products"]
    assert all(p.get("see") and p["output_t"] for p in products), "every product covered, with tonnes"
    own = sum(p["see"]["own_direct_tco2e"] for p in products)
    fuels = contexts["jinju-bolt"]["company"]["energy"]["fuels"]
    lines = list(zip(d["emissions"]["scope1"], fuels))
    assert any(fuel.get("mobile") for _, fuel in lines), "the sample's forklift diesel"
    # the own-process emissions are the combustion CO2 of Scope 1, less the mobile machinery
    # outside the CBAM boundary (CH4 and N2O of combustion are not CBAM gases for steel)
    stationary_co2 = sum(line["co2_t"] for line, fuel in lines if not fuel.get("mobile"))
    assert own == pytest.approx(stationary_co2, rel=1e-9)
    assert own < d["emissions"]["scope1_tco2e"]


def test_missing_output_is_marked_not_guessed():
    content = get_content()
    profile = load_profile("jinju-bolt", content)
    data = copy.deepcopy(profile.data)
    for product in data["products"]:
        product.pop("annual_output", None)
    ctx = diagnose({"company": data, "missing": []}, content)
    assert ctx["diagnosis"]["energy"]["output_t"] is None
    assert ctx["diagnosis"]["emissions"]["intensity_tco2e_per_t_output"] is None
    assert any("생산량" in m["need"] for m in ctx["missing"])


def _with(profile_id, change):
    content = get_content()
    data = copy.deepcopy(load_profile(profile_id, content).data)
    change(data)
    ctx = diagnose({"company": data, "missing": []}, content)
    return match(ctx, content)


def test_k_ets_allocated_company_never_gets_sme_only_facility_programs():
    ctx = _with("jinju-bolt", lambda d: d.setdefault("regulation_status", {}).update(k_ets="allocated"))
    by_id = {m["program_id"]: m for m in ctx["matches"]}
    for pid, program in get_content().programs.items():
        if program["eligibility"].get("exclude_k_ets"):
            assert by_id[pid]["eligible"] is False, pid
    for pid, program in get_content().programs.items():
        if program["eligibility"].get("only_k_ets"):
            assert by_id[pid]["eligible"] is True, pid
    assert any(r["id"] == "k-ets-facility" for r in ctx["routing"])


def test_unknown_k_ets_status_makes_eligibility_unknown_not_true():
    ctx = _with("jinju-bolt", lambda d: d.get("regulation_status", {}).pop("k_ets", None))
    facility = [m for m in ctx["matches"] if get_content().programs[m["program_id"]]["eligibility"].get("exclude_k_ets")]
    assert facility and all(m["eligible"] is not True for m in facility)
    assert any(m["eligible"] is None for m in facility)
    assert all(any("배출권" in need for need in m["missing"]) for m in facility)


def test_size_and_region_rules():
    mid = _with("jinju-bolt", lambda d: d["company"].update(size_class="중견"))
    for m in mid["matches"]:
        sizes = get_content().programs[m["program_id"]]["eligibility"].get("size_classes")
        if sizes and "중견" not in sizes:
            assert m["eligible"] is False and any("규모" in r for r in m["exclusions"])
    seoul = _with("jinju-bolt", lambda d: d["company"].update(region="서울"))
    for m in seoul["matches"]:
        regions = get_content().programs[m["program_id"]]["eligibility"].get("regions")
        if regions and "서울" not in regions:
            assert m["eligible"] is False


def test_ranking_is_deterministic(contexts):
    again = build_context("jinju-alu", with_documents=False)[1]
    assert [m["program_id"] for m in again["matches"]] == [m["program_id"] for m in contexts["jinju-alu"]["matches"]]
    ranks = [({True: 0, None: 1, False: 2}[m["eligible"]], -m["score"]) for m in again["matches"]]
    assert ranks == sorted(ranks)


@pytest.mark.parametrize("company", SAMPLES)
def test_at_least_five_recommended(contexts, company):
    assert sum(m["recommended"] for m in contexts[company]["matches"]) >= 5


def test_gwp_override_changes_only_non_co2(contexts):
    ar5 = contexts["jinju-bolt"]["diagnosis"]["emissions"]["scope1_tco2e"]
    sar = _with("jinju-bolt", lambda d: d.setdefault("settings", {}).update(gwp_set="SAR"))
    assert sar["diagnosis"]["factors"]["gwp_set"] == "SAR"
    assert sar["diagnosis"]["emissions"]["scope1_tco2e"] != ar5
    assert sar["diagnosis"]["emissions"]["scope1_tco2e"] == pytest.approx(ar5, rel=0.01)


def test_measures_respect_their_saving_basis_and_equipment(contexts):
    for ctx in contexts.values():
        for m in ctx["diagnosis"]["measures"]:
            if m["saving_basis"] in ("no_load_loss", "recoverable_heat"):
                assert m["saving_tco2e"] is None, m["id"]   # not derivable: never a guessed number
            if m["id"] == "high_efficiency_transformer":
                assert all("변압기" in e or "transformer" in e.lower() or "수배전" in e for e in m["equipment"])
        # two measures on one equipment: the later one is taken on what the earlier one left
        seen: set[str] = set()
        order = {"replacement": 0, "retrofit": 1, "addition": 1}
        for m in sorted(ctx["diagnosis"]["measures"], key=lambda m: (order.get(m["kind"], 2), m["id"])):
            if m["saving_tco2e"] and seen & set(m["equipment"]):
                assert m["after_earlier_measures"], (m["id"], "counted on energy an earlier measure already saved")
            if m["saving_tco2e"]:
                seen |= set(m["equipment"])
        assert set(ctx["diagnosis"]["selected_measures"]) == {m["id"] for m in ctx["strategy"]["measures"]}, \
            "the diagnosis and the plan report one measure set"


def test_heat_pump_saving_nets_out_its_electricity(contexts):
    for ctx in contexts.values():
        for m in ctx["diagnosis"]["measures"]:
            if m["id"] == "heat_pump_process_heat" and m["saving_tco2e"]:
                grid = ctx["diagnosis"]["emissions"]["scope2"]["grid_factor"]
                added = m["added_electricity_mwh"]
                assert 0 < added["low"] < added["high"]
                # the whole fuel emission goes either way; the range is the heat pump's electricity
                assert m["saving_tco2e"]["high"] - m["saving_tco2e"]["low"] == pytest.approx((added["high"] - added["low"]) * grid)
                assert added["high"] == pytest.approx(m["baseline_tj"] * (1 - m["saving_pct"]["low"] / 100) * 1e6 / 3600)


def test_eu_tonnes_split_over_the_products_a_customer_buys(contexts):
    for company, ctx in contexts.items():
        data = ctx["company"]
        eu = set(get_content().cbam.get("eu_countries", []))
        exported = sum(c.get("annual_tonnes") or 0 for e in data.get("exports", []) if e["country"] in eu
                       for c in e.get("customers", []) or [])
        covered = [p for p in ctx["diagnosis"]["cbam"]["products"] if p["covered"]]
        every_product_covered = len(covered) == len(data["products"])
        if covered and every_product_covered and all(p["eu_tonnes"] is not None for p in covered):
            assert sum(p["eu_tonnes"] for p in covered) == pytest.approx(exported), company


def test_due_diligence_reaches_only_customers_the_rules_cover():
    from pipeline.calc.exposure import due_diligence

    def reached(band, country="DE", business="볼트 제조", customer_type="유통"):
        company = {"company": {"main_business": business},
                   "exports": [{"country": country, "share_pct": 10,
                                "customers": [{"name": "(가상) Kunde", "type": customer_type, "employees_band": band}]}]}
        return {r["id"]: [x["status"] for x in r["reached_through"]] for r in due_diligence(company, get_content())}

    assert reached("5000+")["eu_csddd"] == ["해당"]
    assert reached("1000+")["eu_csddd"] == ["규모 기준 확인 필요"]   # 1000+ may or may not reach 5,000
    assert reached("250-999")["eu_csddd"] == [] and reached("250-999")["de_lksg"] == []
    assert reached("1000+")["de_lksg"] == ["해당"]
    assert reached("1000+", country="PL")["de_lksg"] == []
    assert reached("5000+")["eu_battery_regulation"] == []
    assert reached("5000+", customer_type="배터리 셀 제조")["eu_battery_regulation"]


# ----------------------------------------------------------------------------- KPIs
def test_kpi_baselines_come_from_content(contexts):
    """Every KPI's baseline_from names a value in every sample's context, and the plan's baselines
    are exactly those values (true/false as 1/0; no path = 0)."""
    from pipeline.content import get_content
    from pipeline.stages.strategy import _baseline

    library = {k["id"]: k for k in get_content().kpis}
    for company, ctx in contexts.items():
        for kpi in library.values():
            _baseline(ctx, kpi["baseline_from"])  # ContentError if the path is not in the context
        for kpi in ctx["strategy"]["kpis"]:
            path = (library[kpi["id"]].get("level") or {}).get("from") or library[kpi["id"]]["baseline_from"]
            value = ctx
            for part in (path or "").split(".") if path else []:
                value = value[part]
            expected = 0.0 if path is None else (None if value is None else float(value))
            assert kpi["baseline"] == expected, (company, kpi["id"], path)


def test_a_broken_baseline_path_is_a_content_error(contexts):
    from pipeline.errors import ContentError
    from pipeline.stages.strategy import _baseline

    with pytest.raises(ContentError, match="diagnosis.energy.nope"):
        _baseline(contexts["jinju-bolt"], "diagnosis.energy.nope")


def test_rd_plans_carry_rd_kpis_with_targets_left_to_the_consultant():
    from pipeline.content import get_content

    rd = sorted(p for p, prog in get_content().programs.items() if prog.get("type") == "R&D")[0]
    ctx = build_context("jinju-bolt", program_id=rd, with_documents=False)[1]
    kpis = {k["id"]: k for k in ctx["strategy"]["kpis"] + ctx["strategy"]["outputs"]}
    assert {"rd_patents", "rd_trl"} <= set(kpis)
    assert kpis["rd_patents"]["target"] is None
    # The document says what is missing; the CLI list names the profile field that fills it.
    item = next(m for m in ctx["missing"] if m["field"] == "overrides.kpi_targets.rd_patents")
    assert item["need"] == "특허 출원·등록 목표값"


def test_kpis_tied_to_exposure_are_kept_and_reached_ones_dropped(contexts):
    from pipeline.content import get_content

    limit = get_content().strategy_method["max_kpis"]
    for company, ctx in contexts.items():
        kpis = ctx["strategy"]["kpis"]
        assert 1 <= len(kpis) <= limit, company
        ids = {k["id"] for k in kpis + ctx["strategy"]["outputs"]}
        if ctx["diagnosis"]["cbam"]["covered"] and ctx["strategy"]["program_type"] == "컨설팅/바우처":
            assert "cbam_verification_reports" in ids, company
        phases = {r["phase"] for r in ctx["strategy"]["schedule"]["rows"]}
        for k in kpis:
            assert not (k["target"] is not None and k["target"] == k["baseline"]), (company, k["id"])
            assert k["baseline"] != 0, (company, k["id"], "a scored KPI starts from a real level")
            assert k["task"] in phases, (company, k["id"], "every KPI is delivered by a scheduled task")
            if k["mv_window"]:
                assert k["target_year"] == ctx["strategy"]["mv_window"]["end_year"]
    from pipeline.stages.strategy import strategy

    gear = contexts["jinju-gear"]["strategy"]
    if gear["program_type"] in ("사업화",):  # certification is a task of these schedules only
        assert "iso50001_certification" in {k["id"] for k in gear["kpis"] + gear["outputs"]}
    certified = strategy(_with("jinju-gear", lambda p: p.setdefault("certifications", []).append({"name": "ISO 50001"})),
                         get_content())
    assert "iso50001_certification" not in {k["id"] for k in certified["strategy"]["kpis"] + certified["strategy"]["outputs"]}


# ----------------------------------------------------------------------------- equipment energy source
def _baseline_tj(ctx, measure_id):
    return next(m for m in ctx["diagnosis"]["measures"] if m["id"] == measure_id)["baseline_tj"]


def _add_furnace(declared):
    def change(profile):
        process = next(p for p in profile["processes"] if any(e["type"] == "furnace" for e in p.get("equipment") or []))
        furnace = {"name": "신규 유도가열로", "type": "furnace", "count": 1, "rated_kw": 5000}
        if declared:
            furnace["energy_source"] = "electricity"
        process["equipment"].append(furnace)
    return change


def test_an_electric_furnace_takes_no_share_of_the_fuel():
    """Fuel measures split a process's fuel over the equipment that burns it: an electric furnace
    declared as such changes nothing; left undeclared, it takes its rated-power share."""
    before = _baseline_tj(_with("jinju-bolt", lambda p: None), "furnace_operation_optimisation")
    declared = _with("jinju-bolt", _add_furnace(True))
    assert _baseline_tj(declared, "furnace_operation_optimisation") == pytest.approx(before)
    fuel_measures = [m for m in declared["diagnosis"]["measures"] if m["energy_source"] == "fuel"]
    assert fuel_measures and all(not any("신규 유도가열로" in e for e in m["equipment"]) for m in fuel_measures)
    undeclared = _with("jinju-bolt", _add_furnace(False))
    fuel_measures = [m for m in undeclared["diagnosis"]["measures"] if m["energy_source"] == "fuel"]
    assert any("신규 유도가열로" in e for m in fuel_measures for e in m["equipment"]), "undeclared: may burn fuel"


def test_sample_measures_stay_on_the_declared_side(contexts):
    for company, ctx in contexts.items():
        profile = load_profile(company, get_content()).data
        declared = {f"{p['name']} · {e['name']}": e.get("energy_source")
                    for p in profile["processes"] for e in p.get("equipment") or []}
        for m in ctx["diagnosis"]["measures"]:
            for target in m["equipment"]:
                assert declared[target] in (None, m["energy_source"]), (company, m["id"], target)


def test_electrification_target_is_the_fuel_the_selected_heat_pumps_replace(contexts):
    checked = 0
    # a facility program carries the electrification KPI; jinju-aero's paint oven (80 °C) takes a heat pump
    _profile, facility = build_context("jinju-aero", program_id="sme-carbon-facility-general", with_documents=False)
    for company, ctx in {**contexts, "jinju-aero (설비)": facility}.items():
        kpi = next((k for k in ctx["strategy"]["kpis"] + ctx["strategy"]["outputs"] if k["id"] == "fuel_to_electric_switch"), None)
        if kpi is None:
            continue
        replaced = sum(m["baseline_tj"] for m in ctx["strategy"]["measures"]
                       if m["saving_basis"] == "replaced_fuel_final_energy")
        fuel = sum(line["tj_net"] for line in ctx["diagnosis"]["emissions"]["scope1"])
        assert kpi["target"] == pytest.approx(100 * replaced / fuel), company
        assert 0 < kpi["target"] <= 100, company
        checked += 1
    assert checked, "no sample plans an electrification measure any more: pick another case"


def test_budget_adds_up_and_respects_the_programs_cap(contexts):
    """Issue 14: every priced line is in the total, the government share is rate x total within the
    cap, the company pays the rest, and unpriced lines are named, never summed as zero."""
    checked = 0
    for company, ctx in contexts.items():
        b = ctx["strategy"]["budget"]
        priced = [l for l in b["lines"] if l["krw_million"]]
        if not priced or not b["total_krw_million"] or b["gov_share_pct"] is None:
            continue
        for side in ("low", "high"):
            total = sum(l["krw_million"][side] for l in priced)
            assert b["total_krw_million"][side] == pytest.approx(total), company
            gov = min(total * b["gov_share_pct"] / 100, b["max_krw_million"]) if b["max_krw_million"] else total * b["gov_share_pct"] / 100
            assert b["gov_krw_million"][side] == pytest.approx(gov), company
            assert b["company_krw_million"][side] == pytest.approx(total - gov), company
        assert b["unpriced"] == [l["item"] for l in b["lines"] if not l["krw_million"]]
        for l in priced:
            if l["saving_krw_million"] and l["payback_years"]:
                assert l["payback_years"]["low"] == pytest.approx(l["krw_million"]["low"] / l["saving_krw_million"]["high"])
        checked += 1
    assert checked >= 2, "the facility-program samples with quotes (bolt, alu) have a priced budget"
    bolt = contexts["jinju-bolt"]["strategy"]["budget"]
    assert bolt["gov_capped"] and bolt["gov_krw_million"] == {"low": 300, "high": 300}   # 50 % of 1,583+ is over the cap


def test_every_kpi_has_a_task_and_a_budget_line_or_asks_for_one(contexts):
    for company, ctx in contexts.items():
        lines = {l["item"] for l in ctx["strategy"]["budget"]["lines"]}
        for k in ctx["strategy"]["kpis"]:
            assert k["task"], (company, k["id"])
            if k["budget_line"] is None:
                assert any(k["name"] in m["need"] for m in ctx["missing"]), (company, k["id"])
            else:
                assert k["budget_line"] in lines or k["budget_line"] == "총사업비 (과업 전체)", (company, k["id"])
    bolt = contexts["jinju-bolt"]["strategy"]["kpis"]
    assert all(k["budget_line"] == "측정·검증(M&V) 계측기 설치·측정" for k in bolt if k["mv_window"])
