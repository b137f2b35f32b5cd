"""Zip limits shared by the readers of outside packages (returned workbooks, official forms): a blank
picture compresses 1,000:1 and is harmless; an XML part that does is a bomb (issue 17)."""
from __future__ import annotations

import io
import zipfile

from pipeline.profile.zip_limits import zip_problem

LIMITS = dict(max_members=50, max_total=40 * 1024 * 1024, max_ratio=200, ratio_floor=1024 * 1024)


def _infos(members: dict[str, bytes]) -> list[zipfile.ZipInfo]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return zipfile.ZipFile(io.BytesIO(buffer.getvalue())).infolist()


def test_blank_media_pass_an_xml_bomb_does_not():
    blank = b"\0" * (8 * 1024 * 1024)
    assert zip_problem(_infos({"word/document.xml": b"<w/>", "word/media/image1.bmp": blank}), **LIMITS) is None
    problem = zip_problem(_infos({"word/document.xml": b"<w>" + b" " * (8 * 1024 * 1024) + b"</w>"}), **LIMITS)
    assert problem and "압축 폭탄" in problem and "word/document.xml" in problem


def test_members_total_and_duplicates():
    assert "항목이 너무 많습니다" in zip_problem(_infos({f"p{i}.xml": b"<a/>" for i in range(51)}), **LIMITS)
    big = {f"media/{i}.bin": b"\0" * (15 * 1024 * 1024) for i in range(3)}
    assert "압축을 풀면 너무 큽니다" in zip_problem(_infos(big), **LIMITS)
    infos = _infos({"a.xml": b"<a/>"})
    assert "같은 이름" in zip_problem(infos + infos, **LIMITS)
