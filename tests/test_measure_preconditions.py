"""A measure fits only where the equipment's physics allows it (issue 14): every precondition in
content/measures.yaml is tried both ways, and unknown facts become questions, never savings."""
from __future__ import annotations


import pytest

from pipeline.calc.measures import check_preconditions, pick_measures
from pipeline.content import Content

CONTENT = Content()
LIBRARY = {m["id"]: m for m in CONTENT.measures}
def _schema_fields() -> set[str]:
    from pipeline.content import read_yaml
    from pipeline.profile import SCHEMA_PATH

    schema = read_yaml(SCHEMA_PATH)
    return set(schema["properties"]["processes"]["items"]["properties"]["equipment"]["items"]["properties"])


SCHEMA_FIELDS = _schema_fields()


def _passing(rule):
    if "in" in rule:
        return rule["in"][0]
    if "min" in rule:
        return rule["min"] + 10
    if "max" in rule:
        return rule["max"] - 10
    return "__other__"


def _failing(rule):
    if "not_in" in rule:
        return rule["not_in"][0]
    if "min" in rule:
        return rule["min"] - 10
    if "max" in rule:
        return rule["max"] + 10
    return "__other__"


CASES = [(mid, i) for mid, m in LIBRARY.items() for i, _ in enumerate(m.get("preconditions") or [])]


@pytest.mark.parametrize("measure_id,index", CASES)
def test_each_precondition_both_ways(measure_id, index):
    measure = LIBRARY[measure_id]
    rules = measure["preconditions"]
    rule = rules[index]
    assert rule["field"] in SCHEMA_FIELDS and rule["reason_ko"] and rule["question_ko"]
    good = {r["field"]: _passing(r) for r in rules}
    assert check_preconditions(measure, good) == ("ok", None)
    bad = dict(good, **{rule["field"]: _failing(rule)})
    assert check_preconditions(measure, bad) == ("fail", rule["reason_ko"])
    unknown = {k: v for k, v in good.items() if k != rule["field"]}
    status, question = check_preconditions(measure, unknown)
    assert status == "unknown" and question == rule["question_ko"]


def _profile(equipment: list[dict], **extra) -> dict:
    return {
        "energy": {"electricity": {"monthly_kwh": [100000] * 12, "price_krw_per_kwh": 150}, "fuels": []},
        "processes": [{"id": "p", "name": "공정", "energy_shares_pct": {"electricity": 100}, "equipment": equipment}],
        **extra,
    }


def _pick(profile):
    scope2 = {"grid_mwh": 1200.0}
    return pick_measures(profile, CONTENT, [], scope2, {}, 0.4173)


def test_mechanical_presses_get_no_servo_retrofit_and_unknown_drive_is_asked():
    presses = [
        {"name": "파츠포머", "type": "press", "rated_kw": 160, "operating_hours": 4000, "drive": "mechanical"},
        {"name": "유압 프레스", "type": "press", "rated_kw": 100, "operating_hours": 4000, "drive": "hydraulic",
         "control": "fixed_speed"},
        {"name": "트리밍 프레스", "type": "press", "rated_kw": 50, "operating_hours": 4000},
    ]
    measures, screening = _pick(_profile(presses))
    servo = next(m for m in measures if m["id"] == "hydraulic_press_servo_retrofit")
    assert servo["equipment"] == ["공정 · 유압 프레스"]
    assert any(s["equipment"] == "공정 · 파츠포머" for s in screening["skipped"])
    assert any(q["equipment"] == "공정 · 트리밍 프레스" and "구동 방식" in q["question"] for q in screening["questions"])


def test_led_on_led_and_inverter_on_inverter_are_skipped():
    kit = [
        {"name": "LED 조명", "type": "lighting", "rated_kw": 0.15, "count": 100, "operating_hours": 5000, "lamp": "led"},
        {"name": "압축기", "type": "compressor", "rated_kw": 75, "operating_hours": 6000, "control": "inverter"},
    ]
    measures, screening = _pick(_profile(kit))
    ids = {m["id"] for m in measures}
    assert "led_lighting" not in ids and "inverter_compressor" not in ids
    reasons = {s["reason"] for s in screening["skipped"]}
    assert any("LED" in r for r in reasons) and any("인버터" in r for r in reasons)


