"""Korean particles (조사) chosen by the final consonant (받침) of the text they follow.

    >>> attach("(주)남강알루텍 (가상)", "는")
    '(주)남강알루텍 (가상)은'
    >>> attach("중소벤처기업진흥공단", "가"), attach("CBAM", "를"), attach("진주시", "으로")
    ('중소벤처기업진흥공단이', 'CBAM을', '진주시로')

``pick(text, particle)`` returns the form only, ``attach`` the text followed by it, and
``final_consonant(text)`` what both decide on. The particle may be given in either form or as a
writer's fallback: "은", "는", "은(는)", "이(가)", "(으)로", "이라는", "과의" are all understood (the
longest known form at its start is swapped, the rest is kept: "이라는" → "라는" after a vowel).

Pairs (after a consonant / after a vowel): 은/는, 이/가, 을/를, 과/와, 으로/로 (ㄹ받침 → 로, also
으로서, 으로써, 으로부터), 이나/나, 이라/라, 이란/란, 이랑/랑, 이며/며, 이고/고, 이면/면, 이든/든,
이다/다, 이에요/예요. Anything else ("의", "에", "도") is returned unchanged.

How the sound is read, last significant character first:

* trailing spaces, punctuation (``. , ; : ! ? … · ' "`` and Markdown ``* _ ~```) and complete
  bracketed groups are skipped: "(주)남강알루텍 (가상)" is read at "텍", "체크밸브(HS 8481.30)" at
  "브"; a text that is nothing but a bracketed group is read inside it ("(주)" at "주").
  HTML entities and Markdown backslash escapes are undone first, so rendered Markdown reads the
  same as the raw value;
* a Hangul syllable by its 받침 (ㄹ is kept apart for 으로/로); a lone consonant jamo counts as
  a consonant;
* digits by their Korean reading: an integer by its last spoken unit (1 일, 2 이, 3 삼, 4 사, 5 오,
  6 육, 7 칠, 8 팔, 9 구; 10 십, 100 백, 1000 천, 10000 만, 억, 조), so "2026" is read "…육",
  "2020" "…십", "ISO 14001" "…일" (ㄹ); after a decimal point digit by digit ("9.0" "…영");
* Latin letters: an all-capital run or a single letter is read letter by letter by its English
  name (L 엘 and R 알 → ㄹ, M 엠, N 엔 → consonant, the rest vowel: "CBAM" 엠 → 을, "ESG" 지 → 를,
  "S.r.l." 엘 → 이); a word with lower-case letters by its spelling: -m, -n, -ng → consonant,
  -l → ㄹ, any other ending → vowel ("Steel" 스틸 → 은, "Inc" 잉크 → 는, "GmbH" → 는). English
  spelling does not tell pronunciation ("Group" is 그룹), so this is a rule of thumb for names;
* "%" is read 퍼센트 (vowel);
* anything else (Hanja, empty text) is unknown: the particle is returned as the caller wrote it
  (its first form if a fallback such as "은(는)" was given).

Why a function of our own and not a PyPI package: the candidates are ``tossi`` 0.3.1 (last
release January 2018, needs ``bidict`` and ``six``, and for Latin letters it gives up and returns a
fallback such as "은(는)", which is what the documents must not show) and ``josa`` 0.0.8 (2012,
Python 2 only, deprecated by its author in favour of ``korean``, itself unmaintained since 2020).
The rules above fit in one page and are tested in tests/test_korean.py.
"""
from __future__ import annotations

import html
import re

__all__ = ["attach", "final_consonant", "pick"]

# (after a consonant, after a vowel). 으로/로 is the one pair where ㄹ counts as a vowel.
PAIRS = [
    ("은", "는"), ("이", "가"), ("을", "를"), ("과", "와"), ("으로", "로"),
    ("이나", "나"), ("이라", "라"), ("이란", "란"), ("이랑", "랑"), ("이며", "며"), ("이고", "고"),
    ("이면", "면"), ("이든", "든"), ("이다", "다"), ("이에요", "예요"),
]
_FORMS = sorted(((form, pair) for pair in PAIRS for form in pair), key=lambda x: -len(x[0]))

# Final consonants of a syllable (index 1..27 of the 받침 table), as compatibility jamo.
_FINALS = " ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ"
_DIGIT = {"0": "ㅇ", "1": "ㄹ", "2": "", "3": "ㅁ", "4": "", "5": "", "6": "ㄱ", "7": "ㄹ", "8": "ㄹ", "9": ""}
# The unit spoken last for an integer ending in n zeros: 십, 백, 천, 만 (10^4..10^7), 억, 조, 경.
_UNIT = {1: "ㅂ", 2: "ㄱ", 3: "ㄴ", 4: "ㄴ", 5: "ㄴ", 6: "ㄴ", 7: "ㄴ", 8: "ㄱ", 9: "ㄱ", 10: "ㄱ", 11: "ㄱ",
         12: "", 13: "", 14: "", 15: ""}
