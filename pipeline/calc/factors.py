"""Resolve the factor set of a report: which calorific values, fuel factors, grid factor and GWPs."""
from __future__ import annotations

import re

from dataclasses import dataclass

from pipeline.content import Content
from pipeline.errors import CalculationError, ContentError


@dataclass(frozen=True)
class FactorChoice:
    set_id: str
    set_name: str
    calorific: str
    fuel_ef: str
    grid_id: str
    grid: dict
    energy_conversion: str
    gwp_id: str
    gwp: dict

    def describe(self) -> dict:
        return {
            "factor_set": self.set_id,
            "factor_set_name": self.set_name,
            "calorific_revision": self.calorific,
            "fuel_factor_set": self.fuel_ef,
            "grid_factor_id": self.grid_id,
            "grid_factor_tco2e_per_mwh": self.grid["value"],
            "grid_factor_basis": self.grid.get("basis"),
            "grid_factor_source": cite(self.grid.get("source")),
            "energy_conversion": self.energy_conversion,
            "gwp_set": self.gwp_id,
            "gwp_name": self.gwp.get("name", self.gwp_id),
            "gwp_ch4": self.gwp_ch4,
            "gwp_n2o": self.gwp["n2o"],
        }

    @property
    def gwp_ch4(self) -> float:
        """GWP of CH4 for combustion sources.

        The generic value, not the "fossil" one: the fossil GWP adds the CO2 from the methane's
        later oxidation, which combustion CO2 factors (full carbon oxidation) already count.
        """
        return self.gwp["ch4"]


def choose_factors(settings: dict, content: Content) -> FactorChoice:
    sets = content.factor_sets.get("sets", {})
    set_id = (settings or {}).get("factor_set") or content.factor_sets.get("default")
    if set_id not in sets:
        raise ContentError(f"factor_sets.yaml: 계수 세트 '{set_id}'가 없습니다")
    chosen = sets[set_id]
    gwp_id = (settings or {}).get("gwp_set") or chosen["gwp"]
    if gwp_id not in content.gwp_sets:
        raise CalculationError(f"GWP 세트 '{gwp_id}'가 content/factors/gwp.yaml에 없습니다")
    grid = content.electricity.get("grid", {}).get(chosen["grid"])
    if grid is None:
        raise ContentError(f"electricity.yaml: 전력배출계수 '{chosen['grid']}'가 없습니다")
    return FactorChoice(
        set_id=set_id,
        set_name=chosen.get("name", set_id),
        calorific=chosen["calorific"],
        fuel_ef=chosen["fuel_ef"],
        grid_id=chosen["grid"],
        grid=grid,
        energy_conversion=chosen["energy_conversion"],
        gwp_id=gwp_id,
        gwp=content.gwp_sets[gwp_id],
    )


def revision_with_value(records: dict, preferred: str, key: str) -> tuple[str, dict]:
    """The record of `preferred` revision if it has `key`, else the newest older revision that has it.

    Content marks some values of a new revision as not yet published (null); the report then uses
    the previous official revision and says so in the trace.
    """
    order = sorted(records)
    if preferred in records and records[preferred].get(key) is not None:
        return preferred, records[preferred]
    older = [r for r in order if r < preferred and records[r].get(key) is not None]
    newer = [r for r in order if r > preferred and records[r].get(key) is not None]
    for candidate in reversed(older or newer):
        return candidate, records[candidate]
    raise CalculationError(f"'{key}' 값이 있는 개정판이 없습니다 (요청: {preferred})")


def edition(record_id: str | None) -> str:
    """A factor record's id as a reader says it: 'kr-2022' → '2022년 기준' (ids stay out of documents)."""
    m = re.fullmatch(r"[a-z]{2}-(\d{4})", str(record_id or ""))
    return f"{m.group(1)}년 기준" if m else "기준 미상"


def cite(source) -> str | None:
    if not source:
        return None
    if isinstance(source, str):
        return source
    parts = [source.get("publisher"), source.get("document"), source.get("table")]
    return ", ".join(str(p) for p in parts if p)

