"""Charts as PNG bytes with Korean labels (matplotlib, Agg backend, imported lazily).

    bar_chart(labels, values, title, unit)
    stacked_or_pie_chart(labels, values, title, unit)   # shares: pie (≤ 6 parts) or horizontal bars
    monthly_chart(values_12, title, unit)                # 1월..12월 bars + average line

The font is the NanumGothic TTF shipped inside the ``koreanize_matplotlib`` package (located
without importing it: importing it changes global rcParams), falling back to a system
NanumGothic (fonts-nanum). Output is deterministic: fixed size and dpi, no PNG metadata.

Because the output is deterministic, each chart is cached as a PNG file named by the SHA-256 of
everything it depends on (chart function and arguments, this module's source, the matplotlib
version, the font files). A re-run whose charts did not change never imports matplotlib (about
half of a `plan` run's time). Cache folder: $CARBON_CACHE_DIR/charts (default
~/.cache/jinju-carbon/charts); CARBON_CHART_CACHE=off disables it. Best effort: a cache that
cannot be read or written is ignored.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import io
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Sequence

from pipeline.errors import RenderError

DPI = 150
FIGSIZE = (6.3, 3.3)  # inches → 945×495 px; inserted at 150 mm width
MONTHS = [f"{m}월" for m in range(1, 13)]
COLORS = ["#1F4E79", "#2E75B6", "#9DC3E6", "#548235", "#A9D18E", "#BF9000", "#FFD966",
          "#7F7F7F", "#C55A11", "#F4B183"]
PIE_MAX_PARTS = 6
# Regular first (its family name is used); ExtraBold is matplotlib's "bold" (weight 700).
FONT_FILES = ("NanumGothic.ttf", "NanumGothicBold.ttf", "NanumGothicExtraBold.ttf")
SYSTEM_FONT_DIRS = ("/usr/share/fonts/truetype/nanum", "/usr/share/fonts/nanum",
                    "/usr/local/share/fonts", str(Path.home() / ".fonts"))

_font_family: str | None = None


def _font_files() -> list[Path]:
    """NanumGothic TTFs: koreanize_matplotlib's copy first, then system fonts."""
    found: list[Path] = []
    spec = importlib.util.find_spec("koreanize_matplotlib")
    if spec is not None and spec.origin:
        fonts = Path(spec.origin).parent / "fonts"
        found += [fonts / n for n in FONT_FILES if (fonts / n).is_file()]
    if not found:
        for d in SYSTEM_FONT_DIRS:
            for n in FONT_FILES:
                if (Path(d) / n).is_file():
                    found.append(Path(d) / n)
            if found:
                break
    return found


def korean_font_family() -> str:
    """Register NanumGothic with matplotlib once; return the family name to use."""
    global _font_family
    if _font_family is None:
        from matplotlib import font_manager

        files = _font_files()
        if not files:
            raise RenderError(
                "차트용 한글 글꼴(NanumGothic)을 찾을 수 없습니다: koreanize-matplotlib 패키지 "
                "또는 fonts-nanum을 설치하세요"
            )
        for f in files:
            font_manager.fontManager.addfont(str(f))
        _font_family = font_manager.FontProperties(fname=str(files[0])).get_name()
    return _font_family


def _cache_dir() -> Path | None:
    if os.environ.get("CARBON_CHART_CACHE", "").lower() in ("off", "0", "no", "false"):
        return None
    from pipeline.cache import cache_dir

    return cache_dir("charts")


