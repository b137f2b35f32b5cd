"""The pipeline's stages, in order. Each is a plain function: context dict in, enriched context out.

    diagnose  → adds "diagnosis" (inventory, energy, regulatory exposure, readiness, measures)
    match     → adds "matches" (eligibility, fit score and routing over content/programs/)
    strategy  → adds "strategy" (target program, goals, KPIs, consortium, budget, schedule)
    draft     → adds "documents" (Markdown bodies, fields and charts of the three Word drafts)
"""
from pipeline.stages.diagnose import diagnose
from pipeline.stages.draft import draft
from pipeline.stages.match import match
from pipeline.stages.strategy import strategy

STAGES = (diagnose, match, strategy, draft)
