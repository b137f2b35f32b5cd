"""Read a draft returned by a company: Word comments and tracked changes, defensively.

The file comes from outside, so it is treated as hostile (issue 8 §2):

* size: more than MAX_FILE_BYTES on disk is refused before it is opened;
* zip: must be a readable zip; too many members, a declared uncompressed total above
  MAX_TOTAL_UNCOMPRESSED, or a member whose compression ratio exceeds MAX_RATIO (a zip bomb) is
  refused from the ZipInfo headers *before* anything is decompressed, and every member we read
  is read with a cap, so a header that lies about its size cannot blow up memory;
* XML: parsed with defusedxml with DTDs, entity declarations and external references all
  forbidden; no entity is ever expanded or fetched;
* parts: word/document.xml must exist; word/comments.xml is optional.

python-docx's `paragraph.text` skips runs inside `w:ins` (and `w:del` text is `w:delText`), so
the XML is walked directly. Nothing here writes anything; every problem is a FeedbackError.
"""
from __future__ import annotations

import hashlib
import io
import posixpath
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

from pipeline.errors import FeedbackError

MAX_FILE_BYTES = 50 * 1024 * 1024           # the .docx on disk
MAX_MEMBERS = 5000                           # entries in the zip
MAX_TOTAL_UNCOMPRESSED = 200 * 1024 * 1024   # declared sum of all members
MAX_PART_BYTES = 64 * 1024 * 1024            # one XML part we actually read
MAX_RATIO = 200                              # uncompressed / compressed, per member
RATIO_FLOOR = 1024 * 1024                    # small members may compress as well as they like
MAX_ITEMS = 10000                            # comments, and tracked changes, per document
ANCHOR_CHARS = 4000                          # anchored text kept per comment

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
COMMENTS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/comments"


def _w(tag: str) -> str:
    return f"{{{W}}}{tag}"


CHANGE_KINDS = {_w("ins"): "insertion", _w("moveTo"): "insertion", _w("del"): "deletion", _w("moveFrom"): "deletion"}
TEXT_TAGS = {_w("t"), _w("delText")}


@dataclass
class ReturnedDraft:
    name: str
    sha256: str
    size: int
    document: str | None                        # diagnosis | matching | plan, guessed from the title
    comments: list[dict] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)


def read_returned_draft(path: Path, titles: dict[str, str] | None = None) -> ReturnedDraft:
    """Comments and tracked changes of a returned .docx; FeedbackError if it is not a safe .docx."""
    path = Path(path)
    if not path.is_file():
        raise FeedbackError(f"{path}: 파일이 없습니다")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise FeedbackError(f"{path}: 파일이 너무 큽니다 ({size / 1048576:.1f} MB, 한도 {MAX_FILE_BYTES // 1048576} MB)")
    with open(path, "rb") as handle:
        data = handle.read(MAX_FILE_BYTES + 1)  # capped: the file may grow after stat()
    if len(data) > MAX_FILE_BYTES:
        raise FeedbackError(f"{path}: 파일이 너무 큽니다 (한도 {MAX_FILE_BYTES // 1048576} MB)")
    parts = _read_parts(path, data)
    roots = {name: _parse_xml(path, name, xml) for name, xml in parts.items()}
    document_root = roots.pop("word/document.xml")
    styles_root = roots.pop("word/styles.xml", None)
    comments_root = next(iter(roots.values()), None)  # the comments part, wherever the rels put it

    walker = _Walker(_heading_styles(styles_root))
    body = document_root.find(_w("body"))
    if body is None:
        raise FeedbackError(f"{path}: word/document.xml에 본문(w:body)이 없습니다. Word 문서가 아닙니다")
    walker.walk(body)
    walker.finish()

    comments = []
    if comments_root is not None:
        for comment in comments_root.iter(_w("comment")):
            if len(comments) >= MAX_ITEMS:
                raise FeedbackError(f"{path}: 메모가 너무 많습니다 (한도 {MAX_ITEMS}건)")
            cid = comment.get(_w("id"))
            paragraphs = ["".join(t.text or "" for t in p.iter(_w("t"))) for p in comment.iter(_w("p"))]
            comments.append({
                "word_id": cid,
                "author": comment.get(_w("author")) or "",
                "date": comment.get(_w("date")),
                "text": "\n".join(paragraphs).strip(),
                "anchor": walker.anchor(cid),
                "heading": walker.anchor_headings.get(cid),
            })
    return ReturnedDraft(
        name=path.name,
        sha256=hashlib.sha256(data).hexdigest(),
        size=size,
        document=_guess_document(walker.first_texts, titles or {}),
        comments=comments,
        changes=walker.changes,
    )


# ---------------------------------------------------------------- zip and XML safety

