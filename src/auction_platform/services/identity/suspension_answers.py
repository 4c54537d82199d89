"""What the suspension routes answer, as their OpenAPI document shows it (documentation)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class Suspension(BaseModel):
    """One suspension of an account, kept after it ends."""

    model_config = ConfigDict(extra="forbid")

    id: str
    reason: str
    suspended_by: str
    suspended_at: datetime
    until: datetime | None = Field(description="When it lapses by itself; null: until lifted.")
    lifted_by: str | None
    lifted_at: datetime | None
    in_force: bool = Field(description="True while the account is stopped by it.")


class SuspensionAnswer(BaseModel):
    """The account's latest suspension, or null when it was never suspended."""

    model_config = ConfigDict(extra="forbid")

    suspension: Suspension | None
