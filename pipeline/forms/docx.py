"""Word (.docx) forms: tables by grid position, content controls and legacy text form fields.

Answers go into word/document.xml only (forms keep their answer areas in the body). A content
control whose placeholder is showing (w:showingPlcHdr) loses that flag when filled, or Word would
treat the answer as the placeholder, and the answer does not take the placeholder's gray look; a
control bound to custom XML (w:dataBinding) is refused, since Word would put the bound value back
when the file opens.
"""
from __future__ import annotations

import copy

from lxml import etree

from pipeline.errors import FormError
from pipeline.forms.areas import Cell, Dialect, Slot, between

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"


def w(tag: str) -> str:
    return f"{{{W}}}{tag}"


class DocxDialect(Dialect):
    kind = "docx"
    PARAGRAPH = w("p")
    TABLE = w("tbl")
    TEXT = w("t")
    CONTENT_TAGS = frozenset(w(t) for t in ("drawing", "pict", "object", "tbl", "txbxContent", "sdt", "fldChar",
                                            "fldSimple", "sym", "sectPr", "footnoteReference", "endnoteReference"))

    def parts(self, names: list[str]) -> list[str]:
        return ["word/document.xml"]

    def cells(self, table) -> list[Cell]:
        rows = [tr for tr in table if tr.tag == w("tr")]
        grid: list[list] = []      # per row: (col, span, tc, continues)
        for tr in rows:
            col = _val_int(tr.find(f"{w('trPr')}/{w('gridBefore')}"), 0)
            entries = []
            for tc in tr:
                if tc.tag != w("tc"):
                    continue
                props = tc.find(w("tcPr"))
                span = _val_int(props.find(w("gridSpan")) if props is not None else None, 1)
                merge = props.find(w("vMerge")) if props is not None else None
                continues = merge is not None and merge.get(w("val"), "continue") == "continue"
                entries.append((col, span, tc, continues))
                col += span
            grid.append(entries)
        cells = []
        for r, entries in enumerate(grid):
            for col, span, tc, continues in entries:
                if continues:
                    continue
                rowspan = 1
                while r + rowspan < len(grid) and any(c == col and cont for c, _, _, cont in grid[r + rowspan]):
                    rowspan += 1
                cells.append(Cell(tc, r, col, rowspan, span))
        return cells

    def cell_slot(self, cell) -> Slot:
        props = cell.find(w("tcPr"))
        return Slot(cell, [child for child in cell if child is not props], after=props)

    def fields(self, root, name: str, where: str):
        hits = []
        for sdt in root.iter(w("sdt")):
            props = sdt.find(w("sdtPr"))
            if props is None:
                continue
            names = {el.get(w("val")) for el in (props.find(w("tag")), props.find(w("alias"))) if el is not None}
            if name not in names:
                continue
            hits.append(self._content_control(sdt, props, name, where))
        for begin in root.iter(w("fldChar")):
            if begin.get(w("fldCharType")) != "begin":
                continue
            named = begin.find(f"{w('ffData')}/{w('name')}")
            if named is not None and named.get(w("val")) == name:
                hits.append(self._form_field(begin.getparent(), name, where))
        return hits

    def _content_control(self, sdt, props, name: str, where: str):
        if props.find(w("dataBinding")) is not None:
            raise FormError(f"{where}: 콘텐츠 컨트롤 '{name}'은(는) 사용자 지정 XML에 연결되어 있어(w:dataBinding) Word가 "
                            "열 때 원래 값으로 되돌립니다. 양식에서 연결을 끊거나 cell/after로 지정하세요")
        content = sdt.find(w("sdtContent"))
        if content is None:
            raise FormError(f"{where}: 콘텐츠 컨트롤 '{name}'에 내용(w:sdtContent)이 없습니다")
        children = list(content)
        if any(child.tag in (w("tc"), w("tr")) for child in children):
            raise FormError(f"{where}: 콘텐츠 컨트롤 '{name}'이(가) 표의 칸·행을 감싸고 있습니다. 그 칸을 cell로 지정하세요")
        inline = not any(child.tag in (w("p"), w("tbl")) for child in children) and sdt.getparent().tag not in (w("body"), w("tc"))
        slots = [Slot(content, children)]
        placeholder = props.find(w("showingPlcHdr"))
        if placeholder is not None:
            slots.append(Slot(props, [placeholder]))
        template_run = self.first_run(children)
        own = props.find(w("rPr"))
        if own is not None:
            template_run = etree.Element(w("r"))
            template_run.append(copy.deepcopy(own))
        elif placeholder is not None:
            template_run = None  # the placeholder's own look (gray, 'Placeholder Text') is not the answer's
        template_p = next((child for child in children if child.tag == w("p")), None)
        return slots, inline, template_p, template_run, [props]

    def _form_field(self, begin_run, name: str, where: str):
        paragraph = begin_run.getparent()
        depth, separate, end = 0, None, None
        for run in begin_run.itersiblings():
            for mark in run.iter(w("fldChar")):
                kind = mark.get(w("fldCharType"))
                if kind == "begin":
                    depth += 1
                elif kind == "separate" and depth == 0:
                    separate = run
                elif kind == "end":
                    if depth == 0:
                        end = run
                        break
                    depth -= 1
            if end is not None:
                break
        if end is None or separate is None or paragraph.tag != w("p"):
            raise FormError(f"{where}: 입력란(양식 필드) '{name}'의 끝을 같은 문단에서 찾을 수 없습니다. 양식에서 필드를 "
                            "한 문단 안에 두거나 cell/after로 지정하세요")
        slots = between(separate, end)
        template = self.first_run(slots[0].removed) if slots[0].removed else separate
        return slots, True, None, template, [begin_run, end]

    def first_run(self, nodes: list):
        runs = [r for node in nodes for r in ([node] if node.tag == w("r") else node.iter(w("r")))]
        return next((r for r in runs if r.find(w("t")) is not None), runs[0] if runs else None)

    def _run(self, template_r, text: str, line_break: bool = False):
        run = etree.Element(w("r"))
        props = template_r.find(w("rPr")) if template_r is not None else None
        if props is not None:
            run.append(copy.deepcopy(props))
        if line_break:
            etree.SubElement(run, w("br"))
        t = etree.SubElement(run, w("t"))
        t.text = text
        t.set(XML_SPACE, "preserve")
        return run

    def runs(self, template_r, lines: list[str]) -> list:
        return [self._run(template_r, line, line_break=n > 0) for n, line in enumerate(lines)]

    def paragraph(self, template_p, template_r, text: str, first: bool):
        paragraph = etree.Element(w("p"))
        props = template_p.find(w("pPr")) if template_p is not None else None
        if props is not None:
            props = copy.deepcopy(props)
            for tag in ("sectPr",) if first else ("sectPr", "pageBreakBefore"):
                for node in props.findall(w(tag)):
                    props.remove(node)
            paragraph.append(props)
        if text:
            paragraph.append(self._run(template_r, text))
        return paragraph


def _val_int(element, default: int) -> int:
    if element is None:
        return default
    try:
        return int(element.get(w("val")))
    except (TypeError, ValueError):
        return default