_LETTER = {"L": "ㄹ", "R": "ㄹ", "M": "ㅁ", "N": "ㄴ"}  # every other letter's name ends in a vowel

_SKIP = set(" \t\n.,;:!?…·'\"‘’“”*_~`")
_CLOSE = {")": "(", "]": "[", "}": "{", "）": "（", "］": "［", "」": "「", "』": "『", "〉": "〈", "》": "《", "】": "【"}
_NUMBER = re.compile(r"[0-9][0-9,]*(\.[0-9]+)?$")
_LATIN = re.compile(r"[A-Za-z]+$")
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def final_consonant(text) -> str | None:
    """The final consonant that decides the particle: a jamo ("ㄴ", "ㄹ" …), "" after a vowel,
    None when unknown (no readable character)."""
    s = _significant(_ESCAPE.sub(r"\1", html.unescape(str(text))))
    if not s:
        return None
    ch = s[-1]
    if "가" <= ch <= "힣":
        return _FINALS[(ord(ch) - 0xAC00) % 28].strip()
    if "ㄱ" <= ch <= "ㅎ":
        return ch
    if "ㅏ" <= ch <= "ㅣ":
        return ""
    number = _NUMBER.search(s)
    if number:
        return _number_final(number.group(0))
    word = _LATIN.search(s)
    if word:
        return _latin_final(word.group(0))
    if ch == "%":
        return ""
    return None


def pick(text, particle: str) -> str:
    """The form of ``particle`` that follows ``text`` ("은"/"는", "으로"/"로" …)."""
    form, pair, rest = _parse(particle)
    if pair is None:
        return particle
    final = final_consonant(text)
    if final is None:
        return form + rest
    if pair[0] == "으로":
        return ("로" if final in ("", "ㄹ") else "으로") + rest
    return (pair[1] if final == "" else pair[0]) + rest


def attach(text, particle: str) -> str:
    """``text`` followed by the right form of ``particle``."""
    return f"{text}{pick(text, particle)}"


def _parse(particle: str):
    """(form as written, its pair, the rest) of a particle; a fallback "은(는)" or "(으)로" is
    read as its first form."""
    p = particle.strip()
    m = re.fullmatch(r"\(([가-힣]+)\)([가-힣]+)", p)  # (으)로, (이)라
    if m:
        p = m.group(1) + m.group(2)
    p = re.sub(r"\([가-힣]+\)", "", p, count=1)  # 은(는), 이(가)
    for form, pair in _FORMS:
        if p.startswith(form):
            return form, pair, p[len(form):]
    return p, None, ""


def _significant(s: str) -> str:
    """``s`` without what is not read before a particle: trailing punctuation and brackets."""
    while s:
        if s[-1] in _SKIP:
            s = s[:-1]
            continue
        opener = _CLOSE.get(s[-1])
        if opener is None:
            return s
        start = _opening(s, opener)
        if start is None:  # an unmatched closing bracket: skip it alone
            s = s[:-1]
        elif s[:start].strip(" \t\n"):
            s = s[:start]
        else:  # the whole text is one bracketed group: read inside it
            s = s[start + 1:-1]
    return s


def _opening(s: str, opener: str) -> int | None:
    closer, depth = s[-1], 0
    for i in range(len(s) - 1, -1, -1):
        if s[i] == closer:
            depth += 1
        elif s[i] == opener:
            depth -= 1
            if depth == 0:
                return i
    return None


def _number_final(number: str) -> str:
    if "." in number:
        return _DIGIT[number[-1]]
    digits = number.replace(",", "").lstrip("0")
    if not digits:
        return _DIGIT["0"]
    zeros = len(digits) - len(digits.rstrip("0"))
    if zeros == 0:
        return _DIGIT[digits[-1]]
    return _UNIT.get(zeros, "ㅇ")  # 10^16 and more: 경


def _latin_final(word: str) -> str:
    if len(word) == 1 or word.isupper():
        return _LETTER.get(word[-1].upper(), "")
    w = word.lower()
    if w.endswith("ng"):
        return "ㅇ"
    return {"m": "ㅁ", "n": "ㄴ", "l": "ㄹ"}.get(w[-1], "")
