"""The versioned event envelope every service publishes and consumes."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def new_event_id() -> str:
    """A fresh, globally unique event id."""
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class Envelope:
    """One event as it travels: identity, type and version, origin, and the payload."""

    type: str
    producer: str
    data: dict[str, Any]
    version: int = 1
    id: str = field(default_factory=new_event_id)
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    correlation_id: str | None = None
    # The bytes it was read from (``from_json``): sent on as they came, not serialised
    # again. The outbox relay reads every event it publishes, and serialising an event
    # cost more CPU than parsing it.
    _wire: bytes | None = field(default=None, init=False, compare=False, repr=False)

    @property
    def routing_key(self) -> str:
        """Topic routing key: ``<producer>.<type>``, e.g. ``bidding.BidPlaced``."""
        return f"{self.producer}.{self.type}"

    def to_dict(self) -> dict[str, Any]:
        """The envelope as plain JSON-ready data."""
        return {
            "id": self.id,
            "type": self.type,
            "version": self.version,
            "occurred_at": self.occurred_at.isoformat(),
            "producer": self.producer,
            "correlation_id": self.correlation_id,
            "data": self.data,
        }

    def to_json(self) -> bytes:
        """Serialise for the wire (an envelope read from the wire: the bytes it came as)."""
        if self._wire is not None:
            return self._wire
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Envelope:
        """Rebuild an envelope; raises ``ValueError`` when a field is missing or malformed."""
        try:
            occurred_at = datetime.fromisoformat(raw["occurred_at"])
            if occurred_at.tzinfo is None:
                occurred_at = occurred_at.replace(tzinfo=UTC)
            data = raw["data"]
            if not isinstance(data, dict):
                raise ValueError("event data must be an object")
            return cls(
                id=str(raw["id"]),
                type=str(raw["type"]),
                version=int(raw["version"]),
                occurred_at=occurred_at,
                producer=str(raw["producer"]),
                correlation_id=raw.get("correlation_id"),
                data=data,
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed event envelope: {exc}") from exc

    @classmethod
    def from_json(cls, body: bytes) -> Envelope:
        """Parse wire bytes; raises ``ValueError`` on anything that is not an envelope."""
        try:
            raw = json.loads(body)
        except json.JSONDecodeError as exc:
            raise ValueError(f"event body is not JSON: {exc}") from exc
        if not isinstance(raw, dict):
            raise ValueError("event body must be a JSON object")
        envelope = cls.from_dict(raw)
        object.__setattr__(envelope, "_wire", bytes(body))
        return envelope
