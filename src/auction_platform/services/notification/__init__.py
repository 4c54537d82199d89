"""The notification service: stateless consumers that tell people what happened.

Its furniture differs from the others' because it keeps no state of its own and
serves no API: no ``store.py`` and no ``migrations/`` (it has no database; the sent
log of ``dedupe`` lives in the platform cache, or in process memory without one),
no ``api.py`` (it answers only the health and metrics routes every app has). Its one
use case, sending an event's notices, is ``dispatch`` (``Notifier.notify``) rather
than a ``handlers.py``, and its pure rules are ``notices`` (which event tells whom
what) rather than a ``domain.py``. ``consumers`` declares the events it takes,
``ports`` how it asks identity for contacts, ``service`` the definition. Beside
them: ``channels``, ``mail`` and ``sms`` (the providers), ``render``, ``formatting``
and ``templates/`` (the messages).
"""
