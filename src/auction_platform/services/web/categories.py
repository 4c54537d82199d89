"""The category tree on the site: the seller's choice, the catalogue's filter, a lot's trail.

The tree comes from ``GET /api/v1/categories`` (retired categories left out: they
take no new lots) and is shown in tree order, each category indented under its
parent. A page that cannot get the tree still works: the listing form falls back to
typing the slug, the catalogue to the facets' own order, a lot to its slug.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from auction_platform.contracts.categories import Category, children, from_tree, index, path_of
from auction_platform.services.web.client import ApiProblem
from auction_platform.services.web.site import Visit

log = logging.getLogger("auction_platform.web")

INDENT = "\u2003"  # an em space per level: the options of a select cannot be styled


@dataclass(frozen=True, slots=True)
class Choice:
    """One option of a category select."""

    value: str
    label: str
    depth: int
    selected: bool = False


async def category_tree(visit: Visit, *, include_retired: bool = False) -> list[Category] | None:
    """The categories (those that take lots, unless asked), or None when it cannot be had now."""
    params = {"include_retired": "true"} if include_retired else {}
    try:
        answer = await visit.api("GET", "/api/v1/categories", params=params)
    except (ApiProblem, OSError) as problem:
        log.warning("category tree unavailable for a page: %s", problem)
        return None
    return from_tree(answer["categories"])


def in_tree_order(categories: Iterable[Category]) -> list[tuple[Category, int]]:
    """Every category with its depth, parents before their children, siblings in order."""
    below = children(categories)
    ordered: list[tuple[Category, int]] = []

    def walk(parent: str | None, depth: int) -> None:
        for category in below.get(parent, []):
            ordered.append((category, depth))
            walk(category.slug, depth + 1)

    walk(None, 0)
    return ordered


def _options(categories: Iterable[Category], chosen: str | None) -> list[Choice]:
    """An option per category, in tree order, each indented under its parent."""
    return [
        Choice(c.slug, INDENT * depth + c.name, depth, c.slug == chosen)
        for c, depth in in_tree_order(categories)
    ]


def choices(categories: Iterable[Category], chosen: str) -> list[Choice]:
    """The select's options; a chosen slug the tree does not offer stays, marked so."""
    found = _options(categories, chosen)
    if chosen and not any(choice.selected for choice in found):
        found.append(Choice(chosen, f"{chosen} (no longer offered)", 0, True))
    return found


def facet_choices(facets: Iterable[Mapping[str, Any]], chosen: str | None) -> list[Choice]:
    """The catalogue's category filter from the search facets: each under its parent.

    Siblings come by hits, most first (their position is minus their count); a facet
    whose parent has no hits of its own is shown at the top.
    """
    facets = list(facets)
    present = {str(f["value"]) for f in facets}
    nodes = [
        Category(
            str(f["value"]),
            f"{f.get('name') or f['value']} ({f['count']})",
            f.get("parent") if f.get("parent") in present else None,
            -int(f["count"]),
        )
        for f in facets
    ]
    return _options(nodes, chosen)


def trail(categories: Iterable[Category] | None, slug: str) -> list[tuple[str, str]]:
    """A lot's category and its ancestors, from the top: (slug, name) each."""
    if categories is None:
        return [(slug, slug)]
    known = index(categories)
    return [
        (step, known[step].name if step in known else step)
        for step in path_of(known.values(), slug)
    ]
