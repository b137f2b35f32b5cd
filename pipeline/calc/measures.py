"""Efficiency measures that fit a company's equipment, with savings and payback as ranges.

A measure applies to a piece of equipment only where its physics allows it: the library states
each measure's preconditions (drive, control, lamp, burner, process temperature …) as data, and
the equipment's facts decide. A failed precondition skips the measure there, with the reason; an
unknown one is a question to the company, and nothing is counted until it is answered.

Equipment energy is estimated from rated kW × hours × the library's load factor; where the library
has no sourced load factor, the process's energy of that source is split by rated power. Where
neither works, or the library has no price, the figure stays None and the document shows 확인 필요.
A sourced unit-cost range × the equipment's rated kW or count gives an indicative investment,
labelled 개략 추정 with its publisher and year; the consultant's quote replaces it.
Equipment that declares its `energy_source` is a target (and takes a share) only on that side.

Measures on the same equipment do not add up: they are taken in the order new equipment →
retrofit → operating practice, each on the energy the earlier ones left (savings combine as
1 − Π(1 − sᵢ)), and new equipment supersedes retrofits and operating measures on it.
"""
from __future__ import annotations

from pipeline.calc.factors import cite

# The saving basis of measures that replace a fuel entirely (heat pumps): content/measures.yaml.
REPLACES_FUEL = "replaced_fuel_final_energy"
# Physical order on one piece of equipment: what is installed first takes the full energy.
KIND_ORDER = {"replacement": 0, "retrofit": 1, "addition": 1, "operation": 2}


def check_preconditions(measure: dict, equipment: dict) -> tuple[str, str | None]:
    """('ok', None), ('fail', reason) or ('unknown', question) for one measure on one equipment."""
    for rule in measure.get("preconditions") or []:
        value = equipment.get(rule["field"])
        if value is None:
            return "unknown", rule["question_ko"]
        holds = (
            ("in" not in rule or value in rule["in"])
            and ("not_in" not in rule or value not in rule["not_in"])
            and ("min" not in rule or value >= rule["min"])
            and ("max" not in rule or value <= rule["max"])
        )
        if not holds:
            return "fail", rule["reason_ko"]
    return "ok", None


def _intended(profile: dict) -> dict[str, list[dict]]:
    """The company's planned investments by library measure id."""
    out: dict[str, list[dict]] = {}
    for plan in profile.get("planned_investments") or []:
        if plan.get("measure"):
            out.setdefault(plan["measure"], []).append(plan)
    return out


