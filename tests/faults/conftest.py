"""The fault suite runs when asked for (``-m faults``, as ``make faults`` does); its table follows.

Its histories take minutes and measure how soon throughput comes back, so they run on
their own, after the other tests (``.ci/run``), not beside them.
"""

from __future__ import annotations

import pytest

from faults.report import COLLECTED, summary
from support.markers import only_when_asked


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave the fault histories out of a run that does not name them in its ``-m``."""
    only_when_asked("faults", config, items)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The table of every history run in this session."""
    if COLLECTED:
        terminalreporter.section("faults injected")
        terminalreporter.write_line(summary(COLLECTED))
