"""The web site: pages for bidders, sellers and operators, rendered on the server.

A backend for the browser: it calls the other services only through their public
HTTP API, as any client would, and keeps nothing of its own but sessions (in the
cache). It has no ``domain.py``, ``handlers.py``, ``store.py`` or migrations: it
holds no business rules and no tables; every rule is the API's.
"""
