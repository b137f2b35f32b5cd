"""Charts as PNG bytes with Korean labels (matplotlib, Agg backend, imported lazily).

A chart is a spec (plain data, made by the draft stage with bar_spec / shares_spec /
monthly_spec of pipeline/stages/chart_specs.py); rendering turns specs into PNGs:

    chart_png(spec)                         # one chart, cached, drawn in this process
    with ChartSet(specs, background=True) as charts:
        charts.png(name)                    # many charts; uncached ones drawn in a worker process
    worker = ChartWorker.start()            # a worker started early; hand it to ChartSet(worker=…)
    bar_chart / stacked_or_pie_chart / monthly_chart(...)   # chart_png of the matching spec

The font is the NanumGothic TTF shipped inside the ``koreanize_matplotlib`` package (located
without importing it: importing it changes global rcParams), falling back to a system
NanumGothic (fonts-nanum). Output is deterministic: fixed size and dpi, no PNG metadata.

Because the output is deterministic, each chart is cached as a PNG file named by the SHA-256 of
everything it depends on (the spec, this module's source, the matplotlib version, the font
files). A re-run whose charts did not change never imports matplotlib (about half of a `plan`
run's time). Cache folder: $CARBON_CACHE_DIR/charts (default ~/.cache/jinju-carbon/charts);
CARBON_CHART_CACHE=off disables it. Best effort: a cache that cannot be read or written is ignored.

Longer than 400 lines on purpose: drawing, the PNG cache and the worker share one cache key and one
draw function, and the worker's fallbacks (a dead or failing worker → drawn here) are tested as one unit.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import io
import json
import math
import os
import re
from pathlib import Path
from typing import Sequence

from pipeline.errors import RenderError
from pipeline.locations import env_path, env_text, home_dir
from pipeline.stages.chart_specs import bar_spec, monthly_spec, shares_spec

DPI = 150
FIGSIZE = (6.3, 3.3)  # inches → 945×495 px; inserted at 150 mm width
MONTHS = [f"{m}월" for m in range(1, 13)]
COLORS = ["#1F4E79", "#2E75B6", "#9DC3E6", "#548235", "#A9D18E", "#BF9000", "#FFD966",
          "#7F7F7F", "#C55A11", "#F4B183"]
PIE_MAX_PARTS = 6
# Regular first (its family name is used); ExtraBold is matplotlib's "bold" (weight 700).
FONT_FILES = ("NanumGothic.ttf", "NanumGothicBold.ttf", "NanumGothicExtraBold.ttf")
SYSTEM_FONT_DIRS = ("/usr/share/fonts/truetype/nanum", "/usr/share/fonts/nanum", "/usr/local/share/fonts")

_font_family: str | None = None


def _writable(folder: Path) -> bool:
    """`folder` exists and is writable, or could be created (its nearest existing parent is writable)."""
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)


def _matplotlib_config_dir() -> None:
    """Without a usable home folder (a user id without a passwd entry, no $HOME, or a home it may not
    write) matplotlib logs an English warning to stderr and makes a throw-away folder; give it one of
    ours instead, before its import."""
    if env_text("MPLCONFIGDIR"):
        return
    home = home_dir()
    config = env_path("XDG_CONFIG_HOME") or (home / ".config" if home else None)
    if config is not None and _writable(config / "matplotlib"):
        return
    from pipeline.store.cache import cache_dir

    folder = cache_dir("matplotlib")
    if folder is None:
        import tempfile

        folder = tempfile.mkdtemp(prefix="carbon-matplotlib-")
    os.environ["MPLCONFIGDIR"] = str(folder)


_matplotlib_config_dir()


def _font_files() -> list[Path]:
    """NanumGothic TTFs: koreanize_matplotlib's copy first, then system fonts."""
    found: list[Path] = []
    spec = importlib.util.find_spec("koreanize_matplotlib")
    if spec is not None and spec.origin:
        fonts = Path(spec.origin).parent / "fonts"
        found += [fonts / n for n in FONT_FILES if (fonts / n).is_file()]
    if not found:
        home = home_dir()
        for d in SYSTEM_FONT_DIRS + ((str(home / ".fonts"),) if home else ()):
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
    if (env_text("CARBON_CHART_CACHE") or "").strip().lower() in ("off", "0", "no", "false"):
        return None
    from pipeline.store.cache import cache_dir

    return cache_dir("charts")


