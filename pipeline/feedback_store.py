"""Feedback on revisions and the final-version marker, kept beside the immutable revisions.

Layout under revisions/<id>/: `final.json` (the submission version, if marked) and
`feedback/` (items read from returned drafts and their status changes).
"""
from __future__ import annotations

import json

from pipeline.errors import RevisionError
from pipeline.revisions import company_dir


def final_revision(company_id: str) -> dict | None:
    path = company_dir(company_id) / "final.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def guard_final(company_id: str, force: bool) -> None:
    final = final_revision(company_id)
    if final and not force:
        raise RevisionError(
            f"{company_id}는 r{final['revision']:03d}이(가) 최종본(제출본)으로 지정되어 있습니다. "
            "새 리비전을 만들려면 --force를 붙이세요 (최종본 파일은 그대로 보존됩니다)"
        )


def items_resolved_by(company_id: str, context: dict) -> list[str]:
    """Feedback items marked resolved since the last revision: the next revision records them."""
    return []
