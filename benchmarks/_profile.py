"""Optional py-spy profiles of a benchmarked server, and where its CPU time goes.

py-spy is not a project dependency: ``.venv/bin/pip install py-spy`` to use it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import TracebackType

_LINE = re.compile(r":\d+\)$")
# The process's entry frames are under every sample: they say nothing.
_ENTRY = ("auction_platform/cli.py)", "auction_platform/__main__.py)")


def py_spy() -> str | None:
    """py-spy from PATH or beside this Python."""
    beside = Path(sys.executable).parent / "py-spy"
    return shutil.which("py-spy") or (str(beside) if beside.exists() else None)


class Recording:
    """``with Recording(pid, seconds, path):`` samples the process while the block runs."""

    def __init__(self, pid: int, seconds: float, output: Path) -> None:
        binary = py_spy()
        if binary is None:
            raise RuntimeError("py-spy is not installed: .venv/bin/pip install py-spy")
        self.output = output
        self.command = [binary, "record", "--pid", str(pid), "--rate", "200", "--format", "raw"]
        self.command += ["--duration", str(max(1, round(seconds))), "--output", str(output)]
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Recording:
        self.process = subprocess.Popen(
            self.command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self.process is not None
        _, err = self.process.communicate(timeout=60)
        if self.process.returncode != 0 and kind is None:
            raise RuntimeError(f"py-spy failed: {err.decode(errors='replace')}")


def hot_spots(folded: Path, *, limit: int = 10) -> tuple[list[str], list[str]]:
    """The busiest functions by own time, and the project's by time including callees."""
    own: Counter[str] = Counter()
    including: Counter[str] = Counter()
    total = 0
    for line in folded.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [_LINE.sub(")", frame) for frame in stack.split(";")]
        total += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            if "auction_platform/" in frame and not frame.endswith(_ENTRY):
                including[frame] += int(count)

    def shares(counter: Counter[str]) -> list[str]:
        return [f"{100 * n / total:5.1f}%  {frame}" for frame, n in counter.most_common(limit)]

    return (shares(own), shares(including)) if total else ([], [])


def print_hot_spots(title: str, folded: Path) -> None:
    """Print ``hot_spots`` of one recording under a heading."""
    own, including = hot_spots(folded)
    print(f"\npy-spy, {title} ({folded}):")
    print("  own time:\n    " + "\n    ".join(own))
    print("  with callees, project code:\n    " + "\n    ".join(including))
