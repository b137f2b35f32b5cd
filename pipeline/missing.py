"""Data a draft needed and the profile lacked.

Stages record each gap once (field, what is needed, what it is for); documents show it as a
visible `[확인 필요: …]` marker, and the CLI lists it after a run. The draft stage puts the list
in the order of the documents' request appendices (요청 자료 목록), so item n of the CLI list is
number n in every document that asks for it; the helpers below decide which appendix lists an
item, who answers it and by when (rules from content, passed in), and collapse a marker repeated
in a table.
"""
from __future__ import annotations

import datetime
import html
import re

MARKER = re.compile(r"\[확인 필요: ([^\]]+)\]")
_ESCAPE = re.compile(r"\\(.)")


MARKER_OPEN = "[확인 필요"   # where the documents' marker style starts (render/markdown_docx.py)


def marker(need: str) -> str:
    return f"[확인 필요: {need}]"


def neutralised(text: str) -> str:
    """Outside text (a profile, a reply) that imitates our marker: its bracket becomes the full-width
    one (［확인 필요 …), so it reads the same but is neither styled nor listed as a real gap."""
    return text.replace(MARKER_OPEN, "［" + MARKER_OPEN[1:])


def need_text(need: str) -> str:
    """A need as recorded and shown: square brackets full-width, so a name with brackets in it
    (볼트 [M8], or profile text imitating a marker) cannot end or nest the marker around it."""
    return need.replace("[", "［").replace("]", "］")


class Missing:
    """Appends to the context's "missing" list, without duplicates."""

    def __init__(self, items: list):
        self.items = items

    def add(self, field: str, need: str, used_for: str) -> str:
        need = need_text(need)
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


def need_of(shown: str) -> str:
    """A marker's text as a Markdown body prints it (HTML- and backslash-escaped) → the need as recorded."""
    return html.unescape(_ESCAPE.sub(r"\1", shown))


def distinct(items: list[dict]) -> list[dict]:
    """One entry per need, in order; entries that share a need keep the first one's field and
    join what they are used for (so a need is asked for once)."""
    out: dict[str, dict] = {}
    for item in items:
        first = out.get(item["need"])
        if first is None:
            out[item["need"]] = dict(item)
        elif item["used_for"] and item["used_for"] not in first["used_for"].split(" · "):
            first["used_for"] = f"{first['used_for']} · {item['used_for']}"
    return list(out.values())


def in_request_order(items: list[dict], listed_by: dict[str, list[str]]) -> list[dict]:
    """`items` (distinct needs) ordered like the request appendices: the needs of the first
    document in its order, then those the second one adds, and so on. `listed_by` maps each
    document to the needs its appendix lists; a need no appendix lists keeps its place at the end."""
    rank: dict[str, int] = {}
    for needs in listed_by.values():
        for need in needs:
            rank.setdefault(need, len(rank))
    last = len(rank)
    return sorted(items, key=lambda item: rank.get(item["need"], last))


# ---------------------------------------------------------------- the request appendices (요청 자료 목록)
# The rules are content/sections/shared/request_owners.yaml, passed in by the draft stage.

def requests_by_document(items: list[dict], bodies: dict[str, str], unmarked: dict) -> dict[str, list[str]]:
    """The needs each document's appendix lists: those its text marks, in order of appearance;
    an item no document marks (e.g. the 진단표's equipment questions, which are table text) goes to
    the document the `unmarked` rules give for its field (first prefix it starts with, else default)."""
    listed = {key: list(dict.fromkeys(need_of(shown) for shown in markers_in(body))) for key, body in bodies.items()}
    marked = {need for needs in listed.values() for need in needs}
    for item in items:
        if item["need"] in marked:
            continue
        key = next((r["document"] for r in unmarked["documents"] if item["field"].startswith(r["prefix"])),
                   unmarked["default"])
        if item["need"] not in listed[key]:
            listed[key].append(item["need"])
    return listed


