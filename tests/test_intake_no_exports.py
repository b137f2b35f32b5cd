"""'수출 없음' in the 자료요청서: one row with 없음 as the country is `exports: []` (no exports), an empty
export table is 'not answered' (no key: the drafts ask), and a profile with no exports round-trips."""
from __future__ import annotations

from pipeline.content import get_content
from pipeline.profile.intake import build_layout, plan_intake

from test_intake import Book, companies, form_for, problems_of  # noqa: F401  (companies is a fixture)

SHEET = "수출·고객사"


def test_a_company_without_exports_says_so_and_round_trips(tmp_path, companies):  # noqa: F811
    content = get_content()
    layout = build_layout(content)
    path = form_for(layout, content, "jinju-mold", tmp_path)       # the profile has exports: []
    book = Book(path)
    assert book.get(SHEET, "country") == "없음"
    assert book.get(SHEET, "share_pct") is None
    empty = tmp_path / "new"
    empty.mkdir()
    assert plan_intake("jinju-mold", book.save(), content, folder=empty).data["exports"] == []


def test_an_empty_export_table_is_not_answered(tmp_path, companies):  # noqa: F811
    content = get_content()
    layout = build_layout(content)
    book = Book(form_for(layout, content, "jinju-mold", tmp_path))
    book.set(SHEET, "country", None)
    empty = tmp_path / "new"
    empty.mkdir()
    assert "exports" not in plan_intake("jinju-mold", book.save(), content, folder=empty).data


def test_none_beside_other_answers_is_an_error_not_an_empty_list(tmp_path, companies):  # noqa: F811
    content = get_content()
    layout = build_layout(content)
    book = Book(form_for(layout, content, "jinju-bolt", tmp_path))   # DE (with its share), PL
    where = book.set(SHEET, "country", "없음")
    problems = problems_of("jinju-bolt", book.save(), content)
    assert any(where in p for p in problems), problems
