"""The category tree through the gateway, in both modes: read by all, kept by admins."""

from __future__ import annotations

from typing import Any

import httpx

from auction_platform.composition import Platform
from support.accounts import sign_up
from support.auctions import admin_token, create, lot_body, seller


def slugs(nodes: list[dict[str, Any]]) -> list[str]:
    return [node["slug"] for node in nodes]


def node(nodes: list[dict[str, Any]], slug: str) -> dict[str, Any]:
    for found in nodes:
        if found["slug"] == slug:
            return found
        if (inner := _maybe(found["children"], slug)) is not None:
            return inner
    raise AssertionError(f"{slug} is not in the tree")


def _maybe(nodes: list[dict[str, Any]], slug: str) -> dict[str, Any] | None:
    try:
        return node(nodes, slug)
    except AssertionError:
        return None


async def tree(http: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    answer = await http.get("/api/v1/categories", params=params)
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["categories"]
    return found


async def test_a_fresh_platform_has_a_default_tree_cached_by_readers(
    http: httpx.AsyncClient,
) -> None:
    answer = await http.get("/api/v1/categories")
    assert answer.headers["cache-control"] == "public, max-age=30"
    categories = answer.json()["categories"]
    assert {"art", "books", "cameras", "collectibles", "home", "watches", "misc"} <= set(
        slugs(categories)
    )
    cameras = node(categories, "cameras")
    assert cameras["name"] == "Cameras & photo" and cameras["parent"] is None
    assert slugs(cameras["children"]) == ["lenses", "film", "accessories"]
    assert node(categories, "kitchen")["path"] == ["home", "kitchen"]


async def test_only_an_admin_changes_the_tree(http: httpx.AsyncClient) -> None:
    ann = await sign_up(http, name="Ann")
    body = {"slug": "boats", "name": "Boats"}
    assert (await http.post("/api/v1/categories", json=body)).status_code == 401
    refused = await http.post("/api/v1/categories", json=body, headers=ann.headers)
    assert refused.status_code == 403
    moved = await http.patch("/api/v1/categories/home", json={"name": "X"}, headers=ann.headers)
    assert moved.status_code == 403
    assert "boats" not in slugs(await tree(http))


async def test_an_admin_adds_renames_and_moves_categories_and_lots_follow(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    admin = await admin_token(http, platform)
    sam = await seller(http)
    added = await http.post(
        "/api/v1/categories",
        json={"slug": "mantel-clocks", "name": "Mantel  clocks", "parent": "clocks"},
        headers=admin,
    )
    assert added.status_code == 201, added.text
    assert added.json()["category"] == {
        "slug": "mantel-clocks",
        "name": "Mantel clocks",
        "parent": "clocks",
        "position": 0,
        "retired": False,
    }
    lot = await create(http, sam, category="mantel-clocks", publish=True)

    async def browsed(category: str) -> set[str]:
        page = (await http.get("/api/v1/auctions", params={"category": category})).json()
        return {item["id"] for item in page["items"]}

    assert lot["id"] in await browsed("home")  # home > clocks > mantel-clocks
    renamed = await http.patch(
        "/api/v1/categories/clocks", json={"name": "Clocks & barometers"}, headers=admin
    )
    assert renamed.status_code == 200
    moved = await http.patch("/api/v1/categories/clocks", json={"parent": None}, headers=admin)
    assert moved.json()["category"]["parent"] is None
    categories = await tree(http)
    assert node(categories, "clocks")["name"] == "Clocks & barometers"
    assert node(categories, "mantel-clocks")["path"] == ["clocks", "mantel-clocks"]
    assert lot["id"] not in await browsed("home")
    assert lot["id"] in await browsed("clocks")


async def test_what_would_break_the_tree_is_refused_and_nothing_changes(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    admin = await admin_token(http, platform)
    before = await tree(http, include_retired="true")

    async def refused(method: str, path: str, body: dict[str, Any]) -> tuple[int, str]:
        answer = await http.request(method, path, json=body, headers=admin)
        return answer.status_code, answer.json()["error"]["code"]

    categories = "/api/v1/categories"
    assert await refused("POST", categories, {"slug": "home", "name": "Again"}) == (
        409,
        "category_exists",
    )
    assert await refused("POST", categories, {"slug": "Not A Slug", "name": "X"}) == (
        422,
        "invalid_category",
    )
    assert await refused("POST", categories, {"slug": "boats", "name": "B", "parent": "sea"}) == (
        422,
        "unknown_category",
    )
    assert await refused("POST", categories, {"slug": "boats", "name": "\u0007"}) == (
        422,
        "invalid_category_name",
    )
    assert await refused("PATCH", f"{categories}/home", {"parent": "kitchen"}) == (
        422,
        "category_cycle",
    )
    assert await refused("PATCH", f"{categories}/sea", {"name": "Sea"}) == (
        404,
        "no_such_category",
    )
    assert await refused("PATCH", f"{categories}/home", {}) == (422, "validation_error")
    assert await tree(http, include_retired="true") == before


async def test_a_retired_category_keeps_its_lots_and_takes_no_new_ones(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    admin = await admin_token(http, platform)
    sam = await seller(http)
    kept = await create(http, sam, category="kitchen", publish=True)
    draft = await create(http, sam, category="textiles")
    retired = await http.patch("/api/v1/categories/home", json={"retired": True}, headers=admin)
    assert retired.json()["category"]["retired"] is True
    assert "home" not in slugs(await tree(http))
    assert node(await tree(http, include_retired="true"), "home")["retired"] is True

    for category in ("home", "kitchen"):  # retired, and under a retired one
        answer = await http.post(
            "/api/v1/auctions", json=lot_body(category=category), headers=sam.headers
        )
        assert answer.status_code == 422
        assert answer.json()["error"]["code"] == "category_retired"
    listed = await http.get(f"/api/v1/auctions/{kept['id']}")
    assert listed.json()["auction"]["category"] == "kitchen"
    page = (await http.get("/api/v1/auctions", params={"category": "home"})).json()
    assert kept["id"] in {item["id"] for item in page["items"]}
    # Editing a lot in a retired category keeps it there; moving one into it is refused.
    path = f"/api/v1/auctions/{draft['id']}"
    retitled = await http.patch(path, json={"title": "Linen tablecloths"}, headers=sam.headers)
    assert retitled.status_code == 200, retitled.text
    other = await create(http, sam, category="cameras")
    into = await http.patch(
        f"/api/v1/auctions/{other['id']}", json={"category": "kitchen"}, headers=sam.headers
    )
    assert into.status_code == 422 and into.json()["error"]["code"] == "category_retired"

    restored = await http.patch("/api/v1/categories/home", json={"retired": False}, headers=admin)
    assert restored.json()["category"]["retired"] is False
    assert (await create(http, sam, category="kitchen"))["category"] == "kitchen"


async def test_a_lot_needs_a_category_of_the_tree(http: httpx.AsyncClient) -> None:
    sam = await seller(http)
    answer = await http.post(
        "/api/v1/auctions", json=lot_body(category="boats"), headers=sam.headers
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "unknown_category"
    mine = (await http.get("/api/v1/auctions/mine", headers=sam.headers)).json()
    assert mine["items"] == []
