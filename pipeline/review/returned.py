"""Read a draft returned by a company: Word comments and tracked changes, defensively.

The file comes from outside, so it is treated as hostile (issue 8 §2):

* size: more than MAX_FILE_BYTES on disk is refused before it is opened;
* not a zip: a password-protected .docx (an OLE compound file holding an EncryptedPackage) and an
  old .doc are named as such, with what to do;
* zip: must be a readable zip with at most MAX_MEMBERS members. Only the parts we read are ever
  decompressed (the body, headers, footers, foot-/endnotes, comments, styles, properties), so the
  limits apply to them: each at most MAX_PART_BYTES, all together MAX_READ_BYTES, and above
  RATIO_FLOOR a compression ratio over MAX_RATIO is a zip bomb. Media are never decompressed, so a
  blank BMP that compresses 1000:1 is no bomb. Every read is capped, so a header that lies about
  its size cannot blow up memory;
* XML: parsed with defusedxml with DTDs, entity declarations and external references all
  forbidden; no entity is ever expanded or fetched. Strict Open XML (ISO/IEC 29500 Strict, Word's
  "Strict Open XML 문서") is read like the usual Transitional form: its namespaces are mapped;
* parts: word/document.xml must exist (or the part the package's officeDocument relationship
  names); relationship targets may be relative or absolute ("/word/comments.xml");
* what comes back is bounded text (STORED_TEXT_CHARS per text, CONTEXT_CHARS of paragraph
  context) with exact repeats merged, never XML, so a small reply cannot become a large record;
* identity: docProps/custom.xml carries the company id, revision and draft id our renderer wrote
  (render/docx.py IDENTITY_PROPERTIES); the feedback command checks them.

Longer than 400 lines: the limits, the package reading (relationships, Strict names, properties)
and the walk of body, headers and footers are one reading of one hostile file, kept together so
that every read goes through the same caps.

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
MAX_PART_BYTES = 64 * 1024 * 1024            # one XML part we actually read
MAX_READ_BYTES = 160 * 1024 * 1024           # all the parts we read, together
MAX_RATIO = 200                              # uncompressed / compressed, per part we read
RATIO_FLOOR = 1024 * 1024                    # small parts may compress as well as they like
MAX_ITEMS = 10000                            # comments, and tracked changes, per document
MAX_PARTS = 60                               # headers, footers and notes parts read
ANCHOR_CHARS = 4000                          # anchored text walked per comment
STORED_TEXT_CHARS = 2000                     # a comment's, change's or anchor's text as kept
CONTEXT_CHARS = 600                          # the paragraph around a change, as kept
NEAR_CHARS = 80                              # … around each further change of a paragraph longer than
SHORT_PARAGRAPH = 240                        # … this (a short one is kept whole)
MAX_STORED_CHARS = 2_000_000                 # all text kept from one reply

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
REL_TYPES = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
# ISO/IEC 29500 Strict uses other namespace names for the same elements: mapped to Transitional.
STRICT_NAMES = (
    (b"http://purl.oclc.org/ooxml/wordprocessingml/main", W.encode()),
    (b"http://purl.oclc.org/ooxml/officeDocument/relationships", REL_TYPES.rstrip("/").encode()),
    (b"http://purl.oclc.org/ooxml/officeDocument/customProperties",
     b"http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"),
)
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
CUSTOM_NS = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
VT_NS = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
# Parts besides the body whose text the company may change or comment on, and where they show.
SIDE_PARTS = {"header": "머리글", "footer": "바닥글", "footnotes": "각주", "endnotes": "미주"}


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
    identity: dict = field(default_factory=dict)   # company_id, revision, draft_id, document (custom.xml)
    merged: int = 0                                # exact repeats merged into one item


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
    package = _read_package(path, data)

    walker = _Walker(_heading_styles(package.styles))
    body = package.document.find(_w("body"))
    if body is None:
        raise FeedbackError(f"{path}: word/document.xml에 본문(w:body)이 없습니다. Word 문서가 아닙니다")
    walker.walk(body)
    for label, root in package.side:  # headers, footers and notes: their changes and comment anchors too
        walker.part(label, root)
    walker.finish()

    comments = []
    if package.comments is not None:
        for comment in package.comments.iter(_w("comment")):
            if len(comments) >= MAX_ITEMS:
                raise FeedbackError(f"{path}: 메모가 너무 많습니다 (한도 {MAX_ITEMS}건)")
            cid = comment.get(_w("id"))
            paragraphs = ["".join(t.text or "" for t in p.iter(_w("t"))) for p in comment.iter(_w("p"))]
            comments.append({
                "word_id": cid,
                "author": _short(comment.get(_w("author")) or "", 200),
                "date": _short(comment.get(_w("date")) or "", 40) or None,
                "text": _short("\n".join(paragraphs).strip(), STORED_TEXT_CHARS),
                "anchor": _short(walker.anchor(cid), STORED_TEXT_CHARS),
                "heading": walker.anchor_headings.get(cid),
            })
    comments, merged_comments = _merge_repeats(comments, ("author", "text", "anchor", "heading"))
    changes, merged_changes = _merge_repeats(walker.changes, ("kind", "author", "text", "paragraph", "heading"))
    stored = sum(len(str(v)) for entry in comments + changes for v in entry.values() if isinstance(v, str))
    if stored > MAX_STORED_CHARS:
        raise FeedbackError(f"{path}: 가져올 메모·변경 내용이 너무 많습니다 ({stored:,}자, 한도 {MAX_STORED_CHARS:,}자). "
                            "문서를 나누어 보내 달라고 요청하세요; 아무것도 저장하지 않았습니다")
    return ReturnedDraft(
        name=path.name,
        sha256=hashlib.sha256(data).hexdigest(),
        size=size,
        document=_guess_document(walker.first_texts, titles or {}),
        comments=comments,
        changes=changes,
        identity=package.identity,
        merged=merged_comments + merged_changes,
    )


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _merge_repeats(entries: list[dict], keys: tuple[str, ...]) -> tuple[list[dict], int]:
    """Exact repeats (same kind, author, text and place) become one entry with a count."""
    out: dict[tuple, dict] = {}
    for entry in entries:
        key = tuple(entry.get(k) for k in keys)
        if key in out:
            out[key]["repeats"] = out[key].get("repeats", 1) + 1
        else:
            out[key] = entry
    return list(out.values()), len(entries) - len(out)


# ---------------------------------------------------------------- zip and XML safety

@dataclass
class _Package:
    document: Element
    styles: Element | None
    comments: Element | None
    side: list                                   # (label, root) of headers, footers, notes
    identity: dict


def _not_a_zip(path: Path, data: bytes) -> FeedbackError:
    if data.startswith(OLE_MAGIC):
        if "EncryptedPackage".encode("utf-16-le") in data:
            return FeedbackError(
                f"{path}: 암호가 걸린 문서입니다. 열 수 없어 메모·변경 내용을 가져오지 못했습니다. 기업에 Word에서 "
                "[파일] → [정보] → [문서 보호] → [암호 설정]의 암호를 지우고 저장해 다시 보내 달라고 요청하세요 "
                "(또는 암호를 아는 사람이 열어 [다른 이름으로 저장] → 'Word 문서(*.docx)')")
        return FeedbackError(
            f"{path}: Word 97-2003 문서(.doc) 형식입니다. Word에서 [다른 이름으로 저장] → 'Word 문서(*.docx)'로 "
            "저장해 보내 달라고 요청하세요")
    return FeedbackError(f"{path}: .docx(zip) 파일이 아닙니다. Word에서 'Word 문서(*.docx)'로 저장해 보내 달라고 요청하세요")


def _read_package(path: Path, data: bytes) -> _Package:
    """The parts we read, parsed: body, styles, comments, headers/footers/notes, custom properties."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise _not_a_zip(path, data) from None
    except (OSError, ValueError, EOFError) as exc:
        raise FeedbackError(f"{path}: 손상된 zip 파일입니다 ({exc})") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise FeedbackError(f"{path}: zip 항목이 너무 많습니다 ({len(infos)}개, 한도 {MAX_MEMBERS})")
        reader = _PartReader(path, archive)
        main = reader.main_part()
        if main is None:
            if "EncryptionInfo" in reader.names or "EncryptedPackage" in reader.names:
                raise _not_a_zip(path, OLE_MAGIC + "EncryptedPackage".encode("utf-16-le"))
            raise FeedbackError(f"{path}: Word 본문(word/document.xml)이 없습니다. .docx 문서가 아닙니다")
        document = reader.parse(main)
        rels = reader.relationships(main)
        comments_name = next((t for kind, t in rels if kind == "comments"), None)
        if comments_name is None and "word/comments.xml" in reader.names:
            comments_name = "word/comments.xml"
        styles_name = next((t for kind, t in rels if kind == "styles"), None)
        if styles_name is None and "word/styles.xml" in reader.names:
            styles_name = "word/styles.xml"
        side, seen = [], {main, comments_name, styles_name}
        for kind, target in rels:
            if kind in SIDE_PARTS and target not in seen:
                if len(side) >= MAX_PARTS:
                    raise FeedbackError(f"{path}: 머리글·바닥글·각주 부분이 너무 많습니다 (한도 {MAX_PARTS}개)")
                seen.add(target)
                side.append((SIDE_PARTS[kind], reader.parse(target)))
        return _Package(
            document=document,
            styles=reader.parse(styles_name) if styles_name else None,
            comments=reader.parse(comments_name) if comments_name else None,
            side=side,
            identity=_identity(reader),
        )


