"""Markdown section bodies → a docxtpl subdocument that uses the TEMPLATE's styles.

``markdown_to_subdoc(tpl, text, images)`` converts Markdown (python-markdown + ``tables``) to HTML
and walks it with the stdlib ``html.parser``:

* ``#``..``###`` → Heading 1..3 (deeper levels → Heading 3); paragraphs → Normal;
* ``-`` / ``1.`` lists → List Bullet / List Number, nested → List Bullet 2 / List Number 2 (and 3);
  every numbered list restarts at 1;
* tables → Word tables in TABLE_STYLE, bold shaded header row repeated on each page, column
  widths from the content (no number, code or short label broken), cells in TABLE_TEXT_STYLE,
  Markdown column alignment kept;
* ``**bold**``, ``*italic*``; ``<br>`` → line break;
* ``![캡션](image:KEY)`` → the PNG ``images[KEY]`` at IMAGE_WIDTH_MM, then a Caption paragraph;
* a line holding only ``<!-- pagebreak -->`` → page break;
* ``[확인 필요: …]`` → runs in the MARKER_STYLE character style.

Text is expected HTML-escaped (``&amp;``, ``&lt;``…) by the Markdown stage; a raw ``<`` is escaped
here too, so ``(주)진주 & <정밀>`` arrives verbatim in Word (python-docx escapes on write).

The subdocument is a python-docx Document whose body is private but whose *part* is the
template's document part, so paragraph/table styles, numbering and images resolve against the
template (same as docxtpl's ``tpl.new_subdoc()`` without a file, which needs the optional
``docxcompose`` package only to import).

Longer than 400 lines on purpose: the HTML walker (``_Builder``) is one state machine over lists,
tables, runs and markers; split across modules its state would be shared by several files.
"""
from __future__ import annotations

import io
import re
from functools import lru_cache
from html.parser import HTMLParser

from pipeline.errors import RenderError
from pipeline.missing import MARKER_OPEN  # where the marker style starts: one definition
from pipeline.render import MARKER_STYLE, TABLE_HEADER_FILL, TABLE_STYLE, TABLE_TEXT_STYLE

IMAGE_WIDTH_MM = 150


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
PAGEBREAK_LINE = re.compile(r"^[ \t]*<!--\s*pagebreak\s*-->[ \t]*$", re.IGNORECASE | re.MULTILINE)
PAGEBREAK_TOKEN = "<!-- pagebreak -->"

BULLET_STYLES = ("List Bullet", "List Bullet 2", "List Bullet 3")
NUMBER_STYLES = ("List Number", "List Number 2", "List Number 3")
CONTINUE_STYLES = ("List Continue", "List Continue 2", "List Continue 3")
HEADING_STYLES = {"h1": "Heading 1", "h2": "Heading 2", "h3": "Heading 3",
                  "h4": "Heading 3", "h5": "Heading 3", "h6": "Heading 3"}


class BodySubdoc:
    """A block of body XML for ``{{p body }}``: built with python-docx on the template's part.

    Jinja inserts ``__html__()`` unescaped (the template is rendered with autoescape=True).
    """

    def __init__(self, tpl):
        from docx.document import Document as _Document
        from docx.oxml import parse_xml
        from docx.oxml.ns import nsdecls

        self.tpl = tpl
        self.docx = tpl.get_docx()
        element = parse_xml(f'<w:document {nsdecls("w", "r")}><w:body/></w:document>')
        self.subdocx = _Document(element, self.docx.part)

    def __getattr__(self, name):  # like docxtpl.Subdoc: add_paragraph, add_table, styles, …
        return getattr(self.subdocx, name)

    def _get_xml(self) -> str:
        from lxml import etree

        body = self.subdocx.element.body
        return "".join(etree.tostring(child, encoding="unicode") for child in body)

    def __str__(self) -> str:
        return self._get_xml()

    def __html__(self) -> str:
        return self._get_xml()


