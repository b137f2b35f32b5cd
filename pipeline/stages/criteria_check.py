"""평가 기준 자체 점검: each evaluation criterion of the target program beside the plan sections that
answer it, with a status from what those sections still leave open (their 확인 필요 markers).

Program records name, per criterion, the plan section files that answer it (`answered_by`, file
stems of content/sections/plan/). A section included in another (the R&D form includes the shared
company and background sections) answers through the section that includes it.
"""
from __future__ import annotations

import re

from pipeline.missing import markers_in, need_of

_INCLUDE = re.compile(r"""{%-?\s*include\s+['"]plan/([A-Za-z0-9_]+)\.md['"]""")
_TITLE = re.compile(r"^# (.+?)\s*$", re.M)
SHOWN_NEEDS = 3


def includes(source: str) -> list[str]:
    """The plan section files a section's template includes."""
    return _INCLUDE.findall(source)


def criteria_rows(criteria: list[dict], sections: list[dict]) -> list[dict]:
    """`sections`: the plan's top-level sections in order, each {stem, includes, text}. One row per
    criterion: where it is answered, and 작성 / 보완 필요 (with the open items) / 해당 장 없음."""
    rows = []
    for criterion in criteria:
        wanted = set(criterion.get("answered_by") or [])
        found = [s for s in sections if wanted & ({s["stem"]} | set(s["includes"]))]
        titles = [_title(s["text"]) for s in found]
        open_items = []
        for section in found:
            open_items += [need_of(m) for m in markers_in(section["text"]) if need_of(m) not in open_items]
        if not found:
            status = "해당 장 없음"
        elif open_items:
            status = "보완 필요"
        else:
            status = "작성"
        rows.append({
            "criterion": criterion.get("criterion") or criterion.get("item"),
            "points": criterion.get("points"),
            "note": criterion.get("note"),
            "sections": [t for t in titles if t],
            "status": status,
            "open_items": open_items[:SHOWN_NEEDS],
            "more_open": max(0, len(open_items) - SHOWN_NEEDS),
        })
    return rows


def _title(text: str) -> str | None:
    found = _TITLE.search(text)
    return need_of(found.group(1)) if found else None
