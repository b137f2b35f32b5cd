"""Korean particles by the final consonant (issue 16 item 2): pipeline/stages/korean.py and the
`josa` filter of the section templates."""
from __future__ import annotations

import doctest

import pytest

from pipeline.stages import korean
from pipeline.stages.korean import attach, final_consonant, pick


def test_doctests():
    assert doctest.testmod(korean).failed == 0


@pytest.mark.parametrize("text, topic, subject, obj, with_, toward", [
    # names from the issue: a trailing parenthetical is not read
    ("(주)남강알루텍 (가상)", "은", "이", "을", "과", "으로"),
    ("중소벤처기업진흥공단", "은", "이", "을", "과", "으로"),
    ("(주)진주정밀", "은", "이", "을", "과", "로"),  # 밀: ㄹ
    ("진주시", "는", "가", "를", "와", "로"),
    # ㄹ받침: 으로 → 로, the others as any consonant
    ("서울", "은", "이", "을", "과", "로"),
    ("용해·주조(빌렛)·균질화 공정 설비", "는", "가", "를", "와", "로"),
    ("압출 프레스 레일", "은", "이", "을", "과", "로"),
    # digits by their Korean reading
    ("2026년", "은", "이", "을", "과", "으로"),
    ("2026", "은", "이", "을", "과", "으로"),   # …육
    ("2020", "은", "이", "을", "과", "으로"),   # …이십
    ("2000", "은", "이", "을", "과", "으로"),   # …천
    ("100", "은", "이", "을", "과", "으로"),    # 백
    ("10000", "은", "이", "을", "과", "으로"),  # 만
    ("2", "는", "가", "를", "와", "로"),        # 이
    ("ISO 14001", "은", "이", "을", "과", "로"),  # …일 (ㄹ)
    ("9.4", "는", "가", "를", "와", "로"),      # 구 점 사
    ("8.0", "은", "이", "을", "과", "으로"),    # 팔 점 영
    ("1,000", "은", "이", "을", "과", "으로"),  # 천
    ("Scope 1+2", "는", "가", "를", "와", "로"),
    ("9.4%", "는", "가", "를", "와", "로"),     # 퍼센트
    # Latin letters: capitals by letter names, words by their ending
    ("CBAM", "은", "이", "을", "과", "으로"),    # 엠
    ("ESG", "는", "가", "를", "와", "로"),       # 지
    ("RE100", "은", "이", "을", "과", "으로"),   # 백
    ("EU", "는", "가", "를", "와", "로"),
    ("K-ETS", "는", "가", "를", "와", "로"),
    ("URL", "은", "이", "을", "과", "로"),       # 엘
    ("(가상) Lombardia Serramenti S.r.l.", "은", "이", "을", "과", "로"),  # 엘
    ("(가상) Zeeland Solar Structures B.V.", "는", "가", "를", "와", "로"),  # 브이
    ("(가상) Schwaben Profiltechnik GmbH", "는", "가", "를", "와", "로"),
    ("Airbus Aerostructures Inc.", "는", "가", "를", "와", "로"),
    ("Nordic Steel", "은", "이", "을", "과", "로"),
    ("Jinju Team", "은", "이", "을", "과", "으로"),
    ("tCO2e", "는", "가", "를", "와", "로"),
    ("MWh", "는", "가", "를", "와", "로"),
    # brackets, quotes, Markdown and HTML escapes around the last word
    ("(주)", "는", "가", "를", "와", "로"),
    ("'녹색프리미엄'", "은", "이", "을", "과", "으로"),
    ("**대상**", "은", "이", "을", "과", "으로"),
    ("체크밸브(HS 8481.30)", "는", "가", "를", "와", "로"),
    ("스테인리스\\_강관", "은", "이", "을", "과", "으로"),
    ("R&amp;D", "는", "가", "를", "와", "로"),
    ("[확인 필요: 담당 부서·직위]", "는", "가", "를", "와", "로"),
])
def test_particles(text, topic, subject, obj, with_, toward):
    got = [pick(text, p) for p in ("은", "이", "을", "과", "으로")]
    assert got == [topic, subject, obj, with_, toward]
    # either form, or a writer's fallback, asks for the same particle
    assert [pick(text, p) for p in ("는", "가", "를", "와", "로")] == got
    assert [pick(text, p) for p in ("은(는)", "이(가)", "을(를)", "와(과)", "(으)로")] == got


def test_final_consonant():
    assert final_consonant("알루텍") == "ㄱ"
    assert final_consonant("서울") == "ㄹ"
    assert final_consonant("진주시") == ""
    assert final_consonant("닭") == "ㄺ"
    assert final_consonant("CBAM") == "ㅁ"
    assert final_consonant("") is None
    assert final_consonant("()") is None
    assert final_consonant("鐵") is None


def test_other_pairs_and_suffixes():
    assert pick("학교", "이라는") == "라는"
    assert pick("공단", "라는") == "이라는"
    assert pick("진주시", "이나") == "나"
    assert pick("서울", "나") == "이나"
    assert pick("공단", "과의") == "과의"
    assert pick("진주시", "과의") == "와의"
    assert pick("공장", "로서") == "으로서"
    assert pick("서울", "으로부터") == "로부터"
    assert pick("설비", "이며") == "며"
    assert pick("공단", "(이)라") == "이라"


def test_unknown_and_invariant():
    assert pick("鐵", "는") == "는"              # unknown sound: as written
    assert pick("鐵", "은(는)") == "은"          # … a fallback's first form
    assert pick("공단", "의") == "의"            # no allomorphs
    assert attach("공단", "에서") == "공단에서"
    assert attach(2026, "년") == "2026년"
    assert attach(2026, "은") == "2026은"


def _render(source: str, **values) -> str:
    from pipeline.content import Content
    from pipeline.stages.draft import make_environment

    return make_environment(Content()).from_string(source).render(**values)


def test_josa_filter_escapes_once():
    assert _render("{{ name | josa('는') }}", name="(주)남강알루텍 (가상)") == "(주)남강알루텍 (가상)은"
    assert _render("{{ name | josa('가') }}", name="a_b*공단") == "a\\_b\\*공단이"
    assert _render("{{ none | josa('을') }}", none=None) == "[확인 필요: 값 없음]을"
    assert _render("{{ (none or need('담당 부서·직위')) | josa('을') }}", none=None) == "[확인 필요: 담당 부서·직위]를"
    assert _render("{{ y | josa('은') }}", y=2026) == "2026은"


def test_josa_filter_block():
    source = "{% filter josa('은') %}{% for p in ps %}{{ p }}(HS 1){% if not loop.last %}, {% endif %}{% endfor %}{% endfilter %}"
    assert _render(source, ps=["볼트", "너트_M8"]) == "볼트(HS 1), 너트\\_M8(HS 1)은"
    assert _render(source, ps=["체크밸브"]) == "체크밸브(HS 1)는"
