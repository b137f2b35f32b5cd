"""Answer areas in a form's XML, found the way a person filling the form finds them.

An area is where one map entry's answer goes; everything else in the form stays as it was. It is
held as slots: runs of sibling elements that the answer replaces (`removed`), the first slot
receiving the new content. The three kinds of area Korean forms use:

* `cell`: the table cell to the right of (or, with `below`, under) a label cell, the label
  addressed by a path 'A > B > 라벨' (the label's text, spaces and '*', ':' ignored; A, B … in
  the same table, an enclosing table or the paragraphs just above the table); the slot is the
  cell's paragraphs;
* `after`: the guide paragraphs ("※ … 작성", empty lines) that follow a marker paragraph such as
  "1. 사업 개요"; when there are none the answer goes right after the marker;
* `field`: a 누름틀 (hp:fieldBegin type CLICK_HERE) or named cell in HWPX, a content control
  (w:sdt by tag or title) or legacy text form field (FORMTEXT) in Word; the slots are what lies
  between the field's begin and end.

`Dialect` is the format's side (docx.py, hwpx.py): paragraphs, tables and fields, and the new
paragraphs and runs that copy the form's own formatting (the area's first run). Locating is
deterministic, so the proof (proof.py) locates the same areas in a second parse of the form.
"""
from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from pipeline.errors import FormError
from pipeline.forms.formmap import Answer

GUIDE_PREFIXES = ("※", "*", "☞", "▷", "(작성", "<작성", "[작성", "〈작성", "（작성")
_LABEL_NOISE = re.compile(r"[\s*:：]+")


def norm(text: str) -> str:
    """Text as labels and markers are compared: without white space, '*' and ':'."""
    return _LABEL_NOISE.sub("", text)


@dataclass
class Slot:
    """Children `removed` of `parent`; new content goes where they were (or after `after`, or
    first in `parent` when both are empty)."""

    parent: object
    removed: list
    after: object = None

    def position(self) -> int:
        if self.removed:
            return self.parent.index(self.removed[0])
        return self.parent.index(self.after) + 1 if self.after is not None else 0


@dataclass
class Area:
    answer: Answer
    part: str
    slots: list[Slot]
    inline: bool                       # new content is runs (True) or paragraphs (False)
    template_paragraph: object = None  # formatting to copy
    template_run: object = None
    anchors: list = field(default_factory=list)   # label cell, marker, field begin/end: must stay outside others
    lines: list[str] = field(default_factory=list)
    inserted: list = field(default_factory=list)

    def covered(self) -> list:
        return [node for slot in self.slots for node in slot.removed]


@dataclass
class Cell:
    element: object
    row: int
    col: int
    rowspan: int
    colspan: int


class Dialect(ABC):
    """What differs between .docx and .hwpx; see docx.py and hwpx.py (each implements the abstract
    methods; the shared ones below work on the tags the subclass names)."""

    kind = ""
    PARAGRAPH = ""
    TABLE = ""
    TEXT = ""
    CONTENT_TAGS: frozenset = frozenset()   # tags that make a paragraph more than text

    @abstractmethod
    def parts(self, names: list[str]) -> list[str]:
        ...

    def tables(self, root) -> list:
        return list(root.iter(self.TABLE))

    @abstractmethod
    def cells(self, table) -> list[Cell]:
        ...

    @abstractmethod
    def cell_slot(self, cell) -> Slot:
        ...

    @abstractmethod
    def fields(self, root, name: str, where: str) -> list[tuple[list[Slot], bool, object, object, list]]:
        """(slots, inline, template paragraph, template run, anchors) of each field named `name`."""
        ...

    @abstractmethod
    def paragraph(self, template_p, template_r, text: str, first: bool):
        ...

    @abstractmethod
    def runs(self, template_r, lines: list[str]) -> list:
        ...

    @abstractmethod
    def first_run(self, nodes: list):
        ...

    # ---- shared
    def paragraphs(self, root) -> list:
        return list(root.iter(self.PARAGRAPH))

    def text(self, paragraph) -> str:
        """The paragraph's own text (not that of a table or text box inside it)."""
        parts = []
        for node in paragraph.iter(self.TEXT):
            if next(node.iterancestors(self.PARAGRAPH), None) is paragraph:
                parts.append("".join(node.itertext()))
        return "".join(parts)

    def is_empty(self, paragraph) -> bool:
        return not self.text(paragraph).strip() and self._plain(paragraph)

    def is_guide(self, paragraph) -> bool:
        text = self.text(paragraph).strip()
        return self._plain(paragraph) and (not text or text.startswith(GUIDE_PREFIXES))

    def _plain(self, paragraph) -> bool:
        """Nothing but text in it: no table, picture, field, section break …"""
        return not any(node.tag in self.CONTENT_TAGS for node in paragraph.iterdescendants())

    def cell_text(self, cell) -> str:
        return " ".join(self.text(p) for p in cell.iter(self.PARAGRAPH) if _nearest_cell(p, cell))


def _nearest_cell(paragraph, cell) -> bool:
    """`paragraph` belongs to `cell` itself, not to a table nested in it."""
    for ancestor in paragraph.iterancestors():
        if ancestor is cell:
            return True
        if ancestor.tag == cell.tag:
            return False
    return False


