"""The category tree: what a lot may be listed under, kept by admins.

A category has a slug (its id in URLs, listings and search filters, never changed),
a name people read (renamed at will), a parent (none for a top-level one) and a
position among its siblings. Admins add, rename, move and retire categories. A
retired category keeps its lots and stays in the tree for them (marked retired), but
takes no new listing and no relisting; it can be restored. Moving a category under
itself or one of its own descendants is refused (the tree would become a cycle).

Readers of the catalogue see a category as the union of itself and its descendants:
browsing "home" lists the lots of "kitchen" too, and counts roll up the same way
(``contracts.categories``: the nodes and the tree as services share them).

Pure functions over a snapshot of the categories (the handlers read it in the same
transaction as the change). Standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from auction_platform.contracts.categories import Category, children, index, subtree
from auction_platform.core.failures import Invalid, NotFound

NAME_MAX = 60
MAX_DEPTH = 4  # top level, and three below it
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_name(name: str) -> str:
    """A name of 1 to ``NAME_MAX`` characters, without control characters."""
    name = " ".join(name.split())
    if not name or len(name) > NAME_MAX or _CONTROL.search(name):
        raise Invalid(
            "invalid_category_name",
            f"a category's name is 1-{NAME_MAX} characters without control characters",
        )
    return name


def no_such_category(slug: str) -> NotFound:
    return NotFound("no_such_category", f"there is no category {slug!r}")


def listable(categories: Iterable[Category], slug: str) -> Category:
    """The category a lot is listed under: it must exist, and neither it nor an ancestor
    be retired."""
    by_slug = index(categories)
    found = by_slug.get(slug)
    if found is None:
        raise Invalid("unknown_category", f"there is no category {slug!r}; see /api/v1/categories")
    node: Category | None = found
    while node is not None:
        if node.retired:
            raise Invalid("category_retired", f"the category {slug!r} takes no new lots")
        node = by_slug.get(node.parent) if node.parent is not None else None
    return found


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
    by_slug = index(categories)
    if parent not in by_slug:
        raise Invalid("unknown_category", f"there is no category {parent!r} to put it under")
    if parent in subtree(categories, slug):
        raise Invalid("category_cycle", "a category cannot go under itself or its descendants")
    below = children(categories)
    if _depth_of(by_slug, parent) + 1 + _depth_below(below, slug) > MAX_DEPTH:
        raise Invalid("category_too_deep", f"the tree is at most {MAX_DEPTH} levels deep")
    return parent


# Each kind of change as the audit trail names it; a change of several is ``changed``.
_CHANGE_ACTIONS = {
    "name": "category.renamed",
    "parent": "category.moved",
    "position": "category.repositioned",
}


def changes(was: Category, now: Category) -> tuple[str, dict[str, dict[str, object]]]:
    """How an admin's edit changed a category, for the audit trail: its action and,
    per field changed, the value before and after."""
    fields = {
        name: {"from": getattr(was, name), "to": getattr(now, name)}
        for name in ("name", "parent", "position", "retired")
        if getattr(was, name) != getattr(now, name)
    }
    if list(fields) == ["retired"]:
        return ("category.retired" if now.retired else "category.restored"), fields
    if len(fields) == 1:
        return _CHANGE_ACTIONS[next(iter(fields))], fields
    return "category.changed", fields
