"""Hardening of the input classes (issue 17, round 2): profiles and returned drafts.

Profiles (in process, against tests/bad_profiles/_valid-base.yaml with one change each): YAML 1.1
surprises, tags, blank text, company ids, KPI override bounds, plausibility, marker look-alikes.
Returned drafts (a real plan in a private store, `feedback` as a subprocess where the exit status
matters): identity (another company, an older revision), headers and footers, absolute
relationship targets, Strict Open XML, encrypted files, blank media, bounded storage.
"""
from __future__ import annotations

import io
import re
import shutil
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
for entry in (str(ROOT), str(Path(__file__).resolve().parent)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

from test_feedback import make_returned_draft, pipeline_env, run_cli  # noqa: E402

pytestmark = pytest.mark.hardening
BASE = (ROOT / "tests" / "bad_profiles" / "_valid-base.yaml").read_text(encoding="utf-8")


def _problems(text: str):
    """(refused, message) of a profile text, as validate reports it."""
    from pipeline.content import get_content
    from pipeline.profile import validate_document
    from pipeline.profile.yamlsafe import YamlSyntaxError, load_yaml

    try:
        document = load_yaml(text.encode("utf-8"))
    except YamlSyntaxError as exc:
        return True, f"{exc.line}: {exc.message}"
    problems = validate_document(document, "x.yaml", get_content())
    return bool(problems), "; ".join(f"{p.line}:{p.field}: {p.message}" for p in problems)


def _sub(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new, 1)


REFUSED = {
    # tags
    "map-tag-on-list": (_sub("prior_programs: []", "prior_programs: !!map []"), "84: ", "태그(!!map)"),
    "set-tag-on-list": (_sub("needs: [cbam, energy_efficiency]", "needs: !!set [cbam]"), "83: ", "태그(!!set)"),
    "binary-tag": (_sub("contact_role: 생산관리팀장", "contact_role: !!binary aGVsbG8="), "14: ", "태그"),
    "timestamp-tag": (_sub("contact_role: 생산관리팀장", "contact_role: !!timestamp 2024-01-01"), "14: ", "태그"),
    "omap-tag": (_sub("prior_programs: []", "prior_programs: !!omap [a: 1]"), "84: ", "태그"),
    # YAML 1.1 numbers
    "sexagesimal-int": (_sub("revenue_krw_million: 21800", "revenue_krw_million: 16:00"), "9:company.revenue_krw_million", "'16:00'"),
    "sexagesimal-float": (_sub("revenue_krw_million: 21800", "revenue_krw_million: 1:30.5"), "9:company.revenue_krw_million", "숫자이어야"),
    "leading-zero": (_sub("employees: 62", "employees: 007"), "8: ", "모호한 숫자"),
    "hex": (_sub("employees: 62", "employees: 0x3e"), "8: ", "모호한 숫자"),
    "octal": (_sub("employees: 62", "employees: 0o76"), "8: ", "모호한 숫자"),
    "binary": (_sub("employees: 62", "employees: 0b111110"), "8: ", "모호한 숫자"),
    "underscore-digits": (_sub("revenue_krw_million: 21800", "revenue_krw_million: 21_800"), "9:company.revenue_krw_million", "숫자만"),
    "yes-as-boolean": (_sub("esg_report: false", "esg_report: yes"), "company" if False else "readiness.esg_report", "true 또는 false"),
    "on-as-boolean": (_sub("esg_report: false", "esg_report: on"), "readiness.esg_report", "true 또는 false"),
    "exponent-1e308": (_sub("revenue_krw_million: 21800", "revenue_krw_million: 1e308"), "9:company.revenue_krw_million", "이하여야"),
    "inf": (_sub("revenue_krw_million: 21800", "revenue_krw_million: -.inf"), "9: ", ".inf"),
    # blank text, schema-wide
    "spaces-name": (_sub("name: (주)상평하이텐볼트 (가상)", "name: '   '"), "5:company.name", "글자가 없습니다"),
    "ideographic-space-name": (_sub("name: (주)상평하이텐볼트 (가상)", "name: '\u3000'"), "5:company.name", "글자가 없습니다"),
    "zero-width-name": (_sub("name: (주)상평하이텐볼트 (가상)", 'name: "\\u200b\\u2060"'), "5:company.name", "글자가 없습니다"),
    "hangul-filler-name": (_sub("name: (주)상평하이텐볼트 (가상)", "name: '\u3164'"), "5:company.name", "글자가 없습니다"),
    "spaces-product-name": (_sub("name: 고장력 육각너트", "name: '  '"), "24:products[1].name", "글자가 없습니다"),
    "spaces-customer": (_sub("name: (가상) Rhein-Ruhr Verbindungstechnik GmbH", "name: ' '"), "exports[0].customers[0].name", "글자가 없습니다"),
    "spaces-fuel-use": (_sub("use: 지게차", "use: '  '"), "energy.fuels[1].use", "글자가 없습니다"),
    # ids and patterns anchored at the very end
    "id-with-newline": (_sub("  - id: hex-nut", '  - id: "hex-nut\\n"'), "products[1].id", "형식이 맞지 않습니다"),
    "country-with-newline": (_sub("  - country: DE", '  - country: "DE\\n"'), "exports[0].country", "형식이 맞지 않습니다"),
    # KPI overrides and other figures
    "kpi-negative": (BASE + "overrides:\n  kpi_targets:\n    ghg_reduction: -500\n", "overrides.kpi_targets.ghg_reduction", "0 이상"),
    "kpi-1e308": (BASE + "overrides:\n  kpi_targets:\n    ghg_reduction: 1.0e308\n", "overrides.kpi_targets.ghg_reduction", "이하여야"),
    "kpi-percent-over-100": (BASE + "overrides:\n  kpi_targets:\n    energy_saving_rate: 250\n", "overrides.kpi_targets.energy_saving_rate", "0–100"),
    "kpi-trl-12": (BASE + "overrides:\n  kpi_targets:\n    rd_trl: 12\n", "overrides.kpi_targets.rd_trl", "1–9"),
    "investment-1e308": (BASE + "overrides:\n  investment_krw_million:\n    led_lighting: {low: 1, high: 1e308}\n", "investment_krw_million.led_lighting.high", "이하여야"),
    "budget-negative": (BASE + "overrides:\n  budget_items:\n    - {item: 검증, krw_million: -5, basis: 견적}\n", "budget_items[0].krw_million", "0 이상"),
    "eur-krw-1e308": (BASE + "settings:\n  eur_krw: {value: 1e308, source: 한국은행}\n", "settings.eur_krw.value", "이하여야"),
    # plausibility: energy bought for more than the revenue (revenue typed in 억원 → 백만원 slip)
    "energy-cost-over-revenue": (_sub("revenue_krw_million: 21800", "revenue_krw_million: 21.8"), "energy.electricity.price_krw_per_kwh", "있을 수 없는 값"),
}

ACCEPTED = {
    "time-in-text-field": _sub("contact_role: 생산관리팀장", "contact_role: 16:00"),
    "yes-in-text-field": _sub("contact_role: 생산관리팀장", "contact_role: yes"),
    "date-in-text-field": _sub("contact_role: 생산관리팀장", "contact_role: 2024-01-05"),
    "str-tag-kept": _sub("contact_role: 생산관리팀장", "contact_role: !!str 007"),
    "exponent-number": _sub("revenue_krw_million: 21800", "revenue_krw_million: 2.18e4"),
    "kpi-in-range": BASE + "overrides:\n  kpi_targets:\n    energy_saving_rate: 12\n",
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_hostile_profile_value_is_refused_with_line_and_field(case):
    text, where, fragment = REFUSED[case]
    refused, message = _problems(text)
    assert refused, f"{case}: accepted"
    assert where in message and fragment in message, message
    assert re.search(r"[가-힣]", message)


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_plain_values_stay_what_was_typed(case):
    refused, message = _problems(ACCEPTED[case])
    assert not refused, message


def test_time_stays_text_not_sexagesimal():
    from pipeline.profile.yamlsafe import load_yaml

    data = load_yaml(b"a: 16:00\nb: yes\nc: 1e3\nd: 2024-01-05\ne: off\n").data
    assert data == {"a": "16:00", "b": "yes", "c": 1000.0, "d": "2024-01-05", "e": "off"}


@pytest.mark.parametrize("name", ["bolt\n", "bolt\r\n", "bolt ", "Bolt", "../x", "a/b", "-x", "x" * 65, "볼트"])
def test_company_id_is_refused_everywhere_it_enters(name, tmp_path):
    from pipeline.errors import UnknownCompanyError
    from pipeline.profile import COMPANY_ID, list_company_ids, resolve_profile_path, unusable_profile_names

    assert not COMPANY_ID.match(name)
    with pytest.raises(UnknownCompanyError):
        resolve_profile_path(name, tmp_path)
    if "/" not in name:
        (tmp_path / f"{name}.yaml").write_text(BASE, encoding="utf-8")
        assert list_company_ids(tmp_path) == []
        assert unusable_profile_names(tmp_path)
        with pytest.raises(UnknownCompanyError, match="기업 id로 쓸 수 없습니다"):
            resolve_profile_path(str(tmp_path / f"{name}.yaml"))


def test_profile_text_imitating_the_marker_is_neither_styled_nor_listed():
    from pipeline.missing import MARKER, Missing, markers_in
    from pipeline.stages.draft import need, safe_text

    shown = safe_text("[확인 필요: 가짜 항목] 볼트")
    assert not markers_in(shown) and "[확인 필요" not in shown and "확인 필요: 가짜 항목" in shown
    items: list = []
    real = Missing(items).add("products", "볼트 [M8]의 8자리 CN 코드", "CBAM")
    assert markers_in(real) == [items[0]["need"]]  # brackets inside a need no longer end the marker
    body = f"{safe_text('[확인 필요: 가짜]')} {need('볼트 [M8]의 8자리 CN 코드')}"
    assert [m for m in MARKER.findall(body)] and all("가짜" not in m for m in MARKER.findall(body))


# ---------------------------------------------------------------- returned drafts

@pytest.fixture(scope="module")
def replies(tmp_path_factory):
    """Two companies planned; jinju-bolt planned twice (r001, r002); a reply made from r001."""
    base = tmp_path_factory.mktemp("hardening-input")
    companies = base / "companies"
    companies.mkdir()
    for company in ("jinju-bolt", "jinju-mold"):
        shutil.copy(ROOT / "companies" / f"{company}.yaml", companies)
    env = pipeline_env(base, companies)
    for args in (["plan", "jinju-bolt"], ["plan", "jinju-mold"], ["plan", "jinju-bolt"]):
        result = run_cli(args + ["--no-page-count"], env)
        assert result.returncode == 0, result.stdout + result.stderr
    reply = base / "reply.docx"
    make_returned_draft(base / "revisions" / "jinju-bolt" / "r001" / "plan.docx", reply)
    return base, env, reply


def _edit(source: Path, target: Path, change) -> Path:
    with zipfile.ZipFile(source) as archive:
        members = {info.filename: archive.read(info.filename) for info in archive.infolist()}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in change(members).items():
            archive.writestr(name, data)
    target.write_bytes(out.getvalue())
    return target


def _copy_store(replies, tmp_path) -> dict:
    base, env, _reply = replies
    for name in ("companies", "revisions", "out"):
        shutil.copytree(base / name, tmp_path / name)
    return pipeline_env(tmp_path, tmp_path / "companies")


def test_draft_carries_company_and_revision(replies):
    from pipeline.review.returned import read_returned_draft

    base, _env, reply = replies
    identity = read_returned_draft(reply).identity
    assert identity["company_id"] == "jinju-bolt" and identity["revision"] == "r001" and identity["document"] == "plan"
    import json

    meta = json.loads((base / "revisions" / "jinju-bolt" / "r001" / "revision.json").read_text(encoding="utf-8"))
    assert meta["draft_id"] == identity["draft_id"]


def test_another_companys_draft_is_refused(replies, tmp_path):
    base, _env, _reply = replies
    env = _copy_store(replies, tmp_path)
    other = make_returned_draft(tmp_path / "revisions" / "jinju-mold" / "r001" / "plan.docx", tmp_path / "mold.docx") and tmp_path / "mold.docx"
    result = run_cli(["feedback", "jinju-bolt", str(other)], env)
    assert result.returncode == 2 and "다른 기업('jinju-mold')" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "revisions" / "jinju-bolt" / "feedback").exists()


def test_reply_to_an_older_revision_goes_to_that_revision_and_says_so(replies, tmp_path):
    _base, _env, reply = replies
    env = _copy_store(replies, tmp_path)
    result = run_cli(["feedback", "jinju-bolt", str(reply)], env)
    assert result.returncode == 0, result.stderr
    assert "r001 초안에 대한 회신" in result.stdout and "r001-c1" in result.stdout
    contradicting = run_cli(["feedback", "jinju-bolt", str(_edit(reply, tmp_path / "b.docx", lambda m: dict(m, **{"customXml/x.xml": b"<a/>"}))),
                             "--revision", "2"], env)
    assert contradicting.returncode == 2 and "--force" in contradicting.stderr
    forced = run_cli(["feedback", "jinju-bolt", str(tmp_path / "b.docx"), "--revision", "2", "--force"], env)
    assert forced.returncode == 0 and "r002-c1" in forced.stdout


def _header_change(members: dict) -> dict:
    header = sorted(n for n in members if re.match(r"word/header\d*\.xml$", n))[0]
    xml = members[header].decode("utf-8")
    ins = '<w:ins w:id="8801" w:author="검토자 병" w:date="2026-03-03T00:00:00Z"><w:r><w:t>머리글추가</w:t></w:r></w:ins>'
    xml = re.sub(r"(<w:p[ >].*?)(</w:p>)", lambda m: m.group(1) + '<w:commentRangeStart w:id="77"/>' + ins
                 + '<w:commentRangeEnd w:id="77"/>' + m.group(2), xml, count=1, flags=re.S)
    members[header] = xml.encode("utf-8")
    members["word/comments.xml"] = members["word/comments.xml"].replace(b"</w:comments>", (
        '<w:comment w:id="77" w:author="검토자 병"><w:p><w:r><w:t>머리글 메모</w:t></w:r></w:p></w:comment></w:comments>').encode())
    return members


def _absolute_target(members: dict) -> dict:
    members["word/notes-x.xml"] = members.pop("word/comments.xml")
    members["word/_rels/document.xml.rels"] = members["word/_rels/document.xml.rels"].replace(b'Target="comments.xml"', b'Target="/word/notes-x.xml"')
    members["[Content_Types].xml"] = members["[Content_Types].xml"].replace(b"/word/comments.xml", b"/word/notes-x.xml")
    return members


def _strict(members: dict) -> dict:
    for name in members:
        if name.endswith((".xml", ".rels")):
            members[name] = members[name].replace(b"http://schemas.openxmlformats.org/wordprocessingml/2006/main",
                                                  b"http://purl.oclc.org/ooxml/wordprocessingml/main").replace(
                b"http://schemas.openxmlformats.org/officeDocument/2006/relationships", b"http://purl.oclc.org/ooxml/officeDocument/relationships")
    return members


def test_header_changes_and_header_comment_anchors_are_read(replies, tmp_path):
    from pipeline.review.returned import read_returned_draft

    draft = read_returned_draft(_edit(replies[2], tmp_path / "h.docx", _header_change))
    change = next(c for c in draft.changes if c["text"] == "머리글추가")
    assert change["heading"] == "머리글" and change["author"] == "검토자 병"
    comment = next(c for c in draft.comments if c["text"] == "머리글 메모")
    assert comment["anchor"] == "머리글추가" and comment["heading"] == "머리글"


@pytest.mark.parametrize("variant", ["absolute-target", "strict"])
def test_package_variants_keep_every_comment_and_change(replies, tmp_path, variant):
    from pipeline.review.returned import read_returned_draft

    change = {"absolute-target": _absolute_target, "strict": _strict}[variant]
    draft = read_returned_draft(_edit(replies[2], tmp_path / f"{variant}.docx", change))
    assert len(draft.comments) == 1 and [c["kind"] for c in draft.changes] == ["insertion", "deletion"]


@pytest.mark.parametrize("kind", ["encrypted", "doc97"])
def test_ole_files_are_named(tmp_path, kind):
    from pipeline.errors import FeedbackError
    from pipeline.review.returned import read_returned_draft

    body = ("EncryptionInfo".encode("utf-16-le") + b"\0" * 60 + "EncryptedPackage".encode("utf-16-le")) if kind == "encrypted" \
        else "WordDocument".encode("utf-16-le")
    path = tmp_path / "reply.docx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504 + body + b"\0" * 4000)
    with pytest.raises(FeedbackError) as caught:
        read_returned_draft(path)
    message = caught.value.format_message()
    assert ("암호가 걸린 문서" in message and "암호" in message) if kind == "encrypted" else "97-2003" in message


def test_blank_bmp_is_no_zip_bomb_but_a_bomb_in_the_body_is(replies, tmp_path):
    from pipeline.errors import FeedbackError
    from pipeline.review.returned import read_returned_draft

    width, height = 3000, 2500
    bmp = b"BM" + b"\0" * 52 + b"\xff" * (width * height * 3)  # 22 MB, compresses over 1000:1
    draft = read_returned_draft(_edit(replies[2], tmp_path / "bmp.docx", lambda m: dict(m, **{"word/media/blank.bmp": bmp})))
    assert len(draft.comments) == 1
    bomb = _edit(replies[2], tmp_path / "bomb.docx", lambda m: dict(m, **{"word/document.xml": m["word/document.xml"] + b" " * (40 << 20)}))
    with pytest.raises(FeedbackError, match="압축 폭탄"):
        read_returned_draft(bomb)


def test_many_changes_in_a_long_paragraph_are_stored_bounded(replies, tmp_path):
    from pipeline.review.returned import read_returned_draft

    long_text = "가" * 5000

    def many(members):
        runs = "".join(f'<w:ins w:id="{9100 + i}" w:author="a{i % 7}" w:date="2026-03-0{1 + i % 5}T00:00:00Z"><w:r><w:t>x{i}</w:t></w:r></w:ins>'
                       f"<w:r><w:t>{long_text[:40]}</w:t></w:r>" for i in range(3000))
        members["word/document.xml"] = members["word/document.xml"].replace(
            b"</w:body>", f"<w:p><w:r><w:t>{long_text}</w:t></w:r>{runs}</w:p></w:body>".encode(), 1)
        return members

    path = _edit(replies[2], tmp_path / "many.docx", many)
    draft = read_returned_draft(path)
    stored = sum(len(str(v)) for entry in draft.comments + draft.changes for v in entry.values())
    assert len(draft.changes) > 3000
    assert stored < 15 * path.stat().st_size, (stored, path.stat().st_size)
    assert all(len(c.get("paragraph", "") + c.get("paragraph_before", "")) <= 602 for c in draft.changes)


def test_repeated_identical_comments_are_merged(tmp_path):
    from pipeline.review.returned import read_returned_draft

    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    comments = "".join(f'<w:comment w:id="{i}" w:author="갑"><w:p><w:r><w:t>같은 말</w:t></w:r></w:p></w:comment>' for i in range(50))
    path = tmp_path / "same.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("word/document.xml", f'<w:document xmlns:w="{w}"><w:body><w:p><w:r><w:t>본문</w:t></w:r></w:p></w:body></w:document>')
        archive.writestr("word/comments.xml", f'<w:comments xmlns:w="{w}">{comments}</w:comments>')
    draft = read_returned_draft(path)
    assert len(draft.comments) == 1 and draft.comments[0]["repeats"] == 50 and draft.merged == 49


# ---------------------------------------------------------------- plausibility of derived figures, CLI warnings

def test_unit_slip_in_rated_kw_is_refused_not_printed_as_a_2300_percent_cut(tmp_path, monkeypatch):
    """Every rated_kw typed in W (×1000): the measures would 'cut' 2,299 % of the emissions."""
    from pipeline.errors import ProfileError
    from pipeline.publish.context import build_context

    text = re.sub(r"rated_kw: ([0-9.]+)", lambda m: f"rated_kw: {float(m.group(1)) * 1000:g}",
                  (ROOT / "companies" / "jinju-bolt.yaml").read_text(encoding="utf-8"))
    (tmp_path / "slip.yaml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("CARBON_COMPANIES_DIR", str(tmp_path))
    with pytest.raises(ProfileError) as caught:
        build_context("slip", with_documents=False)
    message = caught.value.format_message()
    assert "있을 수 없는 결과" in message and "rated_kw" in message and "slip.yaml" in message


def test_unusual_figure_is_a_warning_in_validate_output(tmp_path):
    companies = tmp_path / "companies"
    companies.mkdir()
    (companies / "odd.yaml").write_text(_sub("revenue_krw_million: 21800", "revenue_krw_million: 3000"), encoding="utf-8")
    result = run_cli(["validate", "odd"], pipeline_env(tmp_path, companies))
    assert result.returncode == 0, result.stderr
    assert "정상: odd" in result.stdout and "확인 권고: odd: 에너지 구입비" in result.stdout and "선별 기준" in result.stdout


def test_sample_profiles_validate_without_warnings():
    from pipeline.content import get_content
    from pipeline.profile import list_company_ids, validate_companies

    ids = list_company_ids(ROOT / "companies")
    warnings: list = []
    valid, problems = validate_companies(ids, get_content(), ROOT / "companies", warnings=warnings)
    assert valid == ids and not problems and not warnings, (problems, warnings)


def test_file_name_ending_in_a_newline_is_named_by_validate(tmp_path):
    companies = tmp_path / "companies"
    companies.mkdir()
    (companies / "bolt\n.yaml").write_text(BASE, encoding="utf-8")
    (companies / "bolt.yaml").write_text(BASE, encoding="utf-8")
    result = run_cli(["validate"], pipeline_env(tmp_path, companies))
    assert result.returncode == 0 and "정상: bolt" in result.stdout
    assert "bolt\\n.yaml" in result.stderr and "기업 id가 아니라" in result.stderr
