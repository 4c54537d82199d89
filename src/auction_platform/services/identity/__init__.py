"""The identity service: accounts, roles, tokens and sessions.

It has no ``consumers.py``: identity takes no events. It only publishes them
(``UserRegistered``, ``UserRolesChanged``, ``RefreshTokenReused``) through its outbox.
"""
