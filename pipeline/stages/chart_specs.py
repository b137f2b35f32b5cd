"""Chart specs: what a chart shows, as plain data the draft stage puts in the context.

A stage describes a chart; it never draws one. pipeline/render/charts.py turns a spec into a PNG
(and checks it), so the stages import no plotting code.
"""
from __future__ import annotations

from typing import Sequence


def bar_spec(labels: Sequence[str], values: Sequence[float | None], title: str, unit: str) -> dict:
    """Vertical bars with value labels; the y axis is labelled with the unit."""
    return {"kind": "bar", "labels": [str(x) for x in labels], "values": list(values), "title": title, "unit": unit}


def shares_spec(labels: Sequence[str], values: Sequence[float | None], title: str, unit: str) -> dict:
    """Shares of a total: a pie for ≤ 6 non-negative parts, otherwise horizontal bars (%)."""
    return {"kind": "shares", "labels": [str(x) for x in labels], "values": list(values), "title": title, "unit": unit}


def monthly_spec(values_12: Sequence[float | None], title: str, unit: str) -> dict:
    """Twelve monthly bars (None = no data) with a dashed average line."""
    return {"kind": "monthly", "values": list(values_12), "title": title, "unit": unit}
