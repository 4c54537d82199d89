"""The figures of the bidding benchmark: its table, its targets and its JSON."""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass
from typing import Any

from _bidding_books import LedgerCheck
from _bidding_load import Load
from _harness import RESULTS_DIR

RESULTS_FILE = RESULTS_DIR / "bidding.json"
MIN_NOOP_RATIO = 0.7
MIN_PGBENCH_RATIO = 3.0
MAX_P99_MS = 100.0
P99_CONNECTIONS = 64
MAX_RSS_MB = 200.0
BUSY_BEFORE = 0.15  # of every core, in the second before the run
NOOP, HOT, SPREAD = "no-op ceiling", "hot auction", "1,000 auctions"


@dataclass(frozen=True)
class Run:
    """One measured wrk run and, for bids, its ledger check."""

    load: Load
    check: LedgerCheck | None
    cpu_seconds: float  # used by the bidding process during the run
    host_busy: float  # the share of every core of the machine busy during the run

    @property
    def cpu_percent(self) -> float:
        return 100 * self.cpu_seconds / self.load.seconds if self.load.seconds else 0.0

    @property
    def cpu_ms_per_answer(self) -> float:
        return 1000 * self.cpu_seconds / self.load.answered if self.load.answered else 0.0


@dataclass(frozen=True)
class Figures:
    """Everything one benchmark run measured."""

    runs: list[Run]
    pgbench_tps: dict[int, float]
    rss_after_kib: int
    rss_peak_kib: int  # VmHWM: the kernel's own high-water mark of the process
    rss_sampled_peak_kib: int
    server_errors: list[str]  # what the bidding process logged at ERROR level


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _row(run: Run) -> str:
    load, check = run.load, run.check
    refused = f"{load.refused:>8}" if check is not None else f"{'-':>8}"
    batch = f"{check.bids_per_commit:>12.1f}" if check is not None else f"{'-':>12}"
    ledger = ("OK" if check.ok else "FAIL") if check is not None else "-"
    return (
        f"{load.connections:>5}  {load.scenario:<16}{load.per_second:>10.1f}{load.p50_ms:>9.2f}"
        f"{load.p99_ms:>9.2f}{load.succeeded:>8}{refused}{load.errors:>8}"
        f"{run.cpu_percent:>6.0f}{run.cpu_ms_per_answer:>8.2f}{100 * run.host_busy:>6.0f}"
        f"{batch}  {ledger}"
    )


def _load_json(run: Run) -> dict[str, Any]:
    load, check = run.load, run.check
    figures: dict[str, Any] = {
        "scenario": load.scenario,
        "connections": load.connections,
        "seconds": round(load.seconds, 3),
        "answers_per_second": round(load.per_second, 1),
        "p50_ms": load.p50_ms,
        "p99_ms": load.p99_ms,
        "max_ms": load.max_ms,
        "statuses": {str(status): n for status, n in sorted(load.statuses.items())},
        "error_codes": load.codes,
        "errors": load.errors,
        "unanswered": load.unanswered,
        "socket_errors": load.socket_errors,
        "bidding_cpu_seconds": round(run.cpu_seconds, 3),
        "bidding_cpu_ms_per_answer": round(run.cpu_ms_per_answer, 3),
        "host_busy_percent": round(100 * run.host_busy, 1),
    }
    if check is not None:
        figures["ledger_check"] = {
            "ok": check.ok,
            "acknowledged": check.acknowledged,
            "ledger_rows": check.ledger_rows,
            "books": check.books,
            "commits": check.commits,
            "bids_per_commit": round(check.bids_per_commit, 2),
            "mismatches": check.mismatches[:10],
        }
    return figures


@dataclass(frozen=True)
class Targets:
    """The figures the targets judge, and each verdict."""

    noop_ratio: dict[int, float]  # hot-auction answers/s over the no-op ceiling's
    pgbench_ratio: dict[int, float]  # hot-auction answers/s over pgbench's transactions/s
    p99_at: int
    p99_ms: dict[str, float]
    rss_peak_mb: float
    checks_ok: int
    checks: int
    errors: int

    @property
    def passed(self) -> dict[str, Any]:
        return {
            "hot_vs_noop": {str(c): r >= MIN_NOOP_RATIO for c, r in self.noop_ratio.items()},
            "hot_vs_pgbench": {
                str(c): r >= MIN_PGBENCH_RATIO for c, r in self.pgbench_ratio.items()
            },
            "p99": {s: ms < MAX_P99_MS for s, ms in self.p99_ms.items()},
            "memory": self.rss_peak_mb < MAX_RSS_MB,
            "ledger_checks": self.checks_ok == self.checks,
            "no_errors": self.errors == 0,
        }

    @property
    def all_passed(self) -> bool:
        return all(all(v.values()) if isinstance(v, dict) else v for v in self.passed.values())


def _judge(counts: list[int], figures: Figures) -> Targets:
    by = {(run.load.scenario, run.load.connections): run.load for run in figures.runs}
    p99_at = P99_CONNECTIONS if P99_CONNECTIONS in counts else counts[-1]
    checks = [run.check for run in figures.runs if run.check is not None]
    return Targets(
        noop_ratio={c: by[(HOT, c)].per_second / by[(NOOP, c)].per_second for c in counts},
        pgbench_ratio={c: by[(HOT, c)].per_second / figures.pgbench_tps[c] for c in counts},
        p99_at=p99_at,
        p99_ms={scenario: by[(scenario, p99_at)].p99_ms for scenario in (HOT, SPREAD)},
        rss_peak_mb=max(figures.rss_peak_kib, figures.rss_sampled_peak_kib) / 1024,
        checks_ok=sum(check.ok for check in checks),
        checks=len(checks),
        errors=sum(run.load.errors for run in figures.runs),
    )


