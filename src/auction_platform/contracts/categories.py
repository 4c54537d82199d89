"""The category tree as services share it: nodes, subtrees, roll-ups, the JSON tree.

The auction service keeps the tree (``services.auction.categories`` holds its rules);
``GET /api/v1/categories`` serves it as ``as_tree`` makes it, and readers elsewhere
(search, the site) turn that answer back into nodes with ``from_tree``. A category
stands for itself and its descendants: a filter on "home" matches "kitchen" too
(``subtree``), and counts roll up the same way (``roll_up``).

Standard library only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Category:
    """One node of the tree."""

    slug: str
    name: str
    parent: str | None = None
    position: int = 0
    retired: bool = False


def index(categories: Iterable[Category]) -> dict[str, Category]:
    """The categories by slug."""
    return {category.slug: category for category in categories}


def children(categories: Iterable[Category]) -> dict[str | None, list[Category]]:
    """Each category's children (None: the top level), siblings in position order."""
    below: dict[str | None, list[Category]] = defaultdict(list)
    for category in categories:
        below[category.parent].append(category)
    for siblings in below.values():
        siblings.sort(key=lambda c: (c.position, c.name.casefold(), c.slug))
    return below


def subtree(categories: Iterable[Category], slug: str) -> set[str]:
    """``slug`` and the slugs of all its descendants."""
    below = children(categories)
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
    below = children(nodes)
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
    """The tree as JSON: each node with its ``path`` and ``children``, in position order."""
    below = children(categories)

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
    known = index(categories)
    path: list[str] = []
    node: str | None = slug
    while node is not None and node not in path:
        path.insert(0, node)
        node = known[node].parent if node in known else None
    return path


def from_tree(nodes: Iterable[Mapping[str, Any]]) -> list[Category]:
    """The categories of a tree as ``as_tree`` (and so ``/api/v1/categories``) gives it."""
    found: list[Category] = []
    stack = list(nodes)
    while stack:
        node = stack.pop()
        parent = node.get("parent")
        found.append(
            Category(
                slug=str(node["slug"]),
                name=str(node["name"]),
                parent=str(parent) if parent is not None else None,
                position=int(node.get("position", 0)),
                retired=bool(node.get("retired", False)),
            )
        )
        stack.extend(node.get("children", []))
    return found