def pick_measures(profile: dict, content, scope1: list[dict], scope2: dict, energy: dict, grid_factor: float):
    """(applied measures ranked, screening {skipped, questions}) for the profile's equipment."""
    library = content.measures
    load_factors = content.load_factors
    electricity_price = profile["energy"]["electricity"].get("price_krw_per_kwh")
    fuel_by_id = _fuel_totals(scope1)
    # Quotes the consultant collected (two or more per measure) beat library price ranges.
    quotes = ((profile.get("overrides") or {}).get("investment_krw_million")) or {}
    intended = _intended(profile)
    site_mwh = scope2["grid_mwh"]
    skipped, questions, candidates = [], [], []
    for measure in library:
        if measure.get("auto_apply") is False:
            continue
        applies = measure.get("applies_to", {})
        kinds = set(applies.get("equipment_types", []))
        keywords = [k.lower() for k in applies.get("name_keywords") or []]
        source_kind = applies.get("energy_source", "electricity")
        wanted = {name for plan in intended.get(measure["id"], []) for name in plan.get("equipment") or []}
        if measure.get("applies_when") == "planned" and measure["id"] not in intended:
            continue  # a whole new installation is the company's decision, never proposed by default
        targets = []
        for process in profile["processes"]:
            for equipment in process.get("equipment", []) or []:
                if equipment["type"] not in kinds:
                    continue
                named = any(k in equipment["name"].lower() for k in keywords)
                # `other` is a catch-all: only a measure that names the equipment may claim it.
                if (keywords or equipment["type"] == "other") and not named:
                    continue
                if not _runs_on(equipment, source_kind):
                    continue  # e.g. an electric furnace is no target of burner tuning
                if wanted and equipment["name"] not in wanted and measure.get("kind") == "replacement":
                    continue  # the company named the equipment it wants replaced
                label = f"{process['name']} · {equipment['name']}"
                status, why = check_preconditions(measure, equipment)
                if status == "fail":
                    skipped.append({"measure": measure["name_ko"], "equipment": label, "reason": why})
                elif status == "unknown":
                    questions.append({"measure": measure["name_ko"], "equipment": label, "question": why})
                else:
                    targets.append((process, equipment))
        if targets:
            candidates.append((measure, source_kind, targets))
    # New equipment first, then retrofits, then operating practice, on what is left.
    # On one equipment the company's intended measure wins over an alternative to it.
    candidates.sort(key=lambda c: (KIND_ORDER.get(c[0].get("kind"), 1), c[0]["id"] not in intended, c[0]["id"]))
    remaining: dict[tuple, list[float]] = {}   # (equipment, source) → [share left, low case; high case]
    replaced: dict[str, str] = {}              # equipment label → replacing measure
    taken: dict[str, list] = {}                # equipment label → [(measure id, name)] applied so far
    results = []
    for measure, source_kind, targets in candidates:
        kept = []
        for process, equipment in targets:
            label = f"{process['name']} · {equipment['name']}"
            if measure.get("kind") in ("operation", "retrofit") and label in replaced:
                skipped.append({"measure": measure["name_ko"], "equipment": label,
                                "reason": f"교체 설비({replaced[label]})에 포함"})
                continue
            rival = next((name for mid, name in taken.get(label, []) if mid in (measure.get("alternatives") or [])), None)
            if rival:
                skipped.append({"measure": measure["name_ko"], "equipment": label,
                                "reason": f"같은 설비에 대안 조치({rival}) 적용"})
                continue
            kept.append((process, equipment))
        if not kept:
            continue
        item = _measure_item(measure, source_kind, kept, load_factors, site_mwh, fuel_by_id, grid_factor,
                             electricity_price, remaining, quotes)
        item["intended"] = [p["name"] for p in intended.get(measure["id"], [])]
        item["intent_reason"] = "; ".join(p["reason"] for p in intended.get(measure["id"], [])) or None
        if measure.get("kind") == "replacement":
            for process, equipment in kept:
                replaced.setdefault(f"{process['name']} · {equipment['name']}", measure["name_ko"])
        for process, equipment in kept:
            taken.setdefault(f"{process['name']} · {equipment['name']}", []).append((measure["id"], measure["name_ko"]))
        results.append(item)
    results.sort(key=_priority)
    for rank, item in enumerate(results, 1):
        item["rank"] = rank
    return results, {"skipped": skipped, "questions": questions}


