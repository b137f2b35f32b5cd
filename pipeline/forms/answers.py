"""What goes into each answer area: the plan's sections and the context's fields as lines of text.

A map entry's `from` is one of
* `section:<id>` or `section:<id>/<heading>`: a plan section by its stable id (the section file's
  name without its number: overview, company, background, goals, organization, schedule, budget,
  kpi, effects, risks; rd_summary … for R&D), or the part of it under one of its headings; the
  section's own title is left out (the form prints its own). Markdown becomes the lines a Korean
  form expects: headings □ / ○, list items "- ", numbered items "1.", a table row as its cells
  joined by " | " (or left out with `tables: omit`); figures are left out;
* a context path (`company.company.name`, `strategy.budget.total_krw_million`,
  `strategy.kpis.0.name`): its value, numbers with thousands separators, a low–high range as one
  number when both ends are equal; a value the profile lacks becomes `[확인 필요: …]`;
* `ask:<what>`: a fact the pipeline does not hold (대표자 성명 …), shown as `[확인 필요: <what>]`.
`text` is a phrase with `{path}` placeholders of the same kinds (`{strategy.duration_months}개월`).
"""
from __future__ import annotations

import re
from functools import lru_cache
from html.parser import HTMLParser

from pipeline.errors import FormError
from pipeline.missing import marker
from pipeline.forms.formmap import Answer

PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_PLAIN_INT_KEY = re.compile(r"(year|founded|_no|number|code|ksic)$")


def answer_lines(answer: Answer, context: dict, where: str) -> list[str]:
    """The lines of text for one answer area (at least one; a marker when there is nothing)."""
    if answer.text is not None:
        text = PLACEHOLDER.sub(lambda m: _inline(m.group(1).strip(), context, where, answer), answer.text)
        lines = [line.rstrip() for line in text.split("\n")]
    elif answer.source.startswith("section:"):
        lines = section_lines(answer.source[len("section:"):], context, where, answer.tables)
    else:
        lines = _inline(answer.source, context, where, answer).split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    return lines or [marker(answer.describe())]


def _inline(source: str, context: dict, where: str, answer: Answer) -> str:
    if source.startswith("ask:"):
        need = source[4:].strip()
        if not need:
            raise FormError(f"{where}: 'ask:' 뒤에 필요한 자료 이름을 쓰세요 (예: ask:대표자 성명)")
        return marker(need)
    if source.startswith("section:"):
        return "\n".join(section_lines(source[len("section:"):], context, where, answer.tables))
    return format_value(resolve_path(source, context, where), source, where)


# ---------------------------------------------------------------- context paths

def resolve_path(path: str, context: dict, where: str):
    """The value at a dotted path; None when only the last key is absent (a gap in the profile).
    An unknown path is an error, and a company.* path must exist in the profile schema."""
    parts = path.split(".")
    if not all(parts):
        raise FormError(f"{where}: 경로 '{path}'이(가) 올바르지 않습니다 (예: company.company.name)")
    if parts[0] not in context or parts[0] == "documents":
        keys = ", ".join(k for k in context if k != "documents")
        raise FormError(f"{where}: 알 수 없는 경로 '{path}' ('{parts[0]}' 없음; 컨텍스트 최상위: {keys}, "
                        "계획서 섹션은 section:<id>)")
    if parts[0] == "company":
        _check_profile_path(parts[1:], path, where)
    node = context
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(node, dict):
            if part in node:
                node = node[part]
                continue
            if last or parts[0] == "company":
                return None
            raise FormError(f"{where}: 알 수 없는 경로 '{path}' ('{'.'.join(parts[:depth + 1])}' 없음; "
                            f"있는 항목: {', '.join(map(str, list(node)[:30]))})")
        if isinstance(node, list):
            if not part.isdigit():
                raise FormError(f"{where}: '{'.'.join(parts[:depth])}'은(는) 목록입니다. 번호(0부터)를 쓰세요 "
                                f"(예: {'.'.join(parts[:depth])}.0)")
            index = int(part)
            if index >= len(node):
                return None
            node = node[index]
            continue
        if node is None:
            return None
        raise FormError(f"{where}: 경로 '{path}': '{'.'.join(parts[:depth])}'은(는) 값이라 '{part}'을(를) 찾을 수 없습니다")
    return node


