"""The web site: pages for bidders, sellers and operators, rendered on the server.

A backend for the browser: it calls the other services only through their public
HTTP API, as any client would, and keeps nothing of its own but sessions (in the
cache). It holds no business rules and no tables (every rule is the API's), so it
has no ``domain.py``, no ``handlers.py``, no ``store.py`` and no ``migrations`` (no
database). It has no ``consumers.py`` either: it takes no events, every page asks
the API. Its HTTP edge is its pages, one module per audience (``public.py``,
``bidder.py``, ``account.py``, ``seller.py``, ``admin.py``, on ``site.py``), not an
``api.py``: it serves HTML for people, not a JSON API.
"""
