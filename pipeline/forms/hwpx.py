"""한글 (.hwpx, OWPML) forms: tables by cellAddr/cellSpan, 누름틀 (CLICK_HERE fields) and named cells.

Answers go into the body sections (Contents/section*.xml). A 누름틀's value goes right after its
hp:fieldBegin control, in that run's character shape, and the guide text between begin and end
(screen-only, red italic when 한글 made it) is removed: what 한글 does when one types into it.
New paragraphs carry no hp:linesegarray (the layout cache, recomputed by 한글 when it opens the
file), and get fresh ids.
"""
from __future__ import annotations

import re
import zlib

from lxml import etree

from pipeline.errors import FormError
from pipeline.forms.areas import Cell, Dialect, Slot, between

HP = "http://www.hancom.co.kr/hwpml/2011/paragraph"
FIELD_TYPES = {"CLICK_HERE", "CLICKHERE", "CLICK-HERE"}


def hp(tag: str) -> str:
    return f"{{{HP}}}{tag}"


class HwpxDialect(Dialect):
    kind = "hwpx"
    PARAGRAPH = hp("p")
    TABLE = hp("tbl")
    TEXT = hp("t")
    CONTENT_TAGS = frozenset(hp(t) for t in (
        "tbl", "pic", "rect", "ellipse", "arc", "polygon", "curve", "connectLine", "container", "ole", "equation",
        "textart", "drawText", "ctrl", "secPr", "video", "chart", "compose", "dutmal", "btn", "radioBtn",
        "checkBtn", "comboBox", "edit", "listBox", "scrollBar", "fieldBegin", "fieldEnd"))

    def parts(self, names: list[str]) -> list[str]:
        sections = [n for n in names if re.fullmatch(r"Contents/section\d+\.xml", n)]
        return sorted(sections, key=lambda n: int(re.search(r"\d+", n).group()))

    def cells(self, table) -> list[Cell]:
        cells = []
        for tc in table.iter(hp("tc")):
            if next(tc.iterancestors(hp("tbl")), None) is not table:
                continue
            addr, span = tc.find(hp("cellAddr")), tc.find(hp("cellSpan"))
            if addr is None:
                continue
            cells.append(Cell(tc, _int(addr, "rowAddr", 0), _int(addr, "colAddr", 0),
                              _int(span, "rowSpan", 1), _int(span, "colSpan", 1)))
        return cells

    def cell_slot(self, cell) -> Slot:
        sub = cell.find(hp("subList"))
        if sub is None:
            raise FormError("표 칸에 문단 목록(hp:subList)이 없습니다. 한글에서 다시 저장한 양식을 쓰세요")
        return Slot(sub, list(sub))

    def fields(self, root, name: str, where: str):
        hits = []
        for begin in root.iter(hp("fieldBegin")):
            if (begin.get("type") or "").strip().upper() not in FIELD_TYPES or (begin.get("name") or "").strip() != name:
                continue
            hits.append(self._click_here(begin, name, where))
        for tc in root.iter(hp("tc")):
            if (tc.get("name") or "").strip() == name:
                slot = self.cell_slot(tc)
                first_p = next((n for n in slot.removed if n.tag == hp("p")), None)
                hits.append(([slot], False, first_p, self.first_run(slot.removed), [tc]))
        return hits

    def _click_here(self, begin, name: str, where: str):
        begin_ctrl = begin.getparent()
        paragraph = next(begin.iterancestors(hp("p")), None)
        end, seen = None, False
        for candidate in paragraph.iter(hp("fieldBegin"), hp("fieldEnd")) if paragraph is not None else ():
            if candidate is begin:
                seen = True
                continue
            if not seen or candidate.tag != hp("fieldEnd"):
                continue
            pairs = (candidate.get("beginIDRef") == begin.get("id") if candidate.get("beginIDRef")
                     else bool(begin.get("fieldid")) and candidate.get("fieldid") == begin.get("fieldid"))
            if pairs and next(candidate.iterancestors(hp("p"))) is paragraph:
                end = candidate
                break
        if end is None or begin_ctrl.tag != hp("ctrl") or begin_ctrl.getparent().tag != hp("run"):
            raise FormError(f"{where}: 누름틀 '{name}'의 끝(fieldEnd)을 같은 문단에서 찾을 수 없습니다. 한글에서 누름틀을 "
                            "한 문단 안에 두거나 cell/after로 지정하세요")
        end_ctrl = end.getparent()
        slots = between(begin_ctrl, end_ctrl)
        return slots, True, paragraph, begin_ctrl.getparent(), [begin_ctrl, end_ctrl]

    def first_run(self, nodes: list):
        runs = [r for node in nodes for r in ([node] if node.tag == hp("run") else node.iter(hp("run")))]
        return next((r for r in runs if r.find(hp("t")) is not None), runs[0] if runs else None)

    def runs(self, template_r, lines: list[str]) -> list:
        """One hp:t for the begin control's run: the lines with hp:lineBreak between them."""
        t = etree.Element(hp("t"))
        t.text = lines[0] if lines else ""
        for line in lines[1:]:
            br = etree.SubElement(t, hp("lineBreak"))
            br.tail = line
        return [t]

    def paragraph(self, template_p, template_r, text: str, first: bool):
        attrs = dict(template_p.attrib) if template_p is not None else {}
        for key, default in (("paraPrIDRef", "0"), ("styleIDRef", "0"), ("pageBreak", "0"), ("columnBreak", "0"),
                             ("merged", "0")):
            attrs.setdefault(key, default)
        if not first:
            attrs["pageBreak"] = attrs["columnBreak"] = "0"
        seed = f"{attrs.get('id', '')}|{text}|{first}"
        attrs["id"] = attrs["id"] if first and "id" in attrs else str(zlib.crc32(seed.encode("utf-8")) & 0x7FFFFFFF)
        paragraph = etree.Element(hp("p"), attrs)
        run = etree.SubElement(paragraph, hp("run"),
                               {"charPrIDRef": (template_r.get("charPrIDRef") if template_r is not None else None) or "0"})
        etree.SubElement(run, hp("t")).text = text
        return paragraph


def _int(element, name: str, default: int) -> int:
    if element is None:
        return default
    try:
        return int(element.get(name))
    except (TypeError, ValueError):
        return default
