"""Regulatory and customer exposure besides CBAM: RE100, supply-chain due diligence, Korean energy rules."""
from __future__ import annotations

from pipeline.calc.factors import cite

# customers' employees_band (docs/profile.md) → (lowest, highest) head count
EMPLOYEE_BANDS = {"1-49": (1, 49), "50-249": (50, 249), "250-999": (250, 999), "1000+": (1000, None), "5000+": (5000, None)}


def re100_status(company: dict, s2: dict, content, missing) -> dict:
    rules = content.re100
    targets = {int(y): v for y, v in (rules.get("interim_targets") or {}).get("values", {}).items()}
    consumption = s2["consumption_mwh"]
    renewable = s2["onsite_renewable_mwh"] + s2["instrument_mwh"]
    share = 100.0 * renewable / consumption if consumption else None
    path = [
        {"year": year, "target_pct": pct, "required_mwh": consumption * pct / 100.0, "gap_mwh": max(consumption * pct / 100.0 - renewable, 0.0)}
        for year, pct in sorted(targets.items())
    ]
    demanded_by = [c["customer"] for c in company.get("customer_demands", []) if "re100" in c.get("demands", [])]
    solar = rules.get("solar", {})
    roof = company["company"].get("roof_area_m2")
    # Same keys whether or not the roof is known: unknowns stay None (documents show 확인 필요).
    option = {"roof_area_m2": roof, "capacity_kwp": None, "generation_mwh": None, "share_of_consumption_pct": None,
              "capex_krw_million": None, "reduction_tco2e": None, "trace": None,
              "parameters": {"m2_per_kwp": None, "yield_kwh_per_kwp": None, "source_yield": None}}
    m2_per_kwp = (solar.get("roof_m2_per_kwp") or {}).get("value")
    yield_kwh = (solar.get("yield_kwh_per_kwp_year") or {}).get("value")
    capex = (solar.get("capex_krw_per_kwp") or {}).get("value")
    if roof and m2_per_kwp and yield_kwh:
        kwp = roof / m2_per_kwp
        mwh = kwp * yield_kwh / 1000.0
        option.update({
            "capacity_kwp": kwp,
            "generation_mwh": mwh,
            "share_of_consumption_pct": 100.0 * mwh / consumption if consumption else None,
            "capex_krw_million": kwp * capex / 1e6 if capex else None,
            "reduction_tco2e": mwh * s2["grid_factor"],
            "trace": f"지붕 {roof:,.0f} m² ÷ {m2_per_kwp} m²/kWp = {kwp:,.0f} kWp × {yield_kwh:,} kWh/kWp·년 = {mwh:,.0f} MWh/년",
            "parameters": {"m2_per_kwp": m2_per_kwp, "yield_kwh_per_kwp": yield_kwh, "source_yield": cite((solar.get("yield_kwh_per_kwp_year") or {}).get("source"))},
        })
        if not capex:
            missing.add("content/regulations/re100.yaml", "태양광 설치 단가(원/kWp) 견적", "지붕 태양광 투자비")
    elif not roof and (demanded_by or "re100" in (company.get("consulting") or {}).get("needs", [])):
        missing.add("company.roof_area_m2", "설치 가능한 지붕 면적(m²)", "지붕 태양광 용량 산정")
    prices = rules.get("prices", {})
    gp = (prices.get("green_premium_krw_per_kwh") or {}).get("value")
    rec_price = (prices.get("rec_krw_per_rec") or {}).get("value")
    target_2030 = next((p for p in path if p["year"] == 2030), None)
    purchase = {}
    if target_2030 and gp:
        purchase["green_premium_2030_krw_million"] = target_2030["gap_mwh"] * 1000 * gp / 1e6
    if target_2030 and rec_price:
        purchase["rec_2030_krw_million"] = target_2030["gap_mwh"] * rec_price / 1e6  # 1 REC = 1 MWh
    return {
        "share_pct": share,
        "renewable_mwh": renewable,
        "consumption_mwh": consumption,
        "path": path,
        "demanded_by": demanded_by,
        "solar": option,
        "purchase_costs": purchase,
        "prices": {"green_premium_krw_per_kwh": gp, "rec_krw_per_rec": rec_price,
                   "basis_green_premium": (prices.get("green_premium_krw_per_kwh") or {}).get("basis"),
                   "basis_rec": (prices.get("rec_krw_per_rec") or {}).get("basis")},
        "instruments": [
            {"id": key, "name_ko": rec.get("name_ko", key), "counts_for_re100": rec.get("counts_for_re100"), "counts_for_k_ets": rec.get("counts_for_k_ets"), "notes": rec.get("notes")}
            for key, rec in (rules.get("instruments") or {}).items()
        ],
    }


