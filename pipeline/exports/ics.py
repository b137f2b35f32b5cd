"""The follow-up calendar as an iCalendar (.ics) file staff import into Outlook, Google or Naver calendars.

Built with the `icalendar` library (RFC 5545 folding, escaping and value types done right). Every
event is all-day (a date, no time zone to get wrong) with a Korean summary, and its UID is derived
from the company and what the event is (`jinju-bolt-A1-result@…`), never from the time of export,
so importing a newer file updates the events instead of adding copies. The items themselves
(calls of the stored calendar, result checks, actuals due, monitoring) are computed by
publish/followup.py and passed in as plain dicts.
"""
from __future__ import annotations

import datetime
import hashlib

UID_DOMAIN = "jinju-carbon-pipeline"
CALENDAR_NAME = "탄소중립 컨설팅 사후관리 일정"


def uid_of(key: str) -> str:
    """A stable UID: readable ASCII key when it is one, else a hash of it."""
    safe = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "-" for ch in key)
    if safe != key:
        safe = f"{safe[:40]}-{hashlib.sha256(key.encode('utf-8')).hexdigest()[:12]}"
    return f"{safe}@{UID_DOMAIN}"


def calendar_bytes(items: list[dict], stamp: datetime.datetime | None = None) -> bytes:
    """The .ics of `items` ({'uid', 'date', 'end' or None, 'summary', 'description', 'done'})."""
    from icalendar import Calendar, Event

    stamp = stamp or datetime.datetime.now(datetime.timezone.utc)
    calendar = Calendar()
    calendar.add("prodid", "-//Jinju carbon-neutrality consulting//followup calendar//KO")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", CALENDAR_NAME)
    calendar.add("x-wr-timezone", "Asia/Seoul")
    for item in items:
        event = Event()
        event.add("uid", uid_of(item["uid"]))
        event.add("dtstamp", stamp)
        event.add("dtstart", item["date"])
        last = item.get("end") or item["date"]
        event.add("dtend", last + datetime.timedelta(days=1))  # DTEND of an all-day event is exclusive
        summary = item["summary"] + (" (완료)" if item.get("done") else "")
        event.add("summary", summary)
        if item.get("description"):
            event.add("description", item["description"])
        event.add("transp", "TRANSPARENT")  # a reminder, not a meeting: does not block the day
        event.add("status", "CONFIRMED")
        calendar.add_component(event)
    return calendar.to_ical()
