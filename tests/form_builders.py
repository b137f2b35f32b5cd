"""Forms for the tests, built here (no agency form is shipped): a .hwpx (python-hwpx, from 한글's
own skeleton) and a .docx (python-docx plus raw XML for the content control and the legacy form
field), with the structures real 사업계획서 양식 use:

* a table 일반현황 with a merged title row and [label | answer] pairs (labels spaced for
  justification, "기 업 명"), a 사업비 table, and a 추진 일정 table whose answer is below its label;
* marker headings ("1. 사업 개요" …) each followed by a guide paragraph ("※ … 작성"), an empty
  paragraph or a one-cell box holding the guide; one heading numbered automatically (the number
  is not in its text);
* a 누름틀 (CLICK_HERE) / content control named 대표자 with its guide text, and a named cell
  (HWPX) / legacy text form field (Word) named 사업기간;
* text after the answer areas that must survive (a 확인 문구, a closing table).

`make_form_folder` writes a form folder (form, source.yaml with the form's SHA-256, map.yaml).
"""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

EXAMPLE_MAP = Path(__file__).parent / "forms" / "example-map.yaml"
CONFIRMATION = "위 기재 내용은 사실과 다름없음을 확인합니다."


def build_hwpx_form(path: Path, *, title: str = "2026년 중소기업 탄소중립 설비투자 지원사업 사업계획서") -> Path:
    from hwpx import HwpxDocument

    doc = HwpxDocument.new()
    doc.add_paragraph(title)
    doc.add_paragraph("Ⅰ. 신청기업 일반현황")
    table = doc.add_table(5, 4)
    table.cell(0, 0).text = "일 반 현 황"
    table.merge_cells(0, 0, 0, 3)
    for row, (left, right) in enumerate([("기 업 명", "대 표 자"), ("사업자등록번호", "업종(KSIC)"),
                                          ("소 재 지", "상시근로자"), ("사업기간", "담당자")], start=1):
        table.cell(row, 0).text = left
        table.cell(row, 2).text = right
    table.cell(4, 1).field_name = "사업기간"
    doc.add_paragraph("")
    money = doc.add_table(2, 4)
    for col, text in enumerate(["사업비", "총사업비", "정부지원금", "기업부담금"]):
        money.cell(0, col).text = text
    money.cell(1, 0).text = "금액(백만원)"
    p = doc.add_paragraph("대표자 성명: ")
    doc.fields.add("대표자", prompt="여기를 눌러 대표자 성명 입력", paragraph=p)
    doc.add_paragraph("Ⅱ. 사업계획")
    doc.add_paragraph("1. 사업 개요")
    doc.add_paragraph("※ 사업의 목적, 주요 내용, 기대효과를 1쪽 이내로 작성")
    doc.add_paragraph("2. 추진 배경 및 필요성")
    doc.add_paragraph("")
    doc.add_paragraph("3. 사업 목표")
    doc.add_paragraph("※ 최종 목표를 정량적으로 작성 (3줄 이내)")
    doc.add_paragraph("4. 기대효과")
    box = doc.add_table(1, 1)
    box.cell(0, 0).text = "※ 정량적·정성적 효과를 구분하여 작성"
    doc.add_paragraph("추진 체계")          # numbered by the outline style in real forms, not in the text
    doc.add_paragraph("")
    schedule = doc.add_table(2, 1)
    schedule.cell(0, 0).text = "추진 일정"
    doc.add_paragraph(CONFIRMATION)
    closing = doc.add_table(1, 2)
    closing.cell(0, 0).text = "신청인"
    closing.cell(0, 1).text = "(인)"
    doc.save_to_path(str(path))
    return path


