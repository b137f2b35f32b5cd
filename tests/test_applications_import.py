"""Online-form export → applications/<year>/*.yaml (issue 20 item 4): round trip of the sample
applications through CSV (UTF-8 with BOM, CP949) and .xlsx, `select` on the result, pending
committee scores, existing files, and broken files (exit 2, row/column message, nothing written)."""
from __future__ import annotations

import csv
import io
import shutil
import zipfile
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from pipeline.commands import main
from pipeline.errors import ApplicationImportError, PendingScoresError
from pipeline.selection import evaluate
from pipeline.selection.form_import import apply_import, plan_import
from pipeline.profile.intake import CellProblem
from pipeline.selection.form_mapping import Entry, normal_header
from pipeline.selection.form_values import convert_cell, parse_when

ROOT = Path(__file__).resolve().parents[1]
APPS = ROOT / "applications" / "2025"
ITEMS = ["size", "ghg-inventory", "export", "supply-chain", "diagrams", "needs", "reason", "calc-readiness",
         "data-management"]
EVIDENCE_HEADERS = {   # item → (제출 여부, 서류, 제출일, 발급기관) headers of content/selection/application-form-2025.yaml
    "size": ("기업규모 증빙 제출 여부", "기업규모 증빙 서류", "기업규모 증빙 제출일", "기업규모 증빙 발급기관"),
    "ghg-inventory": ("배출량 산정 증빙 제출 여부", "배출량 산정 증빙 서류", "배출량 산정 증빙 제출일", "배출량 산정 증빙 발급기관"),
    "export": ("수출 증빙 제출 여부", "수출 증빙 서류", "수출 증빙 제출일", "수출 증빙 발급기관"),
    "supply-chain": ("공급망 관계도 제출 여부", "공급망 관계도", "공급망 관계도 제출일", "공급망 관계도 발급기관"),
    "diagrams": ("공정도 제출 여부", "공정도 및 공급망 관계도", "공정도 제출일", "공정도 발급기관"),
    "needs": ("희망 분야 증빙 제출 여부", "희망 분야 증빙", "희망 분야 증빙 제출일", "희망 분야 증빙 발급기관"),
    "reason": ("신청 사유 증빙 제출 여부", "신청 사유 증빙", "신청 사유 증빙 제출일", "신청 사유 증빙 발급기관"),
    "calc-readiness": ("활동자료 제출 여부", "활동자료 사본", "활동자료 제출일", "활동자료 발급기관"),
    "data-management": ("규제 대응 계획 제출 여부", "규제 대응 계획·데이터 관리 현황", "규제 대응 계획 제출일", "규제 대응 계획 발급기관"),
}
GHG_ANSWER = {"third_party_verified": "예(제3자 검증)", "internal": "예(자체 산정)", "none": "아니오", None: "아니오"}
pytestmark = pytest.mark.hardening


def _korean_timestamp(text: str) -> str:
    """'2025-08-20 16:12' as a Korean Google Forms export writes it: '2025. 8. 20 오후 4:12:00'."""
    day, clock = text.split(" ")
    y, m, d = (int(p) for p in day.split("-"))
    h, mi = (int(p) for p in clock.split(":"))
    half = "오후" if h >= 12 else "오전"
    return f"{y}. {m}. {d} {half} {h % 12 or 12}:{mi:02d}:00"


