"""Unit definitions for activity data.

Only exact definitions live here (1 kL = 1000 L, 1 kWh = 3.6 MJ). Conventions that are facts of
a rule (kcal↔kJ, the toe) come from content/factors/units.yaml.
"""
from __future__ import annotations

from pipeline.errors import CalculationError

# Multipliers to the base unit of each dimension: L, kg, Nm3 and MJ.
VOLUME_TO_L = {"L": 1.0, "kL": 1000.0}
MASS_TO_KG = {"kg": 1.0, "t": 1000.0}
# Korean gas meters bill corrected (standard-condition) volumes, so m³ on a bill is Nm³.
GAS_TO_NM3 = {"Nm3": 1.0, "m3": 1.0}
ENERGY_TO_MJ_EXACT = {"MJ": 1.0, "GJ": 1e3, "TJ": 1e6, "kWh": 3.6, "MWh": 3600.0}
ENERGY_UNITS_FROM_CONTENT = ("Gcal", "toe")

PHYSICAL_BY_DIMENSION = {"L": VOLUME_TO_L, "kg": MASS_TO_KG, "Nm3": GAS_TO_NM3}
ALL_FUEL_UNITS = (
    tuple(VOLUME_TO_L) + tuple(MASS_TO_KG) + tuple(GAS_TO_NM3) + tuple(ENERGY_TO_MJ_EXACT) + ENERGY_UNITS_FROM_CONTENT
)


def is_energy_unit(unit: str) -> bool:
    return unit in ENERGY_TO_MJ_EXACT or unit in ENERGY_UNITS_FROM_CONTENT


def mj_per_energy_unit(unit: str, units_content: dict) -> float:
    """MJ in one `unit` of energy (Gcal and toe through the content's kcal definition)."""
    if unit in ENERGY_TO_MJ_EXACT:
        return ENERGY_TO_MJ_EXACT[unit]
    kj_per_kcal = float(_value(units_content["kcal_to_kj"]))
    if unit == "Gcal":
        return 1e6 * kj_per_kcal / 1000.0
    if unit == "toe":
        return float(_value(units_content["toe_kcal"])) * kj_per_kcal / 1000.0
    raise CalculationError(f"알 수 없는 에너지 단위 '{unit}'")


def physical_multiplier(unit: str, physical_unit: str) -> float | None:
    """Factor from `unit` to the fuel's physical unit (L, kg, Nm3), or None if incompatible."""
    table = PHYSICAL_BY_DIMENSION.get(physical_unit)
    if table is None:
        raise CalculationError(f"연료의 물리 단위 '{physical_unit}'를 알 수 없습니다 (content/factors/fuels.yaml)")
    return table.get(unit)


def _value(record):
    return record["value"] if isinstance(record, dict) else record
