"""The fault table: one row per fault injected, what the history did in its phase.

``make faults`` prints it after the suite (``conftest.py`` collects each run's rows);
the tests fail with it, and with the findings, when anything did not hold.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from faults.checks import Finding, Kind
from faults.scenario import Phase, phase_of
from faults.workload import Operation

# How many findings of each kind a failure message lists (the counts cover all of them).
SHOWN = 12


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the table."""

    mode: str
    fault: str
    operations: int
    acknowledged: int
    refused: int
    lost: int
    wrong: int
    undelivered: int
    dead_lettered: int
    recovery: float | None

    @property
    def recovery_text(self) -> str:
        return "-" if self.recovery is None else f"{self.recovery:.1f}"


COLUMNS = (
    ("mode", "mode"),
    ("fault injected", "fault"),
    ("operations", "operations"),
    ("acknowledged", "acknowledged"),
    ("refused", "refused"),
    ("lost", "lost"),
    ("wrong", "wrong"),
    ("undelivered", "undelivered"),
    ("dead-lettered", "dead_lettered"),
    ("recovery (s)", "recovery_text"),
)


@dataclass
class Run:
    """A history in one mode: its phases, its operations, what did not hold, and notes."""

    mode: str
    phases: list[Phase]
    operations: list[Operation]
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def rows(self) -> list[Row]:
        """One row per phase, in the order the faults came."""
        ops: Counter[tuple[int, str]] = Counter()
        for op in self.operations:
            index = phase_of(op.sent_at, self.phases)
            ops[(index, "all")] += 1
            if op.acknowledged:
                ops[(index, "acknowledged")] += 1
            elif op.refused:
                ops[(index, "refused")] += 1
        found = Counter((f.phase, f.kind) for f in self.findings)
        return [
            Row(
                mode=self.mode,
                fault=phase.fault,
                operations=ops[(index, "all")],
                acknowledged=ops[(index, "acknowledged")],
                refused=ops[(index, "refused")],
                lost=found[(index, Kind.LOST)],
                wrong=found[(index, Kind.WRONG)],
                undelivered=found[(index, Kind.UNDELIVERED)],
                dead_lettered=found[(index, Kind.DEAD_LETTERED)],
                recovery=phase.recovery,
            )
            for index, phase in enumerate(self.phases)
        ]

    def failure(self) -> str:
        """The table, then the findings by kind (the first few of each) and the notes."""
        lines = [table(self.rows()), ""]
        by_kind: dict[Kind, list[Finding]] = {}
        for finding in self.findings:
            by_kind.setdefault(finding.kind, []).append(finding)
        for kind, found in by_kind.items():
            lines.append(f"{kind.value}: {len(found)}")
            for finding in found[:SHOWN]:
                lines.append(f"  [{self.phases[finding.phase].fault}] {finding.what}")
        lines += self.notes
        return "\n".join(lines)


def table(rows: Sequence[Row]) -> str:
    """The rows as a plain-text table, numbers right-aligned."""
    cells = [[title for title, _ in COLUMNS]]
    cells += [[str(getattr(row, name)) for _, name in COLUMNS] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]

    def line(values: list[str]) -> str:
        return "  ".join(
            value.ljust(width) if i < 2 else value.rjust(width)
            for i, (value, width) in enumerate(zip(values, widths, strict=True))
        )

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(cells[0]), rule, *(line(values) for values in cells[1:])])


def summary(runs: Sequence[Run]) -> str:
    """The table of several runs, then each run's notes."""
    lines = [table([row for run in runs for row in run.rows()])]
    lines += [f"{run.mode}: {note}" for run in runs for note in run.notes]
    return "\n".join(lines)


# Every run of this session, summed up by ``conftest.py`` at the end.
COLLECTED: list[Run] = []
