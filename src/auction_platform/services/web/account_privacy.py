"""A member's own data: downloading it, and deleting their account.

``/account/data`` answers identity's export (``GET /api/v1/users/me/export``, the
member's token) as a file to save; ``/account/delete`` says what closing the account
erases and what it keeps, asks for the password again, and names in words whatever
still keeps the account open (the API's ``details.obligations`` codes). Once the
account is closed its tokens are refused, so the session ends here too and the home
page says so.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response

from auction_platform.services.web.client import ApiProblem
from auction_platform.services.web.site import PageRoute, Visit, Web, visit_of

# What keeps an account open, by the API's code: a sentence and where to see to it.
OBLIGATIONS: dict[str, tuple[str, str, str]] = {
    "open_listings": (
        "You have a listing that is scheduled or open. Cancel it, or wait for it to close.",
        "/my/listings",
        "My listings",
    ),
    "leading_bids": (
        "You are the highest bidder on an auction that is still open. Wait for it to close "
        "(and pay if you win it).",
        "/my/bids",
        "My bids",
    ),
    "unpaid_orders": (
        "An order is waiting for payment, as buyer or as seller. It must be paid, or "
        "cancelled, first.",
        "/orders",
        "Orders and payments",
    ),
    "undelivered_orders": (
        "A paid order has not been received yet. It must be marked received first.",
        "/orders",
        "Orders and payments",
    ),
    "open_offers": (
        "A second-chance offer is waiting for an answer. Accept it, or let it lapse.",
        "/orders",
        "Orders and payments",
    ),
    "open_disputes": (
        "A dispute about one of your orders is still open. It must be resolved first.",
        "/orders",
        "Orders and payments",
    ),
}
DOWNLOAD_NAME = "my-data.json"
DELETED_HOME = "/?account=deleted"


def reasons(codes: Any) -> list[dict[str, str]]:
    """Each obligation of a refusal in words, with a link to see to it (an unknown code
    in words of its own)."""
    found: list[dict[str, str]] = []
    for code in codes if isinstance(codes, list) else []:
        sentence, href, label = OBLIGATIONS.get(
            str(code), (f"Something is still open: {str(code).replace('_', ' ')}.", "", "")
        )
        found.append({"code": str(code), "sentence": sentence, "href": href, "label": label})
    return found


def build_router(web: Web) -> APIRouter:
    """The data download and the account's deletion."""
    router = APIRouter(route_class=PageRoute, include_in_schema=False)

    @router.get("/account/data")
    async def download(request: Request) -> Response:
        visit = await visit_of(request, web)
        visit.user()
        document = await visit.api("GET", "/api/v1/users/me/export")
        body = json.dumps(document, indent=2, ensure_ascii=False).encode()
        disposition = f'attachment; filename="{DOWNLOAD_NAME}"'
        answer = Response(
            body, media_type="application/json", headers={"Content-Disposition": disposition}
        )
        return visit.finish(answer)

    @router.get("/account/delete")
    async def delete_page(request: Request) -> Response:
        visit = await visit_of(request, web)
        visit.user()
        return _page(visit, 200)

    @router.post("/account/delete")
    async def delete(request: Request) -> Response:
        visit = await visit_of(request, web)
        visit.user()
        fields = await visit.form()
        password = fields.get("password", "")
        if not password:
            return _page(visit, 422, problem="Enter your password to delete your account.")
        try:
            await visit.api("DELETE", "/api/v1/users/me", json={"password": password})
        except ApiProblem as problem:
            if problem.code == "wrong_password" or problem.status == 422:
                return _page(visit, 403, problem="That password is not right. Try again.")
            if problem.code == "account_has_obligations":
                details = problem.details if isinstance(problem.details, dict) else {}
                return _page(visit, 409, refused=reasons(details.get("obligations")))
            raise
        # Every token of the account is refused from now on: this session ends too.
        if visit.cookie is not None:
            await web.sessions.delete(visit.cookie)
        visit.session, visit.cookie, visit.drop_session = None, None, True
        return visit.redirect(DELETED_HOME)

    return router


def _page(
    visit: Visit,
    status: int,
    *,
    problem: str | None = None,
    refused: list[dict[str, str]] | None = None,
) -> Response:
    return visit.render("account_delete.html", status, problem=problem, refused=refused or [])
