"""Read-only access to content/: factors, regulation rules, programs, libraries and section texts.

Content is trusted, versioned data written by the team. Every file is parsed at most once per
process (cached properties), and a malformed file is reported as a ContentError naming it.
"""
from __future__ import annotations

from functools import cached_property
from pathlib import Path

import yaml

from pipeline.errors import ContentError
from pipeline.locations import content_root

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path):
    try:
        with open(path, encoding="utf-8") as handle:
            return yaml.load(handle, Loader=_Loader)
    except FileNotFoundError:
        raise ContentError(f"{path}: 콘텐츠 파일이 없습니다") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ContentError(f"{where}: 콘텐츠 YAML 오류: {getattr(exc, 'problem', exc)}") from None


class Content:
    """The content/ tree. Attributes load lazily: a stage pays only for what it reads."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root else content_root()

    def read(self, relative: str):
        """One content file, parsed (for files without a named attribute below)."""
        return read_yaml(self.root / relative)

    def read_csv(self, relative: str) -> list[dict]:
        """A CSV table (header row; lines starting with '#' are the file's notes)."""
        import csv

        path = self.root / relative
        try:
            with open(path, encoding="utf-8", newline="") as handle:
                return list(csv.DictReader(line for line in handle if not line.startswith("#")))
        except FileNotFoundError:
            raise ContentError(f"{path}: 콘텐츠 파일이 없습니다") from None
        except (csv.Error, UnicodeDecodeError) as exc:
            raise ContentError(f"{path}: CSV 오류: {exc}") from None

    def require(self, data: dict, key: str, relative: str):
        if not isinstance(data, dict) or key not in data:
            raise ContentError(f"{self.root / relative}: '{key}' 항목이 없습니다")
        return data[key]

    # factors
    @cached_property
    def gwp_sets(self) -> dict:
        return self.require(self.read("factors/gwp.yaml"), "sets", "factors/gwp.yaml")

    @cached_property
    def fuels(self) -> dict:
        return self.require(self.read("factors/fuels.yaml"), "fuels", "factors/fuels.yaml")

    @cached_property
    def electricity(self) -> dict:
        return self.read("factors/electricity.yaml")

    @cached_property
    def units(self) -> dict:
        return self.read("factors/units.yaml")

    @cached_property
    def factor_sets(self) -> dict:
        return self.read("factors/factor_sets.yaml")

    @cached_property
    def scope3(self) -> dict:
        return self.read("factors/scope3.yaml")

    # regulations
    @cached_property
    def cbam(self) -> dict:
        return self.read("regulations/cbam.yaml")

    @cached_property
    def cbam_default_values(self) -> list[dict]:
        """EU default values (Implementing Regulation (EU) 2025/2621), one row per country and CN line."""
        return self.read_csv("cbam/default_values.csv")

    @cached_property
    def cbam_benchmarks(self) -> list[dict]:
        """CBAM benchmarks, Column A and B (Implementing Regulation (EU) 2025/2620), one row per CN code and route."""
        return self.read_csv("cbam/benchmarks.csv")

    @cached_property
    def re100(self) -> dict:
        return self.read("regulations/re100.yaml")

    @cached_property
    def due_diligence(self) -> dict:
        return self.read("regulations/due_diligence.yaml")

    @cached_property
    def korea_energy(self) -> dict:
        return self.read("regulations/korea_energy.yaml")

    @cached_property
    def sme_size(self) -> dict:
        """소기업·소상공인 thresholds by industry (중소기업기본법 시행령 별표 3, 소상공인기본법)."""
        return self.read("regulations/sme-size.yaml")

    # libraries
    @cached_property
    def measure_library(self) -> dict:
        return self.read("measures.yaml")

    @cached_property
    def measures(self) -> list:
        return self.require(self.measure_library, "measures", "measures.yaml")

    @cached_property
    def load_factors(self) -> dict:
        """Typical load of each equipment type (value or None), from measures.yaml."""
        raw = self.measure_library.get("load_factors") or {}
        return {k: v.get("value") if isinstance(v, dict) else v for k, v in raw.items()}

    # our methods (how we judge, plan and score readiness)
    @cached_property
    def matching_method(self) -> dict:
        return self.read("matching.yaml")

    @cached_property
    def strategy_method(self) -> dict:
        return self.read("strategy.yaml")

    @cached_property
    def readiness_rules(self) -> dict:
        return self.read("readiness.yaml")

    @cached_property
    def kpis(self) -> list:
        return self.require(self.read("kpis.yaml"), "kpis", "kpis.yaml")

    @cached_property
    def partners(self) -> list:
        return self.require(self.read("partners.yaml"), "partners", "partners.yaml")

    @cached_property
    def plausibility(self) -> dict:
        """Bounds no real plant exceeds and screening thresholds (read by the profile checks)."""
        return self.read("plausibility.yaml") or {}

    @cached_property
    def ministries(self) -> dict:
        """Ministry renames and transfers of functions (정부조직법), to name a program's ministry as it is now."""
        return self.read("regulations/ministries.yaml")

    @cached_property
    def programs(self) -> dict:
        """Program catalog keyed by id, in id order (deterministic)."""
        folder = self.root / "programs"
        catalog = {}
        for path in sorted(folder.glob("*.yaml")):
            record = read_yaml(path)
            if not isinstance(record, dict) or record.get("id") != path.stem:
                raise ContentError(f"{path}: 'id'가 파일 이름({path.stem})과 같아야 합니다")
            catalog[path.stem] = record
        if not catalog:
            raise ContentError(f"{folder}: 지원사업 카탈로그가 비어 있습니다")
        return catalog

    def fingerprint_files(self) -> list[Path]:
        return sorted(p for p in self.root.rglob("*") if p.is_file())


_shared: Content | None = None


def get_content() -> Content:
    """The process-wide Content (one parse per file per process)."""
    global _shared
    if _shared is None or _shared.root != content_root():
        _shared = Content()
    return _shared
