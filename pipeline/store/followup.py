"""Follow-up records of stage ⑤, kept with the company: revisions/<id>/followup/events.jsonl.

One append-only log (written only through store/logs.py: whole lines, verified, a damaged tail cut
and kept aside) with three kinds of record:

    application  {"kind", "id": "A1", "version", "program", "call", "submitted", "revision", …}
    result       {"kind", "application": "A1", "result", "amount_krw_million", "date", …}
    actuals      {"kind", "year", "version", "data": {energy, products, revenue_krw_million}, "source", …}

Nothing is ever changed or removed. A correction is a new record that supersedes: an application
recorded again with the same id (a higher version), a later result for the same application, the
actuals of a year entered again (a higher version). Readers take the latest and keep the history.
Every record carries who and when (`by`, `at`).

Appends happen under the company's store lock (store/revisions.py `company_lock`), so two staff
recording at once cannot get the same application id or actuals version. The checks of what a
user typed (dates, programs, revisions, units) are made before, by publish/followup.py and
profile/actuals.py; here a record is checked only for the shape readers rely on.
"""
from __future__ import annotations

import contextlib
import datetime
import re
from pathlib import Path

from pipeline.errors import FollowupError
from pipeline.store.atomic import store_write_error
from pipeline.store.logs import append_records, read_records
from pipeline.store.revisions import author_name, company_dir, company_lock

LOG_NAME = "events.jsonl"
RESULTS = ("selected", "not-selected", "withdrawn")
APPLICATION_ID = re.compile(r"^A([1-9][0-9]{0,5})$")


def followup_dir(company_id: str) -> Path:
    return company_dir(company_id) / "followup"


def log_path(company_id: str) -> Path:
    return followup_dir(company_id) / LOG_NAME


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).astimezone().isoformat(timespec="microseconds")


def _int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _valid(record: dict) -> bool:
    kind = record.get("kind")
    if kind == "application":
        return (isinstance(record.get("id"), str) and bool(APPLICATION_ID.match(record["id"])) and _int(record.get("version"))
                and isinstance(record.get("program"), str) and isinstance(record.get("submitted"), str)
                and _int(record.get("revision")))
    if kind == "result":
        return isinstance(record.get("application"), str) and record.get("result") in RESULTS and isinstance(record.get("date"), str)
    if kind == "actuals":
        return _int(record.get("year")) and _int(record.get("version")) and isinstance(record.get("data"), dict)
    return False


_WARNED: set[str] = set()


def records(company_id: str) -> list[dict]:
    """Every follow-up record in log order; lines that are not records are skipped with a warning."""
    path = log_path(company_id)
    found, bad = read_records(path, _valid)
    if bad and str(path) not in _WARNED:
        _WARNED.add(str(path))
        import click

        lines = ", ".join(str(n) for n in bad[:10]) + (" …" if len(bad) > 10 else "")
        click.echo(f"경고: {path}의 {len(bad)}줄이 사후관리 기록이 아니어서 건너뛰었습니다 (줄 {lines})", err=True)
    return found


def state(company_id: str, events: list[dict] | None = None) -> dict:
    """The current follow-up state: {'applications': [...], 'actuals': {year: {...}}}.

    An application is its latest version with `versions` (all of them), `results` (every result
    record, oldest first) and `result` (the latest, or None). Actuals of a year are the latest
    version with `versions`."""
    events = records(company_id) if events is None else events
    applications: dict[str, dict] = {}
    actuals: dict[int, dict] = {}
    for event in events:
        if event["kind"] == "application":
            previous = applications.get(event["id"])
            versions = (previous["versions"] if previous else []) + [event]
            applications[event["id"]] = dict(event, versions=versions,
                                             results=previous["results"] if previous else [],
                                             result=previous["result"] if previous else None)
        elif event["kind"] == "result":
            entry = applications.get(event["application"])
            if entry is not None:
                entry["results"] = entry["results"] + [event]
                entry["result"] = event
        else:
            previous = actuals.get(event["year"])
            actuals[event["year"]] = dict(event, versions=(previous["versions"] if previous else []) + [event])
    ordered = sorted(applications.values(), key=lambda a: int(a["id"][1:]))
    return {"applications": ordered, "actuals": dict(sorted(actuals.items()))}


@contextlib.contextmanager
def _locked(company_id: str):
    try:
        with company_lock(company_id):
            yield
    except OSError as exc:
        raise store_write_error(company_dir(company_id), exc) from None


def _append(company_id: str, record: dict) -> dict:
    append_records(log_path(company_id), [record], _valid)  # all or nothing, read back
    return record


def record_application(company_id: str, fields: dict, correct: str | None = None, by: str | None = None) -> dict:
    """Append an application (program, call, submitted, revision, note). A new one gets the next id
    (A1, A2 …); `correct` = an existing id records a corrected version of it. The same program and
    call as an application on record (not withdrawn) is refused: correct that one instead."""
    with _locked(company_id):
        current = state(company_id)
        known = {a["id"]: a for a in current["applications"]}
        if correct is not None:
            if correct not in known:
                raise FollowupError(f"{company_id}: 신청 기록 {correct}이(가) 없습니다 (있는 신청: {', '.join(known) or '없음'}); "
                                    "아무것도 기록하지 않았습니다")
            app_id, version = correct, known[correct]["version"] + 1
        else:
            for app in known.values():
                withdrawn = (app.get("result") or {}).get("result") == "withdrawn"
                if app["program"] == fields["program"] and app.get("call") == fields.get("call") and not withdrawn:
                    raise FollowupError(
                        f"{company_id}: 같은 사업·공고({fields['program']}, {fields.get('call')})의 신청이 이미 {app['id']}로 "
                        f"기록되어 있습니다 (제출일 {app['submitted']}). 고치려면 --correct {app['id']}; 아무것도 기록하지 않았습니다")
            app_id = f"A{max((int(i[1:]) for i in known), default=0) + 1}"
            version = 1
        record = {"kind": "application", "id": app_id, "version": version, **fields, "by": author_name(by), "at": now()}
        return _append(company_id, record)


def record_result(company_id: str, application_id: str, fields: dict, by: str | None = None,
                  check=None) -> tuple[dict, dict | None]:
    """Append the result of `application_id` (result, amount_krw_million, date, note); returns
    (record, the result it supersedes or None). `check(application)` runs under the lock before
    anything is written (the caller's checks against the application: dates, amount cap)."""
    with _locked(company_id):
        known = {a["id"]: a for a in state(company_id)["applications"]}
        app = known.get(application_id)
        if app is None:
            raise FollowupError(f"{company_id}: 신청 기록 {application_id}이(가) 없습니다 (있는 신청: {', '.join(known) or '없음'}). "
                                f"먼저 `python -m pipeline followup-apply {company_id} …`; 아무것도 기록하지 않았습니다")
        if check is not None:
            check(app)
        record = {"kind": "result", "application": application_id, **fields, "by": author_name(by), "at": now()}
        return _append(company_id, record), app.get("result")


def record_actuals(company_id: str, year: int, data: dict, source: dict, by: str | None = None,
                   note: str | None = None) -> tuple[dict, int]:
    """Append one year's actuals; returns (record, number of earlier versions of that year)."""
    with _locked(company_id):
        previous = state(company_id)["actuals"].get(year)
        version = previous["version"] + 1 if previous else 1
        record = {"kind": "actuals", "year": year, "version": version, "data": data, "source": source,
                  "note": note or "", "by": author_name(by), "at": now()}
        return _append(company_id, record), version - 1


__all__ = ["RESULTS", "followup_dir", "log_path", "records", "state", "record_application",
           "record_result", "record_actuals"]
