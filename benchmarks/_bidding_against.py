"""Before and after in one run: bidding from an earlier git revision beside this tree's.

``--against REF`` extracts REF's ``src`` (``git archive``, nothing checked out) and
serves a second bidding process from it (``PYTHONPATH``), on the same database, cache
and broker, with the same bidders. At each connection count the two take the hot
auction and 1,000 auctions in turn, each on fresh books, so both meet the same machine
state; the table shows each pair, and the comparison their CPU per answer and
answers/s. REF must have the same bidding schema (no migration between the two).
"""

from __future__ import annotations

import argparse
import io
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

from _bidding_report import HOT, SPREAD, THIS_TREE, Run, label
from _bidding_runs import Target
from _harness import Child, stop

PROJECT = Path(__file__).resolve().parent.parent


def extract_source(ref: str, into: Path) -> Path:
    """REF's ``src`` directory, extracted under ``into``; the path to put on PYTHONPATH."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", ref, "src"],
        cwd=PROJECT,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def side_by_side(
    args: argparse.Namespace,
    current: Target,
    start_bidding: Callable[[dict[str, str]], Child],
    workdir: Path,
) -> list[Run]:
    """The hot auction and 1,000 auctions at each count, this tree then REF, on fresh books."""
    source = extract_source(args.against, workdir / "against")
    child = start_bidding({"PYTHONPATH": str(source)})
    try:
        previous = Target(
            child.url,
            child.process.pid,
            current.tokens,
            current.books,
            current.loop,
            workdir,
            bid_field=args.against_field,
        )
        for target, who in ((current, "now"), (previous, "ref")):
            kinds = ("hot", "spread")
            fresh = [f"{kind}-{who}-{c}" for c in args.connections for kind in kinds]
            target.open_books([f"hot-{who}-warm-up", *fresh])
        previous.run("warm-up", args.connections[-1], args.warmup)
        previous.run("warm-up", args.connections[-1], args.warmup, "hot-ref-warm-up")
        runs: list[Run] = []
        for c in args.connections:
            for scenario, kind in ((HOT, "hot"), (SPREAD, "spread")):
                for target, who, name in (
                    (current, "now", THIS_TREE),
                    (previous, "ref", args.against),
                ):
                    key = f"{kind}-{who}-{c}"
                    runs.append(target.run(label(scenario, name), c, args.duration, key))
        return runs
    finally:
        stop(child)
