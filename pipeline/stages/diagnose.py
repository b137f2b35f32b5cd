"""Stage 1 (1차 컨설팅): the company diagnosis behind the 기업 진단표.

Reads the profile and content/factors, content/regulations, content/measures.yaml and
content/readiness.yaml; adds context["diagnosis"]. Computes only: nothing is written here.
"""
from __future__ import annotations

from pipeline.calc import cbam as cbam_rules
from pipeline.calc.emissions import scope1, scope2, scope3
from pipeline.calc.energy import energy_profile, product_output_tonnes
from pipeline.calc.exposure import due_diligence, energy_obligations, re100_status
from pipeline.calc.factors import choose_factors
from pipeline.calc.measures import pick_measures
from pipeline.calc.readiness import assess_readiness
from pipeline.content import Content
from pipeline.missing import Missing


def diagnose(context: dict, content: Content) -> dict:
    company = context["company"]
    missing = Missing(context.setdefault("missing", []))
    factors = choose_factors(company.get("settings"), content)

    fuels = scope1(company, content, factors)
    s2 = scope2(company, content, factors)
    s3 = scope3(company, content)
    s1_total = sum(f["tco2e"] for f in fuels)
    emissions = {
        "scope1_tco2e": s1_total,
        "scope2_location_tco2e": s2["location_tco2e"],
        "scope2_market_tco2e": s2["market_tco2e"],
        # Lines without a sourced factor stay None and are excluded from the screened total.
        "scope3_tco2e": sum(line["tco2e"] for line in s3 if line["tco2e"] is not None) if any(line["tco2e"] is not None for line in s3) else None,
        "total_tco2e": s1_total + s2["location_tco2e"],
        "total_market_tco2e": s1_total + s2["market_tco2e"],
        "scope1": fuels,
        "scope2": s2,
        "scope3": s3,
        "scope3_categories_screened": sorted({line["category"] for line in s3}),
    }
    if not s3:
        missing.add("scope3", "Scope 3 활동자료(구매 원자재 중량, 운송 톤·km)", "Scope 3 스크리닝")
    else:
        for line in s3:
            if line["tco2e"] is None:
                missing.add("content/factors/scope3.yaml", f"Scope 3 배출계수: {line['item']}", f"Scope 3 범주 {line['category']}")
        for category, label in ((1, "구매 원자재(범주 1)"), (4, "입고 운송 톤·km(범주 4)"), (9, "출하 운송 톤·km(범주 9)")):
            if category not in emissions["scope3_categories_screened"]:
                missing.add("scope3", label, f"Scope 3 범주 {category} 스크리닝")

    energy = energy_profile(company, fuels, s2, content, factors)
    output_t = energy["output_t"]
    emissions["intensity_tco2e_per_t_output"] = emissions["total_tco2e"] / output_t if output_t else None
    energy["intensity_tco2e_per_t_output"] = emissions["intensity_tco2e_per_t_output"]  # KPI library path
    emissions["intensity_tco2e_per_krw_100m"] = emissions["total_tco2e"] / (company["company"]["revenue_krw_million"] / 100.0)
    if output_t is None:
        missing.add("products[].annual_output", "제품별 연간 생산량(톤, 또는 개수와 개당 중량)", "원단위·제품 내재배출량")
    if company["energy"]["electricity"].get("price_krw_per_kwh") is None:
        missing.add("energy.electricity.price_krw_per_kwh", "전력 평균 단가(원/kWh)", "절감액·투자회수기간")

    measures = pick_measures(company, content, fuels, s2, energy, s2["grid_factor"])
    if any(m["investment_krw_million"] is None for m in measures):
        missing.add("content/measures.yaml", "설비 개선 투자비 견적(2곳 이상)", "투자비·투자회수기간")
    if any(not m["baseline_known"] for m in measures):
        missing.add("processes[].equipment[]", "설비별 정격용량(kW)·가동시간 또는 공정별 에너지 비중", "조치별 절감량")

    cbam = _cbam(company, content, fuels, s2, factors, missing)
    diagnosis = {
        "factors": factors.describe(),
        "emissions": emissions,
        "energy": energy,
        "cbam": cbam,
        "re100": re100_status(company, s2, content, missing),  # share_pct, also as renewable_share_pct
        "due_diligence": due_diligence(company, content),
        "obligations": energy_obligations(company, energy, emissions, content),
        "readiness": assess_readiness(company, content, missing),
        "measures": measures,
    }
    diagnosis["re100"]["renewable_share_pct"] = diagnosis["re100"]["share_pct"]
    diagnosis["findings"] = _findings(company, diagnosis)
    diagnosis["recommendations"] = _recommendations(company, diagnosis)
    context["diagnosis"] = diagnosis
    return context