def test_new_equipment_supersedes_retrofits_and_practice_on_it():
    """A VSD compressor replaces the old one: leak repair, pressure and heat-recovery measures on the
    old compressor are not counted beside it; the VSD saving is on the compressor's whole energy."""
    comp = [{"name": "압축기", "type": "compressor", "rated_kw": 75, "operating_hours": 6000,
             "control": "load_unload", "load_profile": "variable"}]
    measures, screening = _pick(_profile(comp))
    by_id = {m["id"]: m for m in measures}
    for mid in ("compressed_air_leak_repair", "compressor_pressure_reduction", "compressor_heat_recovery"):
        assert mid not in by_id
    assert sum("교체 설비" in s["reason"] for s in screening["skipped"]) >= 3
    vsd = by_id["inverter_compressor"]
    pct = LIBRARY["inverter_compressor"]["saving_pct"]
    if pct["low"] is None:   # no checkable source for a range: a suggestion, never a counted saving
        assert vsd["saving_mwh"] is None and vsd["saving_tco2e"] is None
    else:
        assert vsd["saving_mwh"] == pytest.approx({"low": vsd["baseline_mwh"] * pct["low"] / 100,
                                                   "high": vsd["baseline_mwh"] * pct["high"] / 100})


def test_two_operating_measures_do_not_add_up():
    furnace = [{"name": "가열로", "type": "furnace", "energy_source": "fuel", "rated_kw": 500, "process_temp_c": 1200,
                "burner": "cold_air"}]
    profile = _profile(furnace)
    profile["processes"][0]["energy_shares_pct"] = {"city_gas": 100}
    scope1 = [{"fuel": "city_gas", "tj_net": 10.0, "tco2e": 560.0, "amount": 1, "price_krw_per_unit": None}]
    measures, _ = pick_measures(profile, CONTENT, scope1, {"grid_mwh": 1200.0}, {}, 0.4173)
    on_furnace = [m for m in measures if m["saving_tco2e"] and m["energy_source"] == "fuel"]
    total = sum(m["saving_tco2e"]["low"] for m in on_furnace)
    pcts = [LIBRARY[m["id"]]["saving_pct"]["low"] / 100 for m in on_furnace]
    combined = 1.0
    for p in pcts:
        combined *= 1 - p
    assert len(on_furnace) >= 2
    assert total == pytest.approx(560.0 * (1 - combined))   # 1 − Π(1 − sᵢ), never Σ sᵢ
    assert total < 560.0 * sum(pcts)


def test_the_companys_planned_investment_ranks_first():
    comp = [{"name": "압축기", "type": "compressor", "rated_kw": 75, "operating_hours": 6000,
             "control": "load_unload", "load_profile": "variable"},
            {"name": "조명", "type": "lighting", "rated_kw": 0.4, "count": 200, "operating_hours": 5000, "lamp": "metal_halide"}]
    plan = [{"name": "압축기 교체", "measure": "inverter_compressor", "equipment": ["압축기"], "reason": "무부하 운전"}]
    measures, _ = _pick(_profile(comp, planned_investments=plan))
    assert measures[0]["id"] == "inverter_compressor" and measures[0]["intended"] == ["압축기 교체"]


def test_a_new_installation_is_only_proposed_where_the_company_plans_it():
    furnace = [{"name": "열처리로", "type": "furnace", "energy_source": "fuel", "rated_kw": 400, "process_temp_c": 860}]
    measures, _ = _pick(_profile(furnace))
    assert "furnace_replacement" not in {m["id"] for m in measures}


def test_alternatives_on_one_furnace_are_not_both_applied():
    """A regenerative burner the company plans and a recuperator do the same job: only the first."""
    furnace = [{"name": "용해로", "type": "furnace", "energy_source": "fuel", "rated_kw": 900, "process_temp_c": 750,
                "flue_temp_c": 950, "burner": "cold_air"}]
    profile = _profile(furnace, planned_investments=[
        {"name": "축열식 버너", "measure": "regenerative_burner_al_melting", "equipment": ["용해로"], "reason": "배기 손실"}])
    profile["processes"][0]["energy_shares_pct"] = {"city_gas": 100}
    scope1 = [{"fuel": "city_gas", "tj_net": 20.0, "tco2e": 1120.0, "amount": 1, "price_krw_per_unit": None}]
    measures, screening = pick_measures(profile, CONTENT, scope1, {"grid_mwh": 1200.0}, {}, 0.4173)
    ids = [m["id"] for m in measures]
    assert "regenerative_burner_al_melting" in ids and "furnace_waste_heat_recovery" not in ids
    assert any("대안 조치" in s["reason"] for s in screening["skipped"])
