"""Trust boundaries (issue 8 §5): profile text is data, never code.

- YAML object tags (`!!python/object/apply:os.system` …) are refused with a clear message; nothing runs.
- Profile text with Jinja syntax, Markdown/HTML, XML specials and shell metacharacters comes out
  VERBATIM in the generated Word files (body, tables, headers and footers, read with python-docx),
  is never evaluated as a template or run by a shell, and every XML part stays well-formed.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest
import yaml
from lxml import etree

from docx_helpers import docx_all_text

pytestmark = pytest.mark.hardening

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "companies" / "jinju-bolt.yaml"
COMPANY = "trust-co"
TIMEOUT_S = 120


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, CARBON_COMPANIES_DIR=str(tmp_path / "companies"), CARBON_OUT_DIR=str(tmp_path / "out"),
               CARBON_REVISIONS_DIR=str(tmp_path / "revisions"))
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=TIMEOUT_S)


def write_profile(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "companies"
    folder.mkdir(exist_ok=True)
    path = folder / f"{COMPANY}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# --- YAML tags -----------------------------------------------------------------------------------

TAGS = [
    '!!python/object/apply:os.system ["touch {marker}"]',
    '!!python/object/apply:subprocess.check_output [["touch", "{marker}"]]',
    '!!python/object/new:os.system ["touch {marker}"]',
    "!!python/name:os.system",
    "!!python/module:os",
    '!!python/object:pathlib.PosixPath {{}}',
]


@pytest.mark.parametrize("tag", TAGS)
@pytest.mark.parametrize("command", ["validate", "plan"])
def test_yaml_object_tags_are_refused(tmp_path, tag, command):
    marker = tmp_path / "pwned"
    text = SAMPLE.read_text(encoding="utf-8")
    line_text = "  main_business: " + tag.format(marker=marker)
    text = text.replace("  main_business: 고장력 볼트·너트(8.8/10.9급) 냉간단조·열처리·아연플레이크 코팅", line_text, 1)
    assert line_text in text
    line = text.splitlines().index(line_text) + 1
    path = write_profile(tmp_path, text)
    result = run(tmp_path, command, COMPANY, *(["--no-page-count"] if command == "plan" else []))
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert result.returncode == 2, result.stderr
    assert f"{path}:{line} " in result.stderr and "태그" in result.stderr and "쓸 수 없습니다" in result.stderr, result.stderr
    assert not marker.exists(), "the tag was executed"
    assert not (tmp_path / "out").exists() and not (tmp_path / "revisions").exists()


# --- hostile text in the documents ---------------------------------------------------------------

def hostile_payloads(markers: Path) -> dict[tuple, str]:
    """Field path → text. The fields are ones the three documents print."""
    return {
        ("company", "name"): "(주)진주 & <정밀> {{ 7*7 }}",
        ("company", "main_business"): "{% for x in range(3) %}반복{% endfor %} **굵게** __밑줄__ <b>태그</b> | 표 | 칸 |",
        ("company", "address"): "진주시 <![CDATA[ x ]]> &amp; &lt; \"큰따옴표\" '작은따옴표' ]]>",
        ("company", "contact_role"): "<script>alert(1)</script>",
        ("products", 0, "name"): "볼트 </w:t></w:r><w:r><w:t>주입 {{ company.name }}",
        ("processes", 0, "name"): f"단조 $(touch {markers}/p1) `touch {markers}/p2`; touch {markers}/p3 && echo | cat",
        ("processes", 0, "equipment", 0, "name"): "포머 {# 주석 #} {%raw%} ${HOME} %PATH% \\n \\\\ {{",
        ("exports", 0, "customers", 0, "name"): "(가상) A&B <GmbH> [링크](http://example.invalid) ![그림](x.png)",
        ("customer_demands", 0, "note"): "# 제목처럼 - 목록 * 별표 > 인용 `코드` <!-- 주석 -->",
        ("readiness", "metering"): "{{ ''.__class__.__mro__[1].__subclasses__() }} {{ cycler.__init__.__globals__ }}",
        ("consulting", "reason"): f"{{{{ lipsum.__globals__.os.popen('touch {markers}/p4').read() }}}}\n"
                                  "## 둘째 줄은 제목처럼\n- 목록처럼 | 표처럼 |\n&nbsp; &#x41; &unknown;",
    }


def _set(data, path, value):
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = value


@pytest.fixture()
def markers():
    """A short folder (the payloads must fit the 200-character fields) where an escaped shell would write."""
    folder = Path(tempfile.mkdtemp(prefix="ct-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_profile_text_is_printed_verbatim_and_never_evaluated(tmp_path, markers):
    data = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    payloads = hostile_payloads(markers)
    for path, value in payloads.items():
        _set(data, path, value)
    write_profile(tmp_path, yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000))

    assert run(tmp_path, "validate", COMPANY).returncode == 0
    result = run(tmp_path, "plan", COMPANY, "--no-page-count")
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert result.returncode == 0, result.stderr

    out = tmp_path / "out" / COMPANY
    documents = {name: out / f"{name}.docx" for name in ("diagnosis", "matching", "plan")}
    texts = {name: docx_all_text(path) for name, path in documents.items()}
    everything = "\n".join(texts.values())
    for path, value in payloads.items():
        for line in value.splitlines():
            assert line in everything, f"{'.'.join(map(str, path))}: {line!r} is not in the documents verbatim"
    assert payloads[("company", "name")] in texts["diagnosis"]
    assert payloads[("company", "name")] in texts["matching"]
    assert payloads[("company", "name")] in texts["plan"]
    assert "(주)진주 & <정밀> 49" not in everything, "profile text was evaluated as a template"
    assert "반복반복반복" not in everything, "a Jinja loop in profile text was run"
    assert sorted(p.name for p in markers.iterdir()) == [], "profile text reached a shell"

    for name, path in documents.items():
        with zipfile.ZipFile(path) as z:
            for member in z.namelist():
                if member.endswith((".xml", ".rels")):
                    etree.fromstring(z.read(member))  # well-formed: raises on any unescaped < or &
            body = z.read("word/document.xml").decode("utf-8")
        assert "<w:t>주입" not in body, f"{name}: profile text injected a Word run"
        assert "<script>" not in body and "<b>" not in body and "<GmbH>" not in body, f"{name}: raw markup in XML"