def _measure_item(measure, source_kind, targets, load_factors, site_mwh, fuel_by_id, grid_factor,
                  electricity_price, remaining, quotes) -> dict:
    saving = measure.get("saving_pct") or {}
    low_pct, high_pct = saving.get("low"), saving.get("high")
    # Baselines: the equipment's whole energy, and what earlier measures on it left (low/high case).
    base = {"mwh": 0.0, "tj": 0.0, "tco2e": 0.0}
    left = {"low": {"mwh": 0.0, "tj": 0.0, "tco2e": 0.0}, "high": {"mwh": 0.0, "tj": 0.0, "tco2e": 0.0}}
    methods, known, overlapped = [], True, False
    for process, equipment in targets:
        if source_kind == "electricity":
            mwh, method = _electric_energy(process, equipment, load_factors, site_mwh)
            if mwh is None:
                known = False
                continue
            part = {"mwh": mwh, "tj": 0.0, "tco2e": mwh * grid_factor}
        else:
            tj, tco2e, method = _fuel_energy(process, equipment, fuel_by_id)
            if tj is None:
                known = False
                continue
            part = {"mwh": 0.0, "tj": tj, "tco2e": tco2e}
        methods.append(method)
        key = (process["id"], equipment["name"], source_kind)
        share = remaining.setdefault(key, [1.0, 1.0])
        overlapped = overlapped or share != [1.0, 1.0]
        for k in base:
            base[k] += part[k]
            left["low"][k] += part[k] * share[0]
            left["high"][k] += part[k] * share[1]
        if low_pct is not None and high_pct is not None:
            if measure.get("saving_basis") == REPLACES_FUEL:
                remaining[key] = [0.0, 0.0]   # the fuel is gone
            else:
                remaining[key] = [share[0] * (1 - low_pct / 100.0), share[1] * (1 - high_pct / 100.0)]
    rated_kw = sum((e.get("rated_kw") or 0) * (e.get("count") or 1) for _, e in targets)
    units = sum(e.get("count") or 1 for _, e in targets)
    item = {
        "id": measure["id"],
        "name": measure["name_ko"],
        "kind": measure.get("kind"),
        "equipment": [f"{p['name']} · {e['name']}" for p, e in targets],
        "energy_source": source_kind,
        "saving_pct": {"low": low_pct, "high": high_pct},
        "baseline_known": known and (base["mwh"] > 0 or base["tj"] > 0),
        "baseline_mwh": base["mwh"] if source_kind == "electricity" and known else None,
        "baseline_tj": base["tj"] if source_kind != "electricity" and known else None,
        "baseline_methods": methods,
        "after_earlier_measures": overlapped,
        "source": cite(measure.get("source")),
        "verified": measure.get("verified", False),
        "lifetime_years": measure.get("lifetime_years"),
    }
    basis = measure.get("saving_basis") or "equipment_energy"
    item["saving_basis"] = basis
    if basis == "equipment_energy":
        item.update(_savings(item, left, low_pct, high_pct, electricity_price, fuel_by_id))
    elif basis == REPLACES_FUEL:
        item.update(_heat_pump_savings(item, base["tco2e"], low_pct, high_pct, electricity_price, fuel_by_id, grid_factor))
    else:  # a share of a quantity the profile cannot give (no-load loss, recoverable heat)
        item.update({"saving_mwh": None, "saving_tj": None, "saving_tco2e": None, "saving_krw_million": None})
    quote = quotes.get(measure["id"])
    item["investment_estimate"] = None
    if quote:
        item["investment_krw_million"] = {"low": float(quote["low"]), "high": float(quote["high"])}
        item["investment_basis"] = "기업 견적"
    else:
        investment = measure.get("investment") or {}
        item["investment_krw_million"], calc = _investment(investment, rated_kw, units)
        if item["investment_krw_million"]:
            item["investment_estimate"] = {**estimate_source(investment), "calc": calc}
        item["investment_basis"] = item["investment_estimate"]["label"] if item["investment_estimate"] else None
    item["payback_years"] = _payback(item["investment_krw_million"], item["saving_krw_million"])
    return item


def _priority(item: dict):
    payback = item["payback_years"]
    saving = item["saving_tco2e"]
    return (
        not item.get("intended"),   # what the company asked for comes first
        payback is None,
        (payback or {}).get("low") if payback else 0,
        -((saving or {}).get("high") or 0),
        item["id"],
    )


def _fuel_totals(scope1: list[dict]) -> dict:
    totals: dict[str, dict] = {}
    for line in scope1:
        into = totals.setdefault(line["fuel"], {"tj": 0.0, "tco2e": 0.0, "krw": 0.0, "price_known": True,
                                                "name_ko": line.get("name_ko") or line["fuel"]})
        into["tj"] += line["tj_net"]
        into["tco2e"] += line["tco2e"]
        price = line.get("price_krw_per_unit")
        if price is None:
            into["price_known"] = False
        else:
            into["krw"] += price * line["amount"]
    return totals


