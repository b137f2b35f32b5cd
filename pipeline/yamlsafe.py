"""Safe YAML reading with line numbers.

Profiles come from companies, so they are untrusted: only plain YAML types are built (no
object construction), aliases are refused (they make "billion laughs" bombs possible and no
profile needs them), duplicate keys are reported instead of silently dropping data, and dates
stay text so that the schema sees what the user typed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import yaml

MAX_YAML_BYTES = 2 * 1024 * 1024


class _PlainLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases and leaves timestamps as strings."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.MarkedYAMLError(
                None, None, "별칭(*alias)은 쓸 수 없습니다: 값을 직접 적어 주세요", event.start_mark
            )
        return super().compose_node(parent, index)


_PlainLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass
class YamlDocument:
    """Parsed data plus the 1-based line of every field path (`a.b[2].c`)."""

    data: object
    lines: dict[str, int] = field(default_factory=dict)
    duplicates: list[tuple[str, int]] = field(default_factory=list)

    def line_of(self, path: str) -> int | None:
        """Line of `path`, or of its nearest parent that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return self.lines.get("", 1)


class YamlSyntaxError(Exception):
    def __init__(self, message: str, line: int | None):
        super().__init__(message)
        self.message = message
        self.line = line


def join_path(parent: str, key) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else str(key)


def _walk(node, path: str, doc: YamlDocument) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set = set()
        for key_node, value_node in node.value:
            key = key_node.value
            child = join_path(path, key)
            if key in seen:
                doc.duplicates.append((child, key_node.start_mark.line + 1))
            seen.add(key)
            doc.lines.setdefault(child, key_node.start_mark.line + 1)
            _walk(value_node, child, doc)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = join_path(path, index)
            doc.lines.setdefault(child, item.start_mark.line + 1)
            _walk(item, child, doc)


def load_yaml(raw: bytes) -> YamlDocument:
    """Parse untrusted YAML bytes; raises YamlSyntaxError with a Korean message and a line."""
    if len(raw) > MAX_YAML_BYTES:
        raise YamlSyntaxError(
            f"파일이 너무 큽니다 ({len(raw):,} 바이트). 프로필은 {MAX_YAML_BYTES // 1024 // 1024} MB 이하여야 합니다", None
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlSyntaxError("UTF-8이 아닌 바이트가 있습니다. 파일을 UTF-8로 저장해 주세요", line) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    loader = _PlainLoader(text)
    try:
        node = loader.get_single_node()
        doc = YamlDocument(data=None)
        if node is not None:
            _walk(node, "", doc)
            doc.lines[""] = node.start_mark.line + 1
            doc.data = loader.construct_document(node)
        return doc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or "YAML 문법 오류"
        if "\t" in problem or "\\t" in problem or "tab" in problem.lower():
            problem = "탭 문자는 들여쓰기에 쓸 수 없습니다. 공백으로 바꿔 주세요"
        raise YamlSyntaxError(f"YAML 문법 오류: {problem}", line) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(f"YAML을 읽을 수 없습니다: {exc}", None) from None
    except RecursionError:
        raise YamlSyntaxError("YAML 구조가 너무 깊게 중첩되어 있습니다", None) from None
    finally:
        loader.dispose()