@lru_cache(maxsize=1)
def _profile_schema() -> dict:
    import yaml

    from pipeline.profile import SCHEMA_PATH

    return yaml.safe_load(SCHEMA_PATH.read_text(encoding="utf-8"))


def _check_profile_path(parts: list[str], path: str, where: str) -> None:
    """A company.* path must name fields the profile schema knows (a typo is an error, not a gap)."""
    schema = _profile_schema()
    nodes = [schema]
    for depth, part in enumerate(parts):
        following = []
        for node in nodes:
            following.extend(_children(schema, node, part))
        if not following:
            raise FormError(f"{where}: 알 수 없는 경로 '{path}': 프로필에 '{'.'.join(['company'] + parts[:depth + 1])}' "
                            "항목이 없습니다 (docs/profile.md; 프로필에 없는 자료는 ask:<자료 이름>으로 요청)")
        nodes = following


def _children(schema: dict, node, key: str) -> list:
    node = _deref(schema, node)
    if not isinstance(node, dict):
        return []
    found = []
    for alternative in node.get("oneOf", []) + node.get("anyOf", []) + node.get("allOf", []):
        found.extend(_children(schema, alternative, key))
    if key.isdigit() and "items" in node:
        found.append(node["items"])
    props = node.get("properties") or {}
    if key in props:
        found.append(props[key])
    elif isinstance(node.get("additionalProperties"), dict):
        found.append(node["additionalProperties"])
    return found


def _deref(schema: dict, node):
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            return {}
        target = schema
        for piece in ref[2:].split("/"):
            target = target.get(piece, {}) if isinstance(target, dict) else {}
        node = target
    return node


def format_value(value, path: str, where: str = "") -> str:
    """A context value as form text (Korean conventions; gaps as markers)."""
    key = path.rsplit(".", 1)[-1]
    if value is None:
        return marker(path_need(path))
    if isinstance(value, bool):
        return "예" if value else "아니오"
    if isinstance(value, int):
        return str(value) if _PLAIN_INT_KEY.search(key) else f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.1f}"
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) >= {"low", "high"}:
        low, high = format_value(value["low"], key, where), format_value(value["high"], key, where)
        return low if low == high else f"{low}–{high}"
    if isinstance(value, dict) and set(value) == {"year", "month"}:
        return f"{value['year']}년 {value['month']}월"
    if isinstance(value, dict) and "name" in value and isinstance(value["name"], str):
        return value["name"]
    if isinstance(value, list):
        return ", ".join(format_value(item, key, where) for item in value) if value else marker(path_need(path))
    fields = ", ".join(map(str, list(value)[:20])) if isinstance(value, dict) else ""
    raise FormError(f"{where}: 경로 '{path}'은(는) 여러 항목을 가진 값입니다. 그 안의 항목을 지정하세요 ({fields})")


def path_need(path: str) -> str:
    return f"{path.rsplit('.', 1)[-1]} ({path})"


# ---------------------------------------------------------------- plan sections

def plan_sections(context: dict) -> dict[str, str]:
    documents = context.get("documents") or {}
    plan = documents.get("plan") or {}
    return {section["id"]: section["markdown"] for section in plan.get("sections", [])}


