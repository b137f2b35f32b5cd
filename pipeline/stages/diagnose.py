"""Stage 1 (1차 컨설팅): the company diagnosis behind the 기업 진단표.

Reads the profile and content/factors, content/regulations, content/measures.yaml and
content/readiness.yaml; adds context["diagnosis"]. Computes only: nothing is written here.
"""
from __future__ import annotations

import datetime

from pipeline.calc import cbam as cbam_rules
from pipeline.calc import cbam_tables
from pipeline.calc.emissions import scope3
from pipeline.calc.energy import product_output_tonnes
from pipeline.calc.exposure import due_diligence, energy_obligations, re100_status
from pipeline.calc.factors import choose_factors
from pipeline.calc.inventory import site_inventory
from pipeline.calc.measures import pick_measures
from pipeline.calc.readiness import assess_readiness
from pipeline.content import Content
from pipeline.missing import Missing


def diagnose(context: dict, content: Content) -> dict:
    company = context["company"]
    missing = Missing(context.setdefault("missing", []))
    factors = choose_factors(company.get("settings"), content)

    fuels, s2, totals, energy = site_inventory(company, content, factors)
    s3 = scope3(company, content)
    emissions = {
        **{k: v for k, v in totals.items() if k != "intensity_tco2e_per_t_output"},
        # Lines without a sourced factor stay None and are excluded from the screened total.
        "scope3_tco2e": sum(line["tco2e"] for line in s3 if line["tco2e"] is not None) if any(line["tco2e"] is not None for line in s3) else None,
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

    output_t = energy["output_t"]
    emissions["intensity_tco2e_per_t_output"] = totals["intensity_tco2e_per_t_output"]
    emissions["intensity_tco2e_per_krw_100m"] = emissions["total_tco2e"] / (company["company"]["revenue_krw_million"] / 100.0)
    if output_t is None:
        missing.add("products[].annual_output", "제품별 연간 생산량(톤, 또는 개수와 개당 중량)", "원단위·제품 내재배출량")
    if company["energy"]["electricity"].get("price_krw_per_kwh") is None:
        missing.add("energy.electricity.price_krw_per_kwh", "전력 평균 단가(원/kWh)", "절감액·투자회수기간")

    measures, screening = pick_measures(company, content, fuels, s2, energy, s2["grid_factor"])
    for q in screening["questions"]:
        missing.add("processes[].equipment[]", f"{q['equipment']}: {q['question']}", f"개선 조치 적용 판단 ({q['measure']})")
    selected = _select_measures(measures, content.strategy_method.get("measures_in_plan", 4))
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
        "measure_screening": screening,
        # One measure set for the diagnosis and the plan: the company's intended investments first,
        # then the best-ranked measures with a sourced saving.
        "selected_measures": [m["id"] for m in selected],
    }
    diagnosis["re100"]["renewable_share_pct"] = diagnosis["re100"]["share_pct"]
    diagnosis["findings"] = _findings(company, diagnosis)
    diagnosis["recommendations"] = _recommendations(company, diagnosis)
    context["diagnosis"] = diagnosis
    return context


def _select_measures(measures: list[dict], limit: int) -> list[dict]:
    intended = [m for m in measures if m.get("intended")]
    rest = [m for m in measures if not m.get("intended") and m["saving_tco2e"] is not None]
    chosen = (intended + rest)[:max(limit, len(intended))]
    for m in measures:
        m["selected"] = m in chosen
    return chosen