def _cbam(company: dict, content: Content, fuels: list[dict], s2: dict, factors, missing: Missing) -> dict:
    rules = content.cbam
    eu = set(rules.get("eu_countries", []))
    products = []
    allocation = _allocate(company, fuels, s2)
    for product in company["products"]:
        verdict = cbam_rules.classify(product["hs_code"], rules)
        item = {
            "id": product["id"],
            "name": product["name"],
            "hs_code": product["hs_code"],
            "covered": verdict["covered"],
            "sector": verdict["sector"],
            "sector_ko": verdict["sector_ko"],
            "emissions_scope": verdict["emissions_scope"],
            "reason": verdict["reason"],
            "proposed_extension": cbam_rules.proposed_extension(product["hs_code"], rules),
            "proposed_extension_watch": cbam_rules.proposed_extension_watch(product["hs_code"], rules),
            "output_t": product_output_tonnes(product),
        }
        if verdict["covered"] is None:
            missing.add(f"products.{product['id']}.hs_code", f"{product['name']}의 8자리 이상 CN 코드", "CBAM 대상 판정")
        if verdict["covered"]:
            share = allocation.get(product["id"])
            if share is None:
                item["see_direct_tco2e_per_t"] = item["see_indirect_tco2e_per_t"] = None
                missing.add(f"products.{product['id']}.annual_output", f"{product['name']} 연간 생산량(톤)", "CBAM 제품 내재배출량")
            else:
                item["see_direct_tco2e_per_t"] = share["direct_tco2e"] / share["tonnes"]
                item["see_indirect_tco2e_per_t"] = share["mwh"] * s2["grid_factor"] / share["tonnes"]
                item["electricity_mwh_per_t"] = share["mwh"] / share["tonnes"]
                item["allocation_trace"] = share["trace"]
            item["eu_customers"] = _eu_customers(company, product["id"], eu, rules)
            shares = [c["allocated_tonnes"] for c in item["eu_customers"]]
            item["eu_tonnes"] = sum(shares) if shares and None not in shares else None
            default = (rules.get("eu_default_values_tco2_per_t") or {}).get(product["id"])
            item["eu_default"] = default
            benchmark = _benchmark(verdict["sector"], rules)
            item["benchmark"] = benchmark
            if item.get("see_direct_tco2e_per_t") is not None and item["eu_tonnes"]:
                k_ets = (company.get("regulation_status") or {}).get("k_ets") == "allocated"
                price = float(rules["cost_parameters"]["korean_carbon_price_krw_per_t"]["value"]) if k_ets else 0.0
                item["cost_projection"] = cbam_rules.cost_projection(
                    item["see_direct_tco2e_per_t"], item["see_indirect_tco2e_per_t"], verdict["emissions_scope"],
                    item["eu_tonnes"], benchmark["value"] if benchmark else None, rules, price,
                )
            else:
                item["cost_projection"] = None
                if item["eu_customers"] and not item["eu_tonnes"]:  # sold in the EU, tonnes unknown
                    missing.add("exports[].customers[].annual_tonnes", f"{product['name']}의 EU 고객사별 연간 수입량(톤)", "CBAM 인증서 비용 추정")
        products.append(item)
    covered = [p for p in products if p["covered"]]
    return {
        "covered": bool(covered),
        "products": products,
        "eu_export": any(e["country"] in eu for e in company.get("exports", [])),
        "threshold_t": rules.get("de_minimis", {}).get("mass_t_per_importer_year"),
        "parameters": cbam_rules.parameters_used(rules),
        "phase_out": (rules.get("free_allocation_phase_out") or {}).get("values", {}),
        "proposed_extension_any": any(p["proposed_extension"] for p in products),
        "proposed_extension_list_known": bool((rules.get("proposed_extension") or {}).get("prefixes")),
        "proposed_extension_note": (rules.get("proposed_extension") or {}).get("description_ko"),
    }