def section_lines(ref: str, context: dict, where: str, tables: str = "lines") -> list[str]:
    section_id, _, heading = ref.partition("/")
    sections = plan_sections(context)
    if section_id.strip() not in sections:
        raise FormError(f"{where}: 계획서에 없는 섹션 id '{section_id}' (이 사업 유형의 섹션: "
                        f"{', '.join(sections) or '없음'})")
    blocks = markdown_blocks(sections[section_id.strip()])
    if blocks and blocks[0][0] == 1:
        blocks = blocks[1:]  # the section's own title: the form prints its own
    if heading.strip():
        blocks = _under_heading(blocks, heading.strip(), section_id, where)
    lines = []
    for level, kind, text in blocks:
        if kind == "table" and tables == "omit":
            continue
        if level:
            lines.append(("□ " if level <= 2 else "○ ") + text)
        else:
            lines.extend(text.split("\n"))
    return [line for line in lines if line.strip()]


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _under_heading(blocks, heading: str, section_id: str, where: str):
    for start, (level, _, text) in enumerate(blocks):
        if level and _norm(text) == _norm(heading):
            end = next((i for i in range(start + 1, len(blocks)) if blocks[i][0] and blocks[i][0] <= level), len(blocks))
            return blocks[start + 1:end]
    headings = [text for level, _, text in blocks if level]
    raise FormError(f"{where}: 섹션 '{section_id}'에 제목 '{heading}'이(가) 없습니다 (있는 제목: {', '.join(headings) or '없음'})")


def markdown_blocks(markdown_text: str) -> list[tuple[int, str, str]]:
    """(heading level or 0, kind, text) per block: headings, paragraphs, list items, table rows."""
    import markdown

    html = markdown.markdown(markdown_text, extensions=["tables"])
    walker = _Blocks()
    walker.feed(html)
    walker.close()
    return walker.blocks


class _Blocks(HTMLParser):
    """A small walk over python-markdown's HTML: enough for the section texts' constructs."""

    BLOCKS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "td", "th"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[int, str, str]] = []
        self.lists: list[list] = []      # per open list: [ordered, counter]
        self.text: list[str] | None = None
        self.row: list[str] | None = None
        self.table: list[list[str]] | None = None
        self.tag = ""

    def _table(self, rows: list[list[str]]) -> None:
        """A [항목 | 내용] table as '항목: 내용' lines (its header left out), others row by row."""
        if rows and all(len(row) == 2 for row in rows):
            self.blocks.extend((0, "table", f"{a}: {b}") for a, b in rows[1:])
        else:
            self.blocks.extend((0, "table", " | ".join(row)) for row in rows)

    def handle_starttag(self, tag, attrs):
        if tag in ("ul", "ol"):
            self._flush()
            self.lists.append([tag == "ol", 0])
        elif tag == "li":
            self._flush()
            if self.lists:
                self.lists[-1][1] += 1
            self._open("li")
        elif tag == "table":
            self._flush()
            self.table = []
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th"):
            self._open(tag)
        elif tag in ("p", "h1", "h2", "h3", "h4", "h5", "h6"):
            if self.text is None or self.tag != "li":
                self._flush()
                self._open(tag)
        elif tag == "br" and self.text is not None:
            self.text.append("\n")

    def handle_endtag(self, tag):
        if tag in ("ul", "ol"):
            self._flush()
            if self.lists:
                self.lists.pop()
        elif tag in ("td", "th"):
            cell = self._take()
            if self.row is not None:
                self.row.append(cell)
        elif tag == "tr":
            if self.row and self.table is not None:
                self.table.append(self.row)
            self.row = None
        elif tag == "table":
            self._table(self.table or [])
            self.table = None
        elif tag in ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li") and self.tag == tag:
            self._flush()

    def handle_data(self, data):
        if self.text is not None:
            self.text.append(data)

    def _open(self, tag):
        self.text, self.tag = [], tag

    def _take(self) -> str:
        text = "".join(self.text or [])
        self.text, self.tag = None, ""
        return "\n".join(re.sub(r"[ \t\r\n]+", " ", part).strip() for part in text.split("\n")).strip()

    def _flush(self):
        if self.text is None:
            return
        tag = self.tag
        text = self._take()
        if not text:
            return
        if tag.startswith("h") and len(tag) == 2:
            self.blocks.append((int(tag[1]), "heading", text))
        elif tag == "li" and self.lists:
            ordered, count = self.lists[-1]
            indent = "  " * (len(self.lists) - 1)
            bullet = f"{count}." if ordered else ("-" if len(self.lists) == 1 else "·")
            self.blocks.append((0, "item", f"{indent}{bullet} {text}"))
        else:
            self.blocks.append((0, "paragraph", text))
