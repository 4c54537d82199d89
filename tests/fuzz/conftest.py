"""The API fuzz run is asked for (``-m fuzz``, as ``make fuzz`` does); its counts follow.

It sends a few thousand generated requests to a served platform in a few minutes, so
it runs on its own in ``.ci/run``, after the other tests, not beside them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fuzz.deployment import Deployment, served
from fuzz.report import COUNTS, summary
from support.markers import only_when_asked
from support.servers import require_server


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave the fuzz run out of a run that does not name it in its ``-m``."""
    only_when_asked("fuzz", config, items)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """How many cases each operation got, and what they were answered, per database."""
    for database, counts in sorted(COUNTS.items()):
        terminalreporter.section(f"API fuzz run ({database})")
        terminalreporter.write_line(summary(counts))


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """The embedded platform, served, with its people and lots, on each kind of database."""
    if request.param == "postgres":
        require_server("PostgreSQL", "127.0.0.1", 5432)
    with served(Path(tmp_path_factory.mktemp("fuzzed")), request.param) as running:
        yield running


@pytest.fixture(autouse=True)
def _node_id(request: pytest.FixtureRequest) -> None:
    """The attribute schemathesis' lazy schemas rename a test by (``_nodeid``).

    pytest 9.2 keeps a node's id elsewhere (``_id``); without this, the lazy schema's
    test fails before its first case.
    """
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid
