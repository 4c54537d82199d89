"""The gateway: the public front door.

It routes each public path to the service that owns it (``api.py``, plain ASGI),
checks tokens at the door, limits callers (``limits.py``) and serves the live feed
(``feed.py``). It owns no data and no business rules, so it has no ``domain.py``,
no ``handlers.py`` (nothing to decide: every use case is the owning service's), no
``store.py`` and no ``migrations`` (no database: rate-limit buckets live in the
cache), and no ``consumers.py`` (it takes no events from the broker: the live feed
follows the cache's channels the bidding service publishes on).
"""
