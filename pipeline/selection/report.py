"""Stage 0 outputs in memory: the 평가표 as Markdown (rendered by pipeline/render/), the CSV, the
terminal ranking."""
from __future__ import annotations

import csv
import io

import click

from pipeline.selection.inputs import _display, _items
from pipeline.selection.scoring import ItemResult, Result, _dec, _tie_label, fmt


# ====================================================================== outputs
def _t(value) -> str:
    from pipeline.stages.draft import safe_text

    return safe_text(value)


def _evidence_text(ir: ItemResult) -> str:
    ev = ir.evidence
    doc = ev.get("document") or ir.item.get("evidence_hint") or ""
    if not ir.submitted:
        return f"미제출 ({doc})" if doc else "미제출"
    extra = f", 발급: {ev['issuer']}" if ev.get("issuer") else ""
    return f"{doc} (제출 {ev['date']}{extra})"


def _short(item: dict) -> str:
    return item.get("short") or item["name"]


def build_markdown(table: dict, results: list[Result], slots: int) -> str:
    quant_items, qual_items = _items(table, "quantitative"), _items(table, "qualitative")
    groups = table["groups"]
    src = table["source"]
    eligible = [r for r in results if not r.ineligible]
    excluded = [r for r in results if r.ineligible]
    period = table.get("recruitment") or {}
    lines: list[str] = []
    add = lines.append

    add("# 1. 평가 개요")
    add("")
    add(f"- 평가 근거: {_t(src['document'])}, {_t(src.get('section', ''))} ({_t(src.get('publisher', ''))})")
    add(f"- 신청 기업: {len(results)}개사 (자격 미달 {len(excluded)}개사), 선정 기업 수: {slots}개사")
    add(f"- 평가위원회: {_t(', '.join(table['committee']))} (성명 생략, 역할만 표시)")
    add(f"- 배점: {_t(groups['quantitative']['name'])} {groups['quantitative']['max']}점, "
        f"{_t(groups['qualitative']['name'])} {groups['qualitative']['max']}점, 합계 100점")
    add(f"- 증빙 미제출 항목은 {fmt(_dec(table.get('missing_evidence_points', 0)))}점. 정성 점수는 평가위원 점수의 "
        f"항목별 평균을 소수 {table.get('rounding', 2)}자리로 반올림하고, 합계는 반올림한 값의 합")
    add("")

    add("# 2. 종합 순위 및 선정 결과")
    add("")
    add(f"| 순위 | 기업 | {_t(groups['quantitative']['name'])} ({groups['quantitative']['max']}) | "
        f"{_t(groups['qualitative']['name'])} ({groups['qualitative']['max']}) | 총점 (100) | 선정 여부 | 비고 |")
    add("|:-:|---|-:|-:|-:|:-:|---|")
    for r in eligible:
        remark = "동점 처리" if r.tie_notes else ""
        add(f"| {r.rank} | {_t(r.name)} | {fmt(r.quantitative)} | {fmt(r.qualitative)} | "
            f"**{fmt(r.total)}** | {'**선정**' if r.selected else '미선정'} | {remark or '-'} |")
    for r in excluded:
        add(f"| 제외 | {_t(r.name)} | {fmt(r.quantitative)} | {fmt(r.qualitative)} | {fmt(r.total)} | 제외 | 자격 미달 |")
    add("")
    notes = [f"- 동점 처리 ({upper}위·{lower}위): {_t(note)}" for r in eligible for upper, lower, note in r.tie_events]
    for r in excluded:
        notes.append(f"- 자격 미달 ({_t(r.name)}): {_t('; '.join(r.ineligible))}")
    if notes:
        lines.extend(notes)
        add("")
    add("## 항목별 점수")
    add("")
    head = [f"{_t(_short(i))} ({i['max']})" for i in quant_items + qual_items]
    add("| 기업 (순위) | " + " | ".join(head) + " | 총점 (100점) |")
    add("|---|" + "-:|" * len(head) + "-:|")
    for r in results:
        cells = [fmt(r.item(i["id"]).points) + ("" if r.item(i["id"]).submitted else "*") for i in quant_items + qual_items]
        add(f"| {_t(r.name)} ({f'{r.rank}위' if r.rank else '제외'}) | " + " | ".join(cells) + f" | **{fmt(r.total)}** |")
    add("")
    add("\\* 증빙 미제출로 0점. 열 이름: " + ", ".join(f"{_t(_short(i))} = {_t(i['name'])}" for i in quant_items + qual_items
                                            if _short(i) != i["name"]) + ".")
    add("")

    add("# 3. 평가 기준")
    add("")
    for group in ("quantitative", "qualitative"):
        add(f"## {_t(groups[group]['name'])} ({groups[group]['max']}점)")
        add("")
        add("| 평가항목 | 배점 (점) | 점수 산정 규칙 | 근거 |")
        add("|---|:-:|---|---|")
        for item in _items(table, group):
            basis = item.get("basis", {})
            add(f"| {_t(item['name'])} | {item['max']} | {_t(_rule_text(item))} | "
                f"계획안: {_t(basis.get('seed', '-'))} / 가정(계획안에 없음): {_t(basis.get('assumption', '-'))} |")
        add("")
    add("동점 처리 순서 (총점이 같을 때):")
    add("")
    for k, rule in enumerate(table["tie_break"], start=1):
        add(f"{k}. {_t(_tie_label(table, rule['key']))} {'빠른' if rule['key'] == 'applied_at' else '높은'} 순 — {_t(rule.get('basis', ''))}")
    add("")
    elig = table.get("eligibility") or {}
    if elig:
        add(f"자격 요건: {_t(elig.get('site_city', ''))} 내 사업장 보유, 모집 기간 안 접수 "
            f"({_t(period.get('start', ''))} ~ {_t(period.get('end', ''))}). "
            f"{_t((elig.get('basis') or {}).get('assumption', ''))}")
        add("")

    add("<!-- pagebreak -->")
    add("")
    add("# 4. 기업별 평가 내역")
    add("")
    for r in results:
        status = f"{r.rank}위, {'선정' if r.selected else '미선정'}" if r.rank else "자격 미달 (순위 제외)"
        add(f"## {_t(r.name)} — {status}")
        add("")
        add(f"기업 id {_t(r.id)} · 접수 {_t(r.application.data['applied_at'])} · 신청서 {_t(_display(r.application.path))}"
            + ("" if r.application.from_form else f" · 프로필 {_t(_display(r.application.profile.path))}"))
        add("")
        add("| 평가항목 | 배점 (점) | 점수 (점) | 산정 근거 · 증빙자료 |")
        add("|---|:-:|:-:|---|")
        for ir in r.items:
            add(f"| {_t(ir.item['name'])} | {ir.item['max']} | {fmt(ir.points)} | "
                f"{_t(ir.basis)} — 증빙: {_t(_evidence_text(ir))} |")
        add(f"| **{_t(groups['quantitative']['name'])} 합계** | {groups['quantitative']['max']} | **{fmt(r.quantitative)}** | |")
        add(f"| **{_t(groups['qualitative']['name'])} 합계** | {groups['qualitative']['max']} | **{fmt(r.qualitative)}** | |")
        add(f"| **총점** | 100 | **{fmt(r.total)}** | |")
        add("")
        add("평가위원별 정성 점수:")
        add("")
        add("| 평가위원 | " + " | ".join(f"{_t(_short(i))} ({i['max']})" for i in qual_items) +
            f" | 합계 ({groups['qualitative']['max']}) |")
        add("|---|" + "-:|" * (len(qual_items) + 1))
        for k, evaluation in enumerate(r.application.data.get("evaluations") or []):
            cells = [("미제출" if evaluation["scores"][i["id"]] is None else fmt(_dec(evaluation["scores"][i["id"]]))) for i in qual_items]
            add(f"| {_t(evaluation['evaluator'])} | " + " | ".join(cells) + f" | {fmt(r.evaluator_totals[k][1])} |")
        add("| **평균(반올림)** | " + " | ".join(f"**{fmt(r.item(i['id']).points)}**" for i in qual_items) +
            f" | **{fmt(r.qualitative)}** |")
        add("")
        add("- 미제출 증빙: " + ("; ".join(_t(m) for m in r.missing) if r.missing else "없음"))
        for note in r.tie_notes:
            add(f"- 동점 처리: {_t(note)}")
        for reason in r.ineligible:
            add(f"- 자격 미달: {_t(reason)}")
        if r.application.data.get("note"):
            add(f"- 비고: {_t(r.application.data['note'])}")
        for evaluation in r.application.data.get("evaluations") or []:
            if evaluation.get("comment"):
                add(f"- {_t(evaluation['evaluator'])} 의견: {_t(evaluation['comment'])}")
        add("")

    add("<!-- pagebreak -->")
    add("")
    add("# 5. 평가위원 확인")
    add("")
    names = ", ".join(f"{r.rank}위 {r.name}" for r in results if r.selected)
    add(f"위와 같이 평가하여 {_t(names)}를 참여기업으로 선정함을 확인합니다.")
    add("")
    add("| 평가위원 | 서명 |")
    add("|---|---|")
    for member in table["committee"]:
        add(f"| {_t(member)} | |")
    add("")
    return "\n".join(lines)