def _cbam(company: dict, content: Content, fuels: list[dict], s2: dict, factors, missing: Missing) -> dict:
    rules = content.cbam
    eu = set(rules.get("eu_countries", []))
    products = []
    allocation = _allocate(company, fuels, s2)
    k_ets = (company.get("regulation_status") or {}).get("k_ets") == "allocated"
    paid = float(rules["cost_parameters"]["korean_carbon_price_krw_per_t"]["value"]) if k_ets else 0.0
    params = cbam_rules.report_parameters(rules, company.get("settings"))
    for product in company["products"]:
        code = product.get("cn_code") or product["hs_code"]
        verdict = cbam_rules.classify(code, rules)
        item = {
            "id": product["id"],
            "name": product["name"],
            "hs_code": product["hs_code"],
            "cn_code": cbam_tables.digits_of(code),
            "cn_display": cbam_tables.cn_display(code),
            "covered": verdict["covered"],
            "sector": verdict["sector"],
            "sector_ko": verdict["sector_ko"],
            "emissions_scope": verdict["emissions_scope"],
            "indirect_counted": verdict["emissions_scope"] == "direct_indirect",
            "reason": verdict["reason"],
            "proposed_extension": cbam_rules.proposed_extension(code, rules),
            "proposed_extension_watch": cbam_rules.proposed_extension_watch(code, rules),
            "output_t": product_output_tonnes(product),
            "see": None,
            "default": None,
            "cost_paths": None,
        }
        if verdict["covered"] is None:
            missing.add(f"products.{product['id']}.cn_code", f"{product['name']}의 8자리 CN 코드", "CBAM 대상 판정")
        if verdict["covered"]:
            _cbam_product(item, product, company, content, allocation, s2, eu, paid, params, missing)
        products.append(item)
    covered = [p for p in products if p["covered"]]
    return {
        "covered": bool(covered),
        "products": products,
        # No exports section: unknown (None), not 'no EU exports'; an empty list is no exports.
        "eu_export": any(e["country"] in eu for e in company["exports"]) if "exports" in company else None,
        "threshold_t": rules.get("de_minimis", {}).get("mass_t_per_importer_year"),
        "parameters": cbam_rules.parameters_used(rules, params),
        "phase_out": (rules.get("free_allocation_phase_out") or {}).get("values", {}),
        "markup": rules["default_value_markup"]["values"],
        "deadlines": cbam_rules.deadlines(company, rules, datetime.date.today()),
        "verifier_rule": rules["verifier"]["rule_ko"],
        "boundary": rules["boundary"],
        "proposed_extension_any": any(p["proposed_extension"] for p in products),
        "proposed_extension_list_known": bool((rules.get("proposed_extension") or {}).get("prefixes")),
        "proposed_extension_note": (rules.get("proposed_extension") or {}).get("description_ko"),
    }


def _cbam_product(item: dict, product: dict, company: dict, content: Content, allocation: dict, s2: dict,
                  eu: set, paid_krw: float, params: dict, missing: Missing) -> None:
    """SEE with precursors, the EU default of the good, the benchmarks and the two cost paths."""
    rules, name, pid = content.cbam, product["name"], product["id"]
    years = [int(y) for y in rules["free_allocation_phase_out"]["values"]]
    precursors = [_precursor(pre, content, eu, years, missing, f"products.{pid}.precursors[{i}]", name)
                  for i, pre in enumerate(product.get("precursors") or [])]
    if not precursors:
        missing.add(f"products.{pid}.precursors", f"{name}의 원소재(전구물질) CN 코드·원산지·연간 투입량(t)",
                    "CBAM 내재배출량 (전구물질 포함)")
    share = allocation.get(pid)
    if share is None:
        missing.add(f"products.{pid}.annual_output", f"{name} 연간 생산량(톤)", "CBAM 제품 내재배출량")
    else:
        see = cbam_rules.embedded_emissions(share["tonnes"], share["direct_tco2e"], share["mwh"], s2["grid_factor"], precursors)
        see["trace"] = share["trace"]
        see["complete"] = bool(precursors) and see["direct_per_t"] is not None
        item["see"] = see
    # The good is made in this installation, in Korea: its default value and route are Korea's.
    item["default"] = cbam_tables.default_value(item["cn_code"], "KR", content.cbam_default_values, rules)
    if item["default"]["value"] is None:
        missing.add(f"products.{pid}.cn_code", f"{name}의 8자리 CN 코드 ({item['default']['reason']})", "EU 기본값 비교")
    route = item["default"].get("route") or []
    item["benchmarks"] = {col: {y: cbam_tables.benchmark(item["cn_code"], col, route, y, content.cbam_benchmarks)["value"]
                                for y in years} for col in ("A", "B")}
    if None in item["benchmarks"]["A"].values() or None in item["benchmarks"]["B"].values():
        missing.add(f"products.{pid}.cn_code", f"{name}의 8자리 CN 코드 (벤치마크 판정)", "무상할당 조정(벤치마크)")
    item["eu_customers"] = _eu_customers(company, pid, eu, rules)
    shares = [c["allocated_tonnes"] for c in item["eu_customers"]]
    item["eu_tonnes"] = sum(shares) if shares and None not in shares else None
    if item["eu_customers"] and not item["eu_tonnes"]:
        missing.add("exports[].customers[].annual_tonnes", f"{name}의 EU 고객사별 연간 수입량(톤)", "CBAM 인증서 비용 추정")
    see = item["see"] or {}
    actual = see.get("direct_per_t") if see.get("complete") else None
    if actual is not None and item["indirect_counted"]:
        actual = None if see.get("indirect_per_t") is None else actual + see["indirect_per_t"]
    if item["eu_tonnes"]:
        item["cost_paths"] = cbam_rules.cost_paths(actual, item["default"], item["benchmarks"], see.get("precursors") or [],
                                                   item["eu_tonnes"], rules, item["sector"], paid_krw, params)
        item["cheaper_path"] = cbam_rules.cheaper_path(item["cost_paths"])


