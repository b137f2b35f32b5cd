"""Safe YAML reading with line numbers.

Profiles come from companies, so they are untrusted: only plain YAML types are built (no
object construction), aliases are refused (they make "billion laughs" bombs possible and no
profile needs them), duplicate keys are reported instead of silently dropping data, and dates
stay text so that the schema sees what the user typed.

Plain values are read as YAML 1.2 reads them, not with YAML 1.1's surprises (each decided here):

* `16:00`, `1:30.5` (1.1 sexagesimal 960, 5430.5) stay text: a time in a text field stays a time, and a
  number field says "숫자이어야 합니다 (지금 값: '16:00')" with its line;
* `yes`/`no`/`on`/`off` stay text: only true/false are booleans (a boolean field then names the value);
* `007`, `0x3e`, `0o76`, `0b101` are refused with their line: a leading zero is a code that needs quotes
  or a slip (1.1 reads `010` as 8), and no profile figure is written in hex, octal or binary;
* `21_800` stays text (like `21,800`: the number field says so); `1e3` is the number 1000 (1.2), so
  bounds see it; `.inf`/`.nan` are refused;
* `2024-01-05` stays text (the schema checks date patterns); `=` is text;
* explicit tags are refused (`!!map` on a list, `!!set`, `!!binary`, `!!timestamp`, `!…`): only `!!str`
  is allowed, to keep a value as text.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import yaml

MAX_YAML_BYTES = 2 * 1024 * 1024
# Characters XML 1.0 cannot hold (C0 controls but tab/newline, lone surrogates, U+FFFE/U+FFFF). A double-quoted
# YAML escape ("\x01", "\ud800") can make them; they would break the Word files, so they are refused here.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
MAX_YAML_NODES = 20_000  # keys, values and list items; the richest sample has under 600. Bounds parse and check time.


class _PlainLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases, leaves timestamps as strings and reads every key as text."""

    def compose_node(self, parent, index):
        event = self.peek_event()
        tag = getattr(event, "tag", None)
        if tag not in (None, "!") and not (tag == _STR_TAG and isinstance(event, yaml.ScalarEvent)):
            shown = tag.replace("tag:yaml.org,2002:", "!!")
            raise yaml.MarkedYAMLError(
                None, None, f"태그({shown})는 쓸 수 없습니다: 태그를 지우고 값만 적어 주세요 "
                "(목록은 '- 항목', 묶음은 '키: 값'; 글자로 두려면 따옴표)", event.start_mark
            )
        self._nodes = getattr(self, "_nodes", 0) + 1
        if self._nodes > MAX_YAML_NODES:
            raise yaml.MarkedYAMLError(
                None, None, f"항목(키·값)이 너무 많습니다: 프로필은 {MAX_YAML_NODES:,}개 이하여야 합니다", self.peek_event().start_mark
            )
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.MarkedYAMLError(
                None, None, "별칭(*alias)은 쓸 수 없습니다: 값을 직접 적어 주세요", event.start_mark
            )
        node = super().compose_node(parent, index)
        if tag == _STR_TAG:
            node.explicit_text = True  # `!!str 007`: the user asked for text, no number check
        return node

    def construct_mapping(self, node, deep=False):
        # Keys are names: keep them as typed (`yes:` stays 'yes', `2024:` stays '2024'), so that
        # messages and line numbers name the key the user wrote. Also makes `<<` a plain (unknown) key.
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key_node.tag = "tag:yaml.org,2002:str"
        return super().construct_mapping(node, deep)


