"""``dead-letters list`` and ``dead-letters replay`` (registered by ``auction_platform.cli``).

A queue's dead-letter queue (``<queue>.dlq``) holds the events its consumer gave up
on after its retries: each failed on its own content, since a consumer waits out a
dependency that is down instead (``core.broker.pause``). ``list`` reads them in place;
``replay`` moves them back to the queue once the cause is fixed, which is safe because
every consumer is idempotent.

RabbitMQ only: the embedded broker keeps its dead letters in the memory of the
``up`` process, where no other process reaches them (they end with it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from auction_platform.ops.console import fail, load_settings, run_async, say

if TYPE_CHECKING:
    from auction_platform.core.broker.base import DeadLetterQueue
    from auction_platform.core.broker.rabbitmq import RabbitBroker

T = TypeVar("T")

app = typer.Typer(
    help="Inspect and replay a queue's dead letters (RabbitMQ).",
    no_args_is_help=True,
    rich_markup_mode=None,
)

QueueArgument = Annotated[
    str,
    typer.Argument(
        help="The queue, <service>.<consumer> as in `rabbitmqctl list_queues` "
        "(e.g. payment.auction-closed); its dead letters are in <queue>.dlq.",
        show_default=False,
    ),
]
_EMBEDDED = (
    "RABBITMQ_URL is memory://: the embedded broker keeps its dead letters in the memory "
    "of the running `auction-platform up` process, where no command reaches them; "
    "set RABBITMQ_URL to the RabbitMQ the services use"
)
_COLUMNS = ("EVENT TYPE", "EVENT ID", "FIRST DEAD-LETTERED (UTC)", "REASON")


@app.command("list")
def list_dead_letters(
    queue: QueueArgument,
    limit: Annotated[int, typer.Option(min=0, help="Show at most this many.")] = 100,
) -> None:
    """List a queue's dead letters (type, id, when, why), leaving them in place."""

    async def read(broker: RabbitBroker) -> DeadLetterQueue:
        return await broker.list_dead_letters(queue, limit=limit)

    queue = _work_queue(queue)
    found = _with_broker(read)
    typer.echo(f"{found.name}: {found.count} dead letter{'' if found.count == 1 else 's'}")
    if not found.letters:
        return
    rows = [
        (
            letter.event_type,
            letter.event_id,
            _when(letter.first_dead_lettered_at),
            letter.reason,
        )
        for letter in found.letters
    ]
    widths = [max(len(row[i]) for row in [_COLUMNS, *rows]) for i in range(3)]
    for row in [_COLUMNS, *rows]:
        line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
        typer.echo(f"{line}  {row[3]}")
    if found.count > len(found.letters):
        typer.echo(f"(the first {len(found.letters)}; --limit shows more)")


@app.command("replay")
def replay_dead_letters(
    queue: QueueArgument,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Move at most this many (default: all).")
    ] = None,
) -> None:
    """Move a queue's dead letters back to it, to be handled again (fix the cause first)."""

    async def replay(broker: RabbitBroker) -> tuple[int, DeadLetterQueue]:
        moved = await broker.replay_dead_letters(queue, limit=limit)
        return moved, await broker.list_dead_letters(queue, limit=0)

    queue = _work_queue(queue)
    moved, left = _with_broker(replay)
    say(f"moved {moved} event{'' if moved == 1 else 's'} from {left.name} back to its queue")
    if left.count:
        say(
            f"{left.count} still in {left.name} (replay again, or they are not event "
            "envelopes: those are never replayed; purge them once understood)"
        )


def _work_queue(queue: str) -> str:
    """The work queue an operator means, whether or not they wrote its ``.dlq``."""
    return queue.removesuffix(".dlq")


def _when(moment: object) -> str:
    from datetime import UTC, datetime

    if not isinstance(moment, datetime):
        return "-"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _with_broker(work: Callable[[RabbitBroker], Awaitable[T]]) -> T:
    """Run ``work`` on a RabbitMQ broker built from the settings; failures in one line."""
    import logging

    from auction_platform.core.broker.base import BrokerUnavailable, NoSuchQueue
    from auction_platform.core.broker.rabbitmq import RabbitBroker
    from auction_platform.core.logging import configure_logging
    from auction_platform.ops.console import reaching
    from auction_platform.ops.errors import Target

    settings = load_settings()
    if not settings.rabbitmq_url.startswith("amqp"):
        fail(_EMBEDDED)
    configure_logging(level="WARNING", json_lines=settings.log_json)
    for client in ("aiormq", "aio_pika"):  # what they log of a failure, our one line says
        logging.getLogger(client).setLevel(logging.CRITICAL)
    target = Target("RabbitMQ", settings.rabbitmq_url, "RABBITMQ_URL")
    broker = RabbitBroker(
        settings.rabbitmq_url,
        exchange=settings.rabbitmq_exchange,
        queue_prefix=settings.rabbitmq_queue_prefix,
        timeout=max(settings.dependency_timeout, 5.0),
    )

    async def run() -> T:
        try:
            await reaching(target, broker.start())
            return await work(broker)
        finally:
            await broker.close()

    try:
        return run_async(run())
    except NoSuchQueue as error:
        fail(f"{error}: queues are named <service>.<consumer>, e.g. payment.auction-closed")
    except BrokerUnavailable as error:
        fail(str(error))
