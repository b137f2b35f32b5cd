"""An agency's form file, read defensively, and written back part for part.

Forms are downloaded from program notices, so they are untrusted like a returned draft
(pipeline/review/returned.py sets the same limits; the two packages sit on one layer and may not
import each other):

* the file is capped in size, must be a zip (an HWP 5.0 binary, an OLE compound file, is refused
  with the way to convert it), with few enough members, no zip bomb (declared sizes and ratios
  checked from the headers before anything is decompressed; every read capped);
* an XML part is parsed first by defusedxml (no DTD, no entity declaration, no external
  reference), then by lxml for editing, which keeps the namespace prefixes the writing program
  chose (Word's mc:Ignorable names prefixes; ElementTree would rename them ns0:);
* `write_package` writes every member in the original order with its original name, date,
  attributes and compression; members not handed in are copied as they were.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import FormError
from pipeline.profile.zip_limits import zip_problem

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_MEMBERS = 5000
MAX_TOTAL_UNCOMPRESSED = 300 * 1024 * 1024
MAX_PART_BYTES = 64 * 1024 * 1024
MAX_RATIO = 200
RATIO_FLOOR = 1024 * 1024

OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
HWPX_MIMETYPE = b"application/hwp+zip"

HWP_ADVICE = (
    "HWP 5.0 바이너리(.hwp) 양식은 직접 채우지 않습니다 (일부만 처리된 파일을 만들지 않기 위해 거부). "
    "한글에서 양식을 열고 [파일 → 다른 이름으로 저장 → 파일 형식: 한글 표준 문서(*.hwpx)]로 저장한 뒤 "
    "그 .hwpx를 양식 폴더에 두고 source.yaml의 file·sha256을 바꾸세요. 한글이 없으면 "
    "`python -m pipeline form-convert <양식.hwp> <양식.hwpx>`(python-hwpx 변환기)로 바꿀 수 있지만, "
    "변환본은 반드시 한글에서 열어 원본과 같은지 확인한 다음 쓰세요"
)


@dataclass
class FormPackage:
    """A form as read: its kind ("hwpx" or "docx"), the zip's members in order, and the raw file."""

    path: Path
    kind: str
    data: bytes
    infos: list[zipfile.ZipInfo]

    def names(self) -> list[str]:
        return [info.filename for info in self.infos]

    def read(self, name: str) -> bytes:
        with zipfile.ZipFile(io.BytesIO(self.data)) as archive:
            return _read_capped(self.path, archive, archive.getinfo(name))

    def read_all(self) -> dict[str, bytes]:
        with zipfile.ZipFile(io.BytesIO(self.data)) as archive:
            return {info.filename: _read_capped(self.path, archive, info) for info in self.infos}


def read_form(path: Path) -> FormPackage:
    """The form at `path` after the size, zip and kind checks; FormError otherwise."""
    path = Path(path)
    if not path.is_file():
        raise FormError(f"{path}: 양식 파일이 없습니다")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise FormError(f"{path}: 양식 파일이 너무 큽니다 ({size / 1048576:.1f} MB, 한도 {MAX_FILE_BYTES // 1048576} MB)")
    with open(path, "rb") as handle:
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise FormError(f"{path}: 양식 파일이 너무 큽니다 (한도 {MAX_FILE_BYTES // 1048576} MB)")
    return read_form_bytes(path, data)


def read_form_bytes(path: Path, data: bytes) -> FormPackage:
    if data.startswith(OLE_SIGNATURE):
        raise FormError(f"{path}: {HWP_ADVICE}")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise FormError(f"{path}: .hwpx·.docx(zip) 양식 파일이 아닙니다. 한글 표준 문서(*.hwpx)나 Word 문서(*.docx)로 "
                        "저장한 양식을 쓰세요") from None
    except (OSError, ValueError, EOFError) as exc:
        raise FormError(f"{path}: 손상된 zip 파일입니다 ({exc})") from None
    with archive:
        infos = archive.infolist()
        problem = zip_problem(infos, max_members=MAX_MEMBERS, max_total=MAX_TOTAL_UNCOMPRESSED,
                              max_ratio=MAX_RATIO, ratio_floor=RATIO_FLOOR)
        if problem:
            raise FormError(f"{path}: {problem}")
        names = [info.filename for info in infos]
        if "mimetype" in names and _read_capped(path, archive, archive.getinfo("mimetype")).strip() == HWPX_MIMETYPE:
            kind = "hwpx"
            if not any(name.startswith("Contents/section") and name.endswith(".xml") for name in names):
                raise FormError(f"{path}: HWPX 본문(Contents/section0.xml)이 없습니다")
        elif "word/document.xml" in names:
            kind = "docx"
        else:
            raise FormError(f"{path}: HWPX(mimetype application/hwp+zip)도 Word 문서(word/document.xml)도 아닙니다")
    return FormPackage(path=path, kind=kind, data=data, infos=infos)


def _read_capped(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    if info.file_size > MAX_PART_BYTES:
        raise FormError(f"{path}: {info.filename}이(가) 너무 큽니다 ({info.file_size / 1048576:,.0f} MB)")
    try:
        with archive.open(info) as handle:
            data = handle.read(MAX_PART_BYTES + 1)
    except RuntimeError as exc:  # encrypted, or an unsupported compression method
        raise FormError(f"{path}: {info.filename}을(를) 읽을 수 없습니다 (암호화되었거나 지원하지 않는 압축 방식): {exc}") from None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise FormError(f"{path}: 손상된 zip 항목 {info.filename}: {exc}") from None
    if len(data) > MAX_PART_BYTES:
        raise FormError(f"{path}: {info.filename}이(가) 헤더에 적힌 것보다 큽니다 (압축 폭탄으로 보임)")
    return data


def parse_part(path: Path, name: str, data: bytes):
    """An XML part as an lxml tree, after defusedxml refused DTDs, entities and external references."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring
    from lxml import etree
    from xml.etree.ElementTree import ParseError

    try:
        fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise FormError(f"{path}: {name}에 DTD·엔터티 선언 또는 외부 참조가 있어 거부합니다 ({type(exc).__name__})") from None
    except ParseError as exc:
        raise FormError(f"{path}: {name}이(가) 올바른 XML이 아닙니다 ({exc})") from None
    except (ValueError, RecursionError) as exc:
        raise FormError(f"{path}: {name}을(를) 읽을 수 없습니다 ({exc})") from None
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                             remove_blank_text=False)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise FormError(f"{path}: {name}이(가) 올바른 XML이 아닙니다 ({exc})") from None


def serialize_part(root) -> bytes:
    """A part's tree as bytes, with the XML declaration both Word and 한글 write."""
    from lxml import etree

    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def write_package(form: FormPackage, replaced: dict[str, bytes]) -> bytes:
    """The form's zip with the members in `replaced` swapped; everything else as it was."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(form.data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in form.infos:
            data = replaced.get(info.filename)
            if data is None:
                data = _read_capped(form.path, source, info)
            clone = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            clone.compress_type = info.compress_type
            clone.external_attr = info.external_attr
            clone.create_system = info.create_system
            clone.comment = info.comment
            clone.extra = b""  # zip64/time extras of the source would be stale
            target.writestr(clone, data)
    return out.getvalue()
