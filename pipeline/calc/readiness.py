"""EMS, data-management maturity and an ESG readiness level, by the criteria in content/readiness.yaml."""
from __future__ import annotations


def assess_readiness(company: dict, content, missing) -> dict:
    rules = content.readiness_rules
    criteria = rules["criteria"]
    readiness = company.get("readiness") or {}
    certs = {c["name"].replace(" ", "").upper() for c in company.get("certifications", [])}
    rows, total, max_total = [], 0, 0

    def score(key: str, value, shown: str | None = None):
        nonlocal total, max_total
        table = criteria[key]["points"]
        best = max(table.values())
        max_total += best
        if value is None:
            missing.add(f"readiness.{key}", f"{criteria[key]['label']} 현황", "ESG 준비도 평가")
            rows.append({"criterion": criteria[key]["label"], "value": None, "points": 0, "max": best})
            return
        points = table.get(value, 0)
        total += points
        rows.append({"criterion": criteria[key]["label"], "value": shown or str(value), "points": points, "max": best})

    inventory = readiness.get("ghg_inventory")
    score("ghg_inventory", inventory, {"none": "없음", "internal": "자체 산정", "third_party_verified": "제3자 검증"}.get(inventory))
    data_mgmt = readiness.get("data_management")
    score("data_management", data_mgmt, {"paper": "종이 기록", "spreadsheet": "스프레드시트", "erp": "ERP", "ems": "에너지관리시스템(EMS)"}.get(data_mgmt))
    ems_names = [c for c in criteria["ems_certification"]["certifications"] if c.replace(" ", "").upper() in certs]
    ems_key = {0: "none", 1: "one"}.get(len(ems_names), "both")
    score("ems_certification", ems_key, ", ".join(ems_names) or "없음")
    esg = readiness.get("esg_report")
    score("esg_report", None if esg is None else bool(esg), None if esg is None else ("발간" if esg else "미발간"))
    score("smart_factory", readiness.get("smart_factory_level"))
    level = max((lv for lv in rules["levels"] if total >= lv["min"]), key=lambda lv: lv["min"])
    return {
        "inventory": inventory,
        "inventory_year": readiness.get("inventory_year"),
        "data_management": data_mgmt,
        "metering": readiness.get("metering"),
        "ems": ems_names,
        # Per certification named in content/readiness.yaml: held or not (KPI baselines read these).
        "certified": {name: name in ems_names for name in criteria["ems_certification"]["certifications"]},
        "inventory_verified": None if inventory is None else inventory == "third_party_verified",
        "criteria": rows,
        "points": total,
        "max_points": max_total,
        "level": level["level"],
        "label": level["label"],
        "meaning": level["meaning"],
        "method_source": rules["source"]["document"],
    }
