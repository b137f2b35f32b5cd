"""Applicant evaluation and selection (issue 7): scoring rules, missing evidence, averaging, tie-break,
slots, CLI outputs and validation of application files."""
from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from docx_helpers import docx_all_text
from pipeline.commands import main
from pipeline.errors import ContentError
from pipeline.selection import (
    Application,
    ApplicationError,
    Result,
    evaluate,
    find_table,
    load_table,
    rank,
    run_selection,
    score_application,
)

ROOT = Path(__file__).resolve().parents[1]
APPS = ROOT / "applications" / "2025"
QUAL = ["diagrams", "needs", "reason", "calc-readiness", "data-management"]
QUANT = ["size", "ghg-inventory", "export", "supply-chain"]


@pytest.fixture(scope="module")
def table():
    return load_table(find_table(2025))


@pytest.fixture
def apps_dir(tmp_path, monkeypatch):
    """A private copy of the 2025 applications; outputs go to tmp_path/out."""
    folder = tmp_path / "apps"
    shutil.copytree(APPS, folder)
    monkeypatch.setenv("CARBON_APPLICATIONS_DIR", str(folder))
    monkeypatch.setenv("CARBON_OUT_DIR", str(tmp_path / "out"))
    monkeypatch.delenv("CARBON_SELECTION_TABLE", raising=False)
    return folder


# ---------------------------------------------------------------- fake applications for rule tests
@dataclass
class FakeProfile:
    data: dict
    path: Path = Path("companies/fake.yaml")

    def line_of(self, _field):
        return 7


def _profile(**over) -> dict:
    data = {
        "company": {"name": "(주)가상테스트", "size_class": "중소", "city": "진주시"},
        "exports": [], "customer_demands": [], "readiness": {"ghg_inventory": "none"},
    }
    for key, value in over.items():
        data[key] = value
    return data


def _evidence(submitted: dict | None = None, links=None) -> dict:
    submitted = submitted or {}
    out = {}
    for item in QUANT + QUAL:
        ok = submitted.get(item, True)
        out[item] = {"submitted": ok, "document": f"{item} 증빙 문서"} | ({"date": "2025-09-01"} if ok else {})
    out["supply-chain"]["links"] = links if links is not None else []
    return out


def _app(profile: dict, evidence: dict | None = None, scores=None, applied="2025-08-20 10:00", cid="fake") -> Application:
    evidence = evidence or _evidence()
    if scores is None:
        scores = [[8] * 5, [8] * 5]
    evaluations = [
        {"evaluator": f"평가위원 {'ABC'[k]} (내부)",
         "scores": {q: (s if evidence[q]["submitted"] else None) for q, s in zip(QUAL, row)}}
        for k, row in enumerate(scores)
    ]
    data = {"applied_at": applied, "evidence": evidence, "evaluations": evaluations}
    return Application(cid, Path(f"applications/2025/{cid}.yaml"), data, None,
                       dt.datetime.strptime(applied, "%Y-%m-%d %H:%M"), FakeProfile(profile))


def _points(table, app, item_id) -> Decimal:
    return score_application(app, table).item(item_id).points


# ---------------------------------------------------------------- scoring table
def test_table_has_the_seed_weights_and_sources(table):
    items = {i["id"]: i for i in table["items"]}
    assert [items[i]["max"] for i in QUANT] == [10, 15, 15, 10]
    assert [items[i]["max"] for i in QUAL] == [10] * 5
    assert table["groups"]["quantitative"]["max"] == 50 and table["groups"]["qualitative"]["max"] == 50
    assert table["slots"] == 4 and table["year"] == 2025
    assert "jinju-sme-carbon-consulting-plan-2025.md" in table["source"]["file"]
    for item in table["items"]:
        assert item["basis"].get("seed") and item["basis"].get("assumption"), item["id"]
    assert table["tie_break"][0]["key"] == "qualitative_total"


def test_table_by_year_and_default(table, monkeypatch):
    monkeypatch.delenv("CARBON_SELECTION_TABLE", raising=False)
    assert find_table(None) == find_table(2025) == find_table("2025")
    with pytest.raises(ContentError, match="평가표 설정 파일이 없습니다"):
        find_table(1999)