def _benchmark(sector: str | None, rules: dict):
    table = (rules.get("cost_parameters") or {}).get("benchmarks_tco2_per_t") or {}
    for key, record in table.items():
        if not isinstance(record, dict):
            continue  # notes between the records
        if record.get("sector") == sector or key.startswith(sector or "\0"):
            if record.get("value") is not None:
                return {"id": key, "value": float(record["value"]), "basis": record.get("basis"), "verified": record.get("verified", False)}
    return None


def _eu_customers(company: dict, product_id: str, eu: set, rules: dict) -> list[dict]:
    """EU customers buying this product: the 50 t test on each customer's total, and the tonnes
    of this product (a customer's total split over the products it buys by their output mass)."""
    threshold = rules.get("de_minimis", {}).get("mass_t_per_importer_year")
    outputs = {p["id"]: product_output_tonnes(p) for p in company["products"]}
    rows = []
    for export in company.get("exports", []):
        if export["country"] not in eu:
            continue
        for customer in export.get("customers", []) or []:
            bought = customer.get("products") or list(outputs)
            if product_id not in bought:
                continue
            tonnes = customer.get("annual_tonnes")
            if tonnes is None:
                status = "확인 필요"
            elif threshold is not None and tonnes >= threshold:
                status = "초과"
            else:
                status = "미만(타 공급사 물량 합산 확인 필요)"
            masses = [outputs.get(pid) for pid in bought]
            if tonnes is None or any(m is None for m in masses) or not sum(masses):
                allocated = None if len(bought) > 1 or tonnes is None else float(tonnes)
            else:
                allocated = tonnes * outputs[product_id] / sum(masses)
            rows.append({"customer": customer["name"], "country": export["country"], "annual_tonnes": tonnes,
                         "allocated_tonnes": allocated, "threshold_status": status})
    return rows


def _allocate(company: dict, fuels: list[dict], s2: dict) -> dict:
    """Split direct emissions and electricity over products: by process shares, then by mass.

    Energy a process uses is shared by the products made in it in proportion to their tonnes;
    energy not assigned to any process is shared by all products by tonnes. Returns {} when any
    product's tonnage is unknown (an honest allocation is then impossible).
    """
    tonnes = {p["id"]: product_output_tonnes(p) for p in company["products"]}
    if any(t is None or t <= 0 for t in tonnes.values()):
        return {}
    direct_by_fuel: dict[str, float] = {}
    for line in fuels:
        direct_by_fuel[line["fuel"]] = direct_by_fuel.get(line["fuel"], 0.0) + line["tco2e"]
    sources = {**{f: ("direct", v) for f, v in direct_by_fuel.items()}, "electricity": ("mwh", s2["grid_mwh"])}
    result = {pid: {"tonnes": t, "direct_tco2e": 0.0, "mwh": 0.0, "trace": []} for pid, t in tonnes.items()}
    makers = {proc["id"]: [p["id"] for p in company["products"] if proc["id"] in (p.get("processes") or [])] for proc in company["processes"]}
    all_ids = list(tonnes)
    for source, (kind, amount) in sources.items():
        assigned = 0.0
        for proc in company["processes"]:
            share = (proc.get("energy_shares_pct") or {}).get(source)
            if not share:
                continue
            part = amount * share / 100.0
            assigned += part
            ids = makers[proc["id"]] or all_ids
            mass = sum(tonnes[i] for i in ids)
            for pid in ids:
                _add(result[pid], kind, part * tonnes[pid] / mass)
        rest = max(amount - assigned, 0.0)
        mass = sum(tonnes.values())
        for pid in all_ids:
            _add(result[pid], kind, rest * tonnes[pid] / mass)
    for pid, item in result.items():
        item["trace"] = (
            f"직접 {item['direct_tco2e']:,.1f} tCO2e ÷ {item['tonnes']:,.1f} t; 전력 {item['mwh']:,.1f} MWh ÷ {item['tonnes']:,.1f} t "
            "(공정별 에너지 비중으로 배분 후 생산량 비례 배분, 미배분 에너지는 전 제품 생산량 비례)"
        )
    return result


