"""Under faults, one at a time, no acknowledged bid is lost and nothing is recorded wrongly.

A seeded history of thousands of bids (several bidders, a few lots, retries with the
same Idempotency-Key, bids meant to be refused) runs while the platform is given each
fault in turn; afterwards the ledger, the books, what the clients saw, the outboxes,
the inboxes and the dead-letter queues are checked (``faults.checks``), and throughput
must have come back within 10 s of each fault's end.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from faults.history import run_history
from faults.report import COLLECTED
from faults.stages import distributed, embedded
from support.servers import require_server

pytestmark = pytest.mark.faults

SEED = 15


async def test_one_process_per_service_holds_through_cuts_of_each_server_and_a_kill(
    tmp_path: Path, redis_url: str, rabbitmq_url: str
) -> None:
    require_server("PostgreSQL", "127.0.0.1", 5432)
    async with distributed(tmp_path) as stage:
        run = await run_history(stage, seed=SEED)
    COLLECTED.append(run)
    assert not run.findings, run.failure()


async def test_the_embedded_platform_holds_through_a_kill_and_a_restart(tmp_path: Path) -> None:
    async with embedded(tmp_path) as stage:
        run = await run_history(stage, seed=SEED)
    COLLECTED.append(run)
    assert not run.findings, run.failure()
