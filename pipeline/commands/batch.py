"""`python -m pipeline all`: plan every company in companies/ in parallel processes.

Each company goes through exactly the code path of the `plan` command (``pipeline.commands.plan._plan_one``)
inside a worker of a ``concurrent.futures.ProcessPoolExecutor`` (default: one worker per CPU).
Workers are long-lived, so the heavy imports (matplotlib, docxtpl) and content/ parsing are paid
once per worker, not once per company. One company's failure never stops the others: a
PipelineError becomes the Korean reason in the summary, an unexpected exception is reported with
its type. A progress bar (tqdm, on stderr, only on a terminal) shows the companies as they finish;
a summary table closes the run. Exit code 0 if every company succeeded, 2 if any failed.
"""
from __future__ import annotations

import multiprocessing
import os
import sys
import time
import unicodedata
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass

import click

from pipeline.errors import PipelineError


@click.command(name="all")
@click.option("--jobs", "-j", type=int, default=None, help="동시에 처리할 프로세스 수 (기본: CPU 수)")
@click.option("--page-count/--no-page-count", default=False, help="쪽수도 셈 (느림)")
def all_companies(jobs: int | None, page_count: bool) -> None:
    """companies/의 모든 기업을 병렬로 처리하고 요약을 출력."""
    sys.exit(run_batch(jobs=jobs, page_count=page_count))



@dataclass
class Outcome:
    company: str
    ok: bool
    seconds: float
    revision: int | None = None
    reason: str = ""


def plan_company(company: str, page_count: bool = False) -> Outcome:
    """Worker: `plan` one company (same code path as the CLI command); never raises."""
    from pipeline.commands.plan import _plan_one

    start = time.perf_counter()
    try:
        result, _ctx = _plan_one(company, quiet=True, page_count=page_count)
    except PipelineError as exc:
        return Outcome(company, False, time.perf_counter() - start, reason=exc.format_message())
    except Exception as exc:  # a bug must not stop the other companies; report it
        return Outcome(company, False, time.perf_counter() - start,
                       reason=f"내부 오류 ({type(exc).__name__}): {exc}")
    return Outcome(company, True, time.perf_counter() - start, revision=result.revision)


def run_batch(jobs: int | None = None, page_count: bool = False, companies: list[str] | None = None) -> int:
    """Plan `companies` (default: every profile in companies/) in `jobs` processes; return the exit code."""
    from pipeline.locations import companies_dir
    from pipeline.profile import list_company_ids

    ids = list(companies) if companies is not None else list_company_ids()
    if not ids:
        raise PipelineError(f"처리할 기업 프로필이 없습니다 ({companies_dir()}/*.yaml)")
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(ids)))
    start = time.perf_counter()
    outcomes: dict[str, Outcome] = {}
    bar = _progress(len(ids))
    # spawn: workers start clean (no fork of a process that runs tqdm's monitor thread), the same
    # on every platform; each worker then imports the pipeline once and keeps it warm.
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(plan_company, company, page_count): company for company in ids}
        for future in as_completed(futures):
            company = futures[future]
            try:
                outcome = future.result()
            except Exception as exc:  # the worker process died (killed, out of memory …)
                outcome = Outcome(company, False, time.perf_counter() - start,
                                  reason=f"작업 프로세스가 비정상 종료되었습니다 ({type(exc).__name__}: {exc})")
            outcomes[company] = outcome
            if bar is not None:
                bar.set_postfix_str(f"{company} {'완료' if outcome.ok else '실패'}", refresh=False)
                bar.update(1)
    if bar is not None:
        bar.close()
    total = time.perf_counter() - start
    ordered = [outcomes[c] for c in ids]
    click.echo(summary_table(ordered, total, jobs))
    return 0 if all(o.ok for o in ordered) else 2


def _progress(total: int):
    try:
        from tqdm import tqdm

        from pipeline.commands.terminal import raw_stderr
    except ImportError:  # the progress bar is a convenience, never a reason to fail
        return None
    return tqdm(total=total, desc="기업 처리", unit="개", file=raw_stderr(), disable=None, dynamic_ncols=True)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    fill = " " * max(0, width - _width(text))
    return fill + text if right else text + fill


def summary_table(outcomes: list[Outcome], total_seconds: float, jobs: int) -> str:
    """The closing summary: one row per company (result, revision, seconds), then the failures' reasons."""
    header = ("기업", "결과", "리비전", "시간(초)")
    rows = [(o.company, "완료" if o.ok else "실패", f"r{o.revision:03d}" if o.revision else "-", f"{o.seconds:.2f}")
            for o in outcomes]
    widths = [max(_width(r[i]) for r in rows + [header]) for i in range(len(header))]

    def line(cells):
        return "  ".join(_pad(c, w, right=(i == 3)) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    lines = ["", line(header), "  ".join("-" * w for w in widths)]
    lines += [line(r) for r in rows]
    failed = [o for o in outcomes if not o.ok]
    done = len(outcomes) - len(failed)
    lines.append("")
    lines.append(f"완료 {done}개, 실패 {len(failed)}개 / 전체 {len(outcomes)}개 · "
                 f"총 {total_seconds:.2f}초 (프로세스 {jobs}개)")
    if failed:
        lines.append("")
        lines.append("실패 사유:")
        for o in failed:
            reason = o.reason.strip().replace("\n", "\n      ")
            lines.append(f"  - {o.company}: {reason}")
    return "\n".join(lines)


__all__ = ["run_batch", "plan_company", "summary_table", "Outcome"]