def test_table_with_wrong_weights_is_rejected(tmp_path):
    raw = (ROOT / "content/selection/scoring-2025.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "scoring-2030.yaml"
    bad.write_text(raw.replace("    max: 15\n", "    max: 14\n", 1), encoding="utf-8")
    with pytest.raises(ContentError, match=r"groups\.quantitative\.max"):
        load_table(bad)


# ---------------------------------------------------------------- quantitative rules
@pytest.mark.parametrize("size_class, expected", [("중소", 10), ("중견", 5), ("대기업", 0)])
def test_size_rule(table, size_class, expected):
    profile = _profile(company={"name": "x", "size_class": size_class, "city": "진주시"})
    assert _points(table, _app(profile), "size") == expected


@pytest.mark.parametrize("inventory, expected", [("third_party_verified", 15), ("internal", 10), ("none", 0), (None, 0)])
def test_ghg_inventory_rule(table, inventory, expected):
    profile = _profile(readiness={"ghg_inventory": inventory} if inventory else {})
    result = score_application(_app(profile), table).item("ghg-inventory")
    assert result.points == expected
    assert "readiness.ghg_inventory" in result.basis


@pytest.mark.parametrize("shares, expected", [
    ([23], 15), ([20], 15), ([13, 8, 5], 15), ([17], 12), ([10], 12), ([7], 10), ([0.5], 10), ([], 0), ([0], 0),
])
def test_export_bands_sum_over_countries(table, shares, expected):
    exports = [{"country": f"C{i}", "share_pct": s, "customers": []} for i, s in enumerate(shares)]
    result = score_application(_app(_profile(exports=exports)), table).item("export")
    assert result.points == expected, result.basis


def test_supply_chain_connection(table):
    profile = _profile(
        exports=[{"country": "DE", "share_pct": 10, "customers": [{"name": "(가상) Kunde GmbH"}]}],
        customer_demands=[{"customer": "(가상) 국내 원청", "demands": []}],
    )
    connected = score_application(_app(profile, _evidence(links=["(가상) 국내 원청", "(가상) 소재 유통사"])), table)
    assert connected.item("supply-chain").points == 10
    assert "(가상) 국내 원청" in connected.item("supply-chain").basis
    export_customer = score_application(_app(profile, _evidence(links=["(가상) Kunde GmbH"])), table)
    assert export_customer.item("supply-chain").points == 10
    unknown = score_application(_app(profile, _evidence(links=["(가상) 모르는 회사"])), table)
    assert unknown.item("supply-chain").points == 5
    assert score_application(_app(profile, _evidence(links=[])), table).item("supply-chain").points == 5
    missing = score_application(_app(profile, _evidence({"supply-chain": False})), table)
    assert missing.item("supply-chain").points == 0


# ---------------------------------------------------------------- missing evidence
@pytest.mark.parametrize("item_id", QUANT + QUAL)
def test_missing_evidence_scores_zero_and_is_listed(table, item_id):
    profile = _profile(readiness={"ghg_inventory": "third_party_verified"},
                       exports=[{"country": "DE", "share_pct": 30, "customers": [{"name": "K"}]}])
    full = score_application(_app(profile, _evidence(links=["K"])), table)
    assert full.item(item_id).points > 0 and full.missing == []
    result = score_application(_app(profile, _evidence({item_id: False}, links=["K"])), table)
    assert result.item(item_id).points == 0
    assert not result.item(item_id).submitted
    name = next(i["name"] for i in table["items"] if i["id"] == item_id)
    assert result.missing == [f"{name}: {item_id} 증빙 문서"]
    assert result.total == full.total - full.item(item_id).points


# ---------------------------------------------------------------- evaluator averaging
def test_evaluator_scores_are_averaged_per_item_and_rounded(table):
    app = _app(_profile(), scores=[[8, 9, 7, 10, 6], [9, 9, 8, 9, 6], [8, 10, 8, 9, 7]])
    result = score_application(app, table)
    got = [result.item(q).points for q in QUAL]
    assert got == [Decimal("8.33"), Decimal("9.33"), Decimal("7.67"), Decimal("9.33"), Decimal("6.33")]
    assert result.qualitative == sum(got)  # the total is the sum of the shown (rounded) values
    assert [total for _, total in result.evaluator_totals] == [40, 41, 42]
    assert "평가위원 3인 평균" in result.item("diagrams").basis


def test_one_evaluator_and_half_up_rounding(table):
    assert score_application(_app(_profile(), scores=[[7, 7, 7, 7, 7]]), table).qualitative == 35
    whole = dict(table, rounding=0)
    result = score_application(_app(_profile(), scores=[[8, 8, 8, 8, 8], [9, 9, 9, 9, 9]]), whole)
    assert result.item("needs").points == 9  # 8.5 rounds half up, not to even


# ---------------------------------------------------------------- ranking and tie-break
def _result(table, cid, quant: dict, qual: Decimal, applied: str) -> Result:
    app = _app(_profile(), cid=cid, applied=applied)
    res = score_application(app, table)
    for item_id, pts in quant.items():
        res.item(item_id).points = Decimal(pts)
    res.name = f"(주){cid}"
    res.quantitative = sum((res.item(i).points for i in QUANT), Decimal(0))
    res.qualitative = Decimal(qual)
    res.total = res.quantitative + res.qualitative
    return res


def test_tie_broken_by_qualitative_total(table):
    a = _result(table, "a", {"size": 10, "ghg-inventory": 15, "export": 15, "supply-chain": 10}, Decimal(30), "2025-08-18 09:00")
    b = _result(table, "b", {"size": 10, "ghg-inventory": 0, "export": 15, "supply-chain": 10}, Decimal(45), "2025-08-19 09:00")
    assert a.total == b.total == 80
    ordered = rank([a, b], table, slots=1)
    assert [r.id for r in ordered] == ["b", "a"]
    assert b.selected and not a.selected
    assert "정성 합계 45 대 30" in b.tie_notes[0]


def test_tie_broken_by_carbon_score_then_application_time(table):
    base = {"size": 10, "export": 15, "supply-chain": 10}
    a = _result(table, "a", base | {"ghg-inventory": 10}, Decimal(40), "2025-08-18 09:00")
    b = _result(table, "b", base | {"ghg-inventory": 15, "size": 5}, Decimal(40), "2025-08-30 09:00")
    assert a.total == b.total and a.qualitative == b.qualitative
    ordered = rank([a, b], table, slots=1)
    assert [r.id for r in ordered] == ["b", "a"]
    assert "탄소중립 점수 15 대 10" in ordered[0].tie_notes[0]

    c = _result(table, "c", base | {"ghg-inventory": 10}, Decimal(40), "2025-08-25 14:00")
    d = _result(table, "d", base | {"ghg-inventory": 10}, Decimal(40), "2025-08-21 08:30")
    ordered = rank([c, d], table, slots=1)
    assert [r.id for r in ordered] == ["d", "c"]
    assert "접수 시각 2025-08-21 08:30 대 2025-08-25 14:00" in ordered[0].tie_notes[0]

    e = _result(table, "e", base | {"ghg-inventory": 10}, Decimal(40), "2025-08-21 08:30")
    ordered = rank([e, d], table, slots=1)
    assert "평가위원회 결정 필요" in ordered[0].tie_notes[0]


def test_ineligible_applicants_are_not_ranked(table):
    outside = _app(_profile(company={"name": "x", "size_class": "중소", "city": "사천시"}), cid="outside")
    late = _app(_profile(), cid="late", applied="2025-09-01 09:00")
    inside = _app(_profile(), cid="inside", scores=[[1] * 5])
    results = rank([score_application(a, table) for a in (outside, late, inside)], table, slots=4)
    assert [(r.id, r.rank, r.selected) for r in results][0] == ("inside", 1, True)
    by_id = {r.id: r for r in results}
    assert by_id["outside"].rank is None and not by_id["outside"].selected
    assert "사천시" in by_id["outside"].ineligible[0]
    assert "모집 기간" in by_id["late"].ineligible[0]


def test_sample_applicants_ranking(apps_dir):
    _table, slots, results = evaluate()
    assert slots == 4 and len(results) >= 8
    ranked = [r for r in results if r.rank]
    assert [r.rank for r in ranked] == list(range(1, len(ranked) + 1))
    assert [r.selected for r in ranked[:4]] == [True] * 4 and not any(r.selected for r in ranked[4:])
    by_id = {r.id: r for r in results}
    bolt, valve = by_id["jinju-bolt"], by_id["jinju-valve"]
    assert bolt.total == valve.total and bolt.qualitative > valve.qualitative
    assert bolt.rank == valve.rank - 1 and bolt.selected and not valve.selected
    assert "정성 합계" in bolt.tie_notes[0]
    assert by_id["sacheon-composite"].ineligible and by_id["sacheon-composite"].rank is None
    assert any("중소기업 확인서" in m for m in by_id["jinju-mold"].missing)
    assert by_id["jinju-valve"].item("size").points == 5  # 중견


# ---------------------------------------------------------------- outputs and CLI
def test_cli_select_writes_docx_and_csv(apps_dir, tmp_path):
    result = CliRunner().invoke(main, ["select"])
    assert result.exit_code == 0, result.output
    assert "jinju-bolt" in result.output and "선정" in result.output
    out = tmp_path / "out" / "selection"
    docx_path, csv_path = out / "evaluation.docx", out / "evaluation.csv"
    assert docx_path.is_file() and csv_path.is_file()

    raw = csv_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == len(list(apps_dir.glob("*.yaml")))
    assert {"기업규모(10)", "탄소중립(15)", "수출(15)", "공급망(10)", "정성평가 합계(50)", "총점(100)"} <= set(rows[0])
    assert sum(r["선정"] == "선정" for r in rows) == 4
    bolt = next(r for r in rows if r["기업 ID"] == "jinju-bolt")
    assert "정성 합계" in bolt["동점 처리"] and "증빙:" in bolt["근거: 기업규모"]

    text = docx_all_text(docx_path)
    for app in apps_dir.glob("*.yaml"):
        profile = yaml.safe_load((ROOT / "companies" / app.name).read_text(encoding="utf-8"))
        assert profile["company"]["name"] in text
    for needle in ("종합 순위", "동점 처리", "미제출 증빙", "평가위원 A (내부)", "수출실적증명서", "자격 미달"):
        assert needle in text
    assert "company.size_class" in text  # points traced to the profile field


def test_slots_option(apps_dir):
    result = CliRunner().invoke(main, ["select", "--slots", "2"])
    assert result.exit_code == 0, result.output
    selection = run_selection(slots=6, echo=False)
    assert len(selection.selected) == 6
    assert [r.rank for r in selection.selected] == list(range(1, 7))
    bad = CliRunner().invoke(main, ["select", "--slots", "0"])
    assert bad.exit_code == 2 and "1 이상" in bad.output


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _line_of(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line)


def test_bad_application_exits_2_with_file_line_field_and_writes_nothing(apps_dir, tmp_path):
    bolt = apps_dir / "jinju-bolt.yaml"
    _edit(bolt, "needs: 10, reason: 10, calc-readiness: 8", "needs: 12, reason: 10, calc-readiness: 8")
    result = CliRunner().invoke(main, ["select"])
    assert result.exit_code == 2
    line = _line_of(bolt, "needs: 12")
    assert f"jinju-bolt.yaml:{line} [evaluations[0].scores.needs]" in result.output
    assert "10 이하여야 합니다" in result.output and "배점 상한" in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("old, new, field, message", [
    ('applied_at: "2025-08-20 16:12"', 'applied_at: "20.08.2025"', "applied_at", "YYYY-MM-DD HH:MM"),
    ("evaluator: 평가위원 B (내부)", "evaluator: 홍길동", "evaluations[1].evaluator", "다음 중 하나"),
    ("evaluator: 평가위원 B (내부)", "evaluator: 평가위원 A (내부)", "evaluations[1].evaluator", "두 번"),
    ("    submitted: true\n    document: \"수출실적증명서", "    submitted: yes please\n    document: \"수출실적증명서",
     "evidence.export.submitted", "true 또는 false"),
    ("  ghg-inventory:", "  ghg-inventory-x:", "evidence.ghg-inventory-x", "알 수 없는 키"),
    ("scores: {diagrams: 9, needs: 10", "scores: {diagrams: null, needs: 10", "evaluations[0].scores.diagrams", "점수"),
])
def test_application_validation_messages(apps_dir, tmp_path, old, new, field, message):
    path = apps_dir / "jinju-bolt.yaml"
    _edit(path, old, new)
    with pytest.raises(ApplicationError) as info:
        run_selection(echo=False)
    text = str(info.value.message)
    assert "jinju-bolt.yaml:" in text and f"[{field}]" in text and message in text, text
    assert info.value.exit_code == 2
    assert not (tmp_path / "out").exists()


def test_score_for_unsubmitted_item_is_refused(apps_dir):
    path = apps_dir / "jinju-mold.yaml"
    _edit(path, "scores: {diagrams: null, needs: 6", "scores: {diagrams: 4, needs: 6")
    with pytest.raises(ApplicationError, match=r"jinju-mold\.yaml:\d+ \[evaluations\[0\]\.scores\.diagrams\] 증빙 미제출"):
        evaluate()


def test_missing_evidence_entry_and_missing_profile(apps_dir):
    data = (apps_dir / "jinju-gear.yaml").read_text(encoding="utf-8")
    (apps_dir / "jinju-nowhere.yaml").write_text(data, encoding="utf-8")
    _edit(apps_dir / "jinju-bolt.yaml", "  export:", "  # export removed:")
    with pytest.raises(ApplicationError) as info:
        evaluate()
    text = info.value.message
    assert "jinju-nowhere.yaml:1" in text and "프로필이 없습니다" in text
    assert "[evidence] 필수 항목 'evidence.export'" in text and "submitted: false" in text


def test_yaml_syntax_error_is_reported_with_line(apps_dir):
    (apps_dir / "jinju-gear.yaml").write_text("applied_at: \"2025-08-27 13:48\"\nevidence:\n  size: [\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["select"])
    assert result.exit_code == 2
    assert "jinju-gear.yaml:" in result.output and "YAML" in result.output
