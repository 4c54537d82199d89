"""The figures of the bidding benchmark: its table, its targets and its JSON."""

from __future__ import annotations

import argparse
import json
import math
import os
from dataclasses import dataclass
from typing import Any

from _bidding_books import LedgerCheck
from _bidding_load import Load
from _harness import RESULTS_DIR

RESULTS_FILE = RESULTS_DIR / "bidding.json"
# The goals, by connection count where they depend on it.
MAX_CPU_RATIO = {64: 1.5, 8: 2.0}  # CPU per answered bid over CPU per no-op answer
MIN_NOOP_RATIO = 0.6  # hot-auction answers/s over the no-op's, at 64 connections
MIN_BATCHED_RATIO = 4.0  # batched over batches of one, hot auction at 64 connections
MAX_P99_MS = {"hot auction": 60.0, "1,000 auctions": 100.0}  # at 64 connections
MIN_EMBEDDED_RATIO = 0.3  # embedded hot-auction answers/s over its own no-op's, at 64
GOAL_CONNECTIONS = 64
MAX_RSS_MB = 200.0
BUSY_BEFORE = 0.15  # of every core, in the second before the run
NOOP, HOT, SPREAD = "no-op ceiling", "hot auction", "1,000 auctions"
SINGLE = "hot, batches of 1"
EMBEDDED = "embedded "
THIS_TREE = "this tree"  # beside an earlier revision (``--against``)


def label(scenario: str, source: str) -> str:
    """A scenario's name in a side-by-side run (this tree or a git revision)."""
    return f"{scenario}, {source}"


@dataclass(frozen=True)
class Run:
    """One measured wrk run and, for bids, its ledger check."""

    load: Load
    check: LedgerCheck | None
    cpu_seconds: float  # used by the bidding process during the run
    host_busy: float  # the share of every core of the machine busy during the run
    # Used by the process after the run until it was quiet again: work the run left
    # behind (in the embedded mode the consumers of the bids' events), and how long.
    after_cpu_seconds: float = 0.0
    after_seconds: float = 0.0

    @property
    def cpu_percent(self) -> float:
        return 100 * self.cpu_seconds / self.load.seconds if self.load.seconds else 0.0

    @property
    def cpu_ms_per_answer(self) -> float:
        """CPU per true answer (infinite when there was none: no goal passes on errors)."""
        answers = self.load.true_answers
        return 1000 * self.cpu_seconds / answers if answers else math.inf

    @property
    def after_ms_per_answer(self) -> float:
        """CPU per true answer spent after the run (the work left behind)."""
        answers = self.load.true_answers
        return 1000 * self.after_cpu_seconds / answers if answers else math.inf


@dataclass(frozen=True)
class Figures:
    """Everything one benchmark run measured."""

    runs: list[Run]
    pgbench_tps: dict[int, float]
    rss_after_kib: int
    rss_peak_kib: int  # VmHWM: the kernel's own high-water mark of the process
    rss_sampled_peak_kib: int
    server_errors: list[str]  # what the bidding process logged at ERROR level


def _finite(value: float) -> float | None:
    """A figure for the JSON (null when infinite: JSON has no infinity)."""
    return round(value, 3) if math.isfinite(value) else None


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _row(run: Run) -> str:
    load, check = run.load, run.check
    refused = f"{load.refused:>8}" if check is not None else f"{'-':>8}"
    batch = f"{check.bids_per_commit:>12.1f}" if check is not None else f"{'-':>12}"
    ledger = ("OK" if check.ok else "FAIL") if check is not None else "-"
    return (
        f"{load.connections:>5}  {load.scenario:<25}{load.per_second:>10.1f}{load.p50_ms:>9.2f}"
        f"{load.p99_ms:>9.2f}{load.succeeded:>8}{refused}{load.errors:>8}"
        f"{run.cpu_percent:>6.0f}{run.cpu_ms_per_answer:>8.2f}{run.after_ms_per_answer:>8.2f}"
        f"{100 * run.host_busy:>6.0f}{batch}  {ledger}"
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
        "bidding_cpu_ms_per_answer": _finite(run.cpu_ms_per_answer),
        "cpu_seconds_after": round(run.after_cpu_seconds, 3),
        "seconds_until_quiet": round(run.after_seconds, 1),
        "cpu_ms_per_answer_after": _finite(run.after_ms_per_answer),
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
            "answered_bids": check.answered_bids,
            "keys_recorded": check.keys_recorded,
            "mismatches": check.mismatches[:10],
        }
    return figures


