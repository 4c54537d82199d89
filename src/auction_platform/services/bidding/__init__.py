"""The bidding service: the bid book of every open auction.

The furniture of every service: ``domain.py`` (what the use cases speak: a book's
status, one command per use case, their results and refusals), ``handlers.py`` (the
use cases, every command on a book through one batch), ``queries.py`` (the reads),
``store.py``, ``api.py``, ``consumers.py``, ``service.py`` and ``migrations/``.

The rules of bidding stay in ``engine.py`` rather than in ``domain.py``: they are a
self-contained, property-tested engine (proxy bids, increments, reserve, Buy It Now,
soft close, retraction) that knows nothing of the service, and ``domain.py`` builds
on it. Beside them: ``state.py`` (a book during a batch) and ``codec.py`` (the
engine's values in the book row), ``batcher.py`` (group commit: the queues that put
many commands in one transaction), ``idempotency.py`` (answers recorded for an
Idempotency-Key) and ``ports.py`` (what bidding asks the auction service, and the
HTTP adapter that asks it).
"""
