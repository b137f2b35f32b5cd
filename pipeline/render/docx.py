"""Render a Word template (docxtpl) with fields and a Markdown body.

    render_docx(template_path, fields, body_markdown, images, out_path) -> out_path

* Jinja runs with ``StrictUndefined`` and ``autoescape=True``: a missing field is a RenderError
  naming the template and the variable; ``&``/``<``/``>`` in field values stay verbatim.
* ``{{p body }}`` receives the Markdown body converted by ``markdown_to_subdoc`` (template styles).
* ``{{p lead }}`` (templates with a cover) receives the one-page summary: the Markdown between
  ``<!-- summary: TITLE -->`` and ``<!-- /summary -->`` (SUMMARY_OPEN/SUMMARY_CLOSE) is cut out of
  the body and placed before the table of contents under TITLE (SUMMARY_TITLE_STYLE, not a
  heading), followed by a page break; without the markers it is empty and leaves no trace.
* The template styles fix every line's height (tools/make_templates.py), which would cut a
  picture down to one line: paragraphs that hold a picture get single (auto) spacing.
* A paragraph right after a table (other than a heading, which has its own space) gets
  TABLE_GAP_PT before it, so text does not touch the table's bottom rule.
* ``doc_title`` defaults to the template's own title (core property set by make_templates.py).
* The file is written to a temporary file in the target folder and moved into place with
  ``os.replace``, so a reader never sees a half-written document.
"""
from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

from pipeline.store.atomic import write_atomic
from pipeline.errors import RenderError
from pipeline.render import LANGUAGE, SUMMARY_CLOSE, SUMMARY_OPEN, SUMMARY_TITLE_STYLE

TABLE_GAP_PT = 6
_UNDEFINED = re.compile(r"'([^']+)' is undefined|has no attribute '([^']+)'")
_SUMMARY = re.compile(
    rf"^[ \t]*{re.escape(SUMMARY_OPEN)}(?P<title>[^\n]*?)-->[ \t]*\n(?P<body>.*?)^[ \t]*{re.escape(SUMMARY_CLOSE)}[ \t]*$",
    re.M | re.S,
)


def _jinja_env():
    import jinja2

    return jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=True)


def _load_template(template_path: Path):
    from docxtpl import DocxTemplate

    template_path = Path(template_path)
    if not template_path.is_file():
        raise RenderError(f"{template_path}: 템플릿 파일이 없습니다")
    try:
        tpl = DocxTemplate(str(template_path))
        tpl.init_docx()
    except Exception as exc:  # not a zip / not a Word file
        raise RenderError(f"{template_path.name}: Word 템플릿을 열 수 없습니다 ({exc})") from exc
    return tpl


def split_summary(body_markdown: str) -> tuple[str, str, str]:
    """(title, summary Markdown, rest of the body) of a body that holds a summary block, else
    ("", "", body_markdown)."""
    import html

    m = _SUMMARY.search(body_markdown or "")
    if m is None:
        return "", "", body_markdown
    title = html.unescape(m.group("title").strip())
    rest = body_markdown[:m.start()] + body_markdown[m.end():]
    return title, m.group("body"), rest.strip("\n") + "\n"


def _has_lead_slot(tpl) -> bool:
    from docx.oxml.ns import qn

    return "{{p lead }}" in "".join(t.text or "" for t in tpl.docx.element.body.iter(qn("w:t")))


def _single_spaced_pictures(sub) -> None:
    """Picture paragraphs: single (auto) spacing, so the styles' fixed line height does not clip."""
    from docx.oxml.ns import qn

    for p in sub.subdocx.element.body.iter(qn("w:p")):
        if p.find(".//" + qn("w:drawing")) is None:
            continue
        spacing = p.get_or_add_pPr().get_or_add_spacing()
        spacing.set(qn("w:line"), "240")
        spacing.set(qn("w:lineRule"), "auto")


def _space_after_tables(sub) -> None:
    """Space before the paragraph that follows a table (headings keep their own)."""
    from docx.oxml.ns import qn

    for table in sub.subdocx.element.body.iterchildren(qn("w:tbl")):
        after = table.getnext()
        if after is None or after.tag != qn("w:p"):
            continue
        style = after.find(f"{qn('w:pPr')}/{qn('w:pStyle')}")
        if style is not None and style.get(qn("w:val"), "").startswith("Heading"):
            continue
        spacing = after.get_or_add_pPr().get_or_add_spacing()
        if int(spacing.get(qn("w:before")) or 0) < TABLE_GAP_PT * 20:
            spacing.set(qn("w:before"), str(TABLE_GAP_PT * 20))


def _finish(sub):
    _single_spaced_pictures(sub)
    _space_after_tables(sub)
    return sub


def _summary_subdoc(tpl, title: str, markdown: str, images: dict[str, bytes]):
    """The summary block for ``{{p lead }}``: title paragraph, converted Markdown, page break."""
    from pipeline.render.markdown_docx import PAGEBREAK_TOKEN, BodySubdoc, markdown_to_subdoc

    if not title and not markdown.strip():
        return BodySubdoc(tpl)
    sub = markdown_to_subdoc(tpl, f"{markdown.rstrip()}\n\n{PAGEBREAK_TOKEN}\n", images)
    if title:
        heading = sub.add_paragraph(title, style=SUMMARY_TITLE_STYLE)
        body = sub.subdocx.element.body
        body.remove(heading._p)
        body.insert(0, heading._p)
    return _finish(sub)


def template_fields(template_path: Path) -> set[str]:
    """Names of the variables a template needs (``body`` included)."""
    tpl = _load_template(template_path)
    return set(tpl.get_undeclared_template_variables(_jinja_env()))