@dataclass(frozen=True)
class Goal:
    """One goal's figure against its limit."""

    name: str
    value: float
    limit: float
    at_most: bool  # the figure must stay at or under the limit (else at or over it)
    unit: str
    strict: bool = False  # under (over) the limit, not equal to it
    detail: str = ""  # the figures the value comes from

    @property
    def passed(self) -> bool:
        if self.strict:
            return self.value < self.limit if self.at_most else self.value > self.limit
        return self.value <= self.limit if self.at_most else self.value >= self.limit

    def line(self) -> str:
        sign = ("<" if self.strict else "<=") if self.at_most else (">" if self.strict else ">=")
        value = f"{self.value:,}" if isinstance(self.value, int) else f"{self.value:.2f}"
        detail = f"{self.detail} = " if self.detail else ""
        return (
            f"{_verdict(self.passed)}  {self.name}: {detail}{value}{self.unit} "
            f"({sign} {self.limit:g})"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "goal": self.name,
            "detail": self.detail,
            "value": _finite(self.value),
            "limit": self.limit,
            "passed": self.passed,
        }


def _ratio(top: float, bottom: float) -> float:
    """top / bottom; not a number (which fails every goal) when either is missing."""
    if not (bottom and math.isfinite(bottom) and math.isfinite(top)):
        return math.nan
    return top / bottom


def goals(figures: Figures) -> list[Goal]:
    """Every goal the run can judge (a count it did not run has none)."""
    by = {(run.load.scenario, run.load.connections): run for run in figures.runs}
    found: list[Goal] = []
    for c, limit in sorted(MAX_CPU_RATIO.items(), reverse=True):
        for scenario in (HOT, SPREAD):
            if (scenario, c) in by:
                ratio = _ratio(by[(scenario, c)].cpu_ms_per_answer, by[(NOOP, c)].cpu_ms_per_answer)
                name = f"cost of a bid, {scenario} @{c}"
                found.append(Goal(name, ratio, limit, True, " x no-op CPU"))
    c = GOAL_CONNECTIONS
    if (HOT, c) in by:
        hot, noop = by[(HOT, c)].load.per_second, by[(NOOP, c)].load.per_second
        found.append(
            Goal(
                f"hot auction @{c}",
                _ratio(hot, noop),
                MIN_NOOP_RATIO,
                False,
                " x no-op answers/s",
                detail=f"{hot:,.0f} answers/s",
            )
        )
        for scenario, limit in MAX_P99_MS.items():
            p99 = by[(scenario, c)].load.p99_ms
            found.append(Goal(f"p99, {scenario} @{c}", p99, limit, True, " ms", strict=True))
    if (SINGLE, c) in by and (HOT, c) in by:
        batched, single = by[(HOT, c)].load.per_second, by[(SINGLE, c)].load.per_second
        found.append(
            Goal(
                f"batched vs batches of one, hot auction @{c}",
                _ratio(batched, single),
                MIN_BATCHED_RATIO,
                False,
                " x",
                detail=f"{batched:,.0f} vs {single:,.0f} answers/s",
            )
        )
    if (EMBEDDED + HOT, c) in by:
        hot_run = by[(EMBEDDED + HOT, c)]
        hot, noop = hot_run.load.per_second, by[(EMBEDDED + NOOP, c)].load.per_second
        left = f"; then {hot_run.after_seconds:.0f} s of work left behind"
        found.append(
            Goal(
                f"embedded, hot auction @{c}",
                _ratio(hot, noop),
                MIN_EMBEDDED_RATIO,
                False,
                " x its no-op answers/s",
                detail=f"{hot:,.0f} vs {noop:,.0f} answers/s{left}",
            )
        )
    checks = [run.check for run in figures.runs if run.check is not None]
    unkeyed = sum(check.answered_bids - check.keys_recorded for check in checks)
    answered = sum(check.answered_bids for check in checks)
    name = "real clients: answered bids without their own recorded Idempotency-Key"
    found.append(Goal(name, unkeyed, 0, True, "", detail=f"of {answered:,}"))
    rss_mb = max(figures.rss_peak_kib, figures.rss_sampled_peak_kib) / 1024
    found.append(Goal("bidding RSS", rss_mb, MAX_RSS_MB, True, " MB", strict=True))
    failed = sum(not check.ok for check in checks)
    name = "ledger checks failed (201s = ledger rows; books = ledgers replayed; keys)"
    found.append(Goal(name, failed, 0, True, "", detail=f"of {len(checks)}"))
    errors = sum(run.load.errors for run in figures.runs)
    found.append(Goal("errors and unanswered requests", errors, 0, True, ""))
    return found


def _print_table(args: argparse.Namespace, figures: Figures) -> None:
    print(
        "Bidding benchmark: POST /api/v1/auctions/{id}/bids, a bearer token and an Idempotency-Key"
    )
    print(
        f"{os.cpu_count()} CPU cores shared by wrk, the servers, PostgreSQL, Redis and "
        f"RabbitMQ; {args.duration:g} s a run after {args.warmup:g} s of warm-up; wrk with one "
        "thread, one connection and one bidder token per connection; pgbench -M prepared"
    )
    if args.busy_before > BUSY_BEFORE:
        print(
            f"warning: other processes kept {100 * args.busy_before:.0f}% of the machine's cores "
            "busy just before the run; they took CPU from these figures"
        )
    header = (
        f"\n{'conns':>5}  {'scenario':<25}{'answers/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'2xx':>8}{'409':>8}{'errors':>8}{'cpu%':>6}{'cpu ms':>8}{'after':>8}{'host%':>6}"
        f"{'bids/commit':>12}"
        "  ledger"
    )
    print("\nDistributed (one process per service; bidding's own CPU)" + header)
    for c in args.connections:
        for run in figures.runs:
            if run.load.connections == c and not run.load.scenario.startswith(EMBEDDED):
                print(_row(run))
        print(f"{c:>5}  {'pgbench per-bid':<25}{figures.pgbench_tps[c]:>10.1f}  transactions/s")
    print("\nEmbedded (auction-platform up: one process, SQLite; its CPU)" + header)
    for run in figures.runs:
        if run.load.scenario.startswith(EMBEDDED):
            print(_row(run))
    print(
        "answers/s: true answers (2xx, and 409 refusals of bids) a second; cpu%: the serving\n"
        "process's CPU over the run (100 = one core); cpu ms: its CPU per true answer; after:\n"
        "its CPU per true answer after the run, until it was quiet again (work left behind: in\n"
        "the embedded mode its consumers of the bids' events; every run starts on a quiet\n"
        "process); host%: all cores busy (100 = every core); bids/commit: accepted bids per batch"
    )
    for run in figures.runs:
        if run.load.codes:
            codes = ", ".join(f"{code} {n}" for code, n in sorted(run.load.codes.items()))
            print(f"error codes, {run.load.scenario} at {run.load.connections}: {codes}")


def _print_goals(found: list[Goal], figures: Figures) -> None:
    print("\nGoals")
    for goal in found:
        print(f"  {goal.line()}")
    hwm, sampled = figures.rss_peak_kib / 1024, figures.rss_sampled_peak_kib / 1024
    print(
        f"  (bidding RSS: VmHWM {hwm:.1f} MB, sampled {sampled:.1f}, after the runs "
        f"{figures.rss_after_kib / 1024:.1f})"
    )
    for message in figures.server_errors:
        print(f"  bidding logged: {message}")
    for run in figures.runs:
        if run.check is not None and not run.check.ok:
            load, check = run.load, run.check
            print(
                f"  {load.scenario} at {load.connections}: {check.acknowledged} acknowledged, "
                f"{check.ledger_rows} ledger rows, {check.answered_bids} answered, "
                f"{check.keys_recorded} keys recorded; " + "; ".join(check.mismatches[:3])
            )


def _print_comparison(args: argparse.Namespace, runs: list[Run]) -> None:
    """Per count and scenario: CPU per answer and answers/s, this tree against REF."""
    by = {(run.load.scenario, run.load.connections): run for run in runs}
    print(f"\nSide by side: bidding of this tree against {args.against} (alternating runs)")
    for c in args.connections:
        for scenario in (HOT, SPREAD):
            now = by.get((label(scenario, THIS_TREE), c))
            then = by.get((label(scenario, args.against), c))
            if now is None or then is None:
                continue
            change = 100 * (_ratio(now.cpu_ms_per_answer, then.cpu_ms_per_answer) - 1)
            print(
                f"  {scenario} @{c}: CPU per answer {now.cpu_ms_per_answer:.3f} ms against "
                f"{then.cpu_ms_per_answer:.3f} ms ({change:+.0f}%); answers/s "
                f"{now.load.per_second:,.0f} against {then.load.per_second:,.0f}; p99 "
                f"{now.load.p99_ms:.0f} against {then.load.p99_ms:.0f} ms"
            )


def report(args: argparse.Namespace, figures: Figures) -> bool:
    """Print the table and the goals, save the JSON; True when every goal is met."""
    found = goals(figures)
    _print_table(args, figures)
    if args.against:
        _print_comparison(args, figures.runs)
    _print_goals(found, figures)
    passed = all(goal.passed for goal in found)
    summary = {
        "cpu_count": os.cpu_count(),
        "connections": args.connections,
        "against": args.against,
        "duration_seconds": args.duration,
        "warmup_seconds": args.warmup,
        "host_busy_before_percent": round(100 * args.busy_before, 1),
        "runs": [_load_json(run) for run in figures.runs],
        "pgbench_tps": {str(c): round(tps, 1) for c, tps in figures.pgbench_tps.items()},
        "rss_mb": {
            "after": round(figures.rss_after_kib / 1024, 1),
            "peak_vmhwm": round(figures.rss_peak_kib / 1024, 1),
            "peak_sampled": round(figures.rss_sampled_peak_kib / 1024, 1),
        },
        "bidding_logged_errors": figures.server_errors,
        "goals": [goal.as_json() for goal in found],
        "passed": {goal.name: goal.passed for goal in found},
        "all_passed": passed,
    }
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"(saved to {RESULTS_FILE})")
    print(json.dumps(summary))
    return passed
