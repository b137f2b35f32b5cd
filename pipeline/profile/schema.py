"""Checking a parsed YAML document against a JSON Schema, in the user's words.

Shared by company profiles (pipeline/profile/__init__.py) and selection applications
(pipeline/selection/): duplicate keys, a document that is not a mapping, and every schema error
become Problems with file, line, field path and a Korean message saying what is expected.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Callable

from pipeline.errors import Problem
from pipeline.profile.yamlsafe import YamlDocument, join_path

TYPE_NAMES = {
    "string": "문자열",
    "integer": "정수",
    "number": "숫자",
    "boolean": "true 또는 false",
    "object": "하위 항목(키: 값) 묶음",
    "array": "목록(- 항목)",
    "null": "빈 값",
}
# How each numeric bound reads after the number ("5 이상이어야 합니다").
BOUNDS = {"minimum": " 이상이어야", "exclusiveMinimum": "보다 커야", "maximum": " 이하여야", "exclusiveMaximum": "보다 작아야"}

Note = Callable[[str, str], str]  # (validator kind, field path) → text added to the message


def show(value) -> str:
    text = repr(value) if not isinstance(value, str) else f"'{value}'"
    return text if len(text) <= 60 else text[:57] + "…"


# A number as people write it but YAML does not read: 21,800 / 21_800 / 16:00 / 3,200 t.
_WRITTEN_NUMBER = re.compile(r"^[-+]?[0-9][0-9,_:. ]*[0-9]\s*[A-Za-z%가-힣/]*$")


def _number(value) -> str:
    """A bound or a figure in plain digits: 100000000, 0.5 (`:g` would print 1e+08); 1e+308 stays short."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return show(value)
    if abs(value) < 1e15 and float(value).is_integer():
        return str(int(value))
    return f"{value:.12g}"


def field_path(parts) -> str:
    path = ""
    for part in parts:
        path = join_path(path, part)
    return path


def document_problems(document: YamlDocument, filename: str, validator, *, what: str, guide: str,
                      pattern_hint: Callable[[str], str], note: Note = lambda kind, field: "") -> list[Problem]:
    """Every structural problem of `document`; an empty list means the schema is satisfied.

    `what` names the document ("프로필"), `guide` the doc that describes it; `pattern_hint` says
    in words what a field's pattern wants, `note` adds context to a message where it helps."""
    def problem(field: str, message: str) -> Problem:
        return Problem(filename, document.line_of(field), field, message)

    problems = [problem(field, f"키가 두 번 나옵니다 ({line}행). 하나만 남겨 주세요") for field, line in document.duplicates]
    if not isinstance(document.data, dict):
        return problems + [problem("", f"{what}은(는) '키: 값' 형식의 YAML 문서여야 합니다 ({guide} 참고)")]
    reported: set = set()  # (field, missing key): jsonschema gives one 'required' error per missing key
    for error in sorted(validator.iter_errors(document.data), key=lambda e: [str(p) for p in e.absolute_path]):
        field = field_path(error.absolute_path)
        where, message = _message(error, field, reported, pattern_hint)
        problems.append(problem(where, message + note(error.validator, field)))
    flagged = {p.field for p in problems}
    problems.extend(problem(field, "글자가 없습니다 (공백·보이지 않는 문자만 있음): 내용을 적거나 항목을 빼 주세요")
                    for field in blank_texts(document.data) if field not in flagged)
    return problems


# Characters that print nothing: spaces of every kind, format characters (U+200B, U+2060, U+FEFF …),
# controls, lone combining marks, and the Hangul fillers (letters by category, but blank on the page).
_HANGUL_FILLERS = {"\u115f", "\u1160", "\u3164", "\uffa0"}


def is_blank(text: str) -> bool:
    return all(ch.isspace() or ch in _HANGUL_FILLERS or unicodedata.category(ch) in ("Cf", "Cc", "Zs", "Zl", "Zp", "Mn")
               for ch in text)


def blank_texts(data, path: str = ""):
    """Field paths of every text value with nothing visible in it ("   ", "\u3000", "\u200b"):
    whatever field holds text, a value that prints as nothing is a slip, never content."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from blank_texts(value, join_path(path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from blank_texts(value, join_path(path, index))
    elif isinstance(data, str) and is_blank(data):
        yield path


def _message(error, field: str, reported: set, pattern_hint) -> tuple[str, str]:
    kind, expected, found = error.validator, error.validator_value, error.instance
    if kind == "required":
        missing = [n for n in expected if isinstance(found, dict) and n not in found and (field, n) not in reported]
        name = missing[0] if missing else "?"
        reported.add((field, name))
        return field, f"필수 항목 '{join_path(field, name)}'이(가) 없습니다"
    if kind == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(str(k) for k in found if k not in allowed) if isinstance(found, dict) else []
        first = join_path(field, extra[0]) if extra else field
        hint = f" 쓸 수 있는 키: {', '.join(allowed)}" if allowed else ""
        return first, f"알 수 없는 키 '{', '.join(extra)}' (오타인지 확인해 주세요).{hint}"
    if kind == "type":
        types = expected if isinstance(expected, list) else [expected]
        hint = ""
        if isinstance(found, str) and {"number", "integer"} & set(types) and _WRITTEN_NUMBER.match(found.strip()):
            hint = ". 숫자만 적어 주세요 (쉼표·밑줄·콜론·단위 없이; 16:00 같은 시각은 숫자가 아닙니다)"
        return field, f"{' 또는 '.join(TYPE_NAMES.get(t, t) for t in types)}이어야 합니다 (지금 값: {show(found)}){hint}"
    if kind == "enum":
        options = ", ".join(str(o) for o in expected if o is not None)
        return field, f"다음 중 하나여야 합니다: {options} (지금 값: {show(found)})"
    if kind == "pattern":
        return field, f"형식이 맞지 않습니다: {pattern_hint(field)} (지금 값: {show(found)})"
    if kind in BOUNDS:
        return field, f"{_number(expected)}{BOUNDS[kind]} 합니다 (지금 값: {_number(found)})"
    if kind in ("minItems", "maxItems"):
        return field, f"항목이 {expected}개 {'이상 있어야' if kind == 'minItems' else '이하여야'} 합니다 (지금 {len(found)}개)"
    if kind == "minLength":
        return field, "비어 있으면 안 됩니다"
    if kind == "maxLength":
        return field, f"{expected}자 이하여야 합니다 (지금 {len(found)}자)"
    return field, f"값이 올바르지 않습니다: {error.message}"
