"""Rendering layer: Word templates (docxtpl), Markdown bodies, charts and PDF export.

Import-light on purpose: this module only holds names and paths shared by the template builder
(tools/make_templates.py) and the renderers. docxtpl, python-docx, matplotlib and pypdf are
imported inside the submodules (``pipeline.render.docx``, ``.markdown_docx``, ``.charts``,
``.pdf``), never at ``import pipeline``.
"""
from __future__ import annotations

from pathlib import Path

# The ONE place the document font is named: used for ascii/hAnsi/eastAsia/cs in every style of
# the templates. Malgun Gothic (맑은 고딕) ships with every Windows since Vista (and with Office for
# Mac), so Word shows the drafts in the font they were laid out for. Its Korean name is written as
# the font table's altName, with Malgun Gothic's panose/charset/family, so Word and Hancom Office
# find it under either name.
FONT_NAME = "Malgun Gothic"
FONT_ALT_NAME = "맑은 고딕"
# LibreOffice (PDF export, page counts) has no Malgun Gothic on Linux: pipeline/render/pdf.py maps
# both names to this font (fonts-nanum) with a throw-away fontconfig file, and the templates fix
# every line's height (lineRule "exact"), so the two fonts' different line heights do not change
# the page count. Charts use the NanumGothic TTF shipped inside the koreanize_matplotlib package.
FONT_FALLBACK = "NanumGothic"
# Document language written into docDefaults, settings.xml (themeFontLang) and core properties.
LANGUAGE = "ko-KR"

# Who a draft is for and which revision it is: written as custom document properties
# (docProps/custom.xml, which Word and LibreOffice keep when a reviewer saves), so that a returned
# draft can be checked against the company and revision it is imported for (review/returned.py).
IDENTITY_PROPERTIES = {"company_id": "CarbonPlanCompany", "revision": "CarbonPlanRevision",
                       "draft_id": "CarbonPlanDraftId", "document": "CarbonPlanDocument"}

# Style names (UI names) defined in every template and used by the Markdown converter.
MARKER_STYLE = "확인필요"          # character style of the "[확인 필요: …]" marker
TABLE_STYLE = "탄소 표"            # table style (grid, header-row look)
TABLE_TEXT_STYLE = "표 본문"        # paragraph style inside table cells
TABLE_HEADER_FILL = "DCE6F0"      # header-row shading (also applied per cell for LibreOffice)
SUMMARY_TITLE_STYLE = "요약 제목"   # title of the one-page summary before the TOC (not a heading)

# A section text may open with a one-page summary placed between the cover and the table of
# contents (pipeline/render/docx.py cuts it out of the body; Markdown between the two lines):
#     <!-- summary: 진단 요약 -->
#     …
#     <!-- /summary -->
SUMMARY_OPEN = "<!-- summary:"
SUMMARY_CLOSE = "<!-- /summary -->"

# Template directory and the four templates: key → (file name, document title).
TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates" / "docx"
TEMPLATES: dict[str, tuple[str, str]] = {
    "diagnosis": ("diagnosis.docx", "기업 진단표"),
    "matching": ("matching.docx", "정부지원사업 매칭 제안서"),
    "plan": ("plan.docx", "사업계획서 초안"),
    "evaluation": ("evaluation.docx", "평가표"),
}


def template_path(key: str) -> Path:
    """Path of the template for a document key ('diagnosis', 'matching', 'plan', 'evaluation')."""
    try:
        name, _title = TEMPLATES[key]
    except KeyError:
        from pipeline.errors import RenderError

        raise RenderError(f"알 수 없는 템플릿 '{key}' (가능: {', '.join(TEMPLATES)})") from None
    return TEMPLATES_DIR / name


__all__ = [
    "FONT_NAME",
    "FONT_ALT_NAME",
    "FONT_FALLBACK",
    "LANGUAGE",
    "MARKER_STYLE",
    "TABLE_STYLE",
    "TABLE_TEXT_STYLE",
    "TABLE_HEADER_FILL",
    "SUMMARY_TITLE_STYLE",
    "SUMMARY_OPEN",
    "SUMMARY_CLOSE",
    "TEMPLATES_DIR",
    "TEMPLATES",
    "template_path",
]
