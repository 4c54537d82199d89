"""The analytics service: event store, rollups and search.

Besides the furniture every service has, ``commands.py`` holds the reports'
commands; the rollups are ``rollups.py`` (rules) over ``rollup_store.py``, the
search index ``indexing.py`` (its consumer) over ``search_store.py``, searched
through ``search.py``'s interface by ``search_sql.py`` or ``search_es.py``.
It calls no other service.
"""