def owner_of(item: dict, owners: dict) -> str:
    """Who at the company answers an item: the first `fields` prefix its field starts with, else
    the first `needs` text it contains, else the default."""
    for rule in owners["fields"]:
        if item["field"].startswith(rule["prefix"]):
            return rule["owner"]
    for rule in owners["needs"]:
        if rule["contains"] in item["need"]:
            return rule["owner"]
    return owners["default"]


def due_of(program: dict, deadline: dict, today: datetime.date) -> tuple[str, dict | None]:
    """기한 of the requests: `days_before_opening` days before the target program's application
    window opens (its window's opening date if still ahead, else the first day of its expected
    next call's month), or `otherwise` when no opening is known or that day has passed. Returns
    the text and what it was counted from (program, opening, days), or None."""
    days, otherwise = int(deadline["days_before_opening"]), deadline["otherwise"]
    opening = _as_date((program.get("window") or {}).get("open"))
    if opening is not None and opening >= today:
        opening_text = date_text(opening)
    else:
        call = program.get("next_call") or {}
        if not (call.get("year") and call.get("month")):
            return otherwise, None
        opening = datetime.date(int(call["year"]), int(call["month"]), 1)
        opening_text = f"{opening.year}년 {opening.month}월" + ("경 예상" if call.get("estimated") else "")
    due = opening - datetime.timedelta(days=days)
    if due < today:
        return otherwise, None
    return date_text(due), {"program": program.get("name") or "", "opening": opening_text, "days": days}


def _as_date(value) -> datetime.date | None:
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def date_text(day: datetime.date) -> str:
    """2027.1.4.: no spaces, so a narrow table column does not break the date."""
    return f"{day.year}.{day.month}.{day.day}."


_TABLE_LINE = re.compile(r"^[ \t]*\|")
_TABLE_RULE = re.compile(r"^[ \t]*\|?[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")


def _circled(n: int) -> str:
    """①…⑮ (in KS X 1001, so in every Korean font), then plain digits: a reference next to a
    unit (※①%) must not read as a number."""
    return chr(0x2460 + n - 1) if n <= 15 else str(n)


def collapse_table_markers(markdown: str, numbers: dict[str, int]) -> str:
    """A marker repeated in one pipe table is printed once: the first cell keeps it, the others
    show ※ (※①, ※② … when the table repeats several), and a note line under the table names the
    item and its number in the request appendix (`numbers`: need → number)."""
    lines = markdown.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        if not (_TABLE_LINE.match(lines[i]) and i + 1 < len(lines) and _TABLE_RULE.match(lines[i + 1])):
            out.append(lines[i])
            i += 1
            continue
        end = i + 2
        while end < len(lines) and _TABLE_LINE.match(lines[end]):
            end += 1
        table = lines[i:end]
        collapsed = _collapse_one(table, numbers)
        out.extend(collapsed)
        if collapsed is not table and end < len(lines) and lines[end].strip():
            out.append("")  # the notes end their paragraph before the text that follows
        i = end
    return "\n".join(out)


def _collapse_one(table: list[str], numbers: dict[str, int]) -> list[str]:
    """One table's lines with its repeated markers collapsed and the notes after it (`table`
    itself when nothing repeats)."""
    counts: dict[str, int] = {}
    for line in table:
        for shown in MARKER.findall(line):
            counts[shown] = counts.get(shown, 0) + 1
    repeated = [shown for shown, count in counts.items() if count > 1]
    if not repeated:
        return table
    refs = {shown: "※" if len(repeated) == 1 else f"※{_circled(n)}" for n, shown in enumerate(repeated, 1)}
    kept: set[str] = set()

    def once(found: re.Match) -> str:
        shown = found.group(1)
        if shown in refs and shown in kept:
            return refs[shown]
        kept.add(shown)
        return found.group(0)

    notes = []
    for shown in repeated:
        number = numbers.get(need_of(shown))
        notes.append(f"{refs[shown]} {shown} — " + (f"요청 자료 목록 {number}번" if number else "요청 자료 목록 참조"))
    return [MARKER.sub(once, line) for line in table] + [""] + "\n\n".join(notes).split("\n")