def sample_export() -> tuple[list[str], list[list]]:
    """The sample applications (and the facts the applicants' profiles hold) as one online-form
    export: the columns the mapping names, plus an e-mail column the import must not read."""
    header = ["타임스탬프", "이메일 주소", "접수 경로", "기업 ID", "기업명", "사업자등록번호", "사업장 소재지(시·군)", "기업 규모",
              "매출 대비 수출 비중(%)", "주요 거래처(고객사)", "온실가스 배출량 산정 여부", "신청 담당자 직위",
              "컨설팅 희망 분야", "컨설팅 신청 사유"]
    for item in ITEMS:
        header.extend(EVIDENCE_HEADERS[item])
        if item == "supply-chain":
            header.append("공급망 관계도에 표시한 거래처")
    rows = []
    for path in sorted(APPS.glob("*.yaml")):
        app = yaml.safe_load(path.read_text(encoding="utf-8"))
        profile = yaml.safe_load((ROOT / "companies" / path.name).read_text(encoding="utf-8"))
        company = profile["company"]
        share = sum(e.get("share_pct") or 0 for e in profile.get("exports") or [])
        customers = [c["name"] for e in profile.get("exports") or [] for c in e.get("customers") or []]
        customers += [d["customer"] for d in profile.get("customer_demands") or []]
        row = [_korean_timestamp(app["applied_at"]), "someone@example.invalid", app.get("channel", ""), path.stem, company["name"],
               company["business_number"].replace("-", ""), f"경상남도 {company['city']} 어딘가로 1",
               f"{company['size_class']}기업", f"{share:g}%", "; ".join(customers),
               GHG_ANSWER[(profile.get("readiness") or {}).get("ghg_inventory")], "생산관리팀장",
               "CBAM 대응, 온실가스 산정", "고객사가 2026년부터 제품별 내재배출량을 요구합니다.\n공정별 계량이 없어, 배분 기준이 필요합니다."]
        for item in ITEMS:
            ev = app["evidence"][item]
            row += ["예" if ev["submitted"] else "아니오", ev.get("document", ""),
                    ev.get("date", "").replace("-", ". ") if ev.get("date") else "", ev.get("issuer", "")]
            if item == "supply-chain":
                row.append("\n".join(ev.get("links", [])))
        rows.append(row)
    return header, rows


def write_csv(path: Path, header, rows, encoding="utf-8-sig") -> Path:
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows([header] + rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, header, rows) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.title = "설문지 응답 시트1"
    ws.append(header)
    for row in rows:
        ws.append(row)
    book.save(path)
    return path


@pytest.fixture
def folder(tmp_path, monkeypatch):
    target = tmp_path / "apps"
    monkeypatch.setenv("CARBON_APPLICATIONS_DIR", str(target))
    monkeypatch.setenv("CARBON_OUT_DIR", str(tmp_path / "out"))
    monkeypatch.delenv("CARBON_SELECTION_TABLE", raising=False)
    return target


def _import(path: Path, *args):
    return CliRunner().invoke(main, ["applications-import", str(path), "--year", "2025", *args])


