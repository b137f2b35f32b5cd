"""The applicant part of an online-form application: the `applicant` block's format (typed by the
profile schema's own fields, so the two never disagree) and the application as the source of the
facts the scoring rules read (`applicant.*` fields, docs/selection.md)."""
from __future__ import annotations

from functools import lru_cache


class ApplicantFacts:
    """The application itself as the source of facts (rules name `applicant.*` fields)."""

    def __init__(self, app):
        self.data, self.path, self._doc = app.data, app.path, app.document

    def line_of(self, field: str) -> int | None:
        return self._doc.line_of(field) if self._doc is not None else None


@lru_cache(maxsize=1)
def applicant_schema() -> tuple[dict, dict]:
    """The `applicant` block (what an online form carries), typed by the profile schema's own fields
    so that the two never disagree; returns (schema, $defs), shared: do not change them."""
    from pipeline.content import read_yaml
    from pipeline.profile import SCHEMA_PATH

    profile = read_yaml(SCHEMA_PATH)
    company = profile["properties"]["company"]["properties"]
    inventory = dict(profile["properties"]["readiness"]["properties"]["ghg_inventory"])
    inventory = {"type": "string", "enum": [v for v in inventory["enum"] if v is not None]}
    text = {"type": "string", "minLength": 1, "maxLength": 2000}
    texts = {"type": "array", "items": text, "maxItems": 200}
    long_text = {"type": "string", "minLength": 1, "maxLength": 10000}  # an answer in the applicant's own words
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["company_name"],
        "properties": {
            "company_name": company["name"],
            "business_number": company["business_number"],
            "city": company["city"],
            "size_class": company["size_class"],
            "industry": text,
            "products": texts,
            "employees": company["employees"],
            "revenue_krw_million": company["revenue_krw_million"],
            "ghg_inventory": inventory,
            "export_share_pct": {"type": "number", "minimum": 0, "maximum": 100},
            "export_countries": texts,
            "customers": texts,
            "contact_role": company["contact_role"],
            "answers": {"type": "object", "additionalProperties": {"anyOf": [long_text, {**texts, "items": long_text}]}},
        },
    }
    return schema, profile.get("$defs", {})