@functools.lru_cache(maxsize=1)
def _environment_key() -> str:
    """What the PNG depends on besides the arguments: code, matplotlib version, font files.

    matplotlib is located, not imported (importing it is what the cache saves)."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.origin:
        raise OSError("matplotlib not found")
    version = Path(spec.origin).with_name("_version.py")
    parts = [hashlib.sha256(Path(__file__).read_bytes()).hexdigest(), spec.origin,
             version.read_text(encoding="utf-8") if version.is_file() else str(Path(spec.origin).stat().st_mtime_ns)]
    parts += [f"{f}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in _font_files()]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _cached(chart):
    """Return the cached PNG of `chart(*args)` when present; draw and store it otherwise."""

    @functools.wraps(chart)
    def wrapper(*args, **kwargs):
        try:
            folder = _cache_dir()
            call = json.dumps([chart.__name__, args, kwargs], ensure_ascii=False, sort_keys=True, default=repr)
            key = hashlib.sha256(f"{_environment_key()}\n{call}".encode()).hexdigest()
            path = folder / key[:2] / f"{key}.png" if folder is not None else None
        except (OSError, RuntimeError, TypeError, ValueError):
            path = None
        if path is not None and path.is_file():
            try:
                return path.read_bytes()
            except OSError:
                pass
        png = chart(*args, **kwargs)  # errors (RenderError) are never cached
        if path is not None:
            tmp = None
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
                with os.fdopen(fd, "wb") as handle:
                    handle.write(png)
                os.replace(tmp, path)  # atomic: parallel runs never see half a PNG
            except OSError:
                if tmp:
                    Path(tmp).unlink(missing_ok=True)
        return png

    return wrapper


def _subplots(figsize):
    """A figure on the Agg canvas, without pyplot: its import costs ~0.17 s more and keeps
    global figure state we do not need."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _rc() -> dict:
    return {
        "font.family": korean_font_family(),
        "axes.unicode_minus": False,
        "font.size": 9,
        "axes.titlesize": 11,
        "axes.titleweight": "bold",
        "axes.spines.top": False,
        "axes.spines.right": False,
        "svg.hashsalt": "fixed",
        "path.simplify": True,
    }


def _fmt(v: float) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if abs(v) >= 100 or float(v).is_integer():
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:,.1f}"
    return f"{v:,.2f}".rstrip("0").rstrip(".")


def _check(labels: Sequence[str], values: Sequence, what: str) -> list[float | None]:
    if len(labels) != len(values):
        raise RenderError(f"{what}: 항목 이름 {len(labels)}개와 값 {len(values)}개의 수가 다릅니다")
    if not labels:
        raise RenderError(f"{what}: 그릴 값이 없습니다")
    out: list[float | None] = []
    for label, v in zip(labels, values):
        if v is None:
            out.append(None)
            continue
        try:
            out.append(float(v))
        except (TypeError, ValueError):
            raise RenderError(f"{what}: '{label}'의 값 {v!r}는 숫자가 아닙니다") from None
    return out


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    # tight_layout leaves a placeholder layout engine behind, which makes savefig lay the
    # figure out once more before drawing (≈ 0.03 s a chart); the margins are already set.
    fig.set_layout_engine(None)
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None}, facecolor="white")
    return buf.getvalue()


def _wrap(label: str, width: int = 8) -> str:
    label = str(label)
    if len(label) <= width:
        return label
    return "\n".join(label[i:i + width] for i in range(0, len(label), width))


