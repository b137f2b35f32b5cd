"""Compare two revisions: a redline .docx with native tracked changes, and a printed summary.

The redline comes from python-redlines (Docxodus engine, pinned in pyproject.toml). If its binary
cannot run here, a simpler redline is built with python-docx: every paragraph or table that
changed appears once deleted (w:del) and once inserted (w:ins), so Word's Review pane still
walks through each change. The caller is told which engine was used.

The summary lists, per plan section (Heading 1 text), how many paragraphs were added, removed or
changed, and which numbers of the context changed (emissions, energy total, KPI targets, the top
five matches, the chosen program).
"""
from __future__ import annotations

import copy
import datetime
import difflib
import io
import json
from dataclasses import dataclass, field

from pipeline.errors import RevisionError

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
HEADING_STYLE = "Heading 1"


@dataclass
class Redline:
    data: bytes
    engine: str                  # "python-redlines 2.0.0 (Docxodus)" or "python-docx (fallback)"
    fallback_reason: str | None = None


@dataclass
class DiffSummary:
    sections: list[dict] = field(default_factory=list)   # {heading, status, added, removed, changed}
    numbers: list[dict] = field(default_factory=list)    # {path, old, new}


# ---------------------------------------------------------------- redline

def make_redline(original: bytes, modified: bytes, author: str, engine: str = "auto") -> Redline:
    """Tracked-changes document from `original` to `modified` (both .docx bytes)."""
    reason = None
    if engine in ("auto", "redlines"):
        try:
            from python_redlines import DocxodusEngine, __version__

            data, _stdout, _stderr = DocxodusEngine().run_redline(author, original, modified)
            if not data:
                raise RuntimeError("엔진이 빈 파일을 돌려주었습니다")
            return Redline(data, f"python-redlines {__version__} (Docxodus)")
        except Exception as exc:  # the engine is an external binary: any failure means fallback
            if engine == "redlines":
                raise RevisionError(f"python-redlines로 비교하지 못했습니다: {_short(exc)}") from None
            reason = f"python-redlines를 쓸 수 없어 python-docx로 만든 간이 변경 추적 문서입니다 ({_short(exc)})"
    else:
        reason = "python-docx로 만든 간이 변경 추적 문서 (--engine docx)"
    return Redline(docx_redline(original, modified, author), "python-docx (fallback)", reason)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200] if text else ''}"


def docx_redline(original: bytes, modified: bytes, author: str, when: str | None = None) -> bytes:
    """Fallback redline: the modified document, with removed blocks re-inserted as deletions."""
    import docx
    from docx.oxml.ns import qn

    old_doc = docx.Document(io.BytesIO(original))
    new_doc = docx.Document(io.BytesIO(modified))
    when = when or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    counter = iter(range(10_000, 10_000_000))
    old_blocks = _blocks(old_doc)
    new_blocks = _blocks(new_doc)
    matcher = difflib.SequenceMatcher(a=[t for _e, t in old_blocks], b=[t for _e, t in new_blocks], autojunk=False)
    body = new_doc.element.body
    for tag, i1, i2, j1, j2 in reversed(matcher.get_opcodes()):
        if tag == "equal":
            continue
        for _element, _text in new_blocks[j1:j2]:
            _mark(_element, "ins", author, when, counter)
        if i1 == i2:
            continue
        anchor = new_blocks[j1][0] if j1 < len(new_blocks) else None
        for element, _text in old_blocks[i1:i2]:
            clone = copy.deepcopy(element)
            for drawing in list(clone.iter(qn("w:drawing"))) + list(clone.iter(qn("w:pict"))):
                drawing.getparent().remove(drawing)  # images belong to the old package's relationships
            _mark(clone, "del", author, when, counter)
            if anchor is not None:
                anchor.addprevious(clone)
            else:
                sect = body.find(qn("w:sectPr"))
                if sect is not None:
                    sect.addprevious(clone)
                else:
                    body.append(clone)
    out = io.BytesIO()
    new_doc.save(out)
    return out.getvalue()


def _blocks(document) -> list[tuple]:
    from docx.oxml.ns import qn

    out = []
    for child in document.element.body.iterchildren():
        if child.tag in (qn("w:p"), qn("w:tbl")):
            out.append((child, "".join(t.text or "" for t in child.iter(qn("w:t")))
                        + ("[그림]" if any(True for _ in child.iter(qn("w:drawing"))) else "")))
    return out


