"""Which revision a returned draft belongs to, from the identity our renderer wrote into it.

Every draft carries custom properties (render IDENTITY_PROPERTIES): the company id, the revision
number it was rendered as, a draft id stored in that revision's revision.json, and the document.
The feedback command decides here, before anything is stored:

* another company's draft → refused (FeedbackError, exit 2): its comments are not this company's;
* no --revision: the items go to the revision the draft was made from (found by draft id, else
  by the number it carries), and a note says so when that is not the latest revision: a reply to
  r001 is feedback on r001, even after r002 was made;
* --revision N that contradicts the draft → refused unless --force (then stored on N, with a note);
* a draft without our properties (made before they existed, or re-created by another program)
  → a warning that company and revision could not be checked; stored as asked.
"""
from __future__ import annotations

import re

from pipeline.errors import FeedbackError
from pipeline.store.revisions import read_meta, revision_numbers

_REVISION = re.compile(r"^r?(\d{1,6})\Z")


def target_revision(company_id: str, revision: int | None, draft, force: bool = False) -> tuple[int | None, list[str]]:
    """(revision to store on — None: the latest —, notes to print) for `draft` imported for `company_id`."""
    identity = draft.identity or {}
    name = draft.name
    if not identity.get("company_id") and not identity.get("draft_id"):
        return revision, [f"경고: {name}에 기업·리비전 표시(문서 속성)가 없어 어느 기업의 몇 번째 초안인지 확인하지 "
                          "못했습니다. 이 기업의 초안이 맞는지 확인하세요"]
    other = identity.get("company_id")
    if other and other != company_id:
        raise FeedbackError(
            f"{name}: 이 문서는 다른 기업('{other}')의 초안입니다 (문서 속성의 기업 id). {company_id}의 피드백으로 "
            f"가져오지 않았습니다; 맞는 기업이면 `python -m pipeline feedback {other} …`로 가져오세요")
    numbers = revision_numbers(company_id)
    matches = _made_from(company_id, numbers, identity)
    notes = []
    if not matches:
        shown = identity.get("revision") or "?"
        notes.append(f"경고: {name}은(는) {shown} 초안이라고 적혀 있지만 저장된 리비전에서 찾지 못했습니다 "
                     "(다른 저장소에서 만든 초안이거나 리비전이 지워짐)")
        return revision, notes
    latest, made_from = numbers[-1], matches[0]
    if revision in matches:
        return revision, notes
    if revision is None:
        if made_from != latest:
            notes.append(f"참고: {name}은(는) r{made_from:03d} 초안에 대한 회신입니다 (최신은 r{latest:03d}). "
                         f"피드백을 r{made_from:03d}에 붙였습니다")
        return made_from, notes
    if revision != made_from:
        if not force:
            raise FeedbackError(
                f"{name}: 이 문서는 r{made_from:03d} 초안인데 --revision {revision}을(를) 주었습니다. 아무것도 저장하지 "
                f"않았습니다. r{made_from:03d}에 붙이려면 --revision을 빼고, 그래도 r{revision:03d}에 붙이려면 --force를 주세요")
        notes.append(f"참고: {name}은(는) r{made_from:03d} 초안이지만 --force로 r{revision:03d}에 붙였습니다")
    return revision, notes


def _made_from(company_id: str, numbers: list[int], identity: dict) -> list[int]:
    """The stored revisions the draft was rendered as: those holding its draft id (one, unless a
    revision was copied), else its number if that revision has no draft id of its own."""
    draft_id = identity.get("draft_id")
    metas = {}
    for number in numbers:
        try:
            metas[number] = read_meta(company_id, number)
        except (OSError, ValueError):
            metas[number] = {}
    found = [number for number in numbers if draft_id and metas[number].get("draft_id") == draft_id]
    if found:
        return found
    m = _REVISION.match(str(identity.get("revision") or ""))
    if m and int(m.group(1)) in metas and not metas[int(m.group(1))].get("draft_id"):
        return [int(m.group(1))]
    return []
