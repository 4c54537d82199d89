"""A member's delivery addresses: ``/account/addresses`` (add, change, default, delete).

Plain forms through identity's ``/api/v1/users/me/addresses``; a refusal comes back
as the same page, with what was typed kept in the form it was typed in and the
field at fault marked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request, Response

from auction_platform.contracts.countries import BY_NAME
from auction_platform.services.web.client import ApiProblem
from auction_platform.services.web.site import PageRoute, Visit, Web, visit_of

API = "/api/v1/users/me/addresses"
PAGE = "/account/addresses"
FIELDS = ("name", "line1", "line2", "city", "region", "postal_code", "country", "phone")
OPTIONAL = frozenset({"line2", "region", "postal_code", "phone"})
# The form field an API refusal is about; the rest are shown above the form.
FIELD_OF_CODE = {
    **{f"invalid_{name}": name for name in FIELDS},
    "unknown_country": "country",
}


def address_body(fields: Mapping[str, str]) -> dict[str, Any]:
    """The API's address from the form: each field trimmed, an empty optional one left out."""
    body: dict[str, Any] = {}
    for name in FIELDS:
        value = fields.get(name, "").strip()
        if value or name not in OPTIONAL:
            body[name] = value
    return body


async def _page(
    visit: Visit,
    *,
    status: int = 200,
    problem: ApiProblem | None = None,
    editing: str | None = None,
    typed: Mapping[str, str] | None = None,
) -> Response:
    """The addresses page; ``editing`` names the form ``typed`` and ``problem`` belong to.

    ``editing`` is an address's id, or ``"new"`` for the form that adds one.
    """
    found = await visit.api("GET", API)
    return visit.render(
        "addresses.html",
        status,
        addresses=found["items"],
        countries=BY_NAME,
        problem=problem,
        bad_field=FIELD_OF_CODE.get(problem.code) if problem is not None else None,
        editing=editing,
        typed=typed or {},
        flash=await visit.take_flash(),
    )


def build_router(web: Web) -> APIRouter:
    """The addresses page and its forms."""
    router = APIRouter(route_class=PageRoute, include_in_schema=False)

    async def sent(request: Request) -> tuple[Visit, dict[str, str]]:
        visit = await visit_of(request, web)
        visit.user()
        return visit, await visit.form()

    async def refused(
        visit: Visit, problem: ApiProblem, editing: str, typed: Mapping[str, str]
    ) -> Response:
        if problem.status >= 500 or problem.status in (401, 404):
            raise problem
        return await _page(
            visit, status=problem.status, problem=problem, editing=editing, typed=typed
        )

    @router.get(PAGE)
    async def addresses(request: Request) -> Response:
        visit = await visit_of(request, web)
        visit.user()
        return await _page(visit)

    @router.post(PAGE)
    async def add(request: Request) -> Response:
        visit, fields = await sent(request)
        body = {**address_body(fields), "is_default": bool(fields.get("is_default"))}
        try:
            await visit.api("POST", API, json=body)
        except ApiProblem as problem:
            return await refused(visit, problem, "new", fields)
        return await visit.answer(PAGE, "The address is saved.", "success")

    @router.post(PAGE + "/{address_id}")
    async def change(request: Request, address_id: str) -> Response:
        visit, fields = await sent(request)
        body = address_body(fields)
        # A field emptied clears it (the API keeps what a PATCH leaves out).
        body.update({name: None for name in OPTIONAL if name not in body})
        try:
            await visit.api("PATCH", f"{API}/{address_id}", json=body)
        except ApiProblem as problem:
            return await refused(visit, problem, address_id, fields)
        return await visit.answer(PAGE, "The address is saved.", "success")

    @router.post(PAGE + "/{address_id}/default")
    async def make_default(request: Request, address_id: str) -> Response:
        visit, _ = await sent(request)
        await visit.api("PATCH", f"{API}/{address_id}", json={"is_default": True})
        return await visit.answer(PAGE, "Your default address is changed.", "success")

    @router.post(PAGE + "/{address_id}/delete")
    async def delete(request: Request, address_id: str) -> Response:
        visit, _ = await sent(request)
        await visit.api("DELETE", f"{API}/{address_id}")
        return await visit.answer(PAGE, "The address is deleted.", "success")

    return router