# ---------------------------------------------------------------- locating

def locate(dialect: Dialect, roots: dict[str, object], answer: Answer, where: str) -> Area:
    if answer.kind == "cell":
        return _locate_cell(dialect, roots, answer, where)
    if answer.kind == "after":
        return _locate_after(dialect, roots, answer, where)
    return _locate_field(dialect, roots, answer, where)


def _locate_cell(dialect: Dialect, roots, answer: Answer, where: str) -> Area:
    path = answer.path
    label, context = norm(path[-1]), [norm(p) for p in path[:-1]]
    found = []
    for part, root in roots.items():
        for table in dialect.tables(root):
            cells = dialect.cells(table)
            for cell in cells:
                if norm(dialect.cell_text(cell.element)) != label:
                    continue
                if context and not _context_holds(dialect, table, cells, context):
                    continue
                found.append((part, table, cells, cell))
    if not found:
        raise FormError(f"{where}: 양식에서 라벨 칸 '{answer.target}'을(를) 찾을 수 없습니다 "
                        "(칸의 글자를 그대로, 띄어쓰기는 상관없음; 표 제목·위 칸은 '>' 앞에)")
    if len(found) > 1:
        raise FormError(f"{where}: 라벨 칸 '{answer.target}'이(가) 양식에 {len(found)}곳 있습니다. 앞에 표 제목이나 "
                        f"위 칸의 글자를 더해 구분하세요 (예: '일반현황 > {path[-1]}')")
    part, table, cells, cell = found[0]
    if answer.below:
        target = next((c for c in cells if c.row == cell.row + cell.rowspan and c.col == cell.col), None)
        side = "아래"
    else:
        target = next((c for c in cells if c.row == cell.row and c.col == cell.col + cell.colspan), None)
        side = "오른쪽"
    if target is None:
        raise FormError(f"{where}: 라벨 칸 '{answer.target}'의 {side}에 답변 칸이 없습니다 "
                        f"({'below: false' if answer.below else 'below: true'}가 맞는지 확인하세요)")
    slot = dialect.cell_slot(target.element)
    first_p = next((n for n in slot.removed if n.tag == dialect.PARAGRAPH), None)
    return Area(answer, part, [slot], inline=False, template_paragraph=first_p,
                template_run=dialect.first_run(slot.removed), anchors=[cell.element])


def _context_holds(dialect: Dialect, table, cells, context: list[str]) -> bool:
    texts = [norm(dialect.cell_text(c.element)) for c in cells]
    for outer in table.iterancestors(dialect.TABLE):
        texts.extend(norm(dialect.cell_text(c.element)) for c in dialect.cells(outer))
    texts.extend(norm(t) for t in _texts_above(dialect, table))
    return all(any(part in text for text in texts) for part in context)


def _texts_above(dialect: Dialect, table, count: int = 3) -> list[str]:
    """The nearest non-empty paragraphs above the table (its anchor paragraph's own text first)."""
    anchor = next(table.iterancestors(dialect.PARAGRAPH), None)
    start = anchor if anchor is not None else table
    texts = [dialect.text(anchor)] if anchor is not None else []
    node = start.getprevious()
    while node is not None and len([t for t in texts if t.strip()]) < count:
        if node.tag == dialect.PARAGRAPH:
            texts.append(dialect.text(node))
        node = node.getprevious()
    return [t for t in texts if t.strip()]


_NUMBERING = re.compile(r"^(?:[0-9]{1,2}(?:\.[0-9]{1,2})*[.)]?|[ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩ]+[.)]?|[가-하][.)]|\(?[0-9]{1,2}\)|[①-⑳]|[□■○●◎◇◆▶▷-])")


def _unnumbered(text: str) -> str:
    """A normalised marker without its numbering ("1.사업개요" → "사업개요"): 한글's and Word's
    automatic outline numbers are not in the paragraph's text."""
    return _NUMBERING.sub("", text, count=1)


def _locate_after(dialect: Dialect, roots, answer: Answer, where: str) -> Area:
    marker = norm(answer.target)
    paragraphs = [(part, p, norm(dialect.text(p))) for part, root in roots.items() for p in dialect.paragraphs(root)]
    found = [(part, p, text) for part, p, text in paragraphs if text and (text == marker or text.startswith(marker))]
    if not found and _unnumbered(marker) and _unnumbered(marker) != marker:
        bare = _unnumbered(marker)
        found = [(part, p, text) for part, p, text in paragraphs
                 if text and (_unnumbered(text) == bare or text == bare or text.startswith(bare))]
    exact = [hit for hit in found if hit[2] in (marker, _unnumbered(marker))]
    if len(found) > 1 and len(exact) == 1:
        found = exact
    if not found:
        raise FormError(f"{where}: 양식에서 표시 문단 '{answer.target}'을(를) 찾을 수 없습니다 (문단의 첫 글자들을 그대로)")
    if len(found) > 1:
        raise FormError(f"{where}: 표시 문단 '{answer.target}'이(가) 양식에 {len(found)}곳 있습니다. 더 긴 문구로 구분하세요")
    part, marker_p, _ = found[0]
    guides = []
    node = marker_p.getnext()
    while node is not None and node.tag == dialect.PARAGRAPH and dialect.is_guide(node):
        guides.append(node)
        node = node.getnext()
    box = _box(dialect, node)
    if box is not None:  # a one-cell table under the heading, holding the guide: the answer goes in it
        slot = dialect.cell_slot(box)
        first_p = next((n for n in slot.removed if n.tag == dialect.PARAGRAPH), None)
        slots = [slot] + ([Slot(marker_p.getparent(), guides)] if guides else [])
        return Area(answer, part, slots, inline=False, template_paragraph=first_p,
                    template_run=dialect.first_run(slot.removed), anchors=[marker_p])
    slot = Slot(marker_p.getparent(), guides, after=marker_p)
    return Area(answer, part, [slot], inline=False, template_paragraph=guides[0] if guides else None,
                template_run=dialect.first_run(guides), anchors=[marker_p])