def _loaded(folder: Path) -> dict[str, dict]:
    return {p.stem: yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.yaml"))}


def _copy_scores(folder: Path) -> None:
    """The committee's scores entered into the imported applications (as the secretary would)."""
    for path in folder.glob("*.yaml"):
        sample = yaml.safe_load((APPS / path.name).read_text(encoding="utf-8"))
        text = path.read_text(encoding="utf-8").replace("evaluations: []\n", "")
        path.write_text(text + yaml.safe_dump({"evaluations": sample["evaluations"]}, allow_unicode=True), encoding="utf-8")


# ---------------------------------------------------------------- round trip
@pytest.mark.parametrize("kind", ["utf-8-sig", "cp949", "xlsx"])
def test_export_round_trips_into_the_sample_applications(kind, tmp_path, folder):
    header, rows = sample_export()
    if kind == "cp949":  # Korean Excel cannot save 'é' (Aérostructures) in CP949: those rows would not survive
        rows = [r for r in rows if all(str(c).encode("cp949", "ignore").decode("cp949") == str(c) for c in r)]
        assert len(rows) >= 5
    if kind == "xlsx":
        source = write_xlsx(tmp_path / "응답.xlsx", header, rows)
    else:
        source = write_csv(tmp_path / "응답.csv", header, rows, encoding=kind)
    result = _import(source)
    assert result.exit_code == 0, result.output
    assert "새 신청서" in result.output and "이메일" not in result.output  # ignored, never warned about
    imported = _loaded(folder)
    samples = {p.stem: yaml.safe_load(p.read_text(encoding="utf-8")) for p in APPS.glob("*.yaml")}
    assert set(imported) == {r[header.index("기업 ID")] for r in rows}
    for cid, app in imported.items():
        for key in ("applied_at", "channel", "evidence"):
            assert app[key] == samples[cid][key], (cid, key)
        assert app["evaluations"] == []
        profile = yaml.safe_load((ROOT / "companies" / f"{cid}.yaml").read_text(encoding="utf-8"))
        assert app["applicant"]["company_name"] == profile["company"]["name"]
        assert app["applicant"]["city"] == profile["company"]["city"]
        assert app["applicant"]["contact_role"] == "생산관리팀장"
        assert app["applicant"]["answers"]["needs"] == "CBAM 대응, 온실가스 산정"  # free text: never split
        assert app["applicant"]["answers"]["reason"].count("\n") == 1
        assert "someone@" not in (folder / f"{cid}.yaml").read_text(encoding="utf-8")


def test_select_before_the_committee_scores_lists_what_is_missing(tmp_path, folder):
    header, rows = sample_export()
    assert _import(write_csv(tmp_path / "응답.csv", header, rows)).exit_code == 0
    result = CliRunner().invoke(main, ["select"])
    assert result.exit_code == 2
    assert "평가위원 점수(정성평가)가 아직 없는 신청서가 8건" in result.output
    assert "jinju-bolt.yaml (주)상평하이텐볼트" in result.output or "jinju-bolt.yaml" in result.output
    assert "평가위원 점수 필요 — 공정도 및 공급망 관계도, 컨설팅 희망 현황파악" in result.output
    assert "정량" in result.output and "점 계산됨" in result.output
    assert not (tmp_path / "out").exists()
    with pytest.raises(PendingScoresError):
        evaluate()


def test_select_on_imported_applications_gives_the_sample_ranking(tmp_path, folder, monkeypatch):
    header, rows = sample_export()
    assert _import(write_csv(tmp_path / "응답.csv", header, rows)).exit_code == 0
    _copy_scores(folder)
    _table, _slots, imported = evaluate()
    monkeypatch.setenv("CARBON_APPLICATIONS_DIR", str(APPS))
    _table, _slots, samples = evaluate()
    assert [(r.id, r.rank, r.selected, r.total) for r in imported] == [(r.id, r.rank, r.selected, r.total) for r in samples]
    for a, b in zip(imported, samples):
        assert [i.points for i in a.items] == [i.points for i in b.items], a.id
        assert a.ineligible == [] or "사천시" in a.ineligible[0]
    bolt = next(r for r in imported if r.id == "jinju-bolt")
    assert "applicant.size_class = 중소" in bolt.item("size").basis  # points traced to the application
    monkeypatch.setenv("CARBON_APPLICATIONS_DIR", str(folder))
    result = CliRunner().invoke(main, ["select"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "selection" / "evaluation.docx").is_file()


def test_an_id_is_derived_from_the_business_number_when_there_is_no_id_column(tmp_path, folder):
    header, rows = sample_export()
    at = header.index("기업 ID")
    header = header[:at] + header[at + 1:]
    rows = [r[:at] + r[at + 1:] for r in rows]
    assert _import(write_csv(tmp_path / "응답.csv", header, rows)).exit_code == 0
    names = sorted(p.name for p in folder.glob("*.yaml"))
    assert "biz-000-00-00001.yaml" in names and len(names) == len(rows)


# ---------------------------------------------------------------- existing files
def test_reimport_skips_identical_refuses_changes_and_keeps_scores_with_force(tmp_path, folder):
    header, rows = sample_export()
    source = write_csv(tmp_path / "응답.csv", header, rows)
    assert _import(source).exit_code == 0
    _copy_scores(folder)
    before = {p.name: p.read_bytes() for p in folder.glob("*.yaml")}
    again = _import(source)
    assert again.exit_code == 0 and "변경 없음" in again.output and "바뀐 신청서가 없습니다" in again.output
    assert {p.name: p.read_bytes() for p in folder.glob("*.yaml")} == before

    company = header.index("기업명")
    bolt = next(r for r in rows if r[header.index("기업 ID")] == "jinju-bolt")
    bolt[company] = "(주)상평하이텐볼트 (상호 변경)"
    changed = write_csv(tmp_path / "응답2.csv", header, rows)
    refused = _import(changed)
    assert refused.exit_code == 2 and "jinju-bolt.yaml" in refused.output and "--force" in refused.output
    assert {p.name: p.read_bytes() for p in folder.glob("*.yaml")} == before

    forced = _import(changed, "--force")
    assert forced.exit_code == 0, forced.output
    app = yaml.safe_load((folder / "jinju-bolt.yaml").read_text(encoding="utf-8"))
    assert app["applicant"]["company_name"].endswith("(상호 변경)")
    assert len(app["evaluations"]) == 3  # the committee's scores stay
    backups = list(folder.glob("jinju-bolt.yaml.*.bak"))
    assert len(backups) == 1 and backups[0].read_bytes() == before["jinju-bolt.yaml"]


def test_a_company_already_applied_under_another_id_is_not_added_twice(tmp_path, folder):
    shutil.copytree(APPS, folder)
    header, rows = sample_export()
    at = header.index("기업 ID")
    header = header[:at] + header[at + 1:]
    rows = [r[:at] + r[at + 1:] for r in rows[:1]]
    result = _import(write_csv(tmp_path / "응답.csv", header, rows))
    assert result.exit_code == 2 and "이미 jinju-aero.yaml로 있습니다" in result.output
    assert not list(folder.glob("biz-*"))


def test_hand_written_applications_are_not_replaced_without_force(tmp_path, folder):
    shutil.copytree(APPS, folder)
    header, rows = sample_export()
    result = _import(write_csv(tmp_path / "응답.csv", header, rows))
    assert result.exit_code == 2 and "기존 신청서 8건" in result.output
    assert sorted(p.read_bytes() for p in folder.glob("*.yaml")) == sorted(p.read_bytes() for p in APPS.glob("*.yaml"))


# ---------------------------------------------------------------- broken files
def _broken(tmp_path, folder, edit) -> str:
    header, rows = sample_export()
    header, rows = edit(header, rows) or (header, rows)
    source = write_csv(tmp_path / "응답.csv", header, rows)
    result = _import(source)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert not folder.exists() or not list(folder.glob("*.yaml"))
    return result.output


def _cell(header, rows, row_index, column, value):
    rows[row_index][header.index(column)] = value


def test_missing_required_column_is_named(tmp_path, folder):
    def edit(header, rows):
        at = header.index("기업명")
        return header[:at] + header[at + 1:], [r[:at] + r[at + 1:] for r in rows]
    out = _broken(tmp_path, folder, edit)
    assert "응답.csv:1 [기업명] 필수 열 '기업명'이(가) 없습니다" in out and "회사명" in out


def test_bad_number_names_row_and_column(tmp_path, folder):
    out = _broken(tmp_path, folder, lambda h, r: _cell(h, r, 2, "매출 대비 수출 비중(%)", "약 스무 퍼센트"))
    assert "응답.csv:4 [I열 매출 대비 수출 비중(%)] 숫자여야 합니다" in out


def test_bad_date_names_row_and_column(tmp_path, folder):
    out = _broken(tmp_path, folder, lambda h, r: _cell(h, r, 0, "수출 증빙 제출일", "2025. 13. 45"))
    assert "응답.csv:2 [" in out and "수출 증빙 제출일] 없는 날짜입니다" in out
    out = _broken(tmp_path, folder, lambda h, r: _cell(h, r, 1, "타임스탬프", "어제 저녁"))
    assert "응답.csv:3 [A열 타임스탬프] 날짜·시각으로 읽을 수 없습니다" in out


def test_unknown_choice_and_value_outside_the_format(tmp_path, folder):
    out = _broken(tmp_path, folder, lambda h, r: _cell(h, r, 0, "기업 규모", "대기업"))
    assert "[H열 기업 규모] 알 수 없는 답입니다" in out and "중소기업" in out
    out = _broken(tmp_path, folder, lambda h, r: _cell(h, r, 0, "매출 대비 수출 비중(%)", "130"))
    assert "응답.csv:2 [I열 매출 대비 수출 비중(%)]" in out and "100 이하" in out


def test_duplicate_applicant(tmp_path, folder):
    def edit(header, rows):
        rows.append(list(rows[0]))
        rows[-1][header.index("기업 ID")] = "jinju-bolt-2"
    out = _broken(tmp_path, folder, edit)
    assert "응답.csv:10 [F열 사업자등록번호] 사업자등록번호 000-00-00" in out and "2행과 같습니다" in out


def test_empty_and_header_only_and_not_a_csv(tmp_path, folder):
    empty = tmp_path / "빈.csv"
    empty.write_bytes(b"")
    result = _import(empty)
    assert result.exit_code == 2 and "파일이 비어 있습니다" in result.output
    header, _rows = sample_export()
    only = write_csv(tmp_path / "제목만.csv", header, [])
    result = _import(only)
    assert result.exit_code == 2 and "응답 행이 없습니다" in result.output
    png = tmp_path / "사진.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20)
    result = _import(png)
    assert result.exit_code == 2 and "CSV" in result.output and "Traceback" not in result.output
    latin = tmp_path / "이상한.csv"
    latin.write_bytes(b"\xff\xfe\xfa,\x81\x20\n" * 3)
    assert _import(latin).exit_code == 2
    assert not folder.exists()


def test_xlsx_with_macros_and_huge_files_are_refused(tmp_path, folder, monkeypatch):
    header, rows = sample_export()
    good = write_xlsx(tmp_path / "응답.xlsx", header, rows)
    macro = tmp_path / "매크로.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(macro, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info.filename))
        dst.writestr("xl/vbaProject.bin", b"\x00" * 100)
    result = _import(macro)
    assert result.exit_code == 2 and "매크로(VBA)" in result.output
    xlsm = tmp_path / "응답.xlsm"
    shutil.copy(good, xlsm)
    assert "매크로 사용 통합 문서" in _import(xlsm).output
    import pipeline.selection.tabular as tabular

    monkeypatch.setattr(tabular, "MAX_FILE_BYTES", 1000)
    result = _import(good)
    assert result.exit_code == 2 and "파일이 너무 큽니다" in result.output
    assert not folder.exists()


def test_xlsx_cells_typed_by_excel(tmp_path, folder):
    """Dates, numbers and percentages stored as Excel values, not text."""
    import datetime as dt

    header, rows = sample_export()
    for row in rows:
        row[header.index("타임스탬프")] = dt.datetime.strptime("2025-08-20 16:12", "%Y-%m-%d %H:%M")
        row[header.index("사업자등록번호")] = int(row[header.index("사업자등록번호")].lstrip("0") or 0) + 1_000_000_000
        share = row[header.index("매출 대비 수출 비중(%)")]
        row[header.index("매출 대비 수출 비중(%)")] = float(share.rstrip("%"))
        row[header.index("기업 ID")] = None
    result = _import(write_xlsx(tmp_path / "응답.xlsx", header, rows))
    assert result.exit_code == 0, result.output
    apps = _loaded(folder)
    assert all(a["applied_at"] == "2025-08-20 16:12" for a in apps.values())
    assert all(a["applicant"]["business_number"].startswith("100-00-0") for a in apps.values())


# ---------------------------------------------------------------- conversions
def test_headers_are_normalised():
    assert normal_header("３. 기업명 *") == normal_header("기업명") == normal_header(" 기업\n명 (필수)")
    assert normal_header("사업장 소재지(시ㆍ군)") == normal_header("사업장소재지（시·군）")


@pytest.mark.parametrize("text, expected", [
    ("2025. 8. 20 오후 4:12:00", "2025-08-20 16:12"),
    ("2025. 8. 20. 오전 12:05:09", "2025-08-20 00:05"),
    ("2025.08.20 16:12", "2025-08-20 16:12"),
    ("2025-08-20T16:12:33", "2025-08-20 16:12"),
    ("2025년 8월 20일 16시 12분", "2025-08-20 16:12"),
    ("2025/8/20 4:12 PM", "2025-08-20 16:12"),
    ("2025/08/20 4:12:34 오후 GMT+9", "2025-08-20 16:12"),
    ("2025. 8. 20 (수) 16:12 KST", "2025-08-20 16:12"),
    ("8/20/2025 16:12:34", "2025-08-20 16:12"),
    ("20/8/2025 4:12 PM", "2025-08-20 16:12"),
])
def test_korean_timestamps(text, expected):
    assert parse_when(text, need_time=True).strftime("%Y-%m-%d %H:%M") == expected


@pytest.mark.parametrize("text, message", [
    ("2025. 8. 20", "시·분이 없습니다"), ("2025-02-30 10:00", "없는 날짜"), ("2025-08-20 25:00", "없는 시각"),
    ("2025/08/20 4:12:34 오후 GMT+1", "한국 시각"), ("45890", "읽을 수 없습니다"),
])
def test_bad_timestamps(text, message):
    with pytest.raises(CellProblem, match=message):
        parse_when(text, need_time=True)


def test_headers_with_hints_answers_with_hints_and_other_words(tmp_path, folder):
    """A form that words things its own way: '기업규모(중소/중견)', '사업자 등록번호 *', answers with a
    hint in brackets, '제출'/'미제출', full-width digits, '경남진주시', '-' for no export."""
    header, rows = sample_export()
    rename = {"기업 규모": "기업 규모 (중소/중견)", "사업자등록번호": "4. 사업자 등록번호 *",
              "매출 대비 수출 비중(%)": "매출 대비 수출 비중 [%]"}
    header = [rename.get(h, h) for h in header]
    for row in rows:
        row[header.index("기업 규모 (중소/중견)")] += " (확인서 보유)"
        row[header.index("기업규모 증빙 제출 여부")] = "제출" if row[header.index("기업규모 증빙 제출 여부")] == "예" else "미제출"
        row[header.index("4. 사업자 등록번호 *")] = row[header.index("4. 사업자 등록번호 *")].translate(
            str.maketrans("0123456789", "０１２３４５６７８９"))
        row[header.index("사업장 소재지(시·군)")] = row[header.index("사업장 소재지(시·군)")].replace("경상남도 ", "경남")
    rows[0][header.index("매출 대비 수출 비중 [%]")] = "-"
    result = _import(write_csv(tmp_path / "응답.csv", header, rows))
    assert result.exit_code == 0, result.output
    apps = _loaded(folder)
    first = rows[0][header.index("기업 ID")]
    assert apps[first]["applicant"]["export_share_pct"] == 0  # '-' is no answer: the mapping's default
    assert all(a["applicant"]["size_class"] in ("중소", "중견") for a in apps.values())
    assert all(a["applicant"]["business_number"].startswith("000-00-") for a in apps.values())
    assert {a["applicant"]["city"] for a in apps.values()} == {"진주시", "사천시"}
    samples = {p.stem: yaml.safe_load(p.read_text(encoding="utf-8")) for p in APPS.glob("*.yaml")}
    assert all(apps[c]["evidence"]["size"] == samples[c]["evidence"]["size"] for c in apps)


def test_number_units_and_lists():
    money = Entry("applicant.revenue_krw_million", ("applicant", "revenue_krw_million"), "매출액", [], False, "number",
                  {"type": "number"}, units={"억원": 100, "백만원": 1})
    assert convert_cell(money, "215억원") == 21500
    assert convert_cell(money, "21,500") == 21500
    assert convert_cell(money, "21,500 백만원") == 21500
    with pytest.raises(CellProblem):
        convert_cell(money, "많음")
    many = Entry("applicant.customers", ("applicant", "customers"), "거래처", [], False, "text",
                 {"type": "string"}, many=True, split=(";", "\n"))
    assert convert_cell(many, "A GmbH; B, Inc.\nC") == ["A GmbH", "B, Inc.", "C"]


# ---------------------------------------------------------------- the committee's score sheet
def score_sheet(ids=None) -> tuple[list[str], list[list]]:
    """The sample applications' committee scores as a score sheet (short item names as headers)."""
    header = ["기업 ID", "기업명", "평가위원", "공정도", "희망현황 (10)", "신청사유", "산정여건", "데이터관리", "의견"]
    keys = ["diagrams", "needs", "reason", "calc-readiness", "data-management"]
    rows = []
    for path in sorted(APPS.glob("*.yaml")):
        if ids and path.stem not in ids:
            continue
        app = yaml.safe_load(path.read_text(encoding="utf-8"))
        for e in app["evaluations"]:
            rows.append([path.stem, "(가상)", e["evaluator"]] + ["" if e["scores"][k] is None else e["scores"][k] for k in keys]
                        + [e.get("comment", "")])
    return header, rows


def test_score_sheet_fills_the_evaluations_and_select_ranks(tmp_path, folder, monkeypatch):
    header, rows = sample_export()
    assert _import(write_csv(tmp_path / "응답.csv", header, rows)).exit_code == 0
    sheet_header, sheet_rows = score_sheet()
    result = CliRunner().invoke(main, ["applications-scores", str(write_xlsx(tmp_path / "점수.xlsx", sheet_header, sheet_rows)),
                                       "--year", "2025"])
    assert result.exit_code == 0, result.output
    imported = _loaded(folder)
    for cid, app in imported.items():
        sample = yaml.safe_load((APPS / f"{cid}.yaml").read_text(encoding="utf-8"))
        assert app["evaluations"] == sample["evaluations"], cid
    assert (folder / "jinju-bolt.yaml").read_text(encoding="utf-8").startswith("# 온라인 신청서")
    assert not list(folder.glob("*.bak"))
    _t, _s, results = evaluate()
    monkeypatch.setenv("CARBON_APPLICATIONS_DIR", str(APPS))
    _t, _s, samples = evaluate()
    assert [(r.id, r.rank, r.total) for r in results] == [(r.id, r.rank, r.total) for r in samples]

    again = CliRunner().invoke(main, ["applications-scores", str(tmp_path / "점수.xlsx"), "--year", "2025"])
    assert again.exit_code == 0 and "변경 없음" in again.output
    sheet_rows[0][3] = 3
    changed = write_csv(tmp_path / "점수2.csv", sheet_header, sheet_rows)
    monkeypatch.setenv("CARBON_APPLICATIONS_DIR", str(folder))
    refused = CliRunner().invoke(main, ["applications-scores", str(changed), "--year", "2025"])
    assert refused.exit_code == 2 and "--force" in refused.output
    forced = CliRunner().invoke(main, ["applications-scores", str(changed), "--year", "2025", "--force"])
    assert forced.exit_code == 0, forced.output
    assert len(list(folder.glob("*.bak"))) == 1


def test_bad_score_sheets_name_row_and_column(tmp_path, folder):
    header, rows = sample_export()
    assert _import(write_csv(tmp_path / "응답.csv", header, rows)).exit_code == 0
    before = {p.name: p.read_bytes() for p in folder.glob("*.yaml")}
    sheet_header, sheet_rows = score_sheet()
    sheet_rows[1][4] = 12          # above the item's 10 points
    sheet_rows[2][2] = "홍길동"      # not a committee member
    sheet_rows[3][5] = "열"         # not a number
    sheet_rows.append(list(sheet_rows[0]))  # the same member twice
    result = CliRunner().invoke(main, ["applications-scores", str(write_csv(tmp_path / "점수.csv", sheet_header, sheet_rows)),
                                       "--year", "2025"])
    assert result.exit_code == 2, result.output
    out = result.output
    assert "점수.csv:3 [E열 희망현황 (10)]" in out and "10 이하" in out
    assert "점수.csv:4 [C열 평가위원] 평가표의 평가위원이 아닙니다" in out
    assert "점수.csv:5 [F열 신청사유] 숫자여야 합니다" in out
    assert f"점수.csv:{len(sheet_rows) + 1} [C열 평가위원]" in out and "2행에도 있습니다" in out
    assert {p.name: p.read_bytes() for p in folder.glob("*.yaml")} == before
