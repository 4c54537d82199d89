"""Every benchmark in one go, then one summary table of their goals (``make bench``).

Each benchmark runs as its own process, one after another (they would skew each other
side by side), in its quick form by default (``--full``: their default durations).
Their own tables are printed as they come; at the end one table gives, per benchmark,
its exit status, how long it took, how many of its goals passed, and the names of those
that failed. The goals are read from the ``passed`` (or ``goals``) map of the JSON each
benchmark prints on its last line (nested maps count each entry as a goal).

Run from the project root (needs wrk and pgbench: ``apt-get install wrk postgresql-client``)::

    .venv/bin/python benchmarks/all.py [--full] [--only bidding,closer]

The servers are those of ``DATABASE_URL``, ``REDIS_URL`` and ``RABBITMQ_URL`` (by default
PostgreSQL, Redis and RabbitMQ at 127.0.0.1), passed on to every benchmark. Exit status 0
when every goal of every benchmark passed, 1 otherwise. The summary also goes to
``benchmarks/results/summary.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "summary.json"

# In the order they run: the cheap ones first, so a broken set-up shows early.
BENCHMARKS = ("startup", "gateway", "web", "bidding", "closer", "feed")


@dataclass
class Outcome:
    """What one benchmark's run came to."""

    name: str
    status: int | None  # None: the benchmark does not exist
    seconds: float = 0.0
    goals: dict[str, bool] = field(default_factory=dict)

    @property
    def failed(self) -> list[str]:
        return [goal for goal, ok in self.goals.items() if not ok]

    @property
    def verdict(self) -> str:
        if self.status is None:
            return "MISSING"
        if self.status == 0 and not self.failed:
            return "PASS"
        return "FAIL" if self.goals or self.status == 1 else f"ERROR {self.status}"


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument(
        "--full", action="store_true", help="each benchmark's full form, not --quick"
    )
    parser.add_argument(
        "--only", default="", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}"
    )
    args = parser.parse_args()
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(chosen) - set(BENCHMARKS)
    if unknown:
        parser.error(f"no such benchmark: {', '.join(sorted(unknown))}")
    args.names = [name for name in BENCHMARKS if not chosen or name in chosen]
    return args


def goals(passed: Any, prefix: str = "") -> Iterator[tuple[str, bool]]:
    """Each goal of a ``passed`` map (nested maps flattened as ``outer/inner``)."""
    if isinstance(passed, Mapping):
        for key, value in passed.items():
            yield from goals(value, f"{prefix}{key}/" if isinstance(value, Mapping) else prefix)
            if not isinstance(value, Mapping):
                yield f"{prefix}{key}", bool(value)
    elif prefix == "":
        yield "target", bool(passed)


def last_json(output: str) -> dict[str, Any]:
    """The JSON object a benchmark printed on its last such line ({} when none)."""
    for line in reversed(output.splitlines()):
        if line.startswith("{"):
            try:
                found = json.loads(line)
            except ValueError:
                continue
            if isinstance(found, dict):
                return found
    return {}


def run_one(name: str, *, full: bool) -> Outcome:
    """Run one benchmark, echoing its output, and read its goals."""
    script = HERE / f"{name}.py"
    if not script.exists():
        return Outcome(name, None)
    command = [sys.executable, str(script)] + ([] if full else ["--quick"])
    print(f"\n=== {name}: {' '.join(command[1:])}", flush=True)
    began = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=HERE.parent)
    lines: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        if not line.startswith("{"):  # the JSON line is for us, not for people
            print(line, end="", flush=True)
    status = process.wait()
    found = last_json("".join(lines))
    verdicts = found.get("passed", found.get("goals", {}))
    return Outcome(name, status, time.monotonic() - began, dict(goals(verdicts)))


def print_summary(outcomes: list[Outcome], *, full: bool) -> None:
    print(f"\n=== summary ({'full' if full else 'quick'} forms)")
    print(f"{'benchmark':<10} {'verdict':<9} {'goals':>7} {'seconds':>8}  failed goals")
    for outcome in outcomes:
        passed = sum(outcome.goals.values())
        count = f"{passed}/{len(outcome.goals)}" if outcome.goals else "-"
        failed = ", ".join(outcome.failed) or "-"
        print(
            f"{outcome.name:<10} {outcome.verdict:<9} {count:>7} {outcome.seconds:>8.0f}  {failed}"
        )


def main() -> int:
    args = _arguments()
    outcomes = [run_one(name, full=args.full) for name in args.names]
    print_summary(outcomes, full=args.full)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    summary = {
        "form": "full" if args.full else "quick",
        "benchmarks": {
            o.name: {"verdict": o.verdict, "seconds": round(o.seconds, 1), "goals": o.goals}
            for o in outcomes
        },
    }
    RESULTS.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"(saved to {RESULTS})")
    return 0 if all(o.verdict == "PASS" for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
