"""Indicative investment costs (issue 14 item 5): a sourced unit-cost range × the equipment's rated
kW or count is shown as 개략 추정 — publisher year, with the worked calculation and the source;
the consultant's quote replaces it; the budget still adds up and still asks for the quotes.

The library has no checkable installed-cost range yet (content/README.md), so the end-to-end cases
put an invented range, marked as a test, into a copy of content/."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from pipeline.calc.measures import _investment, estimate_source, unit_cost_krw
from pipeline.content import Content
from docx_helpers import docx_all_text, isolated_store

ROOT = Path(__file__).resolve().parent.parent
TEST_SOURCE = {"publisher": "시험용 발행기관", "title": "시험용 단가 자료", "year": 2024,
               "url": "https://example.org/test", "locator": "표 1"}


def _range(**fields) -> dict:
    return {"source": TEST_SOURCE, "price_year": 2024, "kind": "installed_cost", "vat_included": False,
            "verified": False, **fields}


# Hand-worked: quantity × unit cost low..high ÷ 10^6 = KRW million.
HAND_WORKED = [
    # 37 kW × 2 units = 74 kW; 74 × 100,000 = 7.4 M; 74 × 150,000 = 11.1 M
    (_range(basis="per_kw", unit="KRW/kW", low=100_000, high=150_000), 74, 2, (7.4, 11.1),
     "74 kW × 100,000–150,000원/kW = 7.4–11.1백만원"),
    # 180 fixtures × 200,000 = 36 M; × 300,000 = 54 M
    (_range(basis="per_unit", unit="KRW/등기구", low=200_000, high=300_000), 72, 180, (36.0, 54.0),
     "180 등기구 × 200,000–300,000원/등기구 = 36.0–54.0백만원"),
    # one site: 5,000,000–8,000,000 원 = 5–8 M, whatever the equipment
    (_range(basis="fixed", unit="KRW/사업장", low=5_000_000, high=8_000_000), 300, 4, (5.0, 8.0),
     "1 사업장 × 5,000,000–8,000,000원/사업장 = 5.0–8.0백만원"),
    # 50 kW × USD 1,000 × 1,364.15 KRW/USD = 68.2075 M; 50 × 1,400 × 1,364.15 = 95.4905 M
    (_range(basis="per_kw", unit="KRW/kW", low=None, high=None, currency_original="USD", low_original=1000,
            high_original=1400, fx={"rate": 1364.15, "source": "시험용 환율"}), 50, 1, (68.2075, 95.4905),
     "50 kW × 1,364,150–1,909,810원/kW = 68.2–95.5백만원"),
]


@pytest.mark.parametrize("investment,rated_kw,units,expected,calc", HAND_WORKED)
def test_hand_worked_estimates(investment, rated_kw, units, expected, calc):
    value, shown = _investment(investment, rated_kw, units)
    assert value == pytest.approx({"low": expected[0], "high": expected[1]})
    assert shown == calc


def test_no_range_no_area_or_no_rate_gives_no_estimate():
    assert _investment({"basis": "per_kw", "unit": "KRW/kW", "low": None, "high": None}, 100, 1) == (None, None)
    assert _investment(_range(basis="per_m2", unit="KRW/m2", low=1, high=2), 100, 1) == (None, None)
    assert _investment(_range(basis="per_kw", unit="KRW/kW", low=1, high=2), 0, 1) == (None, None)
    assert unit_cost_krw({"currency_original": "EUR", "low_original": 1, "high_original": 2}) is None


def test_every_sourced_range_in_the_library_converts_as_documented():
    """Each range content/ does hold: KRW as written, or the published foreign figures × fx.rate."""
    for m in Content().measures:
        inv = m["investment"]
        costs = unit_cost_krw(inv)
        if costs is None:
            continue
        if (inv.get("currency_original") or "KRW") == "KRW":
            assert costs == (inv["low"], inv["high"]), m["id"]
        else:
            assert costs == pytest.approx((inv["low_original"] * inv["fx"]["rate"],
                                           inv["high_original"] * inv["fx"]["rate"])), m["id"]
        assert estimate_source(inv)["label"] == f"개략 추정 — {inv['source']['publisher']} {inv['source']['year']}"


def test_the_label_names_publisher_and_year_never_a_path():
    est = estimate_source(_range(basis="per_kw", unit="KRW/kW", currency_original="EUR", low_original=80,
                                 high_original=120, fx={"rate": 1475.40, "source": "ECB 2024 연평균"}))
    assert est["label"] == "개략 추정 — 시험용 발행기관 2024"
    assert est["original"] == "80–120 EUR" and est["fx"] == "1,475.4 KRW/EUR (ECB 2024 연평균)"
    assert "content/" not in str(est) and "yaml" not in str(est)


@pytest.fixture()
def estimated_content(tmp_path, monkeypatch):
    """A copy of content/ where led_lighting has an (invented, test-only) sourced range, and
    jinju-bolt without its LED quote, so the plan must estimate that line."""
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    library = content / "measures.yaml"
    data = yaml.safe_load(library.read_text(encoding="utf-8"))
    led = next(m for m in data["measures"] if m["id"] == "led_lighting")
    led["investment"] = _range(basis="per_unit", unit="KRW/등기구", low=200_000, high=300_000)
    library.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    monkeypatch.setenv("CARBON_CONTENT_DIR", str(content))
    monkeypatch.setenv("CARBON_CACHE_DIR", str(tmp_path / "cache"))
    isolated_store(tmp_path, monkeypatch)
    profile = tmp_path / "companies" / "jinju-bolt.yaml"
    company = yaml.safe_load(profile.read_text(encoding="utf-8"))
    company["overrides"]["investment_krw_million"].pop("led_lighting")
    (tmp_path / "companies" / "estimate-co.yaml").write_text(yaml.safe_dump(company, allow_unicode=True), encoding="utf-8")
    return tmp_path


def test_plan_shows_the_estimate_and_the_budget_adds_up(estimated_content):
    from pipeline.publish.context import build_context

    ctx = build_context("estimate-co", with_documents=False)[1]
    led = next(m for m in ctx["diagnosis"]["measures"] if m["id"] == "led_lighting")
    assert led["investment_krw_million"] == pytest.approx({"low": 36.0, "high": 54.0})   # 180 × 0.2–0.3 M
    assert led["investment_basis"] == "개략 추정 — 시험용 발행기관 2024"
    b = ctx["strategy"]["budget"]
    line = next(l for l in b["lines"] if l["measure_id"] == "led_lighting")
    assert line["estimate"] and line["krw_million"] == pytest.approx({"low": 36.0, "high": 54.0})
    priced = [l for l in b["lines"] if l["krw_million"]]
    for side in ("low", "high"):
        total = sum(l["krw_million"][side] for l in priced)
        assert b["total_krw_million"][side] == pytest.approx(total)
        assert b["gov_krw_million"][side] + b["company_krw_million"][side] == pytest.approx(total)
        assert b["gov_krw_million"][side] == pytest.approx(min(total * b["gov_share_pct"] / 100, b["max_krw_million"]))
    assert b["total_basis"].startswith("견적·개략 추정 합계")
    assert any(i["field"] == "overrides.investment_krw_million.led_lighting" for i in ctx["missing"])

    from pipeline.commands import main

    result = CliRunner().invoke(main, ["plan", "estimate-co", "--no-page-count"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    plan = next((estimated_content / "out").rglob("plan.docx"))
    text = docx_all_text(plan)
    assert "개략 추정" in text
    assert "180 등기구 × 200,000–300,000원/등기구 = 36.0–54.0백만원" in text
    assert "시험용 발행기관, 「시험용 단가 자료」(2024) 표 1, 2024년 가격, 부가가치세 별도" in text
    assert "content/" not in text and "measures.yaml" not in text and "overrides." not in text


def test_a_quote_replaces_the_estimate(estimated_content):
    from pipeline.publish.context import build_context

    ctx = build_context("jinju-bolt", with_documents=False)[1]   # the profile still has its LED quote
    led = next(m for m in ctx["diagnosis"]["measures"] if m["id"] == "led_lighting")
    assert led["investment_krw_million"] == {"low": 54.0, "high": 63.0}
    assert led["investment_basis"] == "기업 견적" and led["investment_estimate"] is None
    line = next(l for l in ctx["strategy"]["budget"]["lines"] if l["measure_id"] == "led_lighting")
    assert line["estimate"] is None and line["quotes"] == 2
    assert not ctx["strategy"]["budget"]["total_basis"].startswith("견적·개략")