@functools.lru_cache(maxsize=1)
def _environment_key() -> str:
    """What the PNG depends on besides the spec: code, matplotlib version, font files.

    matplotlib is located, not imported (importing it is what the cache saves)."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.origin:
        raise OSError("matplotlib not found")
    version = Path(spec.origin).with_name("_version.py")
    parts = [hashlib.sha256(Path(__file__).read_bytes()).hexdigest(), spec.origin,
             version.read_text(encoding="utf-8") if version.is_file() else str(Path(spec.origin).stat().st_mtime_ns)]
    parts += [f"{f}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in _font_files()]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _cache_path(spec: dict) -> Path | None:
    try:
        folder = _cache_dir()
        if folder is None:
            return None
        call = json.dumps(spec, ensure_ascii=False, sort_keys=True, default=repr)
        key = hashlib.sha256(f"{_environment_key()}\n{call}".encode()).hexdigest()
        return folder / key[:2] / f"{key}.png"
    except (OSError, RuntimeError, TypeError, ValueError):
        return None


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _read_cache(path: Path | None) -> bytes | None:
    """The cached PNG, or None (absent, damaged or not a PNG: then it is drawn again and re-cached)."""
    from pipeline.store.cache import read_entry

    png = read_entry(path)
    return png if png is not None and png.startswith(PNG_SIGNATURE) else None


def _write_cache(path: Path | None, png: bytes) -> None:
    from pipeline.store.cache import write_entry

    write_entry(path, png)


def _subplots(figsize):
    """A figure on the Agg canvas, without pyplot: its import costs ~0.17 s more and keeps
    global figure state we do not need."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=DPI)
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
    """Break a tick label into lines of about `width` characters, after a space or '·' where
    possible (a word much longer than a line is cut)."""
    label = str(label)
    lines: list[str] = []
    line = ""
    for token in re.findall(r"[^ ·]+[ ·]?|[ ·]", label):
        if line and len((line + token).rstrip()) > width:
            lines.append(line.rstrip())
            line = ""
        while len(token.rstrip()) > width + 3:
            lines.append(token[:width])
            token = token[width:]
        line += token
    if line.strip():
        lines.append(line.rstrip())
    return "\n".join(lines)


def _draw_bar(labels: Sequence[str], values: Sequence[float], title: str, unit: str) -> bytes:
    """Vertical bars with value labels; the y axis is labelled with the unit."""
    vals = _check(labels, values, title)
    import matplotlib

    with matplotlib.rc_context(_rc()):
        fig, ax = _subplots(FIGSIZE)
        heights = [v or 0.0 for v in vals]
        bars = ax.bar(range(len(vals)), heights, color=COLORS[0], width=0.6)
        ax.set_xticks(range(len(vals)), [_wrap(lb) for lb in labels], linespacing=1.4)  # Hangul lines touch at 1.2
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


def _draw_shares(labels: Sequence[str], values: Sequence[float], title: str, unit: str) -> bytes:
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


def _draw_monthly(values: Sequence[float | None], title: str, unit: str) -> bytes:
    """Twelve monthly bars (1월..12월; None = no data) with a dashed average line."""
    vals = _check(MONTHS, values, title)
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


# ----------------------------------------------------------------------------- specs
# A chart is described by a spec, plain data the draft stage puts into the context:
#   {"kind": "bar" | "shares" | "monthly", "labels": [...], "values": [...], "title": ..., "unit": ...}
# ("monthly" has no labels: its twelve values are 1월..12월).
_DRAW = {"bar": _draw_bar, "shares": _draw_shares, "monthly": _draw_monthly}


def check_spec(spec: dict) -> None:
    """Refuse a spec that cannot be drawn (RenderError), without importing matplotlib."""
    kind, title = spec.get("kind"), spec.get("title", "차트")
    if kind not in _DRAW:
        raise RenderError(f"{title}: 알 수 없는 차트 종류 {kind!r} (가능: {', '.join(_DRAW)})")
    if kind == "monthly":
        if len(spec["values"]) != 12:
            raise RenderError(f"{title}: 월별 값은 12개여야 합니다 (받은 값 {len(spec['values'])}개)")
        _check(MONTHS, spec["values"], title)
    else:
        _check(spec["labels"], spec["values"], title)


