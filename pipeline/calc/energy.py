"""Energy totals (TJ, toe by the Korean conversion rules), shares, monthly pattern and intensities."""
from __future__ import annotations

from pipeline.calc.factors import FactorChoice, cite, edition, revision_with_value
from pipeline.content import Content
from pipeline.profile.units import mj_per_energy_unit

MONTHS_KO = [f"{m}월" for m in range(1, 13)]


def energy_profile(profile: dict, fuels: list[dict], scope2: dict, content: Content, factors: FactorChoice) -> dict:
    mj_per_toe = mj_per_energy_unit("toe", content.units)
    conv_id, conv = revision_with_value(content.electricity["energy_conversion"], factors.energy_conversion, "mj_per_kwh_gross")
    mj_per_kwh = float(conv["mj_per_kwh_gross"])
    electricity_mwh = scope2["consumption_mwh"]
    sources = []
    elec_tj = electricity_mwh * 1000 * mj_per_kwh / 1e6
    sources.append({
        "source": "electricity",
        "name_ko": "전력",
        "amount_text": f"{electricity_mwh:,.1f} MWh",
        "tj": elec_tj,
        "toe": elec_tj * 1e6 / mj_per_toe,
        "trace": f"{electricity_mwh:,.1f} MWh × {mj_per_kwh} MJ/kWh ({edition(conv_id)}, {conv.get('basis', '')}) ÷ {mj_per_toe:,.1f} MJ/toe",
    })
    for fuel in fuels:
        gross = fuel["tj_gross"] if fuel["tj_gross"] is not None else fuel["tj_net"]
        basis = "총발열량" if fuel["tj_gross"] is not None else "순발열량(총발열량 미공표)"
        sources.append({
            "source": fuel["fuel"],
            "name_ko": fuel["name_ko"],
            "amount_text": f"{fuel['amount']:,.0f} {fuel['unit']}",
            "tj": gross,
            "toe": gross * 1e6 / mj_per_toe,
            "trace": f"{gross:,.3f} TJ({basis}) ÷ {mj_per_toe:,.1f} MJ/toe",
        })
    merged: dict[str, dict] = {}
    for item in sources:
        into = merged.setdefault(item["source"], {**item, "tj": 0.0, "toe": 0.0, "traces": []})
        into["tj"] += item["tj"]
        into["toe"] += item["toe"]
        into["traces"].append(item["trace"])
    by_source = list(merged.values())
    total_toe = sum(s["toe"] for s in by_source)
    total_tj = sum(s["tj"] for s in by_source)
    for s in by_source:
        s["share_pct"] = 100.0 * s["toe"] / total_toe if total_toe else 0.0
        s.pop("trace", None)

    revenue_100m = profile["company"]["revenue_krw_million"] / 100.0
    output_t = total_output_tonnes(profile)
    return {
        "total_toe": total_toe,
        "total_tj": total_tj,
        "electricity_mwh": electricity_mwh,
        "by_source": by_source,
        "by_process": _by_process(profile, by_source, total_toe),
        "monthly": monthly_pattern(profile["energy"]["electricity"]["monthly_kwh"]),
        "intensity_toe_per_krw_100m": total_toe / revenue_100m,
        "output_t": output_t,
        "intensity_toe_per_t_output": (total_toe / output_t) if output_t else None,
        "conversion": {
            "mj_per_toe": mj_per_toe,
            "electricity_mj_per_kwh": mj_per_kwh,
            "electricity_revision": conv_id,
            "source": cite(conv.get("source")),
            "toe_basis": (content.units.get("toe_basis") or {}).get("rule"),
        },
    }


def total_output_tonnes(profile: dict) -> float | None:
    """Site output in tonnes, or None when any product's mass is unknown (never guessed)."""
    total = 0.0
    for product in profile["products"]:
        tonnes = product_output_tonnes(product)
        if tonnes is None:
            return None
        total += tonnes
    return total


def product_output_tonnes(product: dict) -> float | None:
    output = product.get("annual_output")
    if not output:
        return None
    if output["unit"] == "t":
        return float(output["amount"])
    if output["unit"] == "kg":
        return output["amount"] / 1000.0
    if product.get("unit_mass_kg"):
        return output["amount"] * product["unit_mass_kg"] / 1000.0
    return None


def _by_process(profile: dict, by_source: list[dict], total_toe: float) -> list[dict]:
    toe_of = {s["source"]: s["toe"] for s in by_source}
    rows, allocated = [], {k: 0.0 for k in toe_of}
    for process in profile["processes"]:
        toe = 0.0
        for source, share in (process.get("energy_shares_pct") or {}).items():
            part = toe_of.get(source, 0.0) * share / 100.0
            allocated[source] = allocated.get(source, 0.0) + part
            toe += part
        rows.append({"id": process["id"], "name": process["name"], "toe": toe, "share_pct": 100 * toe / total_toe if total_toe else 0.0})
    rest = sum(toe_of[k] - allocated.get(k, 0.0) for k in toe_of)
    if rest > 0.005 * total_toe:
        rows.append({"id": None, "name": "공정 미배분(공용설비·사무 등)", "toe": rest, "share_pct": 100 * rest / total_toe})
    return rows


def monthly_pattern(monthly_kwh: list[float]) -> dict:
    total = sum(monthly_kwh)
    mean = total / 12.0
    peak = max(range(12), key=lambda i: monthly_kwh[i])
    low = min(range(12), key=lambda i: monthly_kwh[i])
    summer = sum(monthly_kwh[5:8])
    winter = monthly_kwh[11] + monthly_kwh[0] + monthly_kwh[1]
    return {
        "kwh": list(monthly_kwh),
        "labels": MONTHS_KO,
        "total_kwh": total,
        "mean_kwh": mean,
        "peak_month": peak + 1,
        "peak_kwh": monthly_kwh[peak],
        "low_month": low + 1,
        "base_load_kwh": monthly_kwh[low],
        "base_load_share_pct": 100.0 * monthly_kwh[low] / mean if mean else 0.0,
        "peak_to_mean": monthly_kwh[peak] / mean if mean else 0.0,
        "summer_share_pct": 100.0 * summer / total if total else 0.0,
        "winter_share_pct": 100.0 * winter / total if total else 0.0,
        "variation_pct": 100.0 * (monthly_kwh[peak] - monthly_kwh[low]) / mean if mean else 0.0,
    }