def _read_parts(path: Path, data: bytes) -> dict[str, bytes]:
    """word/document.xml, the comments part (if any) and word/styles.xml (if any), as bytes."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise FeedbackError(f"{path}: .docx(zip) 파일이 아닙니다. Word에서 'Word 문서(*.docx)'로 저장해 보내 달라고 요청하세요") from None
    except (OSError, ValueError, EOFError) as exc:
        raise FeedbackError(f"{path}: 손상된 zip 파일입니다 ({exc})") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise FeedbackError(f"{path}: zip 항목이 너무 많습니다 ({len(infos)}개, 한도 {MAX_MEMBERS})")
        total = 0
        for info in infos:
            total += info.file_size
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > RATIO_FLOOR and ratio > MAX_RATIO:
                raise FeedbackError(f"{path}: 압축 폭탄으로 보이는 항목이 있습니다 ({info.filename}: 압축비 {ratio:,.0f}:1)")
        if total > MAX_TOTAL_UNCOMPRESSED:
            raise FeedbackError(f"{path}: 압축을 풀면 너무 큽니다 ({total / 1048576:,.0f} MB, 한도 {MAX_TOTAL_UNCOMPRESSED // 1048576} MB)")
        names = {info.filename for info in infos}
        if "word/document.xml" not in names:
            raise FeedbackError(f"{path}: Word 본문(word/document.xml)이 없습니다. .docx 문서가 아닙니다")
        parts = {"word/document.xml": _read_capped(path, archive, "word/document.xml")}
        comments_name = _comments_part(path, archive, names)
        if comments_name and comments_name not in parts:
            parts[comments_name] = _read_capped(path, archive, comments_name)
        if "word/styles.xml" in names and comments_name != "word/styles.xml":
            parts["word/styles.xml"] = _read_capped(path, archive, "word/styles.xml")
        return parts


def _comments_part(path: Path, archive: zipfile.ZipFile, names: set[str]) -> str | None:
    rels = "word/_rels/document.xml.rels"
    if rels in names:
        root = _parse_xml(path, rels, _read_capped(path, archive, rels))
        for rel in root.iter(f"{{{REL_NS}}}Relationship"):
            if rel.get("Type") == COMMENTS_REL and rel.get("TargetMode") != "External":
                target = posixpath.normpath(posixpath.join("word", rel.get("Target") or ""))
                if target in names:
                    return target
    return "word/comments.xml" if "word/comments.xml" in names else None


def _read_capped(path: Path, archive: zipfile.ZipFile, name: str) -> bytes:
    info = archive.getinfo(name)
    if info.file_size > MAX_PART_BYTES:
        raise FeedbackError(f"{path}: {name}이(가) 너무 큽니다 ({info.file_size / 1048576:,.0f} MB)")
    try:
        with archive.open(info) as handle:
            data = handle.read(MAX_PART_BYTES + 1)
    except RuntimeError as exc:  # encrypted member, or an unsupported compression method (a subclass)
        raise FeedbackError(f"{path}: {name}을(를) 읽을 수 없습니다 (암호화되었거나 지원하지 않는 압축 방식): {exc}") from None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise FeedbackError(f"{path}: 손상된 zip 항목 {name}: {exc}") from None
    if len(data) > MAX_PART_BYTES:
        raise FeedbackError(f"{path}: {name}이(가) 헤더에 적힌 것보다 큽니다 (압축 폭탄으로 보임)")
    return data


def _parse_xml(path: Path, name: str, data: bytes) -> Element:
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise FeedbackError(
            f"{path}: {name}에 DTD·엔터티 선언 또는 외부 참조가 있어 거부합니다 ({type(exc).__name__}). "
            "Word가 저장한 문서에는 없는 구조입니다"
        ) from None
    except ParseError as exc:
        raise FeedbackError(f"{path}: {name}이(가) 올바른 XML이 아닙니다 ({exc})") from None
    except (ValueError, RecursionError) as exc:
        raise FeedbackError(f"{path}: {name}을(를) 읽을 수 없습니다 ({exc})") from None


# ---------------------------------------------------------------- walking the body

def _heading_styles(styles_root: Element | None) -> set[str]:
    """Style ids whose name is 'heading N' or 'Title' (Korean Word keeps English style names)."""
    ids = {"Heading1", "Heading2", "Heading3", "Title"}
    if styles_root is None:
        return ids
    for style in styles_root.iter(_w("style")):
        name = style.find(_w("name"))
        value = (name.get(_w("val")) if name is not None else "") or ""
        if value.lower().startswith("heading") or value.lower() == "title":
            ids.add(style.get(_w("styleId")) or "")
    return ids


class _Walker:
    """One pass over the body in document order: comment anchors, changes, paragraph texts."""

    def __init__(self, heading_styles: set[str]):
        self.heading_styles = heading_styles
        self.texts: list[str] = []              # every text of the body in order, "\n" between paragraphs
        self.ranges: dict[str, list[int]] = {}  # comment id → [start, end] indexes into texts
        self.anchor_headings: dict[str, str | None] = {}
        self.changes: list[dict] = []
        self.first_texts: list[str] = []
        self.heading: str | None = None
        self._para: dict | None = None
        self._change: list[Element] = []  # enclosing w:ins/w:del/w:moveTo/w:moveFrom

    def walk(self, element: Element, depth: int = 0) -> None:
        if depth > 200:
            raise FeedbackError("문서 구조가 지나치게 깊습니다 (중첩 200단계 초과)")
        tag = element.tag
        if tag in (_w("rPr"), _w("pPr")):
            return  # w:ins/w:del in properties mark formatting or paragraph-mark changes, not text
        is_change = tag in CHANGE_KINDS
        if tag == _w("p"):
            self._start_paragraph(element)
        elif tag == _w("commentRangeStart"):
            cid = element.get(_w("id"))
            if cid not in self.ranges:
                if len(self.ranges) >= MAX_ITEMS:
                    raise FeedbackError(f"메모가 너무 많습니다 (한도 {MAX_ITEMS}건)")
                self.ranges[cid] = [len(self.texts), None]
            self.anchor_headings.setdefault(cid, self.heading)
            if self._para is not None:
                self._para["comments"].append(cid)
        elif tag == _w("commentRangeEnd"):
            span = self.ranges.get(element.get(_w("id")))
            if span is not None and span[1] is None:
                span[1] = len(self.texts)
        elif tag in TEXT_TAGS and element.text:
            self._text(element.text)
        elif tag == _w("tab"):
            self._text("\t")
        elif tag in (_w("br"), _w("cr")) and element.get(_w("type")) not in ("page", "column"):
            self._text("\n")  # as python-docx's paragraph.text does; page breaks add nothing
        elif is_change:
            self._change.append(element)
        for child in element:
            self.walk(child, depth + 1)
        if is_change:
            self._change.pop()
        if tag == _w("p"):
            self._end_paragraph()

    def _start_paragraph(self, p: Element) -> None:
        style = p.find(f"{_w('pPr')}/{_w('pStyle')}")
        style_id = style.get(_w("val")) if style is not None else None
        self._para = {"segments": [], "is_heading": style_id in self.heading_styles, "comments": []}
        if self.texts and self.texts[-1] != "\n":
            self.texts.append("\n")

    def _text(self, text: str) -> None:
        if self._para is None:
            return
        change = self._change[-1] if self._change else None
        kind = CHANGE_KINDS[change.tag] if change is not None else None
        self._para["segments"].append((kind, change, text))
        self.texts.append(text)

    def _end_paragraph(self) -> None:
        para, self._para = self._para, None
        if para is None:
            return
        after = "".join(t for kind, _c, t in para["segments"] if kind != "deletion")
        before = "".join(t for kind, _c, t in para["segments"] if kind != "insertion")
        if after.strip() and len(self.first_texts) < 12:
            self.first_texts.append(after.strip())
        # One change per run of adjacent segments of the same kind, author and date.
        current = None
        for kind, change, text in para["segments"]:
            if kind is None:
                current = None
                continue
            key = (kind, change.get(_w("author")), change.get(_w("date")))
            if current is not None and current["_key"] == key:
                current["text"] += text
                continue
            current = {"_key": key, "kind": kind, "word_id": change.get(_w("id")),
                       "author": change.get(_w("author")) or "", "date": change.get(_w("date")), "text": text,
                       "paragraph": after.strip(), "paragraph_before": before.strip(), "heading": self.heading}
            self.changes.append(current)
            if len(self.changes) > MAX_ITEMS:
                raise FeedbackError(f"변경 추적 항목이 너무 많습니다 (한도 {MAX_ITEMS}건)")
        if para["is_heading"] and after.strip():
            self.heading = after.strip()
            for cid in para["comments"]:  # a comment on a heading belongs to that heading's section
                self.anchor_headings[cid] = self.heading

    def anchor(self, cid: str | None) -> str:
        """The text a comment is anchored to, at most ANCHOR_CHARS characters."""
        span = self.ranges.get(cid)
        if span is None:
            return ""
        end = len(self.texts) if span[1] is None else span[1]
        out, size = [], 0
        for text in self.texts[span[0]:end]:
            out.append(text)
            size += len(text)
            if size >= ANCHOR_CHARS:
                return "".join(out)[:ANCHOR_CHARS].strip() + "…"
        return "".join(out).strip()

    def finish(self) -> None:
        for change in self.changes:
            change.pop("_key", None)


def _guess_document(texts: list[str], titles: dict[str, str]) -> str | None:
    for text in texts:
        for key, title in titles.items():
            if text == title:
                return key
    return None