def _mark(element, kind: str, author: str, when: str, counter) -> None:
    """Wrap every run of `element` in w:ins/w:del and mark each paragraph mark the same way."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    def change():
        node = OxmlElement(f"w:{kind}")
        node.set(qn("w:id"), str(next(counter)))
        node.set(qn("w:author"), author)
        node.set(qn("w:date"), when)
        return node

    paragraphs = [element] if element.tag == qn("w:p") else list(element.iter(qn("w:p")))
    for paragraph in paragraphs:
        for run in list(paragraph.iter(qn("w:r"))):
            parent = run.getparent()
            if parent.tag in (qn("w:ins"), qn("w:del")):
                continue
            wrapper = change()
            run.addprevious(wrapper)
            wrapper.append(run)
            if kind == "del":
                for text in run.findall(qn("w:t")):
                    text.tag = qn("w:delText")
        ppr = paragraph.find(qn("w:pPr"))
        if ppr is None:
            ppr = OxmlElement("w:pPr")
            paragraph.insert(0, ppr)
        rpr = ppr.find(qn("w:rPr"))
        if rpr is None:
            rpr = OxmlElement("w:rPr")
            ppr.append(rpr)  # w:rPr is near the end of w:pPr; before sectPr/pPrChange if present
            for later in (qn("w:sectPr"), qn("w:pPrChange")):
                found = ppr.find(later)
                if found is not None:
                    found.addprevious(rpr)
                    break
        rpr.insert(0, change())


# ---------------------------------------------------------------- summary

def plan_sections(data: bytes) -> list[tuple[str, list[str]]]:
    """(Heading 1 text, block texts) in document order; text before the first heading is '(머리말)'."""
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    document = docx.Document(io.BytesIO(data))
    sections: list[tuple[str, list[str]]] = [("(머리말)", [])]
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            text = _paragraph_text(block)
            if block.style is not None and block.style.name == HEADING_STYLE and text.strip():
                sections.append((text.strip(), []))
                continue
            if text.strip():
                sections[-1][1].append(text.strip())
        elif isinstance(block, Table):
            for row in block.rows:
                cells = []
                for cell in row.cells:
                    cells.append(" ".join(_paragraph_text(p).strip() for p in cell.paragraphs).strip())
                text = " | ".join(dict.fromkeys(cells))  # merged cells repeat
                if text.strip(" |"):
                    sections[-1][1].append(text)
    return [s for s in sections if s[0] != "(머리말)" or s[1]]


def _paragraph_text(paragraph) -> str:
    from docx.oxml.ns import qn

    return "".join(t.text or "" for t in paragraph._p.iter(qn("w:t")))


def section_changes(old: bytes, new: bytes) -> list[dict]:
    old_sections = _unique(plan_sections(old))
    new_sections = _unique(plan_sections(new))
    out = []
    for heading in dict.fromkeys(list(old_sections) + list(new_sections)):
        a, b = old_sections.get(heading), new_sections.get(heading)
        if a is None:
            out.append({"heading": heading, "status": "added", "added": len(b), "removed": 0, "changed": 0})
            continue
        if b is None:
            out.append({"heading": heading, "status": "removed", "added": 0, "removed": len(a), "changed": 0})
            continue
        added = removed = changed = 0
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
            if tag == "insert":
                added += j2 - j1
            elif tag == "delete":
                removed += i2 - i1
            elif tag == "replace":
                pairs = min(i2 - i1, j2 - j1)
                changed += pairs
                added += (j2 - j1) - pairs
                removed += (i2 - i1) - pairs
        if added or removed or changed:
            out.append({"heading": heading, "status": "changed", "added": added, "removed": removed, "changed": changed})
    return out


def _unique(sections: list[tuple[str, list[str]]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for heading, blocks in sections:
        key, n = heading, 2
        while key in out:
            key, n = f"{heading} ({n})", n + 1
        out[key] = blocks
    return out


def context_numbers(context: dict) -> dict[str, object]:
    """The numbers a reviewer cares about, flattened to 'path': value."""
    out: dict[str, object] = {}
    diagnosis = context.get("diagnosis") or {}

    def flat(prefix: str, value) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key in ("trace", "source", "note") or key.endswith("_source"):
                    continue
                flat(f"{prefix}.{key}", item)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                label = item.get("fuel") or item.get("id") or item.get("name_ko") if isinstance(item, dict) else None
                flat(f"{prefix}[{label or index}]", item)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[prefix] = value

    flat("diagnosis.emissions", diagnosis.get("emissions") or {})
    out["diagnosis.energy.total_toe"] = (diagnosis.get("energy") or {}).get("total_toe")
    strategy = context.get("strategy") or {}
    out["strategy.program_id"] = strategy.get("program_id")
    for kpi in strategy.get("kpis") or []:
        out[f"strategy.kpis[{kpi.get('id')}].target"] = kpi.get("target")
        out[f"strategy.kpis[{kpi.get('id')}].baseline"] = kpi.get("baseline")
    for index, match in enumerate((context.get("matches") or [])[:5], start=1):
        out[f"matches[{index}].program_id"] = match.get("program_id")
        out[f"matches[{index}].score"] = match.get("score")
    return out


def number_changes(old: dict, new: dict) -> list[dict]:
    a, b = context_numbers(old), context_numbers(new)
    out = []
    for path in dict.fromkeys(list(a) + list(b)):
        x, y = a.get(path), b.get(path)
        if _same(x, y):
            continue
        out.append({"path": path, "old": x, "new": y})
    return out


def _same(x, y) -> bool:
    if isinstance(x, (int, float)) and isinstance(y, (int, float)):
        return abs(x - y) <= 1e-9 * max(1.0, abs(x), abs(y))
    return x == y


def summarize(old_plan: bytes, new_plan: bytes, old_context: dict, new_context: dict) -> DiffSummary:
    return DiffSummary(section_changes(old_plan, new_plan), number_changes(old_context, new_context))


def load_context(path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RevisionError(f"{path}: 컨텍스트를 읽을 수 없습니다 ({exc})") from None