def build_docx_form(path: Path, *, title: str = "2026년 중소기업 탄소중립 설비투자 지원사업 사업계획서") -> Path:
    import docx
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    doc = docx.Document()
    doc.add_paragraph(title, style="Title")
    doc.add_paragraph("Ⅰ. 신청기업 일반현황", style="Heading 1")
    table = doc.add_table(rows=5, cols=4)
    table.style = "Table Grid"
    merged = table.cell(0, 0).merge(table.cell(0, 3))
    merged.text = "일 반 현 황"
    for row, (left, right) in enumerate([("기 업 명", "대 표 자"), ("사업자등록번호", "업종(KSIC)"),
                                          ("소 재 지", "상시근로자"), ("사업기간", "담당자")], start=1):
        table.cell(row, 0).text = left
        table.cell(row, 2).text = right
    # 사업기간: a legacy text form field (FORMTEXT) in the answer cell.
    cell_p = table.cell(4, 1).paragraphs[0]._p
    for xml in ('<w:r {0}><w:fldChar w:fldCharType="begin"><w:ffData><w:name w:val="사업기간"/><w:enabled/>'
                '<w:calcOnExit w:val="0"/><w:textInput/></w:ffData></w:fldChar></w:r>',
                '<w:r {0}><w:instrText xml:space="preserve"> FORMTEXT </w:instrText></w:r>',
                '<w:r {0}><w:fldChar w:fldCharType="separate"/></w:r>',
                '<w:r {0}><w:rPr><w:noProof/></w:rPr><w:t xml:space="preserve">     </w:t></w:r>',
                '<w:r {0}><w:fldChar w:fldCharType="end"/></w:r>'):
        cell_p.append(parse_xml(xml.format(nsdecls("w"))))
    doc.add_paragraph("")
    money = doc.add_table(rows=2, cols=4)
    money.style = "Table Grid"
    for col, text in enumerate(["사업비", "총사업비", "정부지원금", "기업부담금"]):
        money.cell(0, col).text = text
    money.cell(1, 0).text = "금액(백만원)"
    p = doc.add_paragraph("대표자 성명: ")
    p._p.append(parse_xml(
        '<w:sdt {0}><w:sdtPr><w:rPr><w:b/></w:rPr><w:alias w:val="대표자"/><w:tag w:val="대표자"/><w:id w:val="4711"/>'
        '<w:showingPlcHdr/><w:text/></w:sdtPr><w:sdtContent><w:r><w:rPr><w:rStyle w:val="PlaceholderText"/></w:rPr>'
        '<w:t>여기를 눌러 대표자 성명 입력</w:t></w:r></w:sdtContent></w:sdt>'.format(nsdecls("w"))))
    doc.add_paragraph("Ⅱ. 사업계획", style="Heading 1")
    doc.add_paragraph("1. 사업 개요", style="Heading 2")
    guide = doc.add_paragraph()
    run = guide.add_run("※ 사업의 목적, 주요 내용, 기대효과를 1쪽 이내로 작성")
    run.italic = True
    doc.add_paragraph("2. 추진 배경 및 필요성", style="Heading 2")
    doc.add_paragraph("")
    doc.add_paragraph("3. 사업 목표", style="Heading 2")
    doc.add_paragraph("※ 최종 목표를 정량적으로 작성 (3줄 이내)")
    doc.add_paragraph("4. 기대효과", style="Heading 2")
    box = doc.add_table(rows=1, cols=1)
    box.style = "Table Grid"
    box.cell(0, 0).text = "※ 정량적·정성적 효과를 구분하여 작성"
    doc.add_paragraph("추진 체계", style="List Number")   # the number comes from the list, not the text
    doc.add_paragraph("")
    schedule = doc.add_table(rows=2, cols=1)
    schedule.style = "Table Grid"
    schedule.cell(0, 0).text = "추진 일정"
    doc.add_paragraph(CONFIRMATION)
    closing = doc.add_table(rows=1, cols=2)
    closing.cell(0, 0).text = "신청인"
    closing.cell(0, 1).text = "(인)"
    doc.save(str(path))
    return path


def make_form_folder(root: Path, kind: str, program: str = "sme-carbon-facility-general", year: int = 2026,
                     map_file: Path = EXAMPLE_MAP, builder=None) -> Path:
    """root/<program>/<year>/ with the form, source.yaml (its real SHA-256) and map.yaml."""
    folder = Path(root) / program / str(year)
    folder.mkdir(parents=True, exist_ok=True)
    form = folder / f"사업계획서_양식.{kind}"
    (builder or {"hwpx": build_hwpx_form, "docx": build_docx_form}[kind])(form)
    sha = hashlib.sha256(form.read_bytes()).hexdigest()
    (folder / "source.yaml").write_text(
        f"program: {program}\nyear: {year}\ntitle: 테스트 양식 ({kind})\n"
        f"url: https://example.invalid/{program}/{year}/form.{kind}\nsha256: {sha}\nfile: {form.name}\n",
        encoding="utf-8")
    shutil.copyfile(map_file, folder / "map.yaml")
    return folder