def _box(dialect: Dialect, node):
    """The cell of a one-cell table at `node` (or anchored alone in the paragraph `node`) whose
    paragraphs are all guide text or empty; None otherwise."""
    if node is None:
        return None
    table = node if node.tag == dialect.TABLE else None
    if table is None and node.tag == dialect.PARAGRAPH and not dialect.text(node).strip():
        tables = [t for t in node.iter(dialect.TABLE) if next(t.iterancestors(dialect.TABLE), None) is None]
        table = tables[0] if len(tables) == 1 else None
    if table is None:
        return None
    cells = dialect.cells(table)
    if len(cells) != 1:
        return None
    cell = cells[0].element
    paragraphs = [p for p in cell.iter(dialect.PARAGRAPH) if _nearest_cell(p, cell)]
    return cell if paragraphs and all(dialect.is_guide(p) for p in paragraphs) else None


def _locate_field(dialect: Dialect, roots, answer: Answer, where: str) -> Area:
    found = [(part, hit) for part, root in roots.items() for hit in dialect.fields(root, answer.target, where)]
    if not found:
        raise FormError(f"{where}: 양식에 이름이 '{answer.target}'인 누름틀·입력란(필드)이 없습니다")
    if len(found) > 1:
        raise FormError(f"{where}: 이름이 '{answer.target}'인 필드가 {len(found)}개 있습니다. 양식에서 이름을 하나씩 다르게 "
                        "붙이거나 cell/after로 지정하세요")
    part, (slots, inline, template_p, template_r, anchors) = found[0]
    return Area(answer, part, slots, inline=inline, template_paragraph=template_p, template_run=template_r,
                anchors=anchors)


def between(begin, end) -> list[Slot]:
    """Slots holding everything strictly between `begin` and `end` in document order (the first
    slot right after `begin`)."""
    end_chain = [end, *end.iterancestors()]
    common = next(a for a in begin.iterancestors() if any(a is e for e in end_chain))
    slots = []
    node = begin
    while node.getparent() is not common:
        slots.append(Slot(node.getparent(), list(node.itersiblings()), after=node))
        node = node.getparent()
    e_top = next(e for e in end_chain if e.getparent() is common)
    middle = []
    sibling = node.getnext()
    while sibling is not None and sibling is not e_top:
        middle.append(sibling)
        sibling = sibling.getnext()
    slots.append(Slot(common, middle, after=node))
    tail = []
    node = end
    while node is not e_top:
        tail.append(Slot(node.getparent(), list(node.itersiblings(preceding=True))[::-1], after=None))
        node = node.getparent()
    return slots + tail[::-1]


def check_overlaps(areas: list[Area], where) -> None:
    """No area may lie inside another's replaced content, nor its label or marker."""
    for i, area in enumerate(areas):
        covered = area.covered()
        if not covered:
            continue
        for j, other in enumerate(areas):
            if i == j or other.part != area.part:
                continue
            probes = [slot.parent for slot in other.slots] + other.covered() + other.anchors
            if any(_inside(probe, covered) for probe in probes):
                raise FormError(f"{where(other.answer)}: 답변 칸이 {where(area.answer)}의 답변 칸과 겹칩니다 "
                                "(같은 칸을 두 번 채우거나 라벨이 다른 답변 칸 안에 있음)")


def _inside(node, roots: list) -> bool:
    return any(node is r for r in roots) or any(a is r for a in node.iterancestors() for r in roots)


# ---------------------------------------------------------------- filling

def fill_area(dialect: Dialect, area: Area) -> None:
    """Replace the area's slots by the answer's lines in the form's own formatting."""
    first = area.slots[0]
    position = first.position()
    for slot in area.slots:
        for node in slot.removed:
            slot.parent.remove(node)
    template_run = None if area.answer.formatting == "plain" else area.template_run
    if area.inline:
        new = dialect.runs(area.template_run, area.lines)
    else:
        new = [dialect.paragraph(area.template_paragraph, template_run, line, first=n == 0)
               for n, line in enumerate(area.lines)]
    for offset, node in enumerate(new):
        first.parent.insert(position + offset, node)
    area.inserted = new