class _PartReader:
    """Reads parts by name with every limit applied; resolves relationship targets."""

    def __init__(self, path: Path, archive: zipfile.ZipFile):
        self.path, self.archive = path, archive
        self.names = {info.filename for info in archive.infolist()}
        self.read_total = 0

    def main_part(self) -> str | None:
        for kind, target in self.relationships(""):
            if kind == "officeDocument":
                return target
        return "word/document.xml" if "word/document.xml" in self.names else None

    def relationships(self, part: str) -> list[tuple[str, str]]:
        """(type's last word, target part name) of `part`'s internal relationships that exist."""
        folder, name = posixpath.split(part)
        rels = posixpath.join(folder, "_rels", f"{name}.rels")
        if rels not in self.names:
            return []
        out = []
        for rel in self.parse(rels).iter(f"{{{REL_NS}}}Relationship"):
            if rel.get("TargetMode") == "External":
                continue
            raw = (rel.get("Target") or "").split("#")[0]
            # Absolute targets ("/word/comments.xml") start at the package root; relative ones at the part's folder.
            target = posixpath.normpath(raw.lstrip("/") if raw.startswith("/") else posixpath.join(folder, raw))
            if target in self.names:
                out.append(((rel.get("Type") or "").rstrip("/").rsplit("/", 1)[-1], target))
        return out

    def parse(self, name: str) -> Element:
        data = _read_capped(self.path, self.archive, name)
        self.read_total += len(data)
        if self.read_total > MAX_READ_BYTES:
            raise FeedbackError(f"{self.path}: 읽어야 할 XML이 모두 {MAX_READ_BYTES // 1048576} MB를 넘습니다 (압축 폭탄으로 보임)")
        for strict, transitional in STRICT_NAMES:
            data = data.replace(strict, transitional)
        return _parse_xml(self.path, name, data)


