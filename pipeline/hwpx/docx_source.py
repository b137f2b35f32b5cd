"""Our own rendered .docx read back as a plain list of blocks, the source of the HWPX copy.

Reading the Word file the pipeline rendered (not the Markdown it came from) keeps the HWPX the same
document by construction: the same headings, paragraphs, list items, tables (header rows, cell
alignment, column widths sized by render/markdown_docx.py), charts, markers and page settings.

Only what our templates and the Markdown converter write is understood: paragraph styles by their
style id, bold/italic runs, the marker character style, line and page breaks, inline pictures,
tables without merged cells, one section. The TOC field's cached result is replaced by the
document's own heading list (its last line tells how to update the field in Word).
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field

from pipeline.errors import ExportError

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
WP = "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}"
MARKER_STYLE_ID = "VerifyMarker"   # the character style of "[확인 필요: …]" (templates: 확인필요)
HEADING_LEVELS = {"Heading1": 1, "Heading2": 2, "Heading3": 3}
LIST_STYLES = {"ListBullet": ("bullet", 1), "ListBullet2": ("bullet", 2), "ListBullet3": ("bullet", 3),
               "ListNumber": ("number", 1), "ListNumber2": ("number", 2), "ListNumber3": ("number", 3)}
EMU_PER_MM = 36000
TWIPS_PER_MM = 1440 / 25.4


@dataclass
class Run:
    text: str
    bold: bool = False
    italic: bool = False
    marker: bool = False


@dataclass
class Paragraph:
    style: str                      # the Word style id ("Normal" when none)
    runs: list[Run]
    align: str | None = None        # "center", "right", … when set on the paragraph
    page_break_before: bool = False
    list_kind: str | None = None    # "bullet" / "number"
    list_level: int = 0
    list_id: str | None = None      # numbering instance: a new one restarts a numbered list
    space_before_pt: float | None = None  # spacing set on the paragraph itself, not by its style

    @property
    def text(self) -> str:
        return "".join(run.text for run in self.runs)


@dataclass
class Picture:
    data: bytes
    ext: str
    width_mm: float
    height_mm: float
    page_break_before: bool = False


@dataclass
class Cell:
    paragraphs: list[list[Run]]
    align: str | None = None
    fill: str | None = None         # "DCE6F0" for shaded header cells

    @property
    def text(self) -> str:
        return "\n".join("".join(run.text for run in runs) for runs in self.paragraphs)


@dataclass
class Table:
    rows: list[list[Cell]]
    header_rows: int                # leading rows marked to repeat on each page
    widths_twips: list[int]
    page_break_before: bool = False


@dataclass
class PageSetup:
    width_mm: float
    height_mm: float
    margins_mm: dict[str, float]    # left, right, top, bottom, header, footer
    header_text: str
    footer_page_numbers: bool       # "- PAGE / NUMPAGES -"
    first_page_plain: bool          # no header and footer on the cover (titlePg)


@dataclass
class WordDocument:
    blocks: list = field(default_factory=list)
    page: PageSetup | None = None

    def headings(self) -> list[tuple[int, str]]:
        return [(HEADING_LEVELS[b.style], b.text) for b in self.blocks
                if isinstance(b, Paragraph) and b.style in HEADING_LEVELS]


def read_word(data: bytes, name: str = "document") -> WordDocument:
    """The blocks and page setup of one of our .docx files; ExportError when it is not one."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError, OSError) as exc:
        raise ExportError(f"{name}: Word 문서로 읽을 수 없어 HWPX로 옮기지 못했습니다 ({exc})") from None
    reader = _Reader(document, name)
    return WordDocument(reader.blocks(), reader.page_setup())


