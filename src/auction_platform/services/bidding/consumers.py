"""What the bidding service takes from the event stream: an auction opened, so its book opens.

The consumer runs in the transaction that records the event in the inbox, and
opening a book is idempotent (the insert ignores a book that exists, such as one
opened from the auction's rules by a bid that came first): a redelivered event, or
two deliveries on two replicas, leave one book.

``every`` is what the service takes, declared here in one place: ``books``, and the
stateless consumer of suspensions (``suspensions``: a suspended account's leading
bids are withdrawn).
"""

from __future__ import annotations

from auction_platform.contracts import auctions as contract
from auction_platform.contracts.events import Envelope
from auction_platform.core.service import AnyConsumer, Consumer
from auction_platform.core.uow import Transaction
from auction_platform.services.bidding import suspensions
from auction_platform.services.bidding.handlers import Bidding, open_book


def consumers(bidding: Bidding) -> list[Consumer]:
    """The bidding service's queues: ``books`` opens the book of every auction that opens."""

    async def book_opened(tx: Transaction, envelope: Envelope) -> None:
        await open_book(tx, envelope.data, now=bidding.clock())

    return [Consumer("books", (f"auction.{contract.AUCTION_OPENED}",), book_opened)]


def every(bidding: Bidding) -> list[AnyConsumer]:
    """Every queue of the bidding service: ``books``, then suspensions."""
    return [*consumers(bidding), suspensions.consumer(bidding)]
