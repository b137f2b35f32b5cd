"""The proof that filling changed nothing but the answer areas; run on every fill.

* The zip: the same members in the same order; every member without an answer area is
  byte-for-byte the form's (after decompression).
* A part with answer areas: the form's part and the filled part are parsed again (from the
  bytes about to be written, not from the filler's tree); in the form's the areas are located
  afresh (locating is deterministic) and their content replaced by a placeholder, in the filled
  one the content the filler inserted (at the positions it recorded) likewise; then the two trees
  must be equal element by element: tag and prefix, attributes, text and tails, children.
Any difference is a FormError naming the part and the element; nothing is written.
"""
from __future__ import annotations

import io
import zipfile

from lxml import etree

from pipeline.errors import FormError
from pipeline.forms.areas import Area, Dialect, locate
from pipeline.forms.formmap import FormSpec
from pipeline.forms.package import FormPackage, parse_part

PLACEHOLDER = "{urn:jinju-carbon-pipeline:forms}area"


def index_path(node) -> list[int]:
    path = []
    while node.getparent() is not None:
        path.append(node.getparent().index(node))
        node = node.getparent()
    return path[::-1]


def placed(area: Area) -> tuple[list[int], int, int]:
    """Where the filler put the area's new content: (parent's index path, first index, count)."""
    parent = area.slots[0].parent
    return index_path(parent), parent.index(area.inserted[0]), len(area.inserted)


def prove(form: FormPackage, output: bytes, dialect: Dialect, spec: FormSpec, areas: list[Area],
          positions: list[tuple[list[int], int, int]]) -> None:
    original = form.read_all()
    with zipfile.ZipFile(io.BytesIO(output)) as archive:
        names = archive.namelist()
        if names != form.names():
            raise _failed(form, "zip 항목", f"항목 목록이 양식과 다릅니다 (양식 {len(form.names())}개, 결과 {len(names)}개)")
        filled = {name: archive.read(name) for name in names}
    changed = {area.part for area in areas}
    for name in names:
        if name not in changed and filled[name] != original[name]:
            raise _failed(form, name, "답변 칸이 없는 부분인데 내용이 바뀌었습니다")
    sections = dialect.parts(names)
    roots = {name: parse_part(form.path, name, original[name]) for name in sections}
    fresh = [locate(dialect, roots, area.answer, spec.where(area.answer)) for area in areas]
    for number, area in enumerate(fresh):
        slot = area.slots[0]
        position = slot.position()
        for each in area.slots:
            for node in each.removed:
                each.parent.remove(node)
        slot.parent.insert(position, _placeholder(number))
    for part in sorted(changed):
        after = parse_part(form.path, part, filled[part])
        spots = [(number, pos) for number, (area, pos) in enumerate(zip(areas, positions)) if area.part == part]
        parents = {number: _resolve(after, pos[0]) for number, pos in spots}
        if any(parent is None for parent in parents.values()):
            raise _failed(form, part, "답변 칸이 있던 자리를 결과 파일에서 찾을 수 없습니다 (구조가 바뀜)")
        for number, (_, start, count) in sorted(spots, key=lambda s: s[1][1], reverse=True):
            parent = parents[number]
            for node in list(parent)[start:start + count]:
                parent.remove(node)
            parent.insert(start, _placeholder(number))
        difference = first_difference(roots[part], after)
        if difference:
            raise _failed(form, part, difference)


def _placeholder(number: int):
    return etree.Element(PLACEHOLDER, n=str(number))


def _resolve(root, path: list[int]):
    node = root
    for index in path:
        if index >= len(node):
            return None
        node = node[index]
    return node


def _failed(form: FormPackage, part: str, what: str) -> FormError:
    return FormError(f"양식 보존 검증 실패 ({form.path.name}, {part}): {what}. 답변 칸 밖이 양식과 달라져 파일을 쓰지 "
                     "않았습니다 (프로그램 결함이면 이 메시지와 양식을 개발자에게 보내 주세요)")


def first_difference(a, b, where: str = "") -> str | None:
    """The first place two trees differ, in words; None when they are equal."""
    here = where or f"/{_name(a)}"
    if a.tag != b.tag or getattr(a, "prefix", None) != getattr(b, "prefix", None):
        return f"{here}: 요소가 {_name(b)}(으)로 바뀜"
    if isinstance(a.tag, str) and dict(a.attrib) != dict(b.attrib):
        keys = sorted(set(a.attrib) | set(b.attrib))
        key = next(k for k in keys if a.attrib.get(k) != b.attrib.get(k))
        shown = [f"'{v}'" if v is not None else "(없음)" for v in (a.attrib.get(key), b.attrib.get(key))]
        return f"{here}: 속성 {etree.QName(key).localname}이(가) {shown[0]} → {shown[1]}"
    if (a.text or "") != (b.text or ""):
        return f"{here}: 글자 '{_short(a.text)}' → '{_short(b.text)}'"
    if len(a) != len(b):
        return f"{here}: 하위 요소 수 {len(a)} → {len(b)}"
    counts: dict = {}
    for child_a, child_b in zip(a, b):
        counts[child_a.tag] = counts.get(child_a.tag, 0) + 1
        child = f"{here}/{_name(child_a)}[{counts[child_a.tag]}]"
        found = first_difference(child_a, child_b, child)
        if found:
            return found
        if (child_a.tail or "") != (child_b.tail or ""):
            return f"{child} 뒤: 글자 '{_short(child_a.tail)}' → '{_short(child_b.tail)}'"
    return None


def _name(node) -> str:
    if not isinstance(node.tag, str):
        return "(주석·처리 명령)"
    local = etree.QName(node).localname
    return f"{node.prefix}:{local}" if node.prefix else local


def _short(text) -> str:
    text = text or ""
    return text if len(text) <= 40 else text[:40] + "…"