class _Reader:
    def __init__(self, document, name: str):
        self.document = document
        self.name = name
        self.pending_break = False

    # ------------------------------------------------------------------ body
    def blocks(self) -> list:
        body = self.document.element.body
        out: list = []
        for element in body.iterchildren():
            if element.tag == f"{W}p":
                out.extend(self._paragraph_blocks(element))
            elif element.tag == f"{W}tbl":
                out.append(self._table(element))
        toc = [i for i, b in enumerate(out) if isinstance(b, Paragraph) and b.style == "_toc"]
        for i in reversed(toc):  # the heading list, one paragraph each (level 2 indented)
            first = out[i]
            lines = [Paragraph("TOC1" if level == 1 else "TOC2", [Run(text)])
                     for level, text in WordDocument(out).headings() if level <= 2]
            if lines:
                lines[0].page_break_before = first.page_break_before
            out[i:i + 1] = lines
        return out

    def _take_break(self) -> bool:
        pending, self.pending_break = self.pending_break, False
        return pending

    def _paragraph_blocks(self, p) -> list:
        ppr = p.find(f"{W}pPr")
        style = _val(ppr, "pStyle") or "Normal"
        align = _val(ppr, "jc")
        before = self._take_break()
        if p.find(f".//{W}instrText") is not None and "TOC" in "".join(t.text or "" for t in p.iter(f"{W}instrText")):
            block = Paragraph("_toc", [], page_break_before=before)
            self.pending_break = _ends_with_page_break(p)
            return [block]
        pictures = [self._picture(blip) for blip in p.iter(f"{A}blip")]
        runs = _runs(p)
        blocks: list = []
        if pictures:
            for picture in pictures:
                picture.page_break_before = before
                before = False
                blocks.append(picture)
        if runs or not pictures:
            kind, level = LIST_STYLES.get(style, (None, 0))
            num = ppr.find(f"{W}numPr/{W}numId") if ppr is not None else None
            spacing = ppr.find(f"{W}spacing") if ppr is not None else None
            space = spacing.get(f"{W}before") if spacing is not None else None
            blocks.append(Paragraph(style, runs, align, before, kind, level,
                                    num.get(f"{W}val") if num is not None else None,
                                    int(space) / 20 if space and space.isdigit() else None))
        self.pending_break = _ends_with_page_break(p)
        return blocks

    def _picture(self, blip) -> Picture:
        rid = blip.get(f"{R}embed")
        try:
            part = self.document.part.related_parts[rid]
        except KeyError:
            raise ExportError(f"{self.name}: 그림({rid})을 찾을 수 없어 HWPX로 옮기지 못했습니다") from None
        inline = next((a for a in blip.iterancestors() if a.tag in (f"{WP}inline", f"{WP}anchor")), None)
        extent = inline.find(f"{WP}extent") if inline is not None else None
        cx = int(extent.get("cx")) if extent is not None else 150 * EMU_PER_MM
        cy = int(extent.get("cy")) if extent is not None else 100 * EMU_PER_MM
        ext = part.partname.ext.lower() or "png"
        return Picture(part.blob, "jpg" if ext == "jpeg" else ext, cx / EMU_PER_MM, cy / EMU_PER_MM)

    def _table(self, tbl) -> Table:
        widths = [int(g.get(f"{W}w") or 0) for g in tbl.iterfind(f"{W}tblGrid/{W}gridCol")]
        rows: list[list[Cell]] = []
        header_rows = 0
        for i, tr in enumerate(tbl.iterfind(f"{W}tr")):
            if tr.find(f"{W}trPr/{W}tblHeader") is not None and header_rows == i:
                header_rows += 1
            cells = []
            for tc in tr.iterfind(f"{W}tc"):
                tcpr = tc.find(f"{W}tcPr")
                if tcpr is not None and (tcpr.find(f"{W}gridSpan") is not None or tcpr.find(f"{W}vMerge") is not None):
                    raise ExportError(f"{self.name}: 병합된 표 칸은 HWPX로 옮길 수 없습니다")
                shd = tcpr.find(f"{W}shd") if tcpr is not None else None
                paragraphs = [_runs(p) for p in tc.iterfind(f"{W}p")]
                first = tc.find(f"{W}p/{W}pPr")
                cells.append(Cell(paragraphs, _val(first, "jc"), shd.get(f"{W}fill") if shd is not None else None))
            rows.append(cells)
        ncols = max((len(r) for r in rows), default=0)
        if len(widths) != ncols or not all(widths):
            widths = [1] * ncols
        return Table(rows, header_rows, widths, self._take_break())

    # ------------------------------------------------------------------ page
    def page_setup(self) -> PageSetup:
        section = self.document.sections[-1]
        sect = section._sectPr
        margins = {"left": section.left_margin, "right": section.right_margin, "top": section.top_margin,
                   "bottom": section.bottom_margin, "header": section.header_distance, "footer": section.footer_distance}
        footer_xml = "".join(t.text or "" for t in section.footer._element.iter(f"{W}instrText"))
        header_text = "\n".join(p.text for p in section.header.paragraphs if p.text)
        return PageSetup(section.page_width.mm, section.page_height.mm,
                         {k: round(v.mm, 1) for k, v in margins.items()}, header_text,
                         "PAGE" in footer_xml and "NUMPAGES" in footer_xml,
                         sect.find(f"{W}titlePg") is not None)


def _val(parent, child: str) -> str | None:
    if parent is None:
        return None
    element = parent.find(f"{W}{child}")
    return element.get(f"{W}val") if element is not None else None


def _ends_with_page_break(p) -> bool:
    return any(br.get(f"{W}type") == "page" for br in p.iter(f"{W}br"))


def _runs(p) -> list[Run]:
    """The text runs of a paragraph (field codes and page breaks left out, line breaks as '\\n')."""
    runs: list[Run] = []
    for r in p.iter(f"{W}r"):
        rpr = r.find(f"{W}rPr")
        bold = rpr is not None and _on(rpr.find(f"{W}b"))
        italic = rpr is not None and _on(rpr.find(f"{W}i"))
        marker = _val(rpr, "rStyle") == MARKER_STYLE_ID
        text = []
        for child in r:
            if child.tag == f"{W}t":
                text.append(child.text or "")
            elif child.tag == f"{W}br" and child.get(f"{W}type") in (None, "textWrapping"):
                text.append("\n")
            elif child.tag == f"{W}tab":
                text.append("\t")
        if text:
            value = "".join(text)
            if runs and (runs[-1].bold, runs[-1].italic, runs[-1].marker) == (bold, italic, marker):
                runs[-1].text += value
            else:
                runs.append(Run(value, bold, italic, marker))
    return runs


def _on(element) -> bool:
    return element is not None and element.get(f"{W}val") not in ("0", "false", "off")
