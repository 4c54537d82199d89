"""Use cases of delivery addresses: list, add, change, delete (the owner's only).

Each change runs in one transaction with the account's row locked, so two requests
of one account neither pass the limit together nor leave two defaults.
"""

from __future__ import annotations

import uuid
from dataclasses import replace

from auction_platform.core.failures import Invalid, NotFound
from auction_platform.core.uow import Transaction
from auction_platform.services.identity import address_store, store
from auction_platform.services.identity.addresses import (
    MAX_ADDRESSES,
    AddAddress,
    Address,
    AddressFields,
    ChangeAddress,
    DeleteAddress,
    check_address,
)
from auction_platform.services.identity.domain import AccountError
from auction_platform.services.identity.handlers import Identity


def _no_address() -> NotFound:
    """Someone else's address is as unknown as one that never was."""
    return NotFound("address_not_found", "there is no such address")


def _checked(fields: AddressFields) -> AddressFields:
    try:
        return check_address(fields)
    except AccountError as error:
        raise Invalid(error.code, error.message) from error


async def _lock_owner(tx: Transaction, user_id: str) -> None:
    if await store.user_by_id(tx.conn, user_id, for_update=True) is None:
        raise NotFound("user_not_found", "there is no such user")


async def list_addresses(user_id: str, *, ctx: Identity) -> list[Address]:
    """The user's addresses, the default first."""
    async with ctx.uow.db.read() as conn:
        return await address_store.addresses_of(conn, user_id)


async def add_address(command: AddAddress, *, ctx: Identity) -> Address:
    """Keep a new address (``too_many_addresses`` past the limit)."""
    fields = _checked(command.fields)
    now = ctx.clock()
    async with ctx.uow() as tx:
        await _lock_owner(tx, command.user_id)
        kept = await address_store.addresses_of(tx.conn, command.user_id)
        if len(kept) >= MAX_ADDRESSES:
            raise Invalid(
                "too_many_addresses",
                f"an account keeps at most {MAX_ADDRESSES} addresses; delete one first",
            )
        default = command.is_default or not kept
        if default:
            await address_store.clear_default(tx.conn, command.user_id)
        address = Address(uuid.uuid4().hex, command.user_id, fields, default, now, now)
        await address_store.add_address(tx.conn, address)
    return address


async def change_address(command: ChangeAddress, *, ctx: Identity) -> Address:
    """Change fields of an address, or make it the default.

    The default stays until another is made the default (``default_needed``: an
    account with addresses always has one to offer at checkout).
    """
    async with ctx.uow() as tx:
        await _lock_owner(tx, command.user_id)
        found = await address_store.address_by_id(tx.conn, command.user_id, command.address_id)
        if found is None:
            raise _no_address()
        fields = _checked(replace(found.fields, **command.changes))
        if command.is_default is False and found.is_default:
            raise Invalid(
                "default_needed", "make another address the default instead of unsetting this one"
            )
        if command.is_default and not found.is_default:
            await address_store.clear_default(tx.conn, command.user_id)
        changed = replace(
            found,
            fields=fields,
            is_default=found.is_default or bool(command.is_default),
            updated_at=ctx.clock(),
        )
        await address_store.save_address(tx.conn, changed)
    return changed


async def delete_address(command: DeleteAddress, *, ctx: Identity) -> None:
    """Forget an address; when it was the default, the oldest left becomes it."""
    async with ctx.uow() as tx:
        await _lock_owner(tx, command.user_id)
        found = await address_store.address_by_id(tx.conn, command.user_id, command.address_id)
        if found is None:
            raise _no_address()
        await address_store.delete_address(tx.conn, found.id)
        left = await address_store.addresses_of(tx.conn, command.user_id)
        if found.is_default and left:
            heir = replace(left[0], is_default=True, updated_at=ctx.clock())
            await address_store.save_address(tx.conn, heir)
