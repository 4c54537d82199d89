"""Why a use case refused: one hierarchy of domain errors, each with a stable code.

Handlers raise these; they know nothing of HTTP. Each kind says what went wrong in
the terms of the use case (the thing is not there, the moment is wrong, the caller
may not), ``code`` is the machine-readable reason clients branch on, ``message``
a sentence for people. The HTTP edge maps a kind (or one code) to a status in one
table (``core.errors.ErrorTable``), so the same refusal always leaves the same way.

Standard library only.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal of a use case: a stable ``code``, a ``message`` and optional ``details``."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        details: Any = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        # For a refusal that passes by itself (a limit, an outage): when to try again.
        self.retry_after = retry_after


class Invalid(DomainError):
    """What was asked is not acceptable as it stands (a rule of the domain refused it)."""


class NotFound(DomainError):
    """The thing the request is about does not exist (or is not the caller's to see)."""


class Conflict(DomainError):
    """The request clashes with the thing's present state (too late, already done)."""


class Forbidden(DomainError):
    """The caller is known but may not do this."""


class Unauthenticated(DomainError):
    """The caller could not be identified: bad credentials or a spent token."""


class RateLimited(DomainError):
    """Too many attempts; ``retry_after`` says when the next may succeed."""


class PaymentRefused(DomainError):
    """The payment provider declined: the order is unchanged and may be paid again."""


class Unavailable(DomainError):
    """Something the use case needs is not answering; the same request may succeed later."""