@_cached
def bar_chart(labels: Sequence[str], values: Sequence[float], title: str, unit: str) -> bytes:
    """Vertical bars with value labels; the y axis is labelled with the unit."""
    vals = _check(labels, values, title)
    import matplotlib

    with matplotlib.rc_context(_rc()):
        fig, ax = _subplots(FIGSIZE)
        heights = [v or 0.0 for v in vals]
        bars = ax.bar(range(len(vals)), heights, color=COLORS[0], width=0.6)
        ax.set_xticks(range(len(vals)), [_wrap(lb) for lb in labels])
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.grid(axis="y", color="#D9D9D9", linewidth=0.6)
        ax.set_axisbelow(True)
        top = max([abs(h) for h in heights] + [1e-9])
        for bar, v in zip(bars, vals):
            ax.annotate(_fmt(v), (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        xytext=(0, 2), textcoords="offset points", ha="center", va="bottom",
                        fontsize=8)
        ax.set_ylim(min(0, min(heights) * 1.15), top * 1.15)
        return _png(fig)


@_cached
def stacked_or_pie_chart(labels: Sequence[str], values: Sequence[float], title: str, unit: str) -> bytes:
    """Shares of a total: a pie for ≤ 6 non-negative parts, otherwise horizontal bars (%)."""
    vals = [v or 0.0 for v in _check(labels, values, title)]
    total = sum(vals)
    import matplotlib

    with matplotlib.rc_context(_rc()):
        if len(vals) <= PIE_MAX_PARTS and all(v >= 0 for v in vals) and total > 0:
            fig, ax = _subplots(FIGSIZE)
            wedges, _texts, autotexts = ax.pie(
                vals, colors=COLORS[: len(vals)], startangle=90, counterclock=False,
                autopct=lambda pct: f"{pct:.1f}%" if pct >= 3 else "",
                pctdistance=0.72, wedgeprops={"linewidth": 1, "edgecolor": "white"},
            )
            for t in autotexts:
                t.set_fontsize(8)
                t.set_color("white")
            ax.legend(wedges, [f"{lb} ({_fmt(v)} {unit})" for lb, v in zip(labels, vals)],
                      loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, fontsize=8)
            ax.set_title(f"{title} (합계 {_fmt(total)} {unit})")
            ax.axis("equal")
        else:
            order = sorted(range(len(vals)), key=lambda i: vals[i])
            fig, ax = _subplots((FIGSIZE[0], max(FIGSIZE[1], 0.32 * len(vals) + 1)))
            shares = [100 * vals[i] / total if total else 0.0 for i in order]
            bars = ax.barh(range(len(order)), shares, color=COLORS[1], height=0.6)
            ax.set_yticks(range(len(order)), [str(labels[i]) for i in order])
            ax.set_xlabel(f"비중 (%) · 합계 {_fmt(total)} {unit}")
            ax.set_title(title)
            ax.grid(axis="x", color="#D9D9D9", linewidth=0.6)
            ax.set_axisbelow(True)
            for bar, i, s in zip(bars, order, shares):
                ax.annotate(f"{s:.1f}% ({_fmt(vals[i])})", (bar.get_width(), bar.get_y() + bar.get_height() / 2),
                            xytext=(3, 0), textcoords="offset points", va="center", fontsize=8)
            ax.set_xlim(min(0, min(shares)), max(shares + [1]) * 1.3)
        return _png(fig)


@_cached
def monthly_chart(values_12: Sequence[float | None], title: str, unit: str) -> bytes:
    """Twelve monthly bars (1월..12월; None = no data) with a dashed average line."""
    if len(values_12) != 12:
        raise RenderError(f"{title}: 월별 값은 12개여야 합니다 (받은 값 {len(values_12)}개)")
    vals = _check(MONTHS, values_12, title)
    present = [v for v in vals if v is not None]
    import matplotlib

    with matplotlib.rc_context(_rc()):
        fig, ax = _subplots(FIGSIZE)
        ax.bar(range(12), [v or 0.0 for v in vals], color=[COLORS[1] if v is not None else "#FFFFFF" for v in vals],
               width=0.65)
        for i, v in enumerate(vals):
            if v is None:
                ax.annotate("자료 없음", (i, 0), xytext=(0, 2), textcoords="offset points",
                            ha="center", va="bottom", fontsize=7, color="#7F7F7F", rotation=90)
        if present:
            avg = sum(present) / len(present)
            ax.axhline(avg, color="#C00000", linestyle="--", linewidth=1)
            ax.annotate(f"평균 {_fmt(avg)} {unit}", (11.4, avg), xytext=(0, 3),
                        textcoords="offset points", ha="right", va="bottom", fontsize=8,
                        color="#C00000")
            top = max(present + [avg])
            ax.set_ylim(min(0, min(present) * 1.15), (top or 1) * 1.18)
        ax.set_xticks(range(12), MONTHS)
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.grid(axis="y", color="#D9D9D9", linewidth=0.6)
        ax.set_axisbelow(True)
        return _png(fig)