def _draw(spec: dict) -> bytes:
    """Draw one spec. matplotlib's warnings (which name its source files) never reach the terminal;
    a character the chart font lacks, shown as an empty box, becomes one Korean note."""
    import sys
    import warnings

    args = {k: v for k, v in spec.items() if k != "kind"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = _DRAW[spec["kind"]](**args)
    glyphs = sorted({chr(int(m.group(1))) for w in caught if (m := re.search(r"Glyph (\d+)", str(w.message)))})
    if glyphs:
        sys.stderr.write(f"참고: 차트 '{spec.get('title', '')}'의 글자 {' '.join(glyphs)}은(는) 차트 글꼴(NanumGothic)에 "
                         "없어 빈 네모로 보입니다. 프로필의 이름에서 바꾸거나 빼 주세요\n")
    return png


def chart_png(spec: dict) -> bytes:
    """The PNG of one spec, from the cache or drawn in this process (and then cached)."""
    check_spec(spec)
    path = _cache_path(spec)
    png = _read_cache(path)
    if png is None:
        png = _draw(spec)  # errors are never cached
        _write_cache(path, png)
    return png


def bar_chart(labels: Sequence[str], values: Sequence[float | None], title: str, unit: str) -> bytes:
    return chart_png(bar_spec(labels, values, title, unit))


def stacked_or_pie_chart(labels: Sequence[str], values: Sequence[float | None], title: str, unit: str) -> bytes:
    return chart_png(shares_spec(labels, values, title, unit))


def monthly_chart(values_12: Sequence[float | None], title: str, unit: str) -> bytes:
    return chart_png(monthly_spec(values_12, title, unit))


# ----------------------------------------------------------------------------- many charts
class ChartSet:
    """The PNGs of named specs, for one render.

    Cached charts are read at once. The others are drawn in this process when first asked for,
    or in a `ChartWorker` process: one given (started early, it may have imported matplotlib by
    now) or, with ``background=True``, one started here. Its import and drawing then overlap the
    rendering of the documents that need fewer charts (ask for the specs in the order the
    documents need them). The worker is an optimisation only: if it fails or dies, the chart is
    drawn here, and a spec that cannot be drawn raises the same RenderError either way. Use as a
    context manager: it stops the worker.
    """

    def __init__(self, specs: dict[str, dict], background: bool = False, worker: "ChartWorker | None" = None):
        for spec in specs.values():
            check_spec(spec)
        self._specs = specs
        self._paths = {name: _cache_path(spec) for name, spec in specs.items()}
        self._ready: dict[str, bytes] = {}
        for name, path in self._paths.items():
            png = _read_cache(path)
            if png is not None:
                self._ready[name] = png
        to_draw = [(name, spec) for name, spec in specs.items() if name not in self._ready]
        if worker is None and background and to_draw:
            worker = ChartWorker.start()
        self._worker = worker
        if worker is not None:
            if to_draw:
                worker.submit(to_draw)
            else:
                self.close()  # all cached: a worker started early is not needed

    def png(self, name: str) -> bytes:
        if name not in self._ready:
            png = self._worker.result(name) if self._worker is not None else None
            if png is None:
                png = _draw(self._specs[name])
            _write_cache(self._paths[name], png)
            self._ready[name] = png
        return self._ready[name]

    def close(self) -> None:
        if self._worker is not None:
            self._worker.stop()
            self._worker = None

    def __enter__(self) -> "ChartSet":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class ChartWorker:
    """A forked process that imports matplotlib at once, then draws the specs it is sent.

    `start()` it as early as it is likely to be needed, so the import overlaps other work;
    `submit` sends the list of (name, spec) once; each PNG comes back as it is done, and a reader
    thread here collects it at once, so the worker never waits on a full pipe. Each side closes its
    copies of the other's pipe ends: if this process dies, the worker's next receive or send fails
    and it exits (no orphan keeps running); if the worker dies, `result` returns None. `stop` is
    idempotent.
    """

    def __init__(self, process, jobs, results):
        import threading

        self._process, self._jobs, self._reader = process, jobs, results
        self._results: dict[str, bytes | None] = {}
        self._finished = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._collect, name="chart-results", daemon=True)
        self._thread.start()

    @classmethod
    def start(cls) -> "ChartWorker | None":
        """Start the worker; None where fork is unavailable or not allowed (then draw in-process)."""
        import multiprocessing

        if "fork" not in multiprocessing.get_all_start_methods() or multiprocessing.current_process().daemon:
            return None
        context = multiprocessing.get_context("fork")
        try:
            jobs_in, jobs_out = context.Pipe(duplex=False)
            results_in, results_out = context.Pipe(duplex=False)
            process = context.Process(target=_serve, args=(jobs_in, results_out, (jobs_out, results_in)),
                                      name="chart-worker", daemon=True)
            process.start()
        except OSError:  # no process to spare: draw here
            return None
        jobs_in.close()
        results_out.close()
        return cls(process, jobs_out, results_in)

    def submit(self, jobs: list[tuple[str, dict]]) -> None:
        try:
            self._jobs.send(jobs)
        except OSError:  # the worker died: `result` returns None, the charts are drawn here
            pass

    def _collect(self) -> None:
        try:
            while True:
                name, png = self._reader.recv()
                with self._changed:
                    self._results[name] = png
                    self._changed.notify_all()
        except (EOFError, OSError):  # the worker is done (or died)
            pass
        finally:
            with self._changed:
                self._finished = True
                self._changed.notify_all()

    def result(self, name: str) -> bytes | None:
        """The worker's PNG for `name`, waiting for it; None if the worker could not draw it."""
        with self._changed:
            self._changed.wait_for(lambda: name in self._results or self._finished)
            return self._results.get(name)

    def stop(self) -> None:
        if self._process.is_alive():
            self._process.terminate()  # not needed any more (all cached, or an error elsewhere)
        self._process.join()
        self._thread.join()
        self._jobs.close()
        self._reader.close()


def _serve(jobs, results, parent_ends) -> None:
    """Worker process: import matplotlib, receive the jobs, draw each spec, send (name, PNG or None)."""
    import signal

    for end in parent_ends:
        end.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it stops us
    try:
        korean_font_family()  # imports matplotlib and registers the font while the parent works
        todo = jobs.recv()
    except Exception:  # EOF: nothing to draw (or the parent is gone); else the parent draws itself
        return
    for name, spec in todo:
        try:
            png = _draw(spec)
        except Exception:  # the parent draws it again and reports the error properly
            png = None
        try:
            results.send((name, png))
        except OSError:  # the parent is gone
            return
    results.close()
