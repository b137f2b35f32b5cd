"""Markdown pieces the reports share (the final report, the program report, monitoring): text and
numbers escaped or shown as `[확인 필요: …]`, table rows, dates, the heading list for the TOC field."""
from __future__ import annotations

import datetime
import re

from pipeline.missing import marker
from pipeline.stages.draft import safe_text

HEADING = re.compile(r"^(#{1,2}) (.+?)\s*$", re.M)


def text(value, missing: str = "값 없음") -> str:
    if value is None or value == "" or value == []:
        return marker(safe_text(missing))
    return safe_text(value)


def number(value, digits: int = 1, missing: str = "값 없음") -> str:
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return marker(safe_text(missing))
    return f"{value:,.{digits}f}"


def cell(value) -> str:
    return text(value).replace("\n", " ")


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def date_text(stamp) -> str:
    try:
        when = datetime.datetime.fromisoformat(str(stamp))
    except (TypeError, ValueError):
        return text(stamp, "저장 시각")
    return f"{when.year}. {when.month}. {when.day}. {when:%H:%M}"


def toc(body: str) -> str:
    return "\n".join(("    " if len(level) == 2 else "") + title for level, title in HEADING.findall(body)
                     if not title.startswith("<"))
