"""Data a draft needed and the profile lacked.

Stages record each gap once (field, what is needed, what it is for); documents show it as a
visible `[확인 필요: …]` marker, and the CLI lists it after a run.
"""
from __future__ import annotations

import re

MARKER = re.compile(r"\[확인 필요: ([^\]]+)\]")


def marker(need: str) -> str:
    return f"[확인 필요: {need}]"


class Missing:
    """Appends to the context's "missing" list, without duplicates."""

    def __init__(self, items: list):
        self.items = items

    def add(self, field: str, need: str, used_for: str) -> str:
        entry = {"field": field, "need": need, "used_for": used_for}
        if entry not in self.items:
            self.items.append(entry)
        return marker(need)


def markers_in(text: str) -> list[str]:
    """The distinct 확인 필요 items found in a rendered text, in order of appearance."""
    seen: list[str] = []
    for item in MARKER.findall(text):
        if item not in seen:
            seen.append(item)
    return seen
