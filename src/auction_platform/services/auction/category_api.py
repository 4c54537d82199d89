"""HTTP routes of the category tree: ``/api/v1/categories`` (read by all, changed by admins)."""

from __future__ import annotations

from typing import Annotated, Any, Self

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator

from auction_platform.contracts.categories import Category
from auction_platform.core.auth import Admin
from auction_platform.services.auction.api import Category as Slug
from auction_platform.services.auction.categories import NAME_MAX
from auction_platform.services.auction.category_handlers import CategoryTree

# Readers may keep the tree this long; an admin's change reaches them within it.
TREE_MAX_AGE = 30

SlugPath = Annotated[str, Path(max_length=40, description="The category's slug.")]
Name = Annotated[str, Field(max_length=NAME_MAX * 2, examples=["Cameras & photo"])]
Position = Annotated[StrictInt, Field(ge=0, le=10_000)]
Reason = Annotated[str | None, Field(max_length=500, description="Why (kept in the audit trail).")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewCategory(_Body):
    """A category to add: under `parent` (a slug), or at the top without one."""

    slug: Slug
    name: Name
    parent: Slug | None = None
    position: Position | None = Field(
        default=None, description="Place among its siblings (default: last)."
    )
    reason: Reason = None


class CategoryChange(_Body):
    """What changes; send only that. `parent: null` moves the category to the top."""

    name: Name | None = None
    parent: Slug | None = None
    position: Position | None = None
    retired: StrictBool | None = Field(
        default=None,
        description="A retired category keeps its lots and takes no new ones; false restores it.",
    )
    reason: Reason = None

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not self.model_fields_set - {"reason"}:
            raise ValueError("send at least one of name, parent, position, retired")
        return self


class CategoryFields(BaseModel):
    """A category: its slug, name, parent, place among its siblings, and whether retired."""

    model_config = ConfigDict(extra="forbid")

    slug: str
    name: str
    parent: str | None
    position: int
    retired: bool


class CategoryNode(CategoryFields):
    """A category with its place in the tree and the categories under it."""

    path: list[str] = Field(description="Slugs from the top of the tree down to this one.")
    children: list[CategoryNode]


class CategoryTreeAnswer(BaseModel):
    """The whole tree, siblings in position order."""

    model_config = ConfigDict(extra="forbid")

    categories: list[CategoryNode]


class CategoryAnswer(BaseModel):
    """One category as it now is."""

    model_config = ConfigDict(extra="forbid")

    category: CategoryFields


def _one(category: Category) -> dict[str, Any]:
    return {
        "category": {
            "slug": category.slug,
            "name": category.name,
            "parent": category.parent,
            "position": category.position,
            "retired": category.retired,
        }
    }


_REFUSED: dict[int | str, dict[str, Any]] = {
    422: {
        "description": (
            "The slug or name is not acceptable (`invalid_category`, `invalid_category_name`), "
            "the parent does not exist (`unknown_category`), is the category itself or below "
            "it (`category_cycle`), or the tree would be too deep (`category_too_deep`)."
        )
    }
}


def build_router(tree: CategoryTree) -> APIRouter:
    """The routes of the category tree."""
    router = APIRouter(prefix="/api/v1/categories", tags=["auctions"])

    @router.get("", responses={200: {"model": CategoryTreeAnswer}})
    async def categories(response: Response, include_retired: bool = False) -> dict[str, Any]:
        """The category tree a lot is listed under; browsing a category includes its subtree.

        Retired categories (which keep their lots but take no new ones) are left out
        unless `include_retired=true`. Cached by readers for a short while.
        """
        response.headers["Cache-Control"] = f"public, max-age={TREE_MAX_AGE}"
        return {"categories": await tree.tree(include_retired=include_retired)}

    @router.post(
        "",
        status_code=201,
        responses={
            201: {"model": CategoryAnswer},
            409: {"description": "The slug is taken (`category_exists`)."},
            **_REFUSED,
        },
    )
    async def add(body: NewCategory, admin: Admin) -> dict[str, Any]:
        """Add a category (admins)."""
        added = await tree.add(
            body.slug,
            body.name,
            parent=body.parent,
            position=body.position,
            actor_id=admin.subject,
            reason=body.reason,
        )
        return _one(added)

    @router.patch(
        "/{slug}",
        responses={
            200: {"model": CategoryAnswer},
            404: {"description": "No such category (`no_such_category`)."},
            **_REFUSED,
        },
    )
    async def change(slug: SlugPath, body: CategoryChange, admin: Admin) -> dict[str, Any]:
        """Rename, move, reposition, retire or restore a category (admins).

        The slug never changes: lots, links and filters keep working. Retiring a
        category retires its subtree for new listings too.
        """
        changed = await tree.change(
            slug,
            name=body.name,
            parent=body.parent,
            move="parent" in body.model_fields_set,
            position=body.position,
            retired=body.retired,
            actor_id=admin.subject,
            reason=body.reason,
        )
        return _one(changed)

    return router