def _rule_text(item: dict) -> str:
    rule = item.get("rule")
    if not rule:
        return "평가위원별 0–{0}점, 평균".format(item["max"])
    if rule["kind"] == "map":
        labels = rule.get("labels", {})
        parts = [f"{labels.get(k, k)} {v}점" for k, v in rule["points"].items()]
        return f"{rule['field']}: " + " / ".join(parts) + f" / 그 밖 {rule.get('otherwise', 0)}점"
    if rule["kind"] == "bands":
        parts = [f"{b['min']} 이상 {b['points']}점" if "min" in b else f"{b['above']} 초과 {b['points']}점" for b in rule["bands"]]
        return f"{rule['field']} 합계 {rule.get('unit', '')}: " + " / ".join(parts) + f" / 그 밖 {rule.get('otherwise', 0)}점"
    return (f"관계도의 거래처(links)가 프로필 고객과 이어지면 {rule['connected']}점, "
            f"제출했으나 연결 미확인 {rule['not_connected']}점")


def _cell(value) -> str:
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text  # no formulas in Excel


def build_csv(table: dict, results: list[Result]) -> bytes:
    items = _items(table)
    groups = table["groups"]
    header = ["순위", "기업 ID", "기업명", "선정", "자격", "접수 시각"]
    header += [f"{i['name']}({i['max']})" for i in _items(table, "quantitative")]
    header += [f"{groups['quantitative']['name']} 합계({groups['quantitative']['max']})"]
    header += [f"{i['name']}({i['max']})" for i in _items(table, "qualitative")]
    header += [f"{groups['qualitative']['name']} 합계({groups['qualitative']['max']})", "총점(100)",
               "평가위원별 정성 합계", "동점 처리", "미제출 증빙"]
    header += [f"근거: {i['name']}" for i in items]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    for r in results:
        row = [r.rank or "제외", r.id, r.name, "선정" if r.selected else ("제외" if r.ineligible else "미선정"),
               "적격" if not r.ineligible else "자격 미달: " + "; ".join(r.ineligible), r.application.data["applied_at"]]
        row += [fmt(r.item(i["id"]).points) for i in _items(table, "quantitative")] + [fmt(r.quantitative)]
        row += [fmt(r.item(i["id"]).points) for i in _items(table, "qualitative")] + [fmt(r.qualitative), fmt(r.total)]
        row += ["; ".join(f"{who} {fmt(total)}" for who, total in r.evaluator_totals), " / ".join(r.tie_notes),
                "; ".join(r.missing)]
        row += [f"{r.item(i['id']).basis} | 증빙: {_evidence_text(r.item(i['id']))}" for i in items]
        writer.writerow([_cell(c) for c in row])
    return buf.getvalue().encode("utf-8-sig")


