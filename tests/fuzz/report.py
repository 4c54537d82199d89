"""What the fuzz run sent and what it was answered: one line per operation."""

from __future__ import annotations

from collections import Counter

# database -> (method, path) of an operation -> how often each status was answered, in
# this process's run (the cases that try a method the operation does not have are
# counted with it).
COUNTS: dict[str, dict[tuple[str, str], Counter[int]]] = {}


def record(database: str, method: str, path: str, status: int) -> None:
    """Count one case of ``method path`` answered ``status``."""
    operations = COUNTS.setdefault(database, {})
    operations.setdefault((method.upper(), path), Counter())[status] += 1


def summary(counts: dict[tuple[str, str], Counter[int]]) -> str:
    """A table of cases and statuses per operation, with the totals."""
    width = max(len(f"{method} {path}") for method, path in counts)
    lines = [f"{'operation':<{width}}  {'cases':>5}  statuses"]
    total: Counter[int] = Counter()
    for (method, path), statuses in sorted(counts.items(), key=lambda item: item[0][::-1]):
        total += statuses
        answered = ", ".join(f"{status} x{n}" for status, n in sorted(statuses.items()))
        lines.append(f"{method + ' ' + path:<{width}}  {statuses.total():>5}  {answered}")
    answered = ", ".join(f"{status} x{n}" for status, n in sorted(total.items()))
    everything = f"all {len(counts)} operations"
    lines.append(f"{everything:<{width}}  {total.total():>5}  {answered}")
    return "\n".join(lines)
