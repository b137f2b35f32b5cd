"""Stage 4 (사업계획서 초안): write the bodies of the three Word drafts.

Reads the whole context and the Markdown+Jinja section texts in content/sections/<document>/
(ordered by each folder's structure.yaml, per program type); adds context["documents"]: for each
document its template fields, Markdown body and chart specs (data; rendering draws them). Text
from the profile is escaped for Markdown; numbers go through filters that print `[확인 필요: …]`
when a value is missing.

Filters of the section texts: `n` (number), `rng` (low–high range), `t` (text), `josa` (Korean
particle by the final consonant, pipeline/stages/korean.py):

    {{ co.name | josa('는') }}                      → (주)남강알루텍 (가상)은 / (주)진주정밀은 / 진주시는
    {{ (role or need('담당 부서·직위')) | josa('을') }}
    {% filter josa('은') %}{% for c in items %}{{ c.name }}(HS {{ c.hs_code }}){% if not loop.last %}, {% endif %}{% endfor %}{% endfilter %}

Either form of the particle may be written ('은' or '는'); never a fallback such as 은(는).
"""
from __future__ import annotations

import datetime
import html
import re

import jinja2
from markupsafe import Markup

from pipeline.store.cache import cache_dir
from pipeline.content import Content
from pipeline.errors import ContentError
from pipeline.missing import MARKER, marker, markers_in
from pipeline.stages.korean import pick

DOCUMENTS = {
    "diagnosis": "기업 진단표",
    "matching": "정부지원사업 매칭 제안서",
    "plan": "사업계획서 초안",
}
# What python-markdown reads as Markdown; a backslash before any other character (~) would print.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}#+!])")


def safe_text(value) -> str:
    """Profile text as literal Markdown: HTML-escaped, Markdown specials backslash-escaped."""
    text = html.escape(str(value), quote=False)
    text = _MD_SPECIAL.sub(r"\\\1", text).replace("|", "&#124;")
    return text.replace("\n", " ")


def _finalize(value):
    if isinstance(value, Markup):
        return value
    if value is None:
        return Markup(marker("값 없음"))
    if isinstance(value, bool):
        return "예" if value else "아니오"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return safe_text(value)


def fmt_number(value, digits: int = 0, need: str = "값") -> Markup:
    if value is None:
        return Markup(marker(safe_text(need)))
    return Markup(f"{value:,.{digits}f}")


def fmt_range(rng, digits: int = 0, need: str = "범위") -> Markup:
    if not rng or rng.get("low") is None or rng.get("high") is None:
        return Markup(marker(safe_text(need)))
    return Markup(f"{rng['low']:,.{digits}f}–{rng['high']:,.{digits}f}")


def need(text: str) -> Markup:
    return Markup(marker(safe_text(text)))


def josa(value, particle: str):
    """`value` followed by the form of `particle` its last sound takes; escaping is left as it is.

    A plain string stays plain, so `{{ x | josa('은') }}` is escaped once by finalize and the
    already-rendered body of a `{% filter josa('은') %}` block (which finalize does not see) is
    not escaped again; Markup, None (→ a marker) and numbers come back as Markup.
    """
    if isinstance(value, str) and not isinstance(value, Markup):
        return value + pick(value, particle)
    shown = _finalize(value)
    return Markup(f"{shown}{pick(shown, particle)}")


def make_environment(content: Content) -> jinja2.Environment:
    folder = cache_dir("templates")
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(content.root / "sections")),
        # Compiling ~25 section templates costs more than rendering them; the cache is keyed by
        # each template's source, so an edited section is recompiled.
        bytecode_cache=jinja2.FileSystemBytecodeCache(str(folder)) if folder else None,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(n=fmt_number, rng=fmt_range, t=lambda v: Markup(safe_text(v)) if v is not None else need("값 없음"),
                       josa=josa)
    env.globals.update(need=need)
    return env


