"""The figures of the closer benchmark: its checks, its table, its goals and its JSON."""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from _closer_books import Closing
from _harness import RESULTS_DIR

RESULTS_FILE = RESULTS_DIR / "closer.json"
MAX_P99_MS = 250.0
BUCKETS_MS = (50, 100, 250, 500, 1000)  # upper bounds; the last bucket is above 1,000
BUSY_BEFORE = 0.15  # of every core, in the second before the run


@dataclass
class Bids:
    """The answers to the benchmark's bids, by status (0: no answer)."""

    statuses: Counter[int] = field(default_factory=Counter)

    def count(self, status: int) -> None:
        self.statuses[status] += 1


@dataclass(frozen=True)
class Figures:
    """Everything one run measured."""

    closings: dict[str, Closing]
    arrivals: dict[str, datetime]  # the first delivery of each auction's AuctionClosed
    deliveries: Counter[str]
    bids: Bids
    seconds: float  # from just before the first end until the last event arrived
    cpu_seconds: list[float]  # of each bidding process over those seconds
    host_busy: float  # the share of every core of the machine busy over those seconds
    lead_left_seconds: float  # how long before the first end the set-up was done
    relay_backlog: int  # the most committed events seen waiting for a relay at once
    errors: list[str]  # what the bidding processes logged at ERROR level


@dataclass
class Checks:
    """Exactly once, and right: the counts of what went wrong."""

    auctions: int = 0
    closed_once: int = 0
    doubles: int = 0  # more than one AuctionClosed in the outbox
    missed: int = 0  # still open, or closed without an event
    unpublished: int = 0  # an event the relay never marked published
    undelivered: int = 0  # no delivery to the benchmark's consumer
    redelivered: int = 0  # more than one delivery
    early: int = 0  # decided before the effective end
    wrong: int = 0  # winner or price differs from the book's result or its replayed ledger
    extended: int = 0
    examples: list[str] = field(default_factory=list)

    def problem(self, closing: Closing, what: str) -> None:
        if len(self.examples) < 5:
            self.examples.append(f"{closing.auction_id}: {what}")

    @property
    def exactly_once(self) -> bool:
        return (
            self.auctions > 0
            and self.closed_once == self.auctions
            and not (
                self.doubles
                or self.missed
                or self.unpublished
                or self.undelivered
                or self.redelivered
                or self.early
                or self.wrong
            )
        )


def _right(closing: Closing) -> bool:
    """The event's winner and price are the book's result and its ledger's outcome."""
    data, result, expected = closing.events[0].data, closing.result or {}, closing.expected
    return (
        expected is not None
        and (data["winner_id"], data["price_cents"])
        == (result.get("winner_id"), result.get("price_cents"))
        and (data["winner_id"], data["price_cents"]) == (expected.winner_id, expected.price_cents)
    )


def check(figures: Figures) -> Checks:
    checks = Checks(auctions=len(figures.closings))
    for closing in figures.closings.values():
        events = closing.events
        checks.extended += closing.extended
        if closing.status != "closed" or not events:
            checks.missed += 1
            checks.problem(closing, f"status {closing.status}, {len(events)} event(s)")
            continue
        if len(events) > 1:
            checks.doubles += 1
            checks.problem(closing, f"{len(events)} AuctionClosed events")
            continue
        checks.closed_once += 1
        checks.unpublished += events[0].published_at is None
        delivered = figures.deliveries.get(closing.auction_id, 0)
        checks.undelivered += delivered == 0
        checks.redelivered += delivered > 1
        if datetime.fromisoformat(events[0].data["closed_at"]) < closing.effective_end:
            checks.early += 1
            checks.problem(closing, "closed before its effective end")
        if not _right(closing):
            checks.wrong += 1
            checks.problem(closing, f"event {events[0].data} vs result {closing.result}")
    return checks


def lateness_ms(figures: Figures) -> dict[str, list[float]]:
    """Per stage, each once-closed auction's lateness after its effective end, sorted."""
    stages: dict[str, list[float]] = {"decided": [], "emitted": [], "published": [], "received": []}
    for closing in figures.closings.values():
        if len(closing.events) != 1:
            continue
        event, end = closing.events[0], closing.effective_end
        moments = {
            "decided": datetime.fromisoformat(event.data["closed_at"]),
            "emitted": event.created_at,
            "published": event.published_at,
            "received": figures.arrivals.get(closing.auction_id),
        }
        for stage, moment in moments.items():
            if moment is not None:
                stages[stage].append((moment - end).total_seconds() * 1000)
    return {stage: sorted(values) for stage, values in stages.items()}


