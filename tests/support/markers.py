"""Suites that run only when their marker is asked for (minutes long, on their own in CI)."""

from __future__ import annotations

import pytest


def only_when_asked(marker: str, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave the tests marked ``marker`` out of a run whose ``-m`` does not name it.

    Called from a ``pytest_collection_modifyitems`` hook; ``-m <marker>`` runs them.
    """
    if marker in (config.option.markexpr or ""):
        return
    left_out = [item for item in items if item.get_closest_marker(marker) is not None]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if item.get_closest_marker(marker) is None]