def _missing_variables(template_path: Path, ctx: dict) -> list[str]:
    try:
        tpl = _load_template(template_path)
        return sorted(tpl.get_undeclared_template_variables(_jinja_env(), context=ctx))
    except Exception:  # only used to enrich an error message
        return []


def render_docx_bytes(
    template_path: Path,
    fields: dict[str, Any],
    body_markdown: str,
    images: dict[str, bytes] | None = None,
    identity: dict | None = None,
) -> bytes:
    """Render and return the .docx as bytes (see render_docx); `identity` (company id, revision,
    draft id, document) is written as custom properties (with_identity)."""
    import jinja2

    from pipeline.render.markdown_docx import markdown_to_subdoc

    template_path = Path(template_path)
    name = template_path.name
    tpl = _load_template(template_path)
    if "body" in fields:
        raise RenderError(f"{name}: 'body'는 예약된 변수입니다 (본문은 body_markdown으로 넘기세요)")
    empty = sorted(k for k, v in fields.items() if v is None)
    if empty:  # would print "None" in the document
        raise RenderError(f"{name}: 변수 {', '.join(repr(k) for k in empty)}의 값이 없습니다 (None)")
    from docxtpl import Listing

    # Multi-line text fields (the table of contents) keep their line breaks.
    ctx: dict[str, Any] = {k: Listing(v) if isinstance(v, str) and "\n" in v else v for k, v in fields.items()}
    ctx.setdefault("doc_title", tpl.docx.core_properties.title or "")
    if "lead" in fields:
        raise RenderError(f"{name}: 'lead'는 예약된 변수입니다 (요약은 본문의 {SUMMARY_OPEN} … {SUMMARY_CLOSE}로 넘기세요)")
    title, summary, rest = split_summary(body_markdown)
    if _has_lead_slot(tpl):
        body_markdown = rest
    elif summary:  # a template without a summary page: the summary stays at the top of the body
        title, summary, body_markdown = "", "", f"{summary.rstrip()}\n\n{rest}"
    ctx["lead"] = _summary_subdoc(tpl, title, summary, images or {})
    ctx["body"] = _finish(markdown_to_subdoc(tpl, body_markdown, images or {}))

    try:
        tpl.render(ctx, _jinja_env(), autoescape=True)
    except jinja2.UndefinedError as exc:
        m = _UNDEFINED.search(str(exc))
        var = (m.group(1) or m.group(2)) if m else str(exc)
        missing = [v for v in _missing_variables(template_path, ctx) if v != var]
        more = f"; 그 밖에 없는 변수: {', '.join(missing)}" if missing else ""
        raise RenderError(
            f"{name}: 변수 '{var}'가 컨텍스트에 없습니다 (프로필 또는 단계 출력에 값을 넣으세요{more})"
        ) from exc
    except jinja2.TemplateError as exc:
        where = getattr(exc, "docx_context", None)
        detail = f" — 위치: {' … '.join(where)}" if where else ""
        raise RenderError(f"{name}: 템플릿 오류: {exc}{detail}") from exc

    doc = tpl.docx
    cp = doc.core_properties
    cp.title = str(ctx.get("doc_title") or cp.title or "")
    if ctx.get("company_name"):
        cp.subject = str(ctx["company_name"])
    cp.language = LANGUAGE
    cp.modified = dt.datetime.now(dt.timezone.utc).replace(microsecond=0, tzinfo=None)
    buf = io.BytesIO()
    doc.save(buf)
    return with_identity(buf.getvalue(), identity) if identity else buf.getvalue()


_CUSTOM_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties"
_CUSTOM_TYPE = "application/vnd.openxmlformats-officedocument.custom-properties+xml"


def with_identity(data: bytes, identity: dict) -> bytes:
    """The .docx `data` with docProps/custom.xml holding `identity` (IDENTITY_PROPERTIES names),
    plus its relationship and content type: what a returned draft is checked against."""
    import zipfile
    from xml.sax.saxutils import escape, quoteattr

    from pipeline.render import IDENTITY_PROPERTIES

    props = "".join(
        f'<property fmtid="{{D5CDD505-2E9C-101B-9397-08002B2CF9AE}}" pid="{pid}" name={quoteattr(IDENTITY_PROPERTIES[key])}>'
        f"<vt:lpwstr>{escape(str(identity[key]))}</vt:lpwstr></property>"
        for pid, key in enumerate((k for k in IDENTITY_PROPERTIES if identity.get(k) is not None), 2))
    custom = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
              '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" '
              f'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">{props}</Properties>')
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename == "docProps/custom.xml":
                continue
            member = source.read(info.filename)
            if info.filename == "[Content_Types].xml" and b"/docProps/custom.xml" not in member:
                member = member.replace(b"</Types>", f'<Override PartName="/docProps/custom.xml" ContentType="{_CUSTOM_TYPE}"/></Types>'.encode())
            elif info.filename == "_rels/.rels" and _CUSTOM_REL.encode() not in member:
                member = member.replace(b"</Relationships>", f'<Relationship Id="rIdCarbonPlan" Type="{_CUSTOM_REL}" Target="docProps/custom.xml"/></Relationships>'.encode())
            target.writestr(info, member)
        target.writestr("docProps/custom.xml", custom)
    return out.getvalue()


def render_docx(
    template_path: Path,
    fields: dict[str, Any],
    body_markdown: str,
    images: dict[str, bytes] | None,
    out_path: Path,
) -> Path:
    """Render ``template_path`` with ``fields`` + the Markdown body into ``out_path``; return it."""
    data = render_docx_bytes(template_path, fields, body_markdown, images)
    return write_atomic(Path(out_path), data)