def batches(figures: Figures) -> dict[str, dict[str, float]]:
    """How the events came in groups: per closing pass (one ``closed_at``) and per relay
    batch (one ``published_at``): how many groups, and the events in each."""
    passes: Counter[str] = Counter()
    relayed: Counter[datetime | None] = Counter()
    for closing in figures.closings.values():
        for event in closing.events:
            passes[event.data["closed_at"]] += 1
            relayed[event.published_at] += 1
    relayed.pop(None, None)
    return {
        name: {
            "count": len(groups),
            "mean": round(sum(groups.values()) / len(groups), 2) if groups else 0.0,
            "max": max(groups.values(), default=0),
        }
        for name, groups in (("closing passes", passes), ("relay batches", relayed))
    }


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of sorted ``values`` (NaN when empty)."""
    if not values:
        return math.nan
    return values[min(len(values) - 1, max(0, math.ceil(share * len(values)) - 1))]


def histogram(values: list[float]) -> dict[str, int]:
    labels = [f"<{BUCKETS_MS[0]}"]
    labels += [f"{low}-{high}" for low, high in itertools.pairwise(BUCKETS_MS)]
    labels.append(f">{BUCKETS_MS[-1]}")
    counts = dict.fromkeys(labels, 0)
    for value in values:
        below = [n for n, bound in enumerate(BUCKETS_MS) if value < bound]
        counts[labels[below[0] if below else len(BUCKETS_MS)]] += 1
    return counts


def _summary(values: list[float]) -> dict[str, float]:
    points = {"p50": 0.50, "p90": 0.90, "p99": 0.99, "max": 1.0}
    return {name: round(percentile(values, share), 1) for name, share in points.items()}


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _print(
    args: argparse.Namespace, figures: Figures, checks: Checks, late: dict[str, list[float]]
) -> None:
    print(
        f"\nThe closer: {checks.auctions:,} auctions ending within {args.spread:g} s, two bidding "
        f"processes ({os.cpu_count()} cores; busy {100 * args.busy_before:.0f}% before the run, "
        f"{100 * figures.host_busy:.0f}% during it)\n"
    )
    print(f"{'auctions':<28}{checks.auctions:>8}")
    print(f"{'closed exactly once':<28}{checks.closed_once:>8}")
    for label, n in (
        ("doubles", checks.doubles),
        ("missed", checks.missed),
        ("unpublished", checks.unpublished),
        ("undelivered / redelivered", f"{checks.undelivered} / {checks.redelivered}"),
        ("closed early", checks.early),
        ("wrong winner or price", checks.wrong),
        ("extended by a soft close", checks.extended),
    ):
        print(f"{label:<28}{n:>8}")
    bids = ", ".join(
        f"{status or 'no answer'}: {n}" for status, n in sorted(figures.bids.statuses.items())
    )
    print(f"{'bids by answer':<28}  {bids}")
    print(f"\n{'lateness (ms)':<36}{'p50':>8}{'p90':>8}{'p99':>8}{'max':>8}")
    labels = {
        "decided": "decided (the event's closed_at)",
        "emitted": "emitted (outbox created_at)",
        "published": "published (outbox published_at)",
        "received": "received (benchmark's consumer)",
    }
    for stage, values in late.items():
        s = _summary(values)
        print(
            f"{labels[stage]:<36}{s['p50']:>8.1f}{s['p90']:>8.1f}{s['p99']:>8.1f}{s['max']:>8.1f}"
        )
    for name, group in batches(figures).items():
        each = f"({group['mean']:.1f} events each, at most {group['max']})"
        print(f"{name:<36}{group['count']:>8} {each}")
    print(f"{'most events waiting for a relay':<36}{figures.relay_backlog:>8}")
    print("\npublished lateness histogram (ms)")
    for bucket, n in histogram(late["published"]).items():
        print(f"  {bucket:>10}  {n:>6}")
    print(
        "\nbidding processes' CPU over the closing window "
        f"({figures.seconds:.1f} s, from just before the first end to the last event):"
    )
    for n, cpu in enumerate(figures.cpu_seconds, start=1):
        print(f"  process {n}: {cpu:6.1f} s  ({100 * cpu / figures.seconds:.0f}% of a core)")
    if figures.lead_left_seconds < 1.0:
        print(
            f"\nnote: the set-up ended only {figures.lead_left_seconds:.1f} s before the first end"
        )
    if args.busy_before > BUSY_BEFORE:
        print("note: the machine was busy before the run; the figures are skewed")
    for example in checks.examples:
        print(f"  problem: {example}")
    for message in figures.errors:
        print(f"  bidding logged: {message}")


def report(args: argparse.Namespace, figures: Figures) -> bool:
    """Print the table and the goals, save the JSON; True when every goal is met."""
    checks = check(figures)
    late = lateness_ms(figures)
    p99 = percentile(late["published"], 0.99)
    passed = {
        "p99_lateness": bool(late["published"]) and p99 <= MAX_P99_MS,
        "exactly_once": checks.exactly_once,
    }
    _print(args, figures, checks, late)
    print()
    verdict = _verdict(passed["p99_lateness"])
    print(f"{verdict} closer p99 lateness <= {MAX_P99_MS:g} ms ({p99:.1f} ms)")
    print(f"{_verdict(passed['exactly_once'])} every auction closed exactly once")
    summary: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "auctions": checks.auctions,
        "spread_seconds": args.spread,
        "host_busy_before_percent": round(100 * args.busy_before, 1),
        "host_busy_percent": round(100 * figures.host_busy, 1),
        "checks": {k: v for k, v in vars(checks).items() if k != "examples"},
        "problems": checks.examples,
        "bids": {str(status): n for status, n in sorted(figures.bids.statuses.items())},
        "lateness_ms": {stage: _summary(values) for stage, values in late.items()},
        "published_histogram_ms": histogram(late["published"]),
        "events_per_group": batches(figures),
        "relay_backlog_max": figures.relay_backlog,
        "closing_window_seconds": round(figures.seconds, 2),
        "bidding_cpu_seconds": [round(cpu, 2) for cpu in figures.cpu_seconds],
        "bidding_logged_errors": figures.errors,
        "target": {"max_p99_lateness_ms": MAX_P99_MS},
        "passed": passed,
    }
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"(saved to {RESULTS_FILE})")
    print(json.dumps(summary))
    return all(passed.values())
