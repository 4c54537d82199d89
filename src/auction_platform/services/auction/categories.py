"""The category tree: what a lot may be listed under, kept by admins.

A category has a slug (its id in URLs, listings and search filters, never changed),
a name people read (renamed at will), a parent (none for a top-level one) and a
position among its siblings. Admins add, rename, move and retire categories. A
retired category keeps its lots and stays in the tree for them (marked retired), but
takes no new listing and no relisting; it can be restored. Moving a category under
itself or one of its own descendants is refused (the tree would become a cycle).

Readers of the catalogue see a category as the union of itself and its descendants:
browsing "home" lists the lots of "kitchen" too, and counts roll up the same way
(``subtree``, ``roll_up``).

Pure functions over a snapshot of the categories (the handlers read it in the same
transaction as the change). Standard library only.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from auction_platform.core.failures import Invalid, NotFound

NAME_MAX = 60
MAX_DEPTH = 4  # top level, and three below it
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Category:
    """One node of the tree."""

    slug: str
    name: str
    parent: str | None = None
    position: int = 0
    retired: bool = False


def check_name(name: str) -> str:
    """A name of 1 to ``NAME_MAX`` characters, without control characters."""
    name = " ".join(name.split())
    if not name or len(name) > NAME_MAX or _CONTROL.search(name):
        raise Invalid(
            "invalid_category_name",
            f"a category's name is 1-{NAME_MAX} characters without control characters",
        )
    return name


def _by_slug(categories: Iterable[Category]) -> dict[str, Category]:
    return {category.slug: category for category in categories}


def _children(categories: Iterable[Category]) -> dict[str | None, list[Category]]:
    below: dict[str | None, list[Category]] = defaultdict(list)
    for category in categories:
        below[category.parent].append(category)
    for siblings in below.values():
        siblings.sort(key=lambda c: (c.position, c.name.casefold(), c.slug))
    return below


def no_such_category(slug: str) -> NotFound:
    return NotFound("no_such_category", f"there is no category {slug!r}")


def listable(categories: Iterable[Category], slug: str) -> Category:
    """The category a lot is listed under: it must exist and not be retired."""
    found = _by_slug(categories).get(slug)
    if found is None:
        raise Invalid("unknown_category", f"there is no category {slug!r}; see /api/v1/categories")
    if retired(categories, slug):
        raise Invalid("category_retired", f"the category {slug!r} takes no new lots")
    return found


def retired(categories: Iterable[Category], slug: str) -> bool:
    """True when the category or one of its ancestors is retired."""
    by_slug = _by_slug(categories)
    node = by_slug.get(slug)
    while node is not None:
        if node.retired:
            return True
        node = by_slug.get(node.parent) if node.parent is not None else None
    return False


def _depth_below(below: Mapping[str | None, list[Category]], slug: str) -> int:
    """Levels under ``slug`` (0 for a leaf)."""
    return max((1 + _depth_below(below, c.slug) for c in below.get(slug, [])), default=0)


def _depth_of(by_slug: Mapping[str, Category], slug: str | None) -> int:
    """Levels from the top down to ``slug`` (1 for a top-level one; 0 for no parent)."""
    depth = 0
    while slug is not None:
        depth += 1
        slug = by_slug[slug].parent
    return depth


def check_parent(categories: Sequence[Category], slug: str, parent: str | None) -> str | None:
    """``parent`` as the new parent of ``slug`` (None: top level), or why not.

    The parent must exist; it cannot be the category itself or one of its
    descendants (a cycle); the tree stays at most ``MAX_DEPTH`` levels deep.
    """
    if parent is None:
        return None
    by_slug = _by_slug(categories)
    if parent not in by_slug:
        raise Invalid("unknown_category", f"there is no category {parent!r} to put it under")
    if parent in subtree(categories, slug):
        raise Invalid("category_cycle", "a category cannot go under itself or its descendants")
    below = _children(categories)
    if _depth_of(by_slug, parent) + 1 + _depth_below(below, slug) > MAX_DEPTH:
        raise Invalid("category_too_deep", f"the tree is at most {MAX_DEPTH} levels deep")
    return parent


def subtree(categories: Iterable[Category], slug: str) -> set[str]:
    """``slug`` and the slugs of all its descendants."""
    below = _children(categories)
    found, stack = set(), [slug]
    while stack:
        node = stack.pop()
        if node in found:
            continue
        found.add(node)
        stack.extend(child.slug for child in below.get(node, []))
    return found


def roll_up(categories: Iterable[Category], counts: Mapping[str, int]) -> dict[str, int]:
    """Each category's count with its descendants' added (categories unknown to the tree kept)."""
    nodes = list(categories)
    below = _children(nodes)
    total: dict[str, int] = {}

    def visit(slug: str) -> int:
        if slug not in total:
            total[slug] = counts.get(slug, 0) + sum(visit(c.slug) for c in below.get(slug, []))
        return total[slug]

    for node in nodes:
        visit(node.slug)
    for slug, count in counts.items():
        total.setdefault(slug, count)
    return total


def as_tree(
    categories: Iterable[Category], *, include_retired: bool = True
) -> list[dict[str, Any]]:
    """The tree as JSON: each node with its ``children``, siblings in position order."""
    nodes = list(categories)
    below = _children(nodes)

    def node(category: Category, path: list[str]) -> dict[str, Any]:
        here = [*path, category.slug]
        return {
            "slug": category.slug,
            "name": category.name,
            "parent": category.parent,
            "position": category.position,
            "retired": category.retired,
            "path": here,
            "children": [
                node(child, here)
                for child in below.get(category.slug, [])
                if include_retired or not child.retired
            ],
        }

    return [node(top, []) for top in below.get(None, []) if include_retired or not top.retired]


def path_of(categories: Iterable[Category], slug: str) -> list[str]:
    """The slugs from the top of the tree down to ``slug`` ([slug] when unknown)."""
    by_slug = _by_slug(categories)
    path: list[str] = []
    node: str | None = slug
    while node is not None and node not in path:
        path.insert(0, node)
        node = by_slug[node].parent if node in by_slug else None
    return path