def _print_table(args: argparse.Namespace, figures: Figures) -> None:
    print(
        "Bidding benchmark: POST /api/v1/auctions/{id}/bids with a bearer token, distributed mode"
    )
    print(
        f"{os.cpu_count()} CPU cores shared by wrk, bidding, identity, PostgreSQL, Redis and "
        f"RabbitMQ; {args.duration:g} s a run after {args.warmup:g} s of warm-up; wrk with one "
        "thread, one connection and one bidder token per connection; pgbench -M prepared"
    )
    if args.busy_before > BUSY_BEFORE:
        print(
            f"warning: other processes kept {100 * args.busy_before:.0f}% of the machine's cores "
            "busy just before the run; they took CPU from these figures"
        )
    print(
        f"\n{'conns':>5}  {'scenario':<16}{'answers/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'2xx':>8}{'409':>8}{'errors':>8}{'cpu%':>6}{'cpu ms':>8}{'host%':>6}{'bids/commit':>12}"
        "  ledger"
    )
    for c in args.connections:
        for run in figures.runs:
            if run.load.connections == c:
                print(_row(run))
        print(f"{c:>5}  {'pgbench per-bid':<16}{figures.pgbench_tps[c]:>10.1f}  transactions/s")
    print(
        "cpu%: the bidding process's CPU over the run (100 = one core); cpu ms: its CPU per\n"
        "answer; host%: all cores busy (100 = every core); bids/commit: accepted bids per batch"
    )
    for run in figures.runs:
        if run.load.codes:
            codes = ", ".join(f"{code} {n}" for code, n in sorted(run.load.codes.items()))
            print(f"error codes, {run.load.scenario} at {run.load.connections}: {codes}")


def _print_targets(targets: Targets, figures: Figures) -> None:
    passed = targets.passed

    def ratios(values: dict[int, float], verdicts: dict[str, bool]) -> str:
        return "   ".join(f"{c}: {r:.2f} {_verdict(verdicts[str(c)])}" for c, r in values.items())

    print("\nTargets (hot-auction answers/s; ratios at the same connection count)")
    print(f"  hot >= {MIN_NOOP_RATIO:g} x no-op ceiling       ", end="")
    print(ratios(targets.noop_ratio, passed["hot_vs_noop"]))
    print(f"  hot >= {MIN_PGBENCH_RATIO:g} x pgbench per-bid tx    ", end="")
    print(ratios(targets.pgbench_ratio, passed["hot_vs_pgbench"]))
    print(f"  p99 < {MAX_P99_MS:g} ms at {targets.p99_at} connections    ", end="")
    print(
        "   ".join(
            f"{s}: {ms:.1f} ms {_verdict(passed['p99'][s])}" for s, ms in targets.p99_ms.items()
        )
    )
    hwm, sampled = figures.rss_peak_kib / 1024, figures.rss_sampled_peak_kib / 1024
    print(
        f"  bidding RSS < {MAX_RSS_MB:g} MB             peak {targets.rss_peak_mb:.1f} MB "
        f"(VmHWM {hwm:.1f}, sampled {sampled:.1f}, VmRSS after the runs "
        f"{figures.rss_after_kib / 1024:.1f})  {_verdict(passed['memory'])}"
    )
    print(
        f"  ledger checks                    {targets.checks_ok}/{targets.checks} OK "
        "(201s = ledger rows; each book = its ledger replayed)  "
        + _verdict(passed["ledger_checks"])
    )
    print(
        f"  no errors or unanswered requests {targets.errors:>4}  {_verdict(passed['no_errors'])}"
    )
    for message in figures.server_errors:
        print(f"  bidding logged: {message}")
    for run in figures.runs:
        if run.check is not None and not run.check.ok:
            load, check = run.load, run.check
            print(
                f"  {load.scenario} at {load.connections}: {check.acknowledged} acknowledged, "
                f"{check.ledger_rows} ledger rows; " + "; ".join(check.mismatches[:3])
            )


def report(args: argparse.Namespace, figures: Figures) -> bool:
    """Print the table and the verdicts, save the JSON; True when every target is met."""
    targets = _judge(args.connections, figures)
    _print_table(args, figures)
    _print_targets(targets, figures)
    summary = {
        "cpu_count": os.cpu_count(),
        "connections": args.connections,
        "duration_seconds": args.duration,
        "warmup_seconds": args.warmup,
        "host_busy_before_percent": round(100 * args.busy_before, 1),
        "runs": [_load_json(run) for run in figures.runs],
        "pgbench_tps": {str(c): round(tps, 1) for c, tps in figures.pgbench_tps.items()},
        "hot_vs_noop": {str(c): round(r, 3) for c, r in targets.noop_ratio.items()},
        "hot_vs_pgbench": {str(c): round(r, 3) for c, r in targets.pgbench_ratio.items()},
        "p99_connections": targets.p99_at,
        "rss_mb": {
            "after": round(figures.rss_after_kib / 1024, 1),
            "peak_vmhwm": round(figures.rss_peak_kib / 1024, 1),
            "peak_sampled": round(figures.rss_sampled_peak_kib / 1024, 1),
        },
        "targets": {
            "min_noop_ratio": MIN_NOOP_RATIO,
            "min_pgbench_ratio": MIN_PGBENCH_RATIO,
            "max_p99_ms": MAX_P99_MS,
            "max_rss_mb": MAX_RSS_MB,
        },
        "bidding_logged_errors": figures.server_errors,
        "passed": targets.passed,
        "all_passed": targets.all_passed,
    }
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"(saved to {RESULTS_FILE})")
    print(json.dumps(summary))
    return targets.all_passed