def _identity(reader: _PartReader) -> dict:
    """Our identity properties from docProps/custom.xml (or wherever the package's rels put it)."""
    from pipeline.render import IDENTITY_PROPERTIES

    name = next((t for kind, t in reader.relationships("") if kind == "custom-properties"), None)
    if name is None and "docProps/custom.xml" in reader.names:
        name = "docProps/custom.xml"
    if name is None:
        return {}
    keys = {prop: key for key, prop in IDENTITY_PROPERTIES.items()}
    out = {}
    for prop in reader.parse(name).iter(f"{{{CUSTOM_NS}}}property"):
        key = keys.get(prop.get("name"))
        if key is not None:
            out[key] = _short("".join(prop.itertext()).strip(), 100)
    return out


def _read_capped(path: Path, archive: zipfile.ZipFile, name: str) -> bytes:
    info = archive.getinfo(name)
    if info.file_size > MAX_PART_BYTES:
        raise FeedbackError(f"{path}: {name}이(가) 너무 큽니다 ({info.file_size / 1048576:,.0f} MB)")
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > RATIO_FLOOR and ratio > MAX_RATIO:
        raise FeedbackError(f"{path}: 압축 폭탄으로 보이는 항목이 있습니다 ({name}: 압축비 {ratio:,.0f}:1)")
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
        # One change per run of adjacent segments of the same kind, author and date; each keeps
        # the paragraph around it (CONTEXT_CHARS), not the whole paragraph: a long paragraph with
        # many small changes must not be stored once per change.
        current = None
        texts = (after, before)    # one object per paragraph: finish() tells its first change by it
        at_after = at_before = 0   # where the segment starts in `after` and in `before`
        for kind, change, text in para["segments"]:
            start_after, start_before = at_after, at_before
            at_after += len(text) if kind != "deletion" else 0
            at_before += len(text) if kind != "insertion" else 0
            if kind is None:
                current = None
                continue
            key = (kind, change.get(_w("author")), change.get(_w("date")))
            if current is not None and current["_key"] == key:
                current["text"] += text
                current["_end"] = (at_after, at_before)
                continue
            current = {"_key": key, "kind": kind, "word_id": change.get(_w("id")),
                       "author": _short(change.get(_w("author")) or "", 200), "date": change.get(_w("date")), "text": text,
                       "heading": self.heading, "_texts": texts, "_start": (start_after, start_before),
                       "_end": (at_after, at_before)}
            self.changes.append(current)
            if len(self.changes) > MAX_ITEMS:
                raise FeedbackError(f"변경 추적 항목이 너무 많습니다 (한도 {MAX_ITEMS}건)")
        if para["is_heading"] and after.strip():
            self.heading = _short(after.strip(), 200)
            for cid in para["comments"]:  # a comment on a heading belongs to that heading's section
                self.anchor_headings[cid] = self.heading

    def part(self, label: str, root: Element) -> None:
        """A header, footer or notes part: its changes and comment anchors, placed under `label`."""
        body_heading, self.heading = self.heading, label
        first = self.first_texts
        self.first_texts = []          # the document's title is guessed from the body only
        self.texts.append("\n")
        self.walk(root)
        self.heading, self.first_texts = body_heading, first

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
        """Bounded text and context: an insertion keeps the paragraph as it reads now, a deletion as
        it read before; the first change of a paragraph keeps CONTEXT_CHARS of it, the further ones
        NEAR_CHARS around themselves (so many small changes in one long paragraph stay small)."""
        seen: set[int] = set()
        for change in self.changes:
            change.pop("_key", None)
            texts, start, end = change.pop("_texts"), change.pop("_start"), change.pop("_end")
            change["text"] = _short(change["text"], STORED_TEXT_CHARS)
            side = 0 if change["kind"] == "insertion" else 1
            width = NEAR_CHARS if id(texts) in seen and len(texts[side]) > SHORT_PARAGRAPH else CONTEXT_CHARS
            seen.add(id(texts))
            change["paragraph" if side == 0 else "paragraph_before"] = _around(texts[side], start[side], end[side], width)


def _around(text: str, start: int, end: int, width: int) -> str:
    """`text` (a paragraph) cut to `width` characters around [start, end), with … where cut."""
    if len(text) <= width:
        return text.strip()
    half = max((width - min(end - start, width)) // 2, 0)
    lo, hi = max(start - half, 0), min(max(end, start) + half, len(text))
    hi = min(hi, lo + width)
    return ("…" if lo else "") + text[lo:hi].strip() + ("…" if hi < len(text) else "")


def _guess_document(texts: list[str], titles: dict[str, str]) -> str | None:
    for text in texts:
        for key, title in titles.items():
            if text == title:
                return key
    return None
