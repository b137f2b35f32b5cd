"""The site inventory of one year's activity data: Scope 1 and 2 emissions and the energy totals.

One function for the diagnosis (the base year, from the profile) and for monitoring (a later
year, from the recorded actuals, with the plan's factor set), so both years are computed the same way.
"""
from __future__ import annotations

from pipeline.calc.emissions import scope1, scope2
from pipeline.calc.energy import energy_profile
from pipeline.calc.factors import FactorChoice
from pipeline.content import Content


def site_inventory(profile: dict, content: Content, factors: FactorChoice) -> tuple[list[dict], dict, dict, dict]:
    """(Scope 1 fuel lines, Scope 2, totals, energy) of `profile`'s energy section and products.

    `totals` holds scope1_tco2e, scope2_location/market_tco2e, total_tco2e, total_market_tco2e and
    the output intensity; `energy` is calc.energy.energy_profile's result (with the same intensity)."""
    fuels = scope1(profile, content, factors)
    s2 = scope2(profile, content, factors)
    s1_total = sum(f["tco2e"] for f in fuels)
    totals = {
        "scope1_tco2e": s1_total,
        "scope2_location_tco2e": s2["location_tco2e"],
        "scope2_market_tco2e": s2["market_tco2e"],
        "total_tco2e": s1_total + s2["location_tco2e"],
        "total_market_tco2e": s1_total + s2["market_tco2e"],
    }
    energy = energy_profile(profile, fuels, s2, content, factors)
    output_t = energy["output_t"]
    totals["intensity_tco2e_per_t_output"] = totals["total_tco2e"] / output_t if output_t else None
    energy["intensity_tco2e_per_t_output"] = totals["intensity_tco2e_per_t_output"]  # KPI library path
    return fuels, s2, totals, energy