def _precursor(pre: dict, content: Content, eu: set, years: list[int], missing: Missing, field: str,
               product_name: str) -> dict:
    """One precursor's SEE: the supplier's actual value where given, else the EU default for its origin."""
    rules = content.cbam
    row = {"name": pre["name"], "cn_code": cbam_tables.digits_of(pre["cn_code"]), "cn_display": cbam_tables.cn_display(pre["cn_code"]),
           "country": pre["country"],
           "mass_t": float(pre["mass_t"]), "supplier": pre.get("supplier"), "eu_origin": pre["country"] in eu}
    default = cbam_tables.default_value(pre["cn_code"], pre["country"], content.cbam_default_values, rules)
    supplied = pre.get("supplier_see")
    if row["eu_origin"]:
        row.update(see_direct=0.0, see_indirect=0.0, source="eu_origin", verified=True,
                   source_ko=rules["boundary"]["eu_origin_zero_ko"])
    elif supplied:
        row.update(see_direct=float(supplied["direct"]), see_indirect=supplied.get("indirect"), source="supplier",
                   verified=bool(supplied["verified"]),
                   source_ko="공급사 실제값" + (" (검증됨)" if supplied["verified"] else " (미검증)"))
    elif default["value"] is not None:
        row.update(see_direct=default["direct"] if default["direct"] is not None else default["value"],
                   see_indirect=default["indirect"], source="default", verified=False,
                   source_ko=f"EU 기본값, {rules['default_value_tables_ko'][default['table']]} 표 CN {cbam_tables.cn_display(default['cn_line'])}")
    else:
        row.update(see_direct=None, see_indirect=None, source=None, verified=False, source_ko=None)
        missing.add(field, f"{product_name} 원소재 {pre['name']}의 공급사 내재배출량 또는 기본값 ({default['reason']})",
                    "CBAM 내재배출량 (전구물질)")
    # The precursor's free-allocation share where its producer gives none: Column B for its CN code
    # and origin route (2025/2620 Annex point 3.3(2)); an EU precursor carries no embedded emissions.
    route = default.get("route") or []
    row["column_b"] = {y: 0.0 if row["eu_origin"] else
                       cbam_tables.benchmark(row["cn_code"], "B", route, y, content.cbam_benchmarks)["value"] for y in years}
    if not row["eu_origin"] and None in row["column_b"].values():
        missing.add(field, f"{product_name} 원소재 {pre['name']}의 8자리 CN 코드 (벤치마크 판정)", "무상할당 조정(전구물질)")
    return row


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
    for line, fuel in zip(fuels, company["energy"].get("fuels", [])):
        if fuel.get("mobile"):
            continue  # mobile machinery for transport: outside the CBAM boundary (Annex II B.1(c))
        # CBAM counts CO2 of combustion (Annex I of 2023/956: CO2, plus PFCs or N2O of certain
        # processes), not the CH4 and N2O of burning fuel that Scope 1 includes.
        direct_by_fuel[line["fuel"]] = direct_by_fuel.get(line["fuel"], 0.0) + line["co2_t"]
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
