"""The blocks of one of our Word documents (docx_source.py) written as HWPX with python-hwpx.

The layout follows the Word template: A4 with the template's margins, a header with the company and
document name and a "- N / M -" footer, both hidden on the cover; headings, cover lines, captions
and table text in the template's sizes and colours; tables with their header rows marked as
header cells repeated on each page, shaded as in Word and with Word's column widths (sized by
render/markdown_docx.py so no number breaks); "[확인 필요: …]" bold dark red as in Word.

Fonts: 함초롬돋움 for headings, tables, cover, header and footer, 함초롬바탕 for body text; both ship
with every 한글 (Hancom Office) installation, on Windows, macOS and Linux alike.

Every file is validated before it is returned (python-hwpx's schema check of the header and
section XML and its package check); a failure is an ExportError and nothing is written.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace

from pipeline.errors import ExportError
from pipeline.hwpx.docx_source import Paragraph, Picture, Run, Table, WordDocument

HEADING_FONT = "함초롬돋움"
BODY_FONT = "함초롬바탕"
MARKER_COLOR = "#C00000"           # as the Word template's 확인필요 character style
HEADER_FILL = "#DCE6F0"
HWPUNIT_PER_TWIP = 5               # HWPUNIT = 1/7200 inch, twip = 1/1440 inch
CELL_MARGIN_LR = 85 * HWPUNIT_PER_TWIP   # the Word table style's left and right cell margins
CELL_MARGIN_TB = 141               # python-hwpx's top and bottom cell margins (0.5 mm)
WRAP_LOSS_TWIPS = 300              # a wrapped line ends short by about half a word
CELL_LINE_HWPUNIT = 1235           # one line of 9.5 pt table text at 130 % (9.5 × 1.3 pt)
HP = "{http://www.hancom.co.kr/hwpml/2011/paragraph}"
HH = "{http://www.hancom.co.kr/hwpml/2011/head}"
ALIGN = {"center": "CENTER", "right": "RIGHT", "left": "LEFT", "both": "JUSTIFY", "start": "LEFT", "end": "RIGHT"}


@dataclass(frozen=True)
class Look:
    """One paragraph style of the Word template, in HWPX terms."""
    font: str
    size: float
    bold: bool = False
    color: str | None = None
    align: str | None = None
    before: float = 0.0            # pt
    after: float = 4.0             # pt
    line: int = 160                # % line spacing
    indent: float = 0.0            # mm
    keep_with_next: bool = False


BODY = Look(BODY_FONT, 10.5, after=6)
LOOKS: dict[str, Look] = {
    "Normal": BODY,
    "Title": Look(HEADING_FONT, 26, True, "#1F3864", "CENTER", after=12),
    "Subtitle": Look(HEADING_FONT, 14, False, "#404040", "CENTER", after=6),
    "CoverCompany": Look(HEADING_FONT, 20, True, "#000000", "CENTER", before=36, after=6),
    "CoverInfo": Look(HEADING_FONT, 11, False, "#404040", "CENTER", after=2),
    "CoverNote": Look(HEADING_FONT, 9, False, "#7F7F7F", "CENTER", before=36, after=0),
    "TOCHeading": Look(HEADING_FONT, 16, True, "#1F4E79", after=12),
    "SummaryTitle": Look(HEADING_FONT, 16, True, "#1F4E79", after=10),
    "TOC1": Look(HEADING_FONT, 10.5, after=2),
    "TOC2": Look(HEADING_FONT, 10.5, after=2, indent=8),
    "Heading1": Look(HEADING_FONT, 16, True, "#1F4E79", before=18, after=8, keep_with_next=True),
    "Heading2": Look(HEADING_FONT, 13, True, "#2E75B6", before=12, after=6, keep_with_next=True),
    "Heading3": Look(HEADING_FONT, 11.5, True, "#404040", before=10, after=4, keep_with_next=True),
    "Caption": Look(HEADING_FONT, 9, False, "#404040", "CENTER", before=2, after=10),
    "TableText": Look(HEADING_FONT, 9.5, after=0, line=130),
    "Picture": Look(BODY_FONT, 10.5, align="CENTER", before=6, after=0, keep_with_next=True),
}
LIST_LOOK = Look(BODY_FONT, 10.5, after=3)


def hwpx_bytes(word: WordDocument, name: str = "document") -> bytes:
    """The HWPX file of `word`, validated; ExportError (nothing written) when it does not validate.

    The checks are python-hwpx's: the header and section XML against the OWPML schemas (before
    saving), its editor-open safety gate (run by the save itself) and the package check (ZIP,
    container, manifest) of the saved bytes."""
    from hwpx import HwpxError

    data = b""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the library's own 5.x shims
        try:
            document = _Writer(word).build()
            problems = [str(issue) for issue in document.validate().issues]
            if not problems:
                data = document.to_bytes()
        except (HwpxError, ValueError) as exc:
            problems = [f"{type(exc).__name__}: {exc}"]
    problems = problems or validation_problems(data)
    if problems:
        raise ExportError(f"{name}: 만든 HWPX가 검증을 통과하지 못해 저장하지 않았습니다: " + "; ".join(problems[:5]))
    return data


def validation_problems(data: bytes) -> list[str]:
    """python-hwpx's package check of a saved file (ZIP, container, manifest, every part's XML);
    [] when it is valid."""
    from hwpx import validate_package

    return [str(issue) for issue in validate_package(data).errors]


class _Writer:
    def __init__(self, word: WordDocument):
        from hwpx import HwpxDocument

        self.word = word
        self.doc = HwpxDocument.new()
        self.count = 1                     # body paragraphs so far (new() holds one, with the section)
        self._char: dict[tuple, str] = {}
        self._para: dict[tuple, str] = {}
        self.lists: dict[tuple, list[int]] = {}
        for face in (HEADING_FONT, BODY_FONT):
            self.doc.styles.ensure_font(face)

    # ------------------------------------------------------------------ styles
    def char_pr(self, look: Look, run: Run | None = None) -> str:
        bold = look.bold or bool(run and (run.bold or run.marker))
        italic = bool(run and run.italic)
        color = MARKER_COLOR if run and run.marker else look.color
        key = (look.font, look.size, bold, italic, color)
        if key not in self._char:
            self._char[key] = self.doc.styles.ensure_run(font=look.font, size=look.size, bold=bold, italic=italic,
                                                         color=color)
        return self._char[key]

    def para_pr(self, look: Look, align: str | None, paragraph) -> str | None:
        """The paraPr id of `look` with `align`: minted on the first paragraph that needs it, reused after."""
        key = (look, align)
        if key in self._para:
            return self._para[key]
        self.doc.styles.apply_paragraph_format(
            paragraphs=[paragraph], alignment=align or look.align or "JUSTIFY", line_spacing_percent=look.line,
            spacing_before_pt=look.before, spacing_after_pt=look.after, indent_left_mm=look.indent or None,
            keep_with_next=look.keep_with_next or None)
        self._para[key] = paragraph.para_pr_id_ref
        return None

    def _styled(self, paragraph, look: Look, align: str | None) -> None:
        known = self.para_pr(look, align, paragraph)
        if known is not None:
            paragraph.para_pr_id_ref = known

    # ------------------------------------------------------------------ body
    def build(self):
        page = self.word.page
        if page is not None:
            self._page(page)
        blocks = list(self.word.blocks)
        if blocks and isinstance(blocks[0], Paragraph) and not blocks[0].runs:
            top = blocks.pop(0)  # the cover's top space: the section's own (empty) paragraph
            self._styled(self.doc.paragraphs[0], replace(BODY, before=top.space_before_pt or 0.0), None)
        for block in blocks:
            if isinstance(block, Paragraph):
                self._paragraph(block)
            elif isinstance(block, Table):
                self._table(block)
            elif isinstance(block, Picture):
                self._picture(block)
        self._apply_lists()
        self._bullets_in_place()
        self._one_header_story()
        return self.doc

    def _new_paragraph(self, page_break: bool, look: Look, align: str | None = None):
        extra = {"pageBreak": "1"} if page_break else {}
        paragraph = self.doc.add_paragraph("", style_id_ref="0", char_pr_id_ref=self.char_pr(look),
                                           include_run=False, inherit_style=False, **extra)
        self.count += 1
        self._styled(paragraph, look, align)
        return paragraph

    def _paragraph(self, block: Paragraph) -> None:
        look = LIST_LOOK if block.list_kind else LOOKS.get(block.style, BODY)
        if block.space_before_pt is not None:  # set on the paragraph itself (the cover's top space)
            look = replace(look, before=block.space_before_pt)
        paragraph = self._new_paragraph(block.page_break_before, look, ALIGN.get(block.align or ""))
        for run in block.runs or [Run("")]:
            paragraph.add_run(run.text, char_pr_id_ref=self.char_pr(look, run))
        if block.list_kind:
            key = (block.list_kind, block.list_level, block.list_id if block.list_kind == "number" else None)
            self.lists.setdefault(key, []).append(self.count - 1)

    def _picture(self, block: Picture) -> None:
        look = LOOKS["Picture"]
        extra = {"pageBreak": "1"} if block.page_break_before else {}
        self.doc.add_picture(block.data, block.ext, width_mm=block.width_mm, height_mm=block.height_mm,
                             align="CENTER", style_id_ref="0", char_pr_id_ref=self.char_pr(look), **extra)
        self.count += 1
        self._styled(self.doc.paragraphs[-1], look, "CENTER")  # its own new paragraph (a few per document)

    def _table(self, block: Table) -> None:
        if not block.rows or not any(block.rows):
            return
        nrows, ncols = len(block.rows), max(len(r) for r in block.rows)
        widths = [w * HWPUNIT_PER_TWIP for w in block.widths_twips]
        anchor_look = Look(BODY_FONT, 10.5, after=6)
        extra = {"pageBreak": "1"} if block.page_break_before else {}
        heights = [row_height(row, widths) for row in block.rows]
        table = self.doc.add_table(nrows, ncols, width=sum(widths), height=sum(heights),
                                   style_id_ref="0", char_pr_id_ref=self.char_pr(anchor_look), **extra)
        self.count += 1
        self._styled(table.paragraph, anchor_look, "CENTER")
        table.set_column_widths(widths)
        if block.header_rows:
            table.element.set("repeatHeader", "1")
        _cell_margins(table.element.find(f"{HP}inMargin"))
        look = LOOKS["TableText"]
        shading: dict[str, str] = {}
        for r, (row, cells) in enumerate(zip(block.rows, table.rows)):  # rows, not table.cell(): no grid per cell
            for cell, target in zip(row, cells.cells):
                if r < block.header_rows:
                    target.element.set("header", "1")
                _cell_margins(target.element.find(f"{HP}cellMargin"))
                target.set_size(height=heights[r])
                self._cell_text(target, cell, look)
                if cell.fill:
                    base = target.element.get("borderFillIDRef") or table.element.get("borderFillIDRef")
                    key = f"{cell.fill}/{base}"
                    if key not in shading:
                        shading[key] = self.doc.oxml.ensure_shading_border_fill("#" + cell.fill.lstrip("#"),
                                                                               base_border_fill_id=base)
                    target.element.set("borderFillIDRef", shading[key])
        table.mark_dirty()

    def _cell_text(self, target, cell, look: Look) -> None:
        paragraphs = cell.paragraphs or [[]]
        existing = list(target.paragraphs)
        first = existing[0]
        for extra in existing[1:]:
            extra.remove()
        for i, runs in enumerate(paragraphs):
            paragraph = first if i == 0 else target.add_paragraph("")
            for run in list(paragraph.runs):
                run.remove()
            paragraph.style_id_ref = "0"
            self._styled(paragraph, look, ALIGN.get(cell.align or "", "LEFT"))
            for run in runs or [Run("")]:
                paragraph.add_run(run.text, char_pr_id_ref=self.char_pr(look, run))

    def _apply_lists(self) -> None:
        for (kind, level, _list), indexes in self.lists.items():
            if kind == "bullet":
                self.doc.styles.apply_list_format(paragraph_indexes=indexes, kind="bullet", level=level,
                                                  bullet_char="•" if level == 1 else "-")
            else:
                self.doc.styles.apply_list_format(paragraph_indexes=indexes, kind="number", level=level)

    def _bullets_in_place(self) -> None:
        """python-hwpx 6.9.0 appends a new <hh:bullets> at the end of <hh:refList>; the OWPML schema
        (and 한글) want it right before <hh:paraProperties>."""
        header = self.doc.oxml.headers[0]
        ref_list = header.element.find(f"{HH}refList")
        bullets = ref_list.find(f"{HH}bullets") if ref_list is not None else None
        para = ref_list.find(f"{HH}paraProperties") if ref_list is not None else None
        if bullets is not None and para is not None and list(ref_list).index(bullets) > list(ref_list).index(para):
            ref_list.remove(bullets)
            ref_list.insert(list(ref_list).index(para), bullets)
            header.mark_dirty()

    def _one_header_story(self) -> None:
        """Drop the copies of the header and footer that python-hwpx also writes inside <hp:secPr>:
        they are no OWPML children of secPr and 한글 reads only the <hp:ctrl> ones, but other readers
        would show the header and footer twice."""
        for section in self.doc.oxml.sections:
            sec_pr = section.element.find(f"{HP}p/{HP}run/{HP}secPr")
            if sec_pr is None:
                continue
            for child in list(sec_pr):
                if child.tag in {f"{HP}{t}" for t in ("header", "footer", "headerApply", "footerApply")}:
                    sec_pr.remove(child)
            for footer in section.element.iter(f"{HP}footer"):
                _spaced_slash(footer)
            section.mark_dirty()

    # ------------------------------------------------------------------ page
    def _page(self, page) -> None:
        m = page.margins_mm
        self.doc.page.setup(width_mm=round(page.width_mm, 1), height_mm=round(page.height_mm, 1), margin_left_mm=m["left"],
                            margin_right_mm=m["right"], margin_top_mm=m["top"], margin_bottom_mm=m["bottom"],
                            header_margin_mm=m["header"], footer_margin_mm=m["footer"])
        small = Look(HEADING_FONT, 8.5, color="#7F7F7F")
        if page.header_text:
            self.doc.page.set_header(content=[{"align": "RIGHT", "children": [
                {"type": "run", "text": page.header_text, "font": small.font, "size": small.size,
                 "color": small.color}]}])
        if page.footer_page_numbers:
            self.doc.page.set_footer(content=[{"align": "CENTER", "children": [
                {"type": "run", "text": "- "}, {"page_number": "page/total"}, {"type": "run", "text": " -"}]}])
        if page.first_page_plain:
            self.doc.page.set_visibility(hide_first_header=True, hide_first_footer=True)


def row_height(row, widths: list[int]) -> int:
    """A row's height in HWPUNIT: its tallest cell's estimated lines (Word's text widths of
    render/markdown_docx.py, wrapped at the column width). 한글 grows a row that needs more; the
    estimate keeps other HWPX readers from drawing the text over the next row."""
    from pipeline.render.markdown_docx import text_twips

    lines = 1
    for cell, width in zip(row, widths):
        room = max(width - 2 * CELL_MARGIN_LR, 1) / HWPUNIT_PER_TWIP
        count = sum(_lines(text_twips(line, bold=any(r.bold for r in runs)), room)
                    for runs in cell.paragraphs or [[]]
                    for line in "".join(r.text for r in runs).split("\n"))
        lines = max(lines, count)
    return lines * CELL_LINE_HWPUNIT + 2 * CELL_MARGIN_TB


def _lines(width: float, room: float) -> int:
    """Lines of a text `width` wide in a column with `room`: one when it fits (the column widths
    were made to fit such labels), else a little more than the widths say (lines wrap at words)."""
    return 1 if width <= room else math.ceil(width / (room - min(WRAP_LOSS_TWIPS, room * 0.15)))


def _cell_margins(element) -> None:
    if element is not None:
        element.set("left", str(CELL_MARGIN_LR))
        element.set("right", str(CELL_MARGIN_LR))


def _spaced_slash(element) -> None:
    """"- 3 / 12 -" as in Word: python-hwpx writes the separator of "page/total" as a bare "/"."""
    for t in element.iter(f"{HP}t"):
        if t.text == "/":
            t.text = " / "
