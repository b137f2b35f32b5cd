"""Schema errors in words (pipeline/profile/schema.py): each bound keyword says the right comparison."""
from __future__ import annotations

import jsonschema
import pytest

from pipeline.profile.schema import document_problems
from pipeline.profile.yamlsafe import load_yaml


@pytest.mark.parametrize("keyword, value, expected", [
    ("minimum", 0, "5 이상이어야"),
    ("exclusiveMinimum", 5, "5보다 커야"),
    ("maximum", 9, "5 이하여야"),
    ("exclusiveMaximum", 5, "5보다 작아야"),
])
def test_bounds_are_worded_as_the_schema_compares(keyword, value, expected):
    schema = {"type": "object", "properties": {"x": {keyword: 5}}}
    document = load_yaml(f"a: 1\nx: {value}\n".encode())
    problems = document_problems(document, "t.yaml", jsonschema.Draft202012Validator(schema), what="문서",
                                 guide="docs", pattern_hint=lambda field: "")
    assert len(problems) == 1
    assert problems[0].field == "x" and problems[0].line == 2
    assert expected in problems[0].message and f"지금 값: {value}" in problems[0].message
