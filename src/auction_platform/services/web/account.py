"""A member's own pages: account (its data and deletion too), notification preferences, orders,
payment and receipts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from auction_platform.services.web import account_privacy, delivery, disputes, feedback
from auction_platform.services.web.client import ApiProblem
from auction_platform.services.web.site import STRIPE_CSP, PageRoute, Web, query, visit_of

# The notices people can turn on or off, in the words the preferences page uses.
NOTICE_NAMES = {
    "outbid": "You are outbid",
    "ending_soon": "A lot you watch or bid on is ending",
    "won": "You won a lot",
    "sold": "Your lot sold",
    "not_sold": "Your lot ended unsold",
    "payment_due": "Payment is due",
    "payment_received": "A payment was received",
    "delivery": "Your order was shipped or received",
    "second_chance": "A second-chance offer",
    "auction_cancelled": "A lot was cancelled",
    "feedback": "Feedback about you",
    "account": "Account notices",
}
# The sandbox provider's test cards (Stripe's published numbers; README lists them all).
TEST_CARDS = (
    ("4242 4242 4242 4242", "succeeds"),
    ("4000 0000 0000 0002", "is declined"),
    ("4000 0000 0000 9995", "is declined: insufficient funds"),
    ("4000 0027 6000 3184", "needs authentication, then is declined"),
)
# A declined card (402) by its code, in words; other codes show the API's message.
_FAILURES = {
    "card_declined": "Your card was declined. Try another card.",
    "insufficient_funds": "The card has insufficient funds. Try another card.",
    "authentication_required": "The bank asked for authentication, which failed. Try another card.",
    "expired_card": "The card has expired. Try another card.",
    "incorrect_cvc": "The card's security code is incorrect. Try again or use another card.",
    "processing_error": "The card could not be processed. Try again in a moment.",
}


def build_router(web: Web) -> APIRouter:
    """The account and order pages."""
    router = APIRouter(route_class=PageRoute, include_in_schema=False)
    router.include_router(account_privacy.build_router(web))

    @router.get("/account")
    async def account(request: Request) -> Response:
        visit = await visit_of(request, web)
        visit.user()
        me = await visit.api("GET", "/api/v1/users/me")
        return visit.render(
            "account.html",
            user=me["user"],
            welcome="welcome" in query(request),
            flash=await visit.take_flash(),
            problem=None,
        )

    @router.post("/account")
    async def change_account(request: Request) -> Response:
        visit = await visit_of(request, web)
        visit.user()
        fields = await visit.form()
        change = {
            "display_name": fields.get("display_name", "").strip(),
            "phone": fields.get("phone", "").strip() or None,
        }
        try:
            await visit.api("PATCH", "/api/v1/users/me", json=change)
        except ApiProblem as problem:
            if problem.status >= 500:
                raise
            me = await visit.api("GET", "/api/v1/users/me")
            shown = {**me["user"], **change}
            return visit.render(
                "account.html", 422, user=shown, welcome=False, flash=None, problem=problem
            )
        return await visit.answer("/account", "Your profile is saved.", "success")

    @router.get("/account/notifications")
    async def notifications(request: Request) -> Response:
        visit = await visit_of(request, web)
        visit.user()
        found = await visit.api("GET", "/api/v1/users/me/preferences")
        return visit.render(
            "notifications.html",
            preferences=found["preferences"],
            names=NOTICE_NAMES,
            flash=await visit.take_flash(),
        )

    @router.post("/account/notifications")
    async def change_notifications(request: Request) -> Response:
        visit = await visit_of(request, web)
        visit.user()
        fields = await visit.form()
        current = (await visit.api("GET", "/api/v1/users/me/preferences"))["preferences"]
        chosen = {
            channel: {notice: f"{channel}.{notice}" in fields for notice in notices}
            for channel, notices in current.items()
        }
        await visit.api("PATCH", "/api/v1/users/me/preferences", json=chosen)
        return await visit.answer("/account/notifications", "Your choices are saved.", "success")

    @router.get("/orders")
    async def orders(request: Request) -> Response:
        visit = await visit_of(request, web)
        visit.user()
        bought = await visit.api("GET", "/api/v1/orders", params={"limit": 50})
        offers = await visit.api("GET", "/api/v1/offers", params={"limit": 20})
        return visit.render(
            "orders.html",
            orders=bought["items"],
            offers=[o for o in offers["items"] if o.get("status") == "offered"],
            flash=await visit.take_flash(),
        )

    @router.get("/orders/{order_id}")
    async def order(request: Request, order_id: str) -> Response:
        visit = await visit_of(request, web)
        session = visit.user()
        found = await visit.api("GET", f"/api/v1/orders/{order_id}")
        document: dict[str, Any] = found["order"]
        returned = query(request).get("redirect_status")
        outcome = await visit.take_flash()
        if returned and document["status"] == "awaiting_payment":
            # Back from Stripe's page: the webhook that marks the order paid may still be
            # on its way.
            outcome = (
                ("Your payment is being confirmed. This page shows it once it has.", "info")
                if returned == "succeeded"
                else ("The payment did not go through. Try again.", "error")
            )
        buyer = document["buyer_id"] == session.user_id
        shipping = await delivery.order_section(visit, document, buyer=buyer)
        section = await feedback.order_section(visit, document)
        if section and query(request).get("feedback"):
            # Back from the feedback form: its outcome shows beside it.
            section["feedback_outcome"], outcome = outcome, None
        disputed = await disputes.order_section(visit, document, buyer=buyer)
        if disputed and query(request).get("dispute"):
            # Back from a dispute's form: its outcome shows beside the dispute.
            disputed["dispute_outcome"], outcome = outcome, None
        return visit.render(
            "order.html",
            order=document,
            buyer=buyer,
            test_cards=TEST_CARDS,
            stripe=None,
            stripe_key=web.stripe_publishable_key,
            outcome=outcome,
            **shipping,
            **section,
            **disputed,
        )

    @router.post("/orders/{order_id}/pay")
    async def pay(request: Request, order_id: str) -> Response:
        visit = await visit_of(request, web)
        visit.user()
        fields = await visit.form()
        page = f"/orders/{order_id}"
        card = "".join(fields.get("card", "").split())
        try:
            paid = await visit.api(
                "POST", f"/api/v1/orders/{order_id}/pay", json={"card": card} if card else {}
            )
        except ApiProblem as problem:
            if problem.status >= 500 or problem.status == 401:
                raise
            return await visit.answer(page, _failure(problem.code, problem.message), "error")
        document = paid["order"]
        payment = paid.get("payment") or {}
        if web.stripe_publishable_key and payment.get("client_secret") and not card:
            # Stripe: the browser confirms the intent in Stripe's Payment Element.
            return visit.render(
                "order.html",
                csp=STRIPE_CSP,
                order=document,
                buyer=True,
                test_cards=(),
                stripe={"client_secret": payment["client_secret"]},
                stripe_key=web.stripe_publishable_key,
                outcome=None,
            )
        if document["status"] == "paid":
            return await visit.answer(page, "Payment received. Your receipt is below.", "success")
        # A declined card is a 402 (above); this is a payment the provider left pending.
        return await visit.answer(page, "The payment did not go through. Try again.", "error")

    @router.get("/offers/{offer_id}")
    async def offer(request: Request, offer_id: str) -> Response:
        visit = await visit_of(request, web)
        visit.user()
        offers = await visit.api("GET", "/api/v1/offers", params={"limit": 100})
        found = next((o for o in offers["items"] if o.get("id") == offer_id), None)
        if found is None:
            raise ApiProblem(404, "offer_not_found", "There is no such offer for you.")
        return visit.render("offer.html", offer=found)

    @router.post("/offers/{offer_id}/accept")
    async def accept_offer(request: Request, offer_id: str) -> Response:
        visit = await visit_of(request, web)
        visit.user()
        await visit.form()
        taken = await visit.api("POST", f"/api/v1/offers/{offer_id}/accept")
        return await visit.answer(
            f"/orders/{taken['order']['id']}", "Offer accepted: pay to complete it.", "success"
        )

    return router


def _failure(code: str, fallback: str) -> str:
    """A failed payment in words: what happened and what to do."""
    known = _FAILURES.get(code)
    if known:
        return known
    sentence = fallback[:1].upper() + fallback[1:]
    return sentence if sentence.endswith(".") else sentence + "."
