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

Every document ends, after a page break, with the appendix 요청 자료 목록
(content/sections/shared/requests_appendix.md): one row per distinct item of context["missing"]
the document asks for, numbered like the CLI list (the draft puts that list in the appendices'
order), with who answers it and by when (content/sections/shared/request_owners.yaml). A marker
repeated in one table is printed once there, the other cells pointing to a note under the table.
"""
from __future__ import annotations

import datetime
import html
import re

import jinja2
from markupsafe import Markup

from pipeline.store.cache import bytecode_cache
from pipeline.content import Content
from pipeline.errors import ContentError
from pipeline.missing import (MARKER, collapse_table_markers, distinct, due_of, in_request_order, marker,
                              markers_in, need_of, need_text, neutralised, owner_of, requests_by_document)
from pipeline.stages.criteria_check import criteria_rows, includes
from pipeline.stages.korean import pick

DOCUMENTS = {
    "diagnosis": "기업 진단표",
    "matching": "정부지원사업 매칭 제안서",
    "plan": "사업계획서 초안",
}
# What python-markdown reads as Markdown; a backslash before any other character (~) would print.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}#+!])")


def safe_text(value) -> str:
    """Profile text as literal Markdown: HTML-escaped, Markdown specials backslash-escaped, and a
    look-alike of our `[확인 필요` marker neutralised (it would be styled and listed as a gap)."""
    text = html.escape(neutralised(str(value)), quote=False)
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
        return Markup(marker(safe_text(need_text(need))))
    return Markup(f"{value:,.{digits}f}")


def fmt_range(rng, digits: int = 0, need: str = "범위") -> Markup:
    if not rng or rng.get("low") is None or rng.get("high") is None:
        return Markup(marker(safe_text(need_text(need))))
    low, high = f"{rng['low']:,.{digits}f}", f"{rng['high']:,.{digits}f}"
    return Markup(low if low == high else f"{low}–{high}")   # a capped grant is one number, not 300–300


def need(text: str) -> Markup:
    return Markup(marker(safe_text(need_text(text))))


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
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(content.root / "sections")),
        # Compiling ~25 section templates costs more than rendering them; the cache is keyed by
        # each template's source, so an edited section is recompiled; a damaged entry is recompiled too.
        bytecode_cache=bytecode_cache("templates"),
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
    bodies = {}
    leads: dict[str, str] = {}     # text printed after the body's page break, before the requests appendix
    sections = {}  # per document: (section id, Markdown) in order, for official forms (pipeline/forms/)
    for key in DOCUMENTS:
        structure = content.read(f"sections/{key}/structure.yaml")
        files = structure.get(ptype) or structure["default"]
        rendered = [(name, _render(env, content, f"{key}/{name}", dict(context, doc=key, today=today))) for name in files]
        sections[key] = [(section_id(name), text) for name, text in rendered]
        bodies[key] = "\n\n".join(text for _name, text in rendered)
        if key == "plan":
            check, rows = _criteria_check(env, content, context, rendered)
            # A table of criteria starts a page of its own; the one-line 'no criteria yet' note goes on
            # the requests appendix's first page instead (a page for one line would push plans past 15).
            if rows:
                bodies[key] += f"\n\n{PAGEBREAK}\n\n{check}"
            else:
                leads[key] = check
    missing = context.setdefault("missing", [])
    marked = {key: f"{body}\n\n{leads.get(key, '')}" for key, body in bodies.items()}
    _record_section_markers(missing, marked)
    rules = content.read(REQUESTS_RULES)
    listed = requests_by_document(missing, marked, rules["unmarked"])
    # The CLI list in the appendices' order: its item n is number n in every document.
    missing[:] = in_request_order(distinct(missing), listed)
    numbers = {item["need"]: n for n, item in enumerate(missing, 1)}
    by_need = {item["need"]: item for item in missing}
    due, due_note = due_of(context["strategy"].get("program") or {}, rules["deadline"], today)
    documents = {}
    for key, title in DOCUMENTS.items():
        body = collapse_table_markers(bodies[key], numbers)
        rows = [{"number": numbers[need], "need": need, "used_for": _purpose(by_need[need]["used_for"], title),
                 "owner": owner_of(by_need[need], rules["owners"]), "due": due}
                for need in sorted(listed[key], key=numbers.__getitem__)]
        lead = collapse_table_markers(leads[key], numbers) + "\n\n" if key in leads else ""
        appendix = lead + _render(env, content, REQUESTS_APPENDIX,
                           {"rows": rows, "due_note": due_note, "otherwise": rules["deadline"]["otherwise"]})
        # Consultant overrides apply under their heading, in the body or in the appendix (so text
        # appended to the last chapter stays before the page break).
        overrides = ((context["company"].get("overrides") or {}).get("sections") or {}).get(key) or {}
        markdown = f"{_apply_overrides(body, overrides).rstrip()}\n\n{PAGEBREAK}\n\n{_apply_overrides(appendix, overrides)}"
        full = f"{body.rstrip()}\n\n{PAGEBREAK}\n\n{appendix}"
        documents[key] = {
            "title": title,
            "fields": {
                "company_name": neutralised(company["name"]),
                "doc_title": title,
                "subtitle": neutralised(_subtitle(key, context)),
                "prepared_by": "진주시 탄소중립지원센터 · 컨설팅 수행기관",
                "date": f"{today.year}. {today.month}. {today.day}.",
                "toc": _toc(full),
            },
            "markdown": markdown,
            "charts": {k: v for k, v in charts.items() if f"(image:{k})" in full},
            "missing": markers_in(marked[key]),
            "requests": rows,
            # Each section file's text (markers kept in full, overrides applied) by its stable id.
            "sections": [{"id": sid, "markdown": _apply_overrides(text, overrides)} for sid, text in sections[key]],
        }
    context["documents"] = documents
    return context


def section_id(file_name: str) -> str:
    """The stable id of a section file: its name without the order number and extension
    (01_overview.md → overview, rd_00_summary.md → rd_summary)."""
    stem = file_name.rsplit(".", 1)[0]
    return re.sub(r"(^|_)\d+_", r"\1", stem, count=1)


def _render(env: jinja2.Environment, content: Content, name: str, values: dict) -> str:
    try:
        return env.get_template(name).render(**values)
    except jinja2.TemplateNotFound:
        raise ContentError(f"{content.root / 'sections' / name}: 섹션 파일이 없습니다") from None
    except jinja2.UndefinedError as exc:
        raise ContentError(f"{content.root / 'sections' / name}: {exc.message} (컨텍스트에 없는 값)") from None
    except jinja2.TemplateError as exc:
        raise ContentError(f"{content.root / 'sections' / name}: 섹션 템플릿 오류: {exc}") from None


CRITERIA_CHECK = "plan/criteria_check.md"


def _criteria_check(env: jinja2.Environment, content: Content, context: dict,
                    rendered: list[tuple[str, str]]) -> tuple[str, list[dict]]:
    """The plan's appendix 평가 기준 자체 점검, from the target program's evaluation criteria."""
    program = content.programs[context["strategy"]["program_id"]]
    criteria = program.get("evaluation_criteria") or {}
    sections = [{"stem": name.removesuffix(".md"), "text": text,
                 "includes": includes((content.root / "sections" / "plan" / name).read_text(encoding="utf-8"))}
                for name, text in rendered]
    rows = criteria_rows(criteria.get("items") or [], sections) if isinstance(criteria, dict) else []
    source = criteria.get("source") if isinstance(criteria, dict) else None
    return _render(env, content, CRITERIA_CHECK, {"rows": rows, "program": program["name"], "source": source}), rows


# ---------------------------------------------------------------- 요청 자료 목록 (the appendix)
REQUESTS_APPENDIX = "shared/requests_appendix.md"
REQUESTS_RULES = "sections/shared/request_owners.yaml"
PAGEBREAK = "<!-- pagebreak -->"
_HEADING = re.compile(r"^#{1,6} (.+?)\s*$", re.M)


def _record_section_markers(missing: list[dict], bodies: dict[str, str]) -> None:
    """Markers written directly by section texts (need(...)) are listed too, once each, as used
    for the document and heading where they first appear."""
    listed = {item["need"] for item in missing}
    for key, body in bodies.items():
        for found in MARKER.finditer(body):
            need = need_of(found.group(1))
            if need in listed:
                continue
            headings = _HEADING.findall(body, 0, found.start())
            where = f" ‘{need_of(headings[-1])}’ 작성" if headings else ""
            missing.append({"field": f"문서: {key}", "need": need, "used_for": f"{DOCUMENTS[key]}{where}"})
            listed.add(need)


def _purpose(used_for: str, title: str) -> str:
    """용도 as the appendix of document `title` prints it: without naming the document itself."""
    if used_for.startswith(f"{title} ‘"):
        return used_for[len(title) + 1:]
    return used_for


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