def draft(context: dict, content: Content) -> dict:
    env = make_environment(content)
    ptype = context["strategy"]["program_type"]
    today = datetime.date.today()
    company = context["company"]["company"]
    charts = _chart_specs(context)
    documents = {}
    for key, title in DOCUMENTS.items():
        structure = content.read(f"sections/{key}/structure.yaml")
        files = structure.get(ptype) or structure["default"]
        parts = []
        for name in files:
            try:
                template = env.get_template(f"{key}/{name}")
                parts.append(template.render(**context, doc=key, today=today))
            except jinja2.TemplateNotFound:
                raise ContentError(f"{content.root / 'sections' / key / name}: 섹션 파일이 없습니다") from None
            except jinja2.UndefinedError as exc:
                raise ContentError(f"{content.root / 'sections' / key / name}: {exc.message} (컨텍스트에 없는 값)") from None
            except jinja2.TemplateError as exc:
                raise ContentError(f"{content.root / 'sections' / key / name}: 섹션 템플릿 오류: {exc}") from None
        body = "\n\n".join(parts)
        overrides = ((context["company"].get("overrides") or {}).get("sections") or {}).get(key) or {}
        documents[key] = {
            "title": title,
            "fields": {
                "company_name": company["name"],
                "doc_title": title,
                "subtitle": _subtitle(key, context),
                "prepared_by": "진주시 탄소중립지원센터 · 컨설팅 수행기관",
                "date": f"{today.year}. {today.month}. {today.day}.",
                "toc": _toc(body),
            },
            "markdown": _apply_overrides(body, overrides),
            "charts": {k: v for k, v in charts.items() if f"(image:{k})" in body},
            "missing": markers_in(body),
        }
    context["documents"] = documents
    # Markers written directly by section texts (need(...)) are listed too, once each.
    listed = {item["need"] for item in context.setdefault("missing", [])}
    for key, doc in documents.items():
        for item in doc["missing"]:
            if item not in listed and html.unescape(item.replace("\\", "")) not in listed:
                context["missing"].append({"field": f"문서: {key}", "need": html.unescape(item.replace("\\", "")), "used_for": doc["title"]})
                listed.add(html.unescape(item.replace("\\", "")))
    return context


def _toc(body: str) -> str:
    """Heading lines for the TOC field's cached result (page numbers come when Word updates it)."""
    lines = [("    " * (len(m.group(1)) - 1)) + html.unescape(m.group(2).replace("\\", ""))
             for m in re.finditer(r"^(#{1,2}) (.+?)\s*$", body, re.M)]
    return "\n".join(lines + ["(쪽 번호: Word에서 목차를 선택하고 F9로 갱신)"])


def _subtitle(key: str, context: dict) -> str:
    if key == "plan":
        return context["strategy"]["program_name"]
    return f"기준연도 {context['company']['base_year']}년"


def _apply_overrides(body: str, overrides: dict) -> str:
    """Consultant overrides: replace or append text under a heading (see docs/revisions.md)."""
    for heading, change in overrides.items():
        pattern = re.compile(rf"^(#+) {re.escape(heading)}\s*$", re.M)
        found = pattern.search(body)
        if not found:
            continue
        level = len(found.group(1))
        nxt = re.compile(rf"^#{{1,{level}}} ", re.M).search(body, found.end())
        end = nxt.start() if nxt else len(body)
        text = safe_text_block(change.get("text", ""))
        if change.get("mode") == "append":
            body = body[:end].rstrip() + "\n\n" + text + "\n\n" + body[end:]
        else:
            body = body[: found.end()] + "\n\n" + text + "\n\n" + body[end:]
    return body


def safe_text_block(text: str) -> str:
    return "\n\n".join(safe_text(p) for p in str(text).split("\n\n"))


def _chart_specs(context: dict) -> dict[str, dict]:
    """The charts the section texts can show (`![캡션](image:KEY)`), as specs for the renderer."""
    from pipeline.stages import chart_specs as charts

    d = context["diagnosis"]
    e = d["emissions"]
    labels = ["Scope 1", "Scope 2 (위치)", "Scope 2 (시장)"]
    values = [e["scope1_tco2e"], e["scope2_location_tco2e"], e["scope2_market_tco2e"]]
    if e["scope3_tco2e"]:
        labels.append("Scope 3 (스크리닝)")
        values.append(e["scope3_tco2e"])
    out = {
        "scopes": charts.bar_spec(labels, values, "Scope별 온실가스 배출량", "tCO2e"),
        "monthly": charts.monthly_spec([v / 1000 for v in d["energy"]["monthly"]["kwh"]], "월별 전력 사용량", "MWh"),
        "sources": charts.shares_spec([s["name_ko"] for s in d["energy"]["by_source"]],
                                      [s["toe"] for s in d["energy"]["by_source"]], "에너지원별 사용량", "toe"),
        "processes": charts.bar_spec([p["name"] for p in d["energy"]["by_process"]],
                                     [p["toe"] for p in d["energy"]["by_process"]], "공정별 에너지 사용량", "toe"),
    }
    # Improvement measures: low end of the saving range (the conservative figure), top 6 by rank.
    ranked = [m for m in d["measures"] if m.get("saving_tco2e")][:6]
    if ranked:
        out["measures"] = charts.bar_spec([m["name"].split(" (")[0] for m in ranked],
                                          [m["saving_tco2e"]["low"] for m in ranked],
                                          "개선 조치별 감축 잠재량 (하한)", "tCO2e/년")
    return out


__all__ = ["draft", "DOCUMENTS", "MARKER"]
