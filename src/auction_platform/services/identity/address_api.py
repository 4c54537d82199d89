"""HTTP routes of your delivery addresses: ``/api/v1/users/me/addresses``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from auction_platform.core.auth import CurrentUser
from auction_platform.core.failures import Invalid
from auction_platform.core.inputs import CountryCode, ResourceId
from auction_platform.services.identity import address_handlers, answers
from auction_platform.services.identity.addresses import (
    LENGTHS,
    OPTIONAL,
    AddAddress,
    AddressFields,
    ChangeAddress,
    DeleteAddress,
)
from auction_platform.services.identity.handlers import Identity


def _limits(name: str, description: str | None = None) -> Any:
    """A text field as its rule checks it: the schema states the limits, the rule the code.

    Beyond the rule's limit (and up to four times it) a field is refused by the rule
    with its own code (422 ``invalid_city``...); the hard cap only bounds the work.
    """
    low, high = LENGTHS[name]
    return Field(
        max_length=high * 4,
        json_schema_extra={"minLength": low, "maxLength": high},
        description=description,
    )


Name = Annotated[str, _limits("name", "Who receives the parcel.")]
Line = Annotated[str, _limits("line1", "Street and number.")]
Line2 = Annotated[str, _limits("line2", "Flat, floor, building; empty or null for none.")]
City = Annotated[str, _limits("city")]
Region = Annotated[str, _limits("region", "State, county or province, where one is used.")]
PostalCode = Annotated[str, _limits("postal_code", "Letters, digits, spaces and `-`.")]
Phone = Annotated[
    str,
    Field(max_length=32, description="In international form (E.164), e.g. `+4915112345678`."),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class NewAddress(_Strict):
    """An address to keep; the first one is the default whatever `is_default` says."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Bea Bidder",
                    "line1": "Karl-Liebknecht-Str. 12",
                    "city": "Leipzig",
                    "postal_code": "04107",
                    "country": "DE",
                    "is_default": True,
                }
            ]
        }
    )

    name: Name
    line1: Line
    line2: Line2 | None = None
    city: City
    region: Region | None = None
    postal_code: PostalCode | None = None
    country: CountryCode
    phone: Phone | None = None
    is_default: StrictBool = False


class AddressChange(_Strict):
    """What changes; send only that. `null` clears `line2`, `region`, `postal_code` or `phone`."""

    name: Name | None = None
    line1: Line | None = None
    line2: Line2 | None = None
    city: City | None = None
    region: Region | None = None
    postal_code: PostalCode | None = None
    country: CountryCode | None = None
    phone: Phone | None = None
    is_default: StrictBool | None = Field(
        default=None, description="True makes this the default (another stops being it)."
    )


def _fields(body: NewAddress) -> AddressFields:
    return AddressFields(**body.model_dump(exclude={"is_default"}))


def _changes(body: AddressChange) -> dict[str, str | None]:
    changes: dict[str, str | None] = {}
    for name in body.model_fields_set - {"is_default"}:
        value = getattr(body, name)
        if value is None and name not in OPTIONAL:
            raise Invalid("validation_error", f"{name} cannot be null")
        changes[name] = value
    return changes


NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No address of yours has this id (`address_not_found`)."}
}


def build_router(ctx: Identity) -> APIRouter:
    """The routes of a user's own delivery addresses."""
    router = APIRouter(prefix="/api/v1/users/me/addresses", tags=["addresses"])

    @router.get("", responses={200: {"model": answers.AddressList}})
    async def addresses(user: CurrentUser) -> dict[str, Any]:
        """Your delivery addresses, the default first."""
        found = await address_handlers.list_addresses(user.subject, ctx=ctx)
        return {"items": [address.public() for address in found]}

    @router.post("", status_code=201, responses={201: {"model": answers.AddressAnswer}})
    async def add(body: NewAddress, user: CurrentUser) -> dict[str, Any]:
        """Keep a delivery address (at most 10: 422 `too_many_addresses`).

        Refused with 422 and the field's code: `invalid_name`, `invalid_line1`,
        `invalid_line2`, `invalid_city`, `invalid_region`, `invalid_postal_code`,
        `unknown_country`, `invalid_phone`. The first address is the default;
        `"is_default": true` makes a later one the default instead.
        """
        command = AddAddress(user.subject, _fields(body), is_default=body.is_default)
        return {"address": (await address_handlers.add_address(command, ctx=ctx)).public()}

    @router.patch("/{address_id}", responses={200: {"model": answers.AddressAnswer}, **NOT_FOUND})
    async def change(
        address_id: ResourceId, body: AddressChange, user: CurrentUser
    ) -> dict[str, Any]:
        """Change your address, or make it the default.

        The same rules as a new one. The default cannot be unset (422
        `default_needed`): make another the default instead.
        """
        command = ChangeAddress(
            user.subject, address_id, _changes(body), is_default=body.is_default
        )
        return {"address": (await address_handlers.change_address(command, ctx=ctx)).public()}

    @router.delete("/{address_id}", status_code=204, responses=NOT_FOUND)
    async def delete(address_id: ResourceId, user: CurrentUser) -> Response:
        """Forget your address (the oldest left becomes the default, if it was)."""
        await address_handlers.delete_address(DeleteAddress(user.subject, address_id), ctx=ctx)
        return Response(status_code=204)

    return router
