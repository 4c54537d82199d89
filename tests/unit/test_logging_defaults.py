"""What the platform logs by default: its own records, not every library's chatter."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from auction_platform.core.logging import configure_logging

NOISY = ("httpx", "httpcore", "uvicorn.access", "aio_pika", "aiormq", "alembic")


@pytest.fixture
def restored_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in NOISY}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


@pytest.mark.usefixtures("restored_logging")
def test_internal_http_calls_are_not_logged_at_info() -> None:
    configure_logging(level="INFO", json_lines=True)
    for name in NOISY:
        assert not logging.getLogger(name).isEnabledFor(logging.INFO), name
        assert logging.getLogger(name).isEnabledFor(logging.WARNING), name
    assert logging.getLogger("auction_platform.access").isEnabledFor(logging.INFO)