def _add(item: dict, kind: str, value: float) -> None:
    if kind == "direct":
        item["direct_tco2e"] += value
    else:
        item["mwh"] += value


def _findings(company: dict, d: dict) -> list[str]:
    e, en = d["emissions"], d["energy"]
    top_source = max(en["by_source"], key=lambda s: s["toe"])
    out = [
        f"기준연도 {company['base_year']}년 Scope 1+2(위치기반) 배출량은 {e['total_tco2e']:,.0f} tCO2e이며, "
        f"Scope 1 {e['scope1_tco2e']:,.0f} t, Scope 2 {e['scope2_location_tco2e']:,.0f} t입니다.",
        f"에너지 사용량은 {en['total_toe']:,.0f} toe({en['total_tj']:,.1f} TJ)로 {top_source['name_ko']} 비중이 {top_source['share_pct']:.0f}%로 가장 큽니다.",
        f"월별 전력은 {en['monthly']['peak_month']}월에 최대({en['monthly']['peak_kwh']:,.0f} kWh), 최소월 대비 기저부하 비율 {en['monthly']['base_load_share_pct']:.0f}%입니다.",
    ]
    covered = [p for p in d["cbam"]["products"] if p["covered"]]
    if covered:
        names = ", ".join(f"{p['name']}(HS {p['hs_code']})" for p in covered)
        out.append(f"EU CBAM 대상 제품: {names}. EU 고객사는 2026년부터 실제 내재배출량 또는 기본값으로 인증서를 구매해야 합니다.")
    else:
        watch = any(p["proposed_extension_watch"] for p in d["cbam"]["products"])
        out.append("현재 생산 제품은 EU CBAM 부속서 I 대상이 아닙니다"
                   + (" (단, 2028년 하류제품 확대 제안에 해당 가능)." if d["cbam"]["proposed_extension_any"]
                      else " (2028년 하류제품 확대 제안의 주의 품목군에 속해 제안 확정 여부를 지켜봐야 합니다)." if watch else "."))
    re = d["re100"]
    if re.get("share_pct") is not None:
        out.append(f"재생에너지 사용 비중은 {re['share_pct']:.1f}%입니다.")
    out.append(f"ESG·데이터 준비도는 {d['readiness']['level']}단계({d['readiness']['label']})입니다.")
    return out


def _recommendations(company: dict, d: dict) -> list[dict]:
    recs = []
    if d["cbam"]["covered"]:
        recs.append({"priority": 1, "title": "CBAM 제품별 실제 내재배출량 산정·검증 체계 구축", "why": "EU 고객사의 기본값(가산율 포함) 적용을 피하고 인증서 비용을 낮추기 위해"})
    if d["readiness"]["inventory"] == "none":
        recs.append({"priority": len(recs) + 1, "title": "사업장 온실가스 인벤토리(Scope 1·2) 정례화", "why": "모든 고객 요구·지원사업 신청의 기초 자료"})
    for m in d["measures"][:4]:
        recs.append({"priority": len(recs) + 1, "title": m["name"], "why": "설비 적합 조치(절감 범위는 진단표 참조)", "measure_id": m["id"]})
    if any("re100" in c.get("demands", []) for c in company.get("customer_demands", [])) or "re100" in (company.get("consulting") or {}).get("needs", []):
        recs.append({"priority": len(recs) + 1, "title": "재생에너지 전환 로드맵(지붕 태양광·PPA·REC)", "why": "고객사 RE100 요구 대응"})
    if not d["readiness"]["ems"]:
        recs.append({"priority": len(recs) + 1, "title": "ISO 50001/14001 에너지·환경경영시스템 도입", "why": "공급망 ESG 실사와 지원사업 가점 대응"})
    return recs
