"""Payout pages: a seller's balance, payouts and payout account; the admins' list with holds.

Connecting with Stripe ends on Stripe's own onboarding page, which the site links to
rather than redirects to: the site's policy lets a form lead only to the site
(``form-action 'self'``). In the sandbox the account may receive payouts at once.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from auction_platform.services.web.client import ApiProblem
from auction_platform.services.web.render import money
from auction_platform.services.web.site import PageRoute, Visit, Web, status_list, visit_of

STATUSES = {
    "pending": "Being sent",
    "awaiting_account": "Waiting for your payout account",
    "held": "Held",
    "sending": "Being sent",
    "paid": "Paid out",
    "failed": "Failed",
    "cancelled": "Cancelled (refunded)",
}
ADMIN_STATUSES = {**STATUSES, "pending": "Pending", "awaiting_account": "Awaiting account"}
PAGE = 25


def _back(fields: dict[str, str]) -> str:
    back = fields.get("back", "")
    return back if back.startswith("/admin/payouts") and "//" not in back else "/admin/payouts"


async def _seller_page(visit: Visit, *, onboarding_url: str | None = None) -> Response:
    found = await visit.api("GET", "/api/v1/payouts/balance")
    payouts = await visit.api("GET", "/api/v1/payouts", params={"limit": 50})
    return visit.render(
        "payouts.html",
        balances=found["balances"],
        account=found["account"],
        payouts=payouts["items"],
        statuses=STATUSES,
        onboarding_url=onboarding_url,
        flash=await visit.take_flash(),
    )


def build_router(web: Web) -> APIRouter:
    """The payout pages."""
    router = APIRouter(route_class=PageRoute, include_in_schema=False)

    @router.get("/account/payouts")
    async def mine(request: Request) -> Response:
        visit = await visit_of(request, web)
        visit.user()
        return await _seller_page(visit)

    @router.post("/account/payouts/account")
    async def connect(request: Request) -> Response:
        visit = await visit_of(request, web)
        visit.user()
        await visit.form()
        try:
            done = await visit.api("POST", "/api/v1/payouts/account")
        except ApiProblem as problem:
            if problem.status >= 500 and problem.status not in (502, 503):
                raise
            message = f"Not connected: {problem.message}"
            return await visit.answer("/account/payouts", message, "error")
        if done["payouts_enabled"]:
            message = "Your payout account is connected: payouts are sent to it."
            return await visit.answer("/account/payouts", message, "success")
        return await _seller_page(visit, onboarding_url=done["onboarding_url"])

    @router.get("/admin/payouts")
    async def every(request: Request) -> Response:
        visit = await visit_of(request, web)
        visit.role("admin")
        return await status_list(
            visit,
            request,
            api_path="/api/v1/payouts",
            statuses=ADMIN_STATUSES,
            page=PAGE,
            template="admin/payouts.html",
            items="payouts",
        )

    @router.post("/admin/payouts/{payout_id}/{action}")
    async def hold_or_release(request: Request, payout_id: str, action: str) -> Response:
        visit = await visit_of(request, web)
        visit.role("admin")
        fields = await visit.form()
        back = _back(fields)
        if action not in ("hold", "release"):
            return await visit.answer(back, "There is no such action.", "error")
        body = {"reason": fields.get("reason", "").strip()} if action == "hold" else None
        if body is not None and not body["reason"]:
            return await visit.answer(back, "Say why the payout is held.", "error")
        try:
            done = await visit.api("POST", f"/api/v1/payouts/{payout_id}/{action}", json=body)
        except ApiProblem as problem:
            if problem.status >= 500 or problem.status == 401:
                raise
            return await visit.answer(back, f"Not changed: {problem.message}", "error")
        payout = done["payout"]
        amount = money(payout["amount_cents"], payout["currency"])
        verb = "held" if action == "hold" else "released: it is sent by the next run"
        return await visit.answer(back, f"The payout of {amount} is {verb}.", "success")

    return router