def _electric_energy(process: dict, equipment: dict, load_factors: dict, site_mwh: float):
    kw = equipment.get("rated_kw")
    hours = equipment.get("operating_hours")
    count = equipment.get("count") or 1
    lf = load_factors.get(equipment["type"])
    if kw and hours and lf:
        mwh = kw * count * hours * lf / 1000.0
        return mwh, f"{equipment['name']}: {kw:g} kW × {count}대 × {hours:,.0f} h × 부하율 {lf} = {mwh:,.0f} MWh"
    share = (process.get("energy_shares_pct") or {}).get("electricity")
    electric = [e for e in process.get("equipment", []) or [] if e.get("rated_kw") and _runs_on(e, "electricity")]
    total_kw = sum(e["rated_kw"] * (e.get("count") or 1) for e in electric)
    if share is not None and kw and total_kw:
        process_mwh = site_mwh * share / 100.0
        mwh = process_mwh * kw * count / total_kw
        return mwh, (
            f"{equipment['name']}: 공정 전력 {process_mwh:,.0f} MWh({share:g}%) × 정격용량 비중 "
            f"{kw * count:,.0f}/{total_kw:,.0f} kW = {mwh:,.0f} MWh"
        )
    return None, None


def _runs_on(equipment: dict, source_kind: str) -> bool:
    """Whether equipment can use `source_kind` ('electricity' or 'fuel'); undeclared: either."""
    declared = equipment.get("energy_source")
    return declared is None or declared == source_kind


def _fuel_energy(process: dict, equipment: dict, fuel_by_id: dict):
    tj = tco2e = 0.0
    parts = []
    shares = process.get("energy_shares_pct") or {}
    fuels = [f for f in shares if f in fuel_by_id]
    if not fuels:
        return None, None, None
    burners = [e for e in process.get("equipment", []) or [] if e["type"] == equipment["type"] and _runs_on(e, "fuel")]
    kw_all = sum((e.get("rated_kw") or 0) * (e.get("count") or 1) for e in burners)
    kw = (equipment.get("rated_kw") or 0) * (equipment.get("count") or 1)
    split = kw / kw_all if kw_all and kw else (1.0 / len(burners))
    for fuel in fuels:
        part = shares[fuel] / 100.0 * split
        tj += fuel_by_id[fuel]["tj"] * part
        tco2e += fuel_by_id[fuel]["tco2e"] * part
        parts.append(f"{fuel_by_id[fuel]['name_ko']} {shares[fuel]:g}%")
    method = f"{equipment['name']}: 공정 연료 사용 비중({', '.join(parts)}) × 설비 비중 {split:.0%} = {tj:,.2f} TJ"
    return tj, tco2e, method


def _savings(item, left, low_pct, high_pct, electricity_price, fuel_by_id) -> dict:
    """Low case on what the earlier measures' low case left, high case likewise."""
    if not item["baseline_known"] or low_pct is None or high_pct is None:
        return {"saving_mwh": None, "saving_tj": None, "saving_tco2e": None, "saving_krw_million": None}
    def rng(key, scale=1.0):
        # each case on what the same case of the earlier measures left; the range is their span
        a = left["low"][key] * scale * low_pct / 100.0
        b = left["high"][key] * scale * high_pct / 100.0
        return {"low": min(a, b), "high": max(a, b)}

    out = {"saving_tco2e": rng("tco2e"), "saving_mwh": None, "saving_tj": None, "saving_krw_million": None}
    if item["energy_source"] == "electricity":
        out["saving_mwh"] = rng("mwh")
        if electricity_price:
            out["saving_krw_million"] = rng("mwh", 1000 * electricity_price / 1e6)
    else:
        out["saving_tj"] = rng("tj")
        priced = [f for f in fuel_by_id.values() if f["price_known"] and f["tj"]]
        if priced and len(priced) == len(fuel_by_id):
            krw_per_tj = sum(f["krw"] for f in priced) / sum(f["tj"] for f in priced)
            out["saving_krw_million"] = rng("tj", krw_per_tj / 1e6)
    return out


MWH_PER_TJ = 1e6 / 3600.0  # exact: 1 MWh = 3.6 GJ


