"""The auction service: the catalogue of lots, their lifecycle, and the scheduler.

The furniture of every service: ``domain`` (a lot's lifecycle; pure), ``handlers``
(the use cases, taking the ``commands``), ``store`` (tables and SQL), ``api``
(HTTP, and the error table), ``consumers`` (the bid book's events it takes),
``service`` (the definition) and ``migrations``. Beside them: ``listing`` (what may
be listed; pure), ``ports`` (the bid book, asked to cancel or to follow an edit),
``browse`` (keyset pages of the catalogue), ``views`` (a lot as JSON), ``lot_cache``
(the lot documents in the cache) and ``scheduler`` (opening lots, ending-soon notices).
"""