_STR_TAG = "tag:yaml.org,2002:str"
# The YAML 1.2 core schema's implicit types (booleans, integers, floats, null); everything else is text.
_IMPLICIT = (
    ("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), "tTfF"),
    ("tag:yaml.org,2002:int", re.compile(r"^[-+]?[0-9]+$"), "-+0123456789"),
    ("tag:yaml.org,2002:float", re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$"),
     "-+.0123456789"),
    ("tag:yaml.org,2002:float", re.compile(r"^(?:[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"), "-+."),
    ("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]),
)
_PlainLoader.yaml_implicit_resolvers = {}
for _tag, _regexp, _first in _IMPLICIT:
    for _char in _first:
        _PlainLoader.yaml_implicit_resolvers.setdefault(_char, []).append((_tag, _regexp))
# Numbers YAML 1.1 would read in another base or as a leading-zero octal: refused with their line.
_AMBIGUOUS_NUMBER = re.compile(r"^[-+]?(?:0[0-9]+(?:\.[0-9]*)?|0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+)$")


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


def _walk(node, path: str, doc: YamlDocument, loader=None) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise yaml.MarkedYAMLError(
                    None, None, "키는 이름(글자)이어야 합니다: 목록이나 묶음을 키로 쓸 수 없습니다", key_node.start_mark
                )
            key = key_node.value
            _check_text(key, key_node)
            child = join_path(path, key)
            if key in seen:
                doc.duplicates.append((child, key_node.start_mark.line + 1))
            seen.add(key)
            doc.lines.setdefault(child, key_node.start_mark.line + 1)
            _walk(value_node, child, doc, loader)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = join_path(path, index)
            doc.lines.setdefault(child, item.start_mark.line + 1)
            _walk(item, child, doc, loader)
    elif isinstance(node, yaml.ScalarNode) and loader is not None:
        _check_scalar(node, loader)


def _check_scalar(node, loader) -> None:
    """Build one scalar early so that a bad value is reported with its line, not as a crash."""
    if node.style is None and not getattr(node, "explicit_text", False) and _AMBIGUOUS_NUMBER.match(node.value):
        raise yaml.MarkedYAMLError(
            None, None, f"'{node.value}'은(는) 뜻이 모호한 숫자입니다 (0으로 시작하거나 16·8·2진수 표기): "
            "수량이면 앞의 0 없이 10진수로, 코드(KSIC·HS 등)면 따옴표로 감싸 주세요", node.start_mark
        )
    if node.tag == "tag:yaml.org,2002:int" and len(node.value) > 100:
        raise yaml.MarkedYAMLError(None, None, "숫자가 너무 깁니다 (100자리 이하로 적어 주세요)", node.start_mark)
    try:
        value = loader.construct_object(node)
    except (ValueError, TypeError, AttributeError, OverflowError):
        shown = node.value if len(node.value) <= 40 else node.value[:37] + "…"
        raise yaml.MarkedYAMLError(
            None, None, f"값 '{shown}'을(를) {node.tag.rsplit(':', 1)[-1]}(으)로 읽을 수 없습니다", node.start_mark
        ) from None
    if isinstance(value, str):
        _check_text(value, node)
    if isinstance(value, float) and not math.isfinite(value):
        raise yaml.MarkedYAMLError(
            None, None, "숫자가 아닌 값(.nan, .inf)은 쓸 수 없습니다: 실제 숫자를 적거나 항목을 빼 주세요", node.start_mark
        )


def _check_text(text: str, node) -> None:
    bad = _NOT_XML.search(text)
    if bad:
        raise yaml.MarkedYAMLError(
            None, None, f"쓸 수 없는 제어 문자(U+{ord(bad.group()):04X})가 있습니다: 따옴표 안의 \\x·\\u 이스케이프를 지워 주세요",
            node.start_mark,
        )


# PyYAML's English problems → what the user should do, in Korean (first match wins).
_PROBLEMS = (
    ("could not determine a constructor for the tag", "태그(!!python/…, !… 등)는 쓸 수 없습니다: 값만 적어 주세요"),
    ("found character '\\t'", "탭 문자는 들여쓰기에 쓸 수 없습니다. 공백으로 바꿔 주세요"),
    ("but found another document", "문서는 하나여야 합니다: '---' 뒤의 두 번째 문서를 지워 주세요"),
    ("mapping values are not allowed here", "여기에는 '키: 값'을 쓸 수 없습니다. 들여쓰기를 확인하고, 값 안에 ': '가 있으면 따옴표로 감싸 주세요"),
    ("could not find expected ':'", "'키: 값'의 ':'가 없습니다. 들여쓰기와 따옴표를 확인해 주세요"),
    ("expected <block end>", "들여쓰기가 맞지 않거나 그 위에서 따옴표가 닫히지 않았습니다. 같은 수준의 항목은 같은 칸에서 시작해야 합니다"),
    ("did not find expected key", "들여쓰기가 맞지 않습니다. 같은 수준의 항목은 같은 칸에서 시작해야 합니다"),
    ("did not find expected '-' indicator", "목록 항목의 들여쓰기가 맞지 않습니다 ('- '로 시작하는 줄 확인)"),
    ("expected ',' or ']'", "대괄호 [ ]가 닫히지 않았거나 쉼표가 빠졌습니다"),
    ("expected ',' or '}'", "중괄호 { }가 닫히지 않았거나 쉼표가 빠졌습니다"),
    ("found unexpected end of stream", "따옴표가 닫히지 않았습니다"),
    ("found unhashable key", "키는 이름(글자)이어야 합니다: 목록이나 묶음을 키로 쓸 수 없습니다"),
    ("expected the node content", "값이 올 자리에 다른 기호가 있습니다: 값을 따옴표로 감싸거나 기호를 지워 주세요"),
    ("found unknown escape character", "큰따옴표 안의 역슬래시(\\) 표기가 잘못되었습니다: 작은따옴표로 감싸거나 \\\\로 써 주세요"),
    ("cannot start any token", "값을 이 문자(%, @, ` 등)로 시작할 수 없습니다: 값을 따옴표로 감싸 주세요"),
    ("directive", "%로 시작하는 지시문은 쓸 수 없습니다: 그 줄을 지워 주세요"),
    ("expected a comment or a line break", "따옴표로 감싼 값 뒤에 다른 글자가 있습니다: 값 전체를 따옴표로 감싸 주세요"),
    ("expected alphabetic or numeric character", "&·* 뒤에 이름이 없습니다: 값이면 따옴표로 감싸 주세요"),
    ("found unexpected ':'", "':'가 잘못된 자리에 있습니다: 값 안의 ':'는 따옴표로 감싸 주세요"),
    ("expected '<document start>'", "문서 끝 표시('...') 뒤에 내용이 있습니다: 그 표시를 지워 주세요"),
)


def _korean_problem(problem: str) -> str:
    for english, korean in _PROBLEMS:
        if english in problem:
            return korean
    if "\t" in problem or "\\t" in problem or "tab" in problem.lower():
        return "탭 문자는 들여쓰기에 쓸 수 없습니다. 공백으로 바꿔 주세요"
    return f"이 줄의 YAML 문법을 읽을 수 없습니다 (파서의 설명: {problem})"


def read_limited(path, what: str = "YAML 파일") -> bytes:
    """The bytes of an untrusted YAML file, never more than MAX_YAML_BYTES read (a huge file or a
    device must not exhaust memory or block): YamlSyntaxError in Korean when it is too large or not
    a regular file; OSError when it cannot be read."""
    import os
    import stat

    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        raise YamlSyntaxError(f"보통 파일이 아닙니다 (폴더·장치·파이프). {what}을(를) 주세요", None)
    with open(path, "rb") as handle:
        raw = handle.read(MAX_YAML_BYTES + 1)
    if len(raw) > MAX_YAML_BYTES:
        raise YamlSyntaxError(f"파일이 너무 큽니다 ({max(info.st_size, len(raw)):,} 바이트). {what}은(는) "
                              f"{MAX_YAML_BYTES // 1024 // 1024} MB 이하여야 합니다", None)
    return raw


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
    loader = None
    try:
        loader = _PlainLoader(text)
        node = loader.get_single_node()
        doc = YamlDocument(data=None)
        if node is not None:
            _walk(node, "", doc, loader)
            doc.lines[""] = node.start_mark.line + 1
            doc.data = loader.construct_document(node)
        return doc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = _korean_problem(exc.problem or "YAML 문법 오류")
        if exc.problem_mark and exc.context_mark and exc.context_mark.line != exc.problem_mark.line:
            problem += f" ({exc.context_mark.line + 1}행에서 시작한 부분)"
        raise YamlSyntaxError(f"YAML 문법 오류: {problem}", line) from None
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        raise YamlSyntaxError(
            f"쓸 수 없는 제어 문자(#x{exc.character:04x})가 있습니다. 일반 텍스트(UTF-8)로 저장해 주세요", line
        ) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(f"YAML을 읽을 수 없습니다 (파서의 설명: {exc})", None) from None
    except RecursionError:
        raise YamlSyntaxError("YAML 구조가 너무 깊게 중첩되어 있습니다", None) from None
    finally:
        if loader is not None:
            loader.dispose()


def dump_yaml(data) -> str:
    """Plain YAML as a person would write it: keys in the given order, Korean as is, short lists of
    scalars on one line, multi-line text as a block."""
    return yaml.dump(data, Dumper=_plain_dumper(), allow_unicode=True, sort_keys=False, default_flow_style=False,
                     width=4096)


_DUMPER = []


def _plain_dumper():
    if _DUMPER:
        return _DUMPER[0]

    class Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # libyaml's emitter when installed: 10× faster
        pass

    def represent_list(dumper, value):
        flow = all(isinstance(v, (str, int, float, bool)) or v is None for v in value) and \
            sum(len(str(v)) for v in value) <= 100 and not any(isinstance(v, str) and "\n" in v for v in value)
        return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)

    def represent_str(dumper, value):
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(list, represent_list)
    Dumper.add_representer(str, represent_str)
    _DUMPER.append(Dumper)
    return Dumper