def _heat_pump_savings(item, base_tco2e, low_pct, high_pct, electricity_price, fuel_by_id, grid_factor) -> dict:
    """Fuel replaced by a heat pump: all its emissions go, the heat pump's electricity comes.

    saving_pct is the final-energy reduction 1 − η/COP, so the electricity used is the replaced
    fuel energy × (1 − saving_pct).
    """
    tj = item["baseline_tj"]
    if not item["baseline_known"] or low_pct is None or high_pct is None or not tj:
        return {"saving_mwh": None, "saving_tj": None, "saving_tco2e": None, "saving_krw_million": None}
    elec_low_saving = tj * (1 - high_pct / 100.0) * MWH_PER_TJ   # best case uses the least electricity
    elec_high_saving = tj * (1 - low_pct / 100.0) * MWH_PER_TJ
    out = {
        "saving_tj": {"low": tj * low_pct / 100.0, "high": tj * high_pct / 100.0},
        "saving_mwh": None,
        "added_electricity_mwh": {"low": elec_low_saving, "high": elec_high_saving},
        "saving_tco2e": {"low": base_tco2e - elec_high_saving * grid_factor, "high": base_tco2e - elec_low_saving * grid_factor},
        "saving_krw_million": None,
    }
    priced = [f for f in fuel_by_id.values() if f["price_known"] and f["tj"]]
    if electricity_price and priced and len(priced) == len(fuel_by_id):
        fuel_krw = tj * sum(f["krw"] for f in priced) / sum(f["tj"] for f in priced)
        out["saving_krw_million"] = {
            "low": (fuel_krw - elec_high_saving * 1000 * electricity_price) / 1e6,
            "high": (fuel_krw - elec_low_saving * 1000 * electricity_price) / 1e6,
        }
    return out


def unit_cost_krw(investment: dict):
    """(low, high) KRW per unit of the basis, from the library's sourced range, or None.

    A range first published in another currency is kept as published (low_original/high_original)
    and converted here with the sourced exchange rate of its price year (fx.rate), so the KRW
    figure is never a second, hand-copied number that could drift from its source."""
    currency = investment.get("currency_original") or "KRW"
    if currency == "KRW":
        low, high = investment.get("low"), investment.get("high")
    else:
        rate = (investment.get("fx") or {}).get("rate")
        low_o, high_o = investment.get("low_original"), investment.get("high_original")
        if rate is None or low_o is None or high_o is None:
            return None
        low, high = low_o * rate, high_o * rate
    if low is None or high is None:
        return None
    return float(low), float(high)


def estimate_source(investment: dict) -> dict:
    """What a reader needs to check an indicative (개략 추정) investment: who published the unit
    cost, when, where in the document, at which price year and exchange rate."""
    source, fx = investment.get("source") or {}, investment.get("fx") or {}
    publisher, year = source.get("publisher"), source.get("year")
    label = "개략 추정" + (f" — {publisher}" if publisher else "") + (f" {year}" if year else "")
    currency = investment.get("currency_original") or "KRW"
    foreign = currency != "KRW"
    return {"label": label, "publisher": publisher, "title": source.get("title"), "year": year,
            "url": source.get("url"), "locator": source.get("locator"), "price_year": investment.get("price_year"),
            "unit": investment.get("unit"), "vat_included": investment.get("vat_included"),
            "verified": bool(investment.get("verified")),
            "original": f"{investment.get('low_original'):,g}–{investment.get('high_original'):,g} {currency}" if foreign else None,
            "fx": f"{fx.get('rate'):,g} KRW/{currency} ({fx.get('source')})" if foreign and fx.get("rate") else None}


def _investment(investment: dict, rated_kw: float, units: int):
    """(KRW million range, the worked calculation shown to the reader) or (None, None)."""
    costs = unit_cost_krw(investment)
    quantity = {"per_kw": rated_kw, "per_unit": units, "fixed": 1}.get(investment.get("basis"))
    if costs is None or not quantity:
        return None, None   # per_m2: the profile records no areas, so the estimate waits for a quote
    word = (investment.get("unit") or "").partition("/")[2] or "식"   # KRW/kW → kW, KRW/등기구 → 등기구
    low, high = costs[0] * quantity / 1e6, costs[1] * quantity / 1e6
    calc = f"{quantity:,g} {word} × {costs[0]:,.0f}–{costs[1]:,.0f}원/{word} = {low:,.1f}–{high:,.1f}백만원"
    return {"low": low, "high": high}, calc


def _payback(investment, saving):
    if not investment or not saving or not saving.get("low") or not saving.get("high"):
        return None
    return {"low": investment["low"] / saving["high"], "high": investment["high"] / saving["low"]}
