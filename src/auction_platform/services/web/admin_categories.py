"""The operators' category pages: the tree, adding a category, and editing one.

``/admin/categories`` lists the whole tree (retired categories too, marked) with a
form to add a category; ``/admin/categories/{slug}`` renames, moves, retires or
restores one. Every change goes through the API (``/api/v1/categories``), so its
rules (no cycles, a bounded depth, a slug never reused) are the API's, and a
refusal is shown on the form with what was typed kept.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, Request, Response

from auction_platform.contracts.categories import Category, from_tree, index
from auction_platform.services.web.categories import INDENT, in_tree_order
from auction_platform.services.web.client import ApiProblem
from auction_platform.services.web.site import PageRoute, Visit, Web, visit_of

LIST = "/admin/categories"


async def _tree(visit: Visit) -> list[Category]:
    answer = await visit.api("GET", "/api/v1/categories", params={"include_retired": "true"})
    return from_tree(answer["categories"])


def _parents(tree: list[Category], *, moving: str | None = None) -> list[tuple[str, str]]:
    """Where a category may go: every category but ``moving`` and its subtree (the API checks)."""
    options = []
    skip_below: int | None = None
    for category, depth in in_tree_order(tree):
        if skip_below is not None and depth > skip_below:
            continue
        skip_below = None
        if category.slug == moving:
            skip_below = depth
            continue
        options.append((category.slug, INDENT * depth + category.name))
    return options


def _refused(problem: ApiProblem) -> ApiProblem:
    if problem.status >= 500 or problem.status in (401, 403):
        raise problem
    return problem


def build_router(web: Web) -> APIRouter:
    """The admin pages of the category tree."""
    router = APIRouter(route_class=PageRoute, include_in_schema=False)

    async def list_page(
        visit: Visit,
        *,
        fields: Mapping[str, str] | None = None,
        problem: ApiProblem | None = None,
        status: int = 200,
    ) -> Response:
        tree = await _tree(visit)
        return visit.render(
            "admin/categories.html",
            status,
            rows=in_tree_order(tree),
            indent=INDENT,
            parents=_parents(tree),
            fields=fields or {},
            problem=problem,
            flash=await visit.take_flash(),
        )

    async def edit_page(
        visit: Visit,
        slug: str,
        *,
        fields: Mapping[str, str] | None = None,
        problem: ApiProblem | None = None,
        status: int = 200,
    ) -> Response:
        tree = await _tree(visit)
        category = index(tree).get(slug)
        if category is None:
            raise ApiProblem(404, "no_such_category", f"There is no category {slug!r}.")
        return visit.render(
            "admin/category.html",
            status,
            category=category,
            parents=_parents(tree, moving=slug),
            fields=fields or {"name": category.name, "parent": category.parent or ""},
            problem=problem,
            flash=await visit.take_flash(),
        )

    @router.get(LIST)
    async def categories(request: Request) -> Response:
        visit = await visit_of(request, web)
        visit.role("admin")
        return await list_page(visit)

    @router.post(LIST)
    async def add(request: Request) -> Response:
        visit = await visit_of(request, web)
        visit.role("admin")
        fields = await visit.form()
        body = {
            "slug": fields.get("slug", "").strip().lower(),
            "name": fields.get("name", ""),
            "parent": fields.get("parent") or None,
        }
        try:
            done = await visit.api("POST", "/api/v1/categories", json=body)
        except ApiProblem as problem:
            return await list_page(visit, fields=fields, problem=_refused(problem), status=422)
        name = done["category"]["name"]
        return await visit.answer(
            LIST, f"Added “{name}”. Sellers can list under it now.", "success"
        )

    @router.get(LIST + "/{slug}")
    async def edit_form(request: Request, slug: str) -> Response:
        visit = await visit_of(request, web)
        visit.role("admin")
        return await edit_page(visit, slug)

    @router.post(LIST + "/{slug}")
    async def edit(request: Request, slug: str) -> Response:
        visit = await visit_of(request, web)
        visit.role("admin")
        fields = await visit.form()
        action = fields.get("action", "save")
        body: dict[str, object]
        if action in ("retire", "restore"):
            body = {"retired": action == "retire"}
        else:
            body = {"name": fields.get("name", ""), "parent": fields.get("parent") or None}
        try:
            done = await visit.api("PATCH", f"/api/v1/categories/{slug}", json=body)
        except ApiProblem as problem:
            if problem.status == 404:
                raise
            return await edit_page(
                visit, slug, fields=fields, problem=_refused(problem), status=422
            )
        name = done["category"]["name"]
        message = {
            "retire": f"Retired “{name}”: its lots stay; it takes no new ones.",
            "restore": f"Restored “{name}”: sellers can list under it again.",
        }.get(action, f"Saved “{name}”.")
        return await visit.answer(LIST, message, "success")

    return router
