"""The feed benchmark's arithmetic: latency from commit to watcher, steps back, lag, CPU."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

BIN_SECONDS = 0.0001  # latencies are counted in bins of 0.1 ms


@dataclass(frozen=True)
class Delivery:
    """What the watchers of the hot auction saw of the committed versions."""

    watchers: int
    versions: int  # committed versions (201s) after the watchers' snapshots
    pairs: int  # watcher x version pairs measured
    undelivered: int  # pairs whose version (or a newer one) never reached the watcher
    p50_ms: float
    p99_ms: float
    max_ms: float
    received: int  # updates received after the snapshots
    stepped_back: int  # updates older than one the watcher already held
    largest_lag: int  # committed versions a watcher was behind, at a receipt
    closed_early: int  # watchers the server closed


def commit_stamps(commits: Iterable[Sequence[float]], column: int) -> tuple[list[int], list[float]]:
    """Each committed version once, with its earliest time in ``column``, by version."""
    earliest: dict[int, float] = {}
    for commit in commits:
        version, stamp = int(commit[0]), commit[column]
        earliest[version] = min(stamp, earliest.get(version, stamp))
    versions = sorted(earliest)
    return versions, [earliest[v] for v in versions]


def _percentile(histogram: Mapping[int, int], total: int, fraction: float) -> float:
    if total == 0:
        return float("nan")
    rank = max(1, round(fraction * total))
    seen = 0
    for bin_, count in sorted(histogram.items()):
        seen += count
        if seen >= rank:
            return bin_ * BIN_SECONDS * 1000
    return float("inf")  # the rank falls among pairs never delivered


def delivery(
    records: Sequence[Mapping[str, Any]], commits: Iterable[Sequence[float]], column: int
) -> Delivery:
    """Per watcher and committed version: when it first held that version or a newer one.

    A commit's time is its ``column`` in ``commits`` (version, the book's server_time,
    the 201's arrival, the bid's departure). A watcher's first message is its snapshot;
    it is measured on the versions committed after it. Latencies are binned (0.1 ms); a
    pair never delivered counts as infinitely late.
    """
    versions, stamps = commit_stamps(commits, column)
    by_time = sorted(stamps)
    histogram: dict[int, int] = {}
    pairs = undelivered = received = stepped_back = largest_lag = 0
    worst = 0.0
    for record in records:
        got, times = record["versions"], record["times"]
        if not got:
            continue
        held = got[0]
        start = bisect_right(versions, held)
        cursor = start
        for version, at in zip(got[1:], times[1:], strict=True):
            received += 1
            if version < held:
                stepped_back += 1
                continue
            held = version
            behind = bisect_right(by_time, at) - bisect_right(versions, held)
            largest_lag = max(largest_lag, behind)
            end = bisect_right(versions, held)
            for index in range(cursor, end):
                latency = max(0.0, at - stamps[index])
                worst = max(worst, latency)
                bin_ = int(latency / BIN_SECONDS)
                histogram[bin_] = histogram.get(bin_, 0) + 1
            cursor = max(cursor, end)
        pairs += len(versions) - start
        undelivered += len(versions) - cursor
    return Delivery(
        watchers=len(records),
        versions=len(versions),
        pairs=pairs,
        undelivered=undelivered,
        p50_ms=_percentile(histogram, pairs, 0.50),
        p99_ms=_percentile(histogram, pairs, 0.99),
        max_ms=worst * 1000 if not undelivered else float("inf"),
        received=received,
        stepped_back=stepped_back,
        largest_lag=largest_lag,
        closed_early=sum(1 for r in records if r["close_code"] is not None),
    )