def prepare_markdown(text: str) -> str:
    """Normalise line ends, isolate page-break comments, escape raw '<' (HTML is not allowed)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    out = []
    for line in text.split("\n"):
        if PAGEBREAK_LINE.match(line):
            out.extend(["", PAGEBREAK_TOKEN, ""])
        else:
            out.append(line.replace("<", "&lt;"))
    return "\n".join(out)


def markdown_to_html(text: str) -> str:
    import markdown

    return markdown.markdown(prepare_markdown(text), extensions=["tables"], output_format="html")


def markdown_to_subdoc(tpl, text: str, images: dict[str, bytes] | None = None) -> BodySubdoc:
    """Convert ``text`` (Markdown) into a subdocument for ``{{p body }}`` of ``tpl`` (DocxTemplate)."""
    sub = BodySubdoc(tpl)
    builder = _Builder(sub, images or {})
    builder.feed(markdown_to_html(text or ""))
    builder.close()
    builder.finish()
    return sub


# Advance widths of NanumGothic (the document font) in em, by character class: measured once from
# the font's hmtx table (fontTools) so that a render needs no font file. Cell text is 9.5 pt.
_EM = {"wide": 0.94, "digit": 0.606, "upper": 0.651, "lower": 0.52, "narrow": 0.33, "percent": 1.09, "other": 0.6}
CELL_TEXT_PT = 9.5
CELL_MARGINS_TWIPS = 170 + 60        # left + right cell margins of the table style, and a little slack
# Hangul may wrap between syllables; a short word (a label such as 충족 or 설비비) should not.
KEEP_HANGUL = 6


def _char_em(ch: str) -> float:
    if ord(ch) > 0x2E80:
        return _EM["wide"]
    if ch.isdigit():
        return _EM["digit"]
    if ch == "%":
        return _EM["percent"]
    if ch.isupper():
        return _EM["upper"]
    if ch.islower():
        return _EM["lower"]
    if ch in ",.:;·/()[]'\"–-":
        return _EM["narrow"]
    return _EM["other"]


@lru_cache(maxsize=8192)      # table cells repeat the same words and numbers across rows and documents
def text_twips(text: str, bold: bool = False) -> int:
    """Printed width of `text` in a table cell, in twips (1/20 pt)."""
    return int(sum(_char_em(ch) for ch in text) * CELL_TEXT_PT * 20 * (1.05 if bold else 1.0))


# A unit after a number: Latin letters, %, ° or μ, up to 8 characters (MWh, TJ, kW, tCO2e, %, °C).
UNIT = re.compile(r"^[A-Za-z%°μ][A-Za-z0-9%°/²³·]{0,7}[,.;:)]?$")


def unbreakable_tokens(text: str, with_units: bool = False) -> list[str]:
    """The pieces a line may not break inside: numbers, codes, ranges, dates, Latin words, and
    Hangul words up to KEEP_HANGUL syllables (longer ones by that many). `with_units` keeps a
    number and its unit (728 MWh) together: wanted where the page allows, not required."""
    out = []
    # a line may break after '/' (addresses, 8.8/10.9), so a long URL is not one token
    for token in (part for word in text.split() for part in re.split(r"(?<=/)(?=.)", word)):
        if any(ord(ch) > 0x2E80 for ch in token):
            for part in re.split(r"(?<=[·/,])", token):
                out.append(part[:KEEP_HANGUL] if all(ord(c) > 0x2E80 for c in part) else part)
        elif with_units and out and UNIT.match(token) and out[-1][-1:].isdigit():
            out[-1] += " " + token     # a number and its unit (728 MWh) stay on one line
        else:
            out.append(token)
    return out


unbreakable_tokens = lru_cache(maxsize=4096)(unbreakable_tokens)   # cells repeat across rows and documents


def column_widths(rows: list[list["_Cell"]], ncols: int, total: int) -> list[int]:
    """Widths (twips) summing to `total`: every column at least as wide as its widest number or
    code (these must never break), then — where the page allows — its widest short label; the rest
    shared by how much more text each column holds (like HTML's auto layout)."""
    numeric, least, natural = [], [], []
    for c in range(ncols):
        cells = [r[c] for r in rows if c < len(r)]
        bold = [cell.header or any(b for _t, b, _i in cell.segments) for cell in cells]
        tokens = [(t, b) for cell, b in zip(cells, bold) for t in unbreakable_tokens(cell.text)]
        numeric.append(max((text_twips(t, h) for t, h in tokens if any(ch.isdigit() for ch in t)), default=0)
                       + CELL_MARGINS_TWIPS)
        whole = [(t, b) for cell, b in zip(cells, bold) for t in unbreakable_tokens(cell.text, with_units=True)]
        least.append(max([text_twips(t, h) for t, h in whole] + [0]) + CELL_MARGINS_TWIPS)
        lines = [text_twips(line, b) for cell, b in zip(cells, bold) for line in cell.text.split("\n")]
        natural.append(max(max(lines, default=0) + CELL_MARGINS_TWIPS, least[-1]))
    if sum(least) > total:        # labels cannot all stay whole: numbers still must
        least = [max(n, min(m, total // ncols)) for n, m in zip(numeric, least)]
    if sum(least) >= total:       # cannot fit even the numbers: shrink evenly (very wide tables)
        return [int(total * w / sum(least)) for w in least]
    if sum(natural) <= total:
        spare = total - sum(natural)
        return [int(n + spare * n / sum(natural)) for n in natural]
    spare, wants = total - sum(least), [n - m for n, m in zip(natural, least)]
    return [int(m + spare * w / sum(wants)) if sum(wants) else m for m, w in zip(least, wants)]


def _align(attrs: dict) -> str | None:
    if attrs.get("align"):
        return attrs["align"].lower()
    m = re.search(r"text-align:\s*(left|right|center)", attrs.get("style") or "")
    return m.group(1) if m else None


class _Cell:
    def __init__(self, header: bool, align: str | None):
        self.header = header
        self.align = align
        self.segments: list[tuple[str, bool, bool]] = []  # (text, bold, italic); "\n" = line break

    @property
    def text(self) -> str:
        return "".join(t for t, _b, _i in self.segments)


class _Builder(HTMLParser):
    def __init__(self, sub: BodySubdoc, images: dict[str, bytes]):
        super().__init__(convert_charrefs=True)
        self.sub = sub
        self.doc = sub.subdocx
        self.images = images
        self.par = None            # paragraph receiving inline content
        self.last_body_par = None  # last paragraph at body level (for page breaks)
        self.block_style = "Normal"
        self.bold = 0
        self.italic = 0
        self.in_marker = False
        self.in_pre = False
        self.quote = 0
        self.lists: list[dict] = []  # {"kind": "ul"|"ol", "num_id": int|None}
        self.href: str | None = None
        self.link_text = ""
        self.table: list[list[_Cell]] | None = None
        self.cell: _Cell | None = None
        self._styles: dict = {}

    def _style_id(self, name: str):
        """styleId for a UI style name (None for the type's default style, as python-docx writes it),
        looked up once: python-docx's own setters scan styles.xml twice on every assignment
        (≈ 1 ms each, seconds for table-heavy documents)."""
        if name not in self._styles:
            style = self.doc.styles[name]
            default = self.doc.styles.default(style.type)
            self._styles[name] = None if default is not None and style == default else style.style_id
        return self._styles[name]

    # ------------------------------------------------------------------ paragraphs
    def _new_par(self, style: str):
        self._close_par()
        p = self.doc.add_paragraph()
        p._p.style = self._style_id(style)  # same XML as add_paragraph(style=style)
        self.par = p
        self.last_body_par = p
        self.in_marker = False
        return p

    def _ensure_par(self):
        if self.par is None:
            style = self.block_style
            if self.lists:  # text after a nested list inside the same item
                style = CONTINUE_STYLES[min(len(self.lists), 3) - 1]
            self._new_par(style)
        return self.par

    def _close_par(self):
        if self.par is not None and self.par.runs:
            last = self.par.runs[-1]
            if last.text != last.text.rstrip(" "):
                last.text = last.text.rstrip(" ")
        self.par = None
        self.in_marker = False

    def _run(self, paragraph, text: str, *, bold=False, italic=False, marker=False):
        run = paragraph.add_run(text)
        if bold:
            run.bold = True
        if italic:
            run.italic = True
        if marker:
            run._r.style = self._style_id(MARKER_STYLE)
        return run

    def _emit(self, paragraph, text: str, bold: bool, italic: bool) -> None:
        """Add text to ``paragraph``, switching the marker style on at '[확인 필요' until ']'."""
        while text:
            if not self.in_marker:
                i = text.find(MARKER_OPEN)
                if i < 0:
                    self._run(paragraph, text, bold=bold, italic=italic)
                    return
                if i:
                    self._run(paragraph, text[:i], bold=bold, italic=italic)
                self.in_marker = True
                text = text[i:]
            else:
                j = text.find("]")
                if j < 0:
                    self._run(paragraph, text, bold=bold, italic=italic, marker=True)
                    return
                self._run(paragraph, text[: j + 1], bold=bold, italic=italic, marker=True)
                self.in_marker = False
                text = text[j + 1:]

    # ------------------------------------------------------------------ HTML events
    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self.table is not None and tag not in ("table",):
            return self._table_start(tag, attrs)
        if tag in HEADING_STYLES:
            self._new_par(HEADING_STYLES[tag])
            self.block_style = "Normal"
        elif tag == "p":
            if self.lists and self.par is not None and not self.par.runs:
                return  # loose list: <li><p>…
            if self.lists:
                self._new_par(CONTINUE_STYLES[min(len(self.lists), 3) - 1])
            else:
                self._new_par("Quote" if self.quote else "Normal")
        elif tag in ("ul", "ol"):
            self._close_par()
            self.lists.append({"kind": tag, "num_id": None})
        elif tag == "li":
            self._start_list_item()
        elif tag in ("strong", "b"):
            self.bold += 1
        elif tag in ("em", "i"):
            self.italic += 1
        elif tag == "br":
            self._ensure_par().add_run().add_break()
        elif tag == "img":
            self._image(attrs)
        elif tag == "a":
            self.href = attrs.get("href")
            self.link_text = ""
        elif tag == "blockquote":
            self._close_par()
            self.quote += 1
            self.block_style = "Quote"
        elif tag == "pre":
            self._new_par("Normal")
            self.in_pre = True
        elif tag == "table":
            self._close_par()
            self.table = []

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if self.table is not None:
            return self._table_end(tag)
        if tag in HEADING_STYLES or tag == "p":
            self._close_par()
        elif tag == "li":
            self._close_par()
        elif tag in ("ul", "ol"):
            self._close_par()
            if self.lists:
                self.lists.pop()
        elif tag in ("strong", "b"):
            self.bold = max(0, self.bold - 1)
        elif tag in ("em", "i"):
            self.italic = max(0, self.italic - 1)
        elif tag == "a":
            href, self.href = self.href, None
            if href and href.startswith(("http://", "https://")) and href != self.link_text.strip():
                self._emit(self._ensure_par(), f" ({href})", bool(self.bold), bool(self.italic))
        elif tag == "blockquote":
            self._close_par()
            self.quote = max(0, self.quote - 1)
            self.block_style = "Quote" if self.quote else "Normal"
        elif tag == "pre":
            self._close_par()
            self.in_pre = False

    def handle_data(self, data):
        if self.table is not None:
            if self.cell is not None:
                self.cell.segments.append((" ".join(data.split("\n")), bool(self.bold), bool(self.italic)))
            return
        if self.in_pre:
            par = self._ensure_par()
            for k, line in enumerate(data.rstrip("\n").split("\n")):
                if k:
                    par.add_run().add_break()
                if line:
                    self._emit(par, line, False, False)
            return
        if self.par is None and not data.strip():
            return  # whitespace between blocks
        text = data.replace("\n", " ")
        par = self._ensure_par()
        if not par.runs:
            text = text.lstrip()
            if not text:
                return
        if self.href is not None:
            self.link_text += text
        self._emit(par, text, bool(self.bold), bool(self.italic))

    def handle_comment(self, data):
        if data.strip().lower() == "pagebreak":
            self._page_break()

    # ------------------------------------------------------------------ lists
    def _start_list_item(self):
        depth = min(len(self.lists), 3) or 1
        kind = self.lists[-1]["kind"] if self.lists else "ul"
        style_name = (NUMBER_STYLES if kind == "ol" else BULLET_STYLES)[depth - 1]
        p = self._new_par(style_name)
        if kind == "ol":
            current = self.lists[-1]
            if current["num_id"] is None:
                current["num_id"] = self._restarted_num(style_name)
            if current["num_id"] is not None:
                num_pr = p._p.get_or_add_pPr().get_or_add_numPr()
                num_pr.get_or_add_ilvl().val = 0
                num_pr.get_or_add_numId().val = current["num_id"]

    def _restarted_num(self, style_name: str) -> int | None:
        """A new w:num on the style's abstract numbering that restarts at 1 (one per list)."""
        style = self.doc.styles[style_name]
        ppr = style.element.pPr
        if ppr is None or ppr.numPr is None or ppr.numPr.numId is None:
            return None
        numbering = self.doc.part.numbering_part.element
        base = numbering.num_having_numId(ppr.numPr.numId.val)
        num = numbering.add_num(base.abstractNumId.val)
        num.add_lvlOverride(ilvl=0).add_startOverride(1)
        return num.numId

    # ------------------------------------------------------------------ page breaks
    def _page_break(self):
        from docx.enum.text import WD_BREAK

        self._close_par()
        target = self.last_body_par
        if target is None or target._p.getnext() is not None:  # a table followed it
            target = self.doc.add_paragraph(style="Normal")
        target.add_run().add_break(WD_BREAK.PAGE)
        self.last_body_par = None

    # ------------------------------------------------------------------ images
    def _image(self, attrs):
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.shared import Mm

        src = attrs.get("src") or ""
        caption = (attrs.get("alt") or "").strip()
        if not src.startswith("image:"):
            raise RenderError(
                f"그림 주소 '{src}'는 지원하지 않습니다: ![캡션](image:KEY) 형식으로 써야 합니다"
            )
        key = src[len("image:"):]
        if key not in self.images:
            known = ", ".join(sorted(self.images)) or "없음"
            raise RenderError(f"그림 '{key}'가 images에 없습니다 (있는 키: {known})")
        if self.table is not None:
            raise RenderError(f"그림 '{key}': 표 안에는 그림을 넣을 수 없습니다")
        if self.par is not None and not self.par.runs:  # the empty <p> around the image
            empty = self.par._p
            empty.getparent().remove(empty)
            self.par = self.last_body_par = None
        self._close_par()
        p = self._new_par("Normal")
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        p.paragraph_format.keep_with_next = True
        p.paragraph_format.space_after = 0
        try:
            p.add_run().add_picture(io.BytesIO(self.images[key]), width=Mm(IMAGE_WIDTH_MM))
        except Exception as exc:  # UnrecognizedImageError, truncated PNG, …
            raise RenderError(f"그림 '{key}'를 읽을 수 없습니다: {exc or '그림 자료가 손상되었습니다'}") from exc
        self._close_par()
        if caption:
            cap = self._new_par("Caption")
            self._emit(cap, caption, False, False)
            self._close_par()

    # ------------------------------------------------------------------ tables
    def _table_start(self, tag, attrs):
        if tag == "tr":
            self.table.append([])
        elif tag in ("th", "td"):
            self.cell = _Cell(tag == "th", _align(attrs))
            if not self.table:
                self.table.append([])
            self.table[-1].append(self.cell)
        elif tag in ("strong", "b"):
            self.bold += 1
        elif tag in ("em", "i"):
            self.italic += 1
        elif tag == "br" and self.cell is not None:
            self.cell.segments.append(("\n", False, False))
        elif tag == "img":
            self._image(attrs)

    def _table_end(self, tag):
        if tag in ("th", "td"):
            self.cell = None
        elif tag in ("strong", "b"):
            self.bold = max(0, self.bold - 1)
        elif tag in ("em", "i"):
            self.italic = max(0, self.italic - 1)
        elif tag == "table":
            rows, self.table = [r for r in self.table if r], None
            if rows:
                self._build_table(rows)

    def _text_width(self):
        section = self.sub.docx.sections[-1]
        return section.page_width - section.left_margin - section.right_margin

    def _build_table(self, rows: list[list[_Cell]]) -> None:
        """Write the table as one XML fragment: building ~50 tables cell by cell through
        python-docx objects took most of a render (it re-resolves every element it touches)."""
        from docx.oxml import parse_xml
        from docx.oxml.ns import nsdecls

        ncols = max(len(r) for r in rows)
        total_twips = int(self._text_width()) // 635  # EMU → twips (dxa)
        widths = column_widths(rows, ncols, total_twips)
        table_style = self._style_id(TABLE_STYLE)
        text_style = self._style_id(TABLE_TEXT_STYLE)
        xml = [
            f"<w:tbl {nsdecls('w')}><w:tblPr>",
            f'<w:tblStyle w:val="{table_style}"/>' if table_style else "",
            '<w:tblW w:type="auto" w:w="0"/><w:jc w:val="center"/><w:tblLayout w:type="autofit"/>'
            '<w:tblLook w:firstColumn="0" w:firstRow="1" w:lastColumn="0" w:lastRow="0" w:noHBand="1"'
            ' w:noVBand="1" w:val="04A0"/></w:tblPr><w:tblGrid>',
            *(f'<w:gridCol w:w="{w}"/>' for w in widths),
            "</w:tblGrid>",
        ]
        for row_cells in rows:
            header_row = bool(row_cells) and all(cell.header for cell in row_cells)
            # rows never split over a page; the header row repeats on each page
            xml.append("<w:tr><w:trPr><w:cantSplit/>" + ("<w:tblHeader/>" if header_row else "") + "</w:trPr>")
            for c in range(ncols):
                src = row_cells[c] if c < len(row_cells) else _Cell(header_row, None)
                shading = f'<w:shd w:val="clear" w:color="auto" w:fill="{TABLE_HEADER_FILL}"/>' if src.header else ""
                align = "center" if src.header else (src.align if src.align in ("left", "right", "center") else None)
                xml.append(
                    f'<w:tc><w:tcPr><w:tcW w:type="dxa" w:w="{widths[c]}"/>{shading}</w:tcPr><w:p><w:pPr>'
                    + (f'<w:pStyle w:val="{text_style}"/>' if text_style else "")
                    + (f'<w:jc w:val="{align}"/>' if align else "")
                    + "</w:pPr>" + self._cell_runs(src) + "</w:p></w:tc>"
                )
            xml.append("</w:tr>")
        xml.append("</w:tbl>")
        body = self.doc._body._element
        blocks = [c for c in body if not c.tag.endswith("}sectPr")]
        if blocks and blocks[-1].tag.endswith("}tbl"):
            # Word merges two adjacent tables into one (with the first one's header): keep them apart
            body._insert_p(parse_xml(f"<w:p {nsdecls('w')}/>"))
        body._insert_tbl(parse_xml("".join(xml)))
        self.last_body_par = None

    def _cell_runs(self, cell: _Cell) -> str:
        """Runs of one cell as XML: bold/italic, line breaks, and the 확인 필요 marker style."""
        marker_style = self._style_id(MARKER_STYLE)
        runs: list[list] = []  # [text, bold, italic, marker] or None for a line break
        in_marker, first = False, True
        for text, bold, italic in cell.segments:
            if text == "\n":
                runs.append(None)
                first = True
                continue
            if first:
                text = text.lstrip()
                first = not text
            bold = bold or cell.header
            while text:
                if not in_marker:
                    i = text.find(MARKER_OPEN)
                    if i < 0:
                        runs.append([text, bold, italic, False])
                        break
                    if i:
                        runs.append([text[:i], bold, italic, False])
                    in_marker, text = True, text[i:]
                else:
                    j = text.find("]")
                    if j < 0:
                        runs.append([text, bold, italic, True])
                        break
                    runs.append([text[: j + 1], bold, italic, True])
                    in_marker, text = False, text[j + 1:]
        if runs and runs[-1] is not None:
            runs[-1][0] = runs[-1][0].rstrip()
        out = []
        for run in runs:
            if run is None:
                out.append("<w:r><w:br/></w:r>")
                continue
            text, bold, italic, marker = run
            props = (f'<w:rStyle w:val="{marker_style}"/>' if marker and marker_style else "") \
                + ("<w:b/>" if bold else "") + ("<w:i/>" if italic else "")
            out.append("<w:r>" + (f"<w:rPr>{props}</w:rPr>" if props else "")
                       + f'<w:t xml:space="preserve">{_xml_text(text)}</w:t></w:r>')
        return "".join(out)

    # ------------------------------------------------------------------ end
    def finish(self):
        self._close_par()