def _pad(text: str, width: int, left: bool = False) -> str:
    """Pad to a terminal width, counting Korean (East Asian wide) characters as two columns."""
    import unicodedata

    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    space = " " * max(0, width - used)
    return text + space if left else space + text


def _echo_ranking(table: dict, results: list[Result], slots: int) -> None:
    click.echo(f"{table['title']} — 신청 {len(results)}개사, 선정 {slots}개사")
    click.echo(f"{_pad('순위', 4)}  {_pad('총점', 6)}  {_pad('정량', 5)}  {_pad('정성', 6)}  {_pad('선정', 4, left=True)}  기업")
    for r in results:
        mark = "선정" if r.selected else ("제외" if r.ineligible else "-")
        click.echo(f"{_pad(str(r.rank or '제외'), 4)}  {fmt(r.total):>6}  {fmt(r.quantitative):>5}  {fmt(r.qualitative):>6}  "
                   f"{_pad(mark, 4, left=True)}  {r.name} [{r.id}]")
        for note in r.tie_notes:
            click.echo(f"{'':>8}동점: {note}")
        for reason in r.ineligible:
            click.echo(f"{'':>8}자격 미달: {reason}")
        if r.missing:
            click.echo(f"{'':>8}미제출 증빙: {'; '.join(r.missing)}")


def pending_message(table: dict, pending: list[Result], total: int) -> str:
    """Why `select` stopped: per applicant, the committee scores still to come (a clear list the
    secretary can hand to the committee) and what the quantitative part already gives."""
    qual = [i for i in _items(table, "qualitative")]
    lines = [f"평가위원 점수(정성평가)가 아직 없는 신청서가 {len(pending)}건 있어 순위와 선정 결과를 만들지 않았습니다 "
             f"(신청 {total}건, 평가표·CSV는 쓰지 않음):"]
    for r in pending:
        needed = [i["name"] for i in qual if r.item(i["id"]).submitted]
        skipped = [i["name"] for i in qual if not r.item(i["id"]).submitted]
        line = (f"  - {_display(r.application.path)} {r.name}: 정량 {fmt(r.quantitative)}점 계산됨; "
                f"평가위원 점수 필요 — {', '.join(needed) or '없음'}")
        if skipped:
            line += f" (증빙 미제출로 0점, 점수는 null: {', '.join(skipped)})"
        lines.append(line)
    committee = ", ".join(table["committee"])
    example = ", ".join(f"{i['id']}: 0–{i['max']}" for i in qual)
    lines.append(f"평가위원({committee})의 점수표를 `python -m pipeline applications-scores 점수표.xlsx`로 불러오거나, "
                 f"각 신청서의 evaluations에 적은 뒤 다시 실행하세요 (docs/selection.md), 예: evaluations: "
                 f"[{{evaluator: {table['committee'][0]}, scores: {{{example}}}}}] — 증빙 미제출 항목은 null")
    return "\n".join(lines)