def due_diligence(company: dict, content) -> list[dict]:
    """Which supply-chain rules reach the company through which customer (and why, or why not yet)."""
    regimes = content.due_diligence.get("regimes", {})
    customers = []
    for export in company.get("exports", []):
        for customer in export.get("customers", []) or []:
            customers.append((export["country"], customer))
    has_domestic_buyers = any(d for d in company.get("customer_demands", []) if d.get("demands"))
    rows = []
    for key, regime in regimes.items():
        when = regime.get("applies_when") or {}
        countries = when.get("customer_countries_list") or when.get("customer_countries")
        if countries == "EU":
            countries = content.cbam.get("eu_countries", [])
        countries = set(countries or [])
        reached = []
        keywords = [k.lower() for k in when.get("customer_keywords") or []]
        for country, customer in customers:
            if country not in countries:
                continue
            if keywords:  # sector-specific rule: only customers (or a business) in that sector
                text = " ".join([customer.get("name", ""), customer.get("type", ""),
                                 company["company"].get("main_business", "")]).lower()
                if not any(k in text for k in keywords):
                    continue
            size = (when.get("customer_size") or {})
            min_emp = size.get("employees_min") or size.get("employees_in_germany_min")
            band = customer.get("employees_band")
            if min_emp and band:
                low, high = EMPLOYEE_BANDS.get(band.replace(" ", ""), (None, None))
                if low is not None and low >= min_emp:
                    status = "해당"
                elif high is not None and high < min_emp:
                    continue  # the customer is below the rule's size threshold
                else:
                    status = "규모 기준 확인 필요"
            elif min_emp:
                status = "고객사 규모 확인 필요"
            else:
                status = "해당 가능"
            reached.append({"customer": customer["name"], "country": country, "status": status})
        if "KR" in countries and has_domestic_buyers:
            reached.append({"customer": "국내 원청·고객사", "country": "KR", "status": "요구 시 대응"})
        rows.append({
            "id": key,
            "name_ko": regime.get("name_ko", key),
            "status": regime.get("status"),
            "dates": regime.get("dates"),
            "reached_through": reached,
            "relevant": bool(reached),
            # No exports section: foreign customers unknown (asked), not 'none'.
            "exports_unknown": "exports" not in company,
            "asked_for": regime.get("sme_supplier_asked_for", []),
            "source": cite(regime.get("source")),
        })
    return rows


def energy_obligations(company: dict, energy: dict, emissions: dict, content) -> list[dict]:
    rules = content.korea_energy
    toe, tj, tco2e = energy["total_toe"], energy["total_tj"], emissions["total_tco2e"]
    region = company["company"]["region"]
    out = []
    eib = rules.get("energy_intensive_business")
    if eib:
        applies = toe >= eib["threshold_toe_per_year"]
        out.append({"name_ko": eib["name_ko"], "applies": applies,
                    "basis": f"{toe:,.0f} toe {'≥' if applies else '<'} {eib['threshold_toe_per_year']:,} toe",
                    "detail": [o["name_ko"] + f" ({o['article']})" for o in eib.get("obligations", [])] if applies else [],
                    "source": cite(eib.get("source"))})
    tm = rules.get("ghg_target_management")
    if tm:
        site = tm["thresholds"]["site"]
        applies = tco2e >= site["tco2eq_per_year"] or tj >= site["energy_tj_per_year"]
        out.append({"name_ko": tm["name_ko"], "applies": applies,
                    "basis": f"사업장 {tco2e:,.0f} tCO2e / {tj:,.1f} TJ (기준 {site['tco2eq_per_year']:,} tCO2e 또는 {site['energy_tj_per_year']} TJ, 3년 평균)",
                    "detail": [], "source": cite(tm.get("source"))})
    kets = rules.get("k_ets")
    if kets:
        site = kets["thresholds"]["site"]
        applies = tco2e >= site["tco2eq_per_year"]
        out.append({"name_ko": kets["name_ko"], "applies": applies,
                    "basis": f"사업장 {tco2e:,.0f} tCO2e (기준 {site['tco2eq_per_year']:,} tCO2e, 3년 평균)",
                    "detail": [], "source": cite(kets.get("source"))})
    for key, rule in (rules.get("support_thresholds") or {}).items():
        low, high = rule.get("min_toe"), rule.get("max_toe")
        ok = (low is None or toe >= low) and (high is None or (toe < high if rule.get("max_toe_exclusive") else toe <= high))
        if rule.get("region") and rule["region"] != region:
            ok = False
        out.append({"name_ko": rule["name_ko"], "applies": ok, "basis": f"{toe:,.0f} toe; 기준: {rule['rule']}",
                    "detail": [rule.get("benefit")] if ok and rule.get("benefit") else [], "source": cite(rule.get("source")), "support": True})
    status = (company.get("regulation_status") or {}).get("k_ets")
    return out + ([{"name_ko": "프로필상 배출권거래제·목표관리 지정 현황", "applies": status in ("allocated", "target_management"),
                    "basis": {"none": "미지정", "allocated": "배출권 할당대상업체", "target_management": "목표관리업체"}.get(status, "확인 필요"),
                    "detail": [], "source": "기업 프로필 (배출권거래제·목표관리 지정 현황)"}])
