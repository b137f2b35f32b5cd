"""Run the stages on one company: profile → enriched context. Computes only; writes nothing."""
from __future__ import annotations

import json

from pipeline import __version__
from pipeline.content import Content, get_content
from pipeline.errors import Problem, ProfileError
from pipeline.profile import Profile, load_profile
from pipeline.profile.plausibility import derived_problems
from pipeline.stages import STAGES
from pipeline.stages.diagnose import diagnose
from pipeline.stages.draft import draft
from pipeline.stages.strategy import strategy


def build_context(company: str, content: Content | None = None, program_id: str | None = None,
                  with_documents: bool = True) -> tuple[Profile, dict]:
    content = content or get_content()
    profile = load_profile(company, content)
    context = {
        "meta": {"company_id": profile.id, "profile_file": str(profile.path), "pipeline_version": __version__},
        "company": profile.data,
        "missing": [],
    }
    if profile.warnings:
        context["meta"]["warnings"] = list(profile.warnings)
    for stage in STAGES:
        if stage is draft and not with_documents:
            break
        if stage is strategy and program_id:
            context = strategy(context, content, program_id=program_id)
        else:
            context = stage(context, content)
        if stage is diagnose:
            impossible = derived_problems(context, content)
            if impossible:
                raise ProfileError([Problem(str(profile.path), profile.line_of("processes"), "processes", m) for m in impossible])
    return profile, context


def public_context(context: dict) -> dict:
    """The JSON contract: everything but the documents' bodies and chart specs."""
    public = {k: v for k, v in context.items() if k != "documents"}
    if "documents" in context:
        public["documents"] = {k: {"title": d["title"], "missing": d["missing"]} for k, d in context["documents"].items()}
    return public


def context_json(context: dict) -> str:
    return json.dumps(public_context(context), ensure_ascii=False, indent=2, sort_keys=False, default=str)
