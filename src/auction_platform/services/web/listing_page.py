"""The listing form as a page (a new lot, an edit, a relisting) and the API's refusals on it.

What the seller's routes share: the form rendered with what was typed and the
problem marked on its field, the seller's own lot read, and the API's sentences
worded for people.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from fastapi import Response

from auction_platform.contracts.countries import BY_NAME
from auction_platform.services.web.categories import category_tree, choices
from auction_platform.services.web.client import ApiProblem
from auction_platform.services.web.delivery_form import posted_countries, rate_rows
from auction_platform.services.web.listing_form import (
    FIELD_OF_CODE,
    FormProblem,
    currency_choices,
    duration_choices,
    lot_moment,
)
from auction_platform.services.web.render import utc_text
from auction_platform.services.web.site import Visit

# Why a lot's terms can no longer change: by the API's refusal, or by the lot's status.
LOCKED_REASONS = {
    "has_bids": "Someone has bid on it: from its first bid a lot keeps the terms its bidders saw.",
    "not_editable": "It has ended or was cancelled.",
    "closed": "It has ended.",
    "cancelled": "It was cancelled.",
}


async def form_page(
    visit: Visit,
    fields: Mapping[str, str],
    *,
    lot: Mapping[str, Any] | None = None,
    relisting: bool = False,
    problem: FormProblem | ApiProblem | None = None,
    preview: Mapping[str, Any] | None = None,
    flash: tuple[str, str] | None = None,
    status: int = 200,
) -> Response:
    """The listing form: blank, a lot's edit (``lot``) or a lot listed again (``relisting``)."""
    bad_field = problem.field if isinstance(problem, FormProblem) else None
    if isinstance(problem, ApiProblem):
        bad_field = FIELD_OF_CODE.get(problem.code)
    action = "/sell"
    if lot is not None:
        action = f"/auctions/{lot['id']}/{'relist' if relisting else 'edit'}"
    # An open lot keeps its start: the preview shows the end its new length gives.
    opened = lot is not None and not relisting and lot["status"] == "open"
    preview_ends = None
    if opened and preview is not None and lot is not None:
        preview_ends = lot_moment(lot["starts_at"]) + timedelta(seconds=preview["duration_seconds"])
    tree = await category_tree(visit)
    return visit.render(
        "sell.html",
        status,
        become=False,
        fields=fields,
        category_choices=choices(tree, fields.get("category", "")) if tree else None,
        lot=lot,
        relisting=relisting,
        opened=opened,
        problem=problem,
        bad_field=bad_field,
        preview=preview,
        preview_ends=preview_ends.isoformat() if preview_ends else None,
        start_now=fields.get("start", "now") != "at",
        currencies=currency_choices(fields),
        durations=duration_choices(
            fields,
            shortest=visit.web.shortest_lot_seconds,
            kept="as before" if relisting else "as now",
        ),
        action=action,
        rate_rows=rate_rows(fields),
        countries=BY_NAME,
        utc_now=f"{visit.web.clock():%Y-%m-%d %H:%M}",
        photo_max_bytes=visit.web.photo_max_bytes,
        max_images=visit.web.max_images,
        flash=flash,
    )


def locked_page(
    visit: Visit, lot: Mapping[str, Any], reason: str, *, tried: bool = False
) -> Response:
    """Why a lot can no longer be changed (409), with where to go from there.

    ``tried``: the seller sent changes, and they were refused.
    """
    return visit.render("sell_locked.html", 409, lot=lot, reason=reason, tried=tried)


async def own_lot(visit: Visit, lot_id: str) -> dict[str, Any]:
    """The lot as its seller sees it (the reserve included); 403 for anyone else's."""
    lot: dict[str, Any] = (await visit.api("GET", f"/api/v1/auctions/{lot_id}"))["auction"]
    if not lot.get("viewer", {}).get("is_seller"):
        raise ApiProblem(403, "forbidden", "Only the lot's seller can change it.")
    return lot


async def posted_form(visit: Visit, lot_id: str) -> tuple[dict[str, str], str, dict[str, Any]]:
    """A seller's listing form of their lot, sent: its fields, the button pressed, the lot."""
    visit.role("seller")
    fields = await listing_form_sent(visit)
    action = fields.pop("action", "preview")
    return fields, action, await own_lot(visit, lot_id)


async def listing_form_sent(visit: Visit) -> dict[str, str]:
    """A listing form's fields, each shipping row's countries joined into one."""
    fields = await visit.form()
    return {**fields, **await posted_countries(visit.request)}


def shown_on_form(problem: ApiProblem) -> bool:
    """A refusal the seller can act on (bad terms, the wrong moment), not an outage."""
    return 400 <= problem.status < 500 and problem.status not in (401, 404)


def worded(problem: ApiProblem) -> ApiProblem:
    """The API's sentence as a sentence: a capital letter and a full stop."""
    message = problem.message[:1].upper() + problem.message[1:]
    if not message.endswith("."):
        message += "."
    # Only a list of field problems is shown under it; other details are for programs.
    details = problem.details if isinstance(problem.details, list) else None
    return replace(problem, message=message, details=details)


def listed(lot: Mapping[str, Any], now: datetime) -> str:
    """What the seller is told when a lot is put on the calendar."""
    starts = lot_moment(lot["starts_at"])
    if starts - now <= timedelta(minutes=1):
        return f"“{lot['title']}” is listed: it opens in a few seconds."
    return f"“{lot['title']}” is listed: it opens {utc_text(starts)}."
