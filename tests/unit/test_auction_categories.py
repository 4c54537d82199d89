"""The category tree's rules: listable, cycles and depth, subtrees, roll-ups and the JSON tree."""

from __future__ import annotations

import pytest

from auction_platform.contracts.categories import (
    Category,
    as_tree,
    from_tree,
    path_of,
    roll_up,
    subtree,
)
from auction_platform.core.failures import Invalid
from auction_platform.services.auction.categories import (
    MAX_DEPTH,
    check_name,
    check_parent,
    listable,
)

TREE = [
    Category("home", "Home & living", None, 1),
    Category("kitchen", "Kitchen", "home", 1),
    Category("knives", "Knives", "kitchen", 0),
    Category("clocks", "Clocks", "home", 0),
    Category("art", "Art", None, 0),
    Category("old", "Old things", None, 2, retired=True),
    Category("older", "Older things", "old", 0),
]


def test_a_lot_is_listed_under_a_category_that_exists_and_is_not_retired() -> None:
    assert listable(TREE, "knives").name == "Knives"
    with pytest.raises(Invalid) as unknown:
        listable(TREE, "boats")
    assert unknown.value.code == "unknown_category"
    for slug in ("old", "older"):  # retired, or under a retired one
        with pytest.raises(Invalid) as retired:
            listable(TREE, slug)
        assert retired.value.code == "category_retired"


def test_a_subtree_is_the_category_and_everything_under_it() -> None:
    assert subtree(TREE, "home") == {"home", "kitchen", "knives", "clocks"}
    assert subtree(TREE, "knives") == {"knives"}
    assert subtree(TREE, "boats") == {"boats"}


def test_counts_roll_up_along_the_tree() -> None:
    rolled = roll_up(TREE, {"knives": 2, "kitchen": 1, "clocks": 4, "art": 3, "gone": 5})
    assert rolled["home"] == 7 and rolled["kitchen"] == 3 and rolled["knives"] == 2
    assert rolled["art"] == 3 and rolled["old"] == 0
    assert rolled["gone"] == 5  # a category the tree no longer knows keeps its count


@pytest.mark.parametrize(
    ("slug", "parent", "code"),
    [
        ("home", "knives", "category_cycle"),
        ("home", "home", "category_cycle"),
        ("kitchen", "boats", "unknown_category"),
    ],
)
def test_a_move_that_would_break_the_tree_is_refused(slug: str, parent: str, code: str) -> None:
    with pytest.raises(Invalid) as refused:
        check_parent(TREE, slug, parent)
    assert refused.value.code == code


def test_the_tree_stays_at_most_max_depth_levels_deep() -> None:
    chain = [Category(f"c{i}", f"C{i}", f"c{i - 1}" if i else None) for i in range(MAX_DEPTH)]
    assert check_parent([*chain, Category("x1", "X")], "x1", f"c{MAX_DEPTH - 2}")
    with pytest.raises(Invalid) as deep:
        check_parent([*chain, Category("x1", "X")], "x1", f"c{MAX_DEPTH - 1}")
    assert deep.value.code == "category_too_deep"
    # A category moves with its subtree: the subtree's depth counts.
    assert check_parent(TREE, "home", "art") == "art"  # art > home > kitchen > knives
    assert check_parent([*TREE, *chain], "kitchen", "c1") == "c1"  # c0 > c1 > kitchen > knives
    with pytest.raises(Invalid):
        check_parent([*TREE, *chain], "kitchen", "c2")  # knives would be 5 deep
    assert check_parent(TREE, "kitchen", None) is None


def test_the_json_tree_orders_siblings_by_position_and_can_leave_out_the_retired() -> None:
    tree = as_tree(TREE)
    assert [node["slug"] for node in tree] == ["art", "home", "old"]
    home = tree[1]
    assert [child["slug"] for child in home["children"]] == ["clocks", "kitchen"]
    assert home["children"][1]["children"][0]["path"] == ["home", "kitchen", "knives"]
    assert tree[2]["retired"] is True
    assert [node["slug"] for node in as_tree(TREE, include_retired=False)] == ["art", "home"]


def test_the_json_tree_reads_back_as_the_same_categories() -> None:
    assert sorted(from_tree(as_tree(TREE)), key=lambda c: c.slug) == sorted(
        TREE, key=lambda c: c.slug
    )


def test_a_path_runs_from_the_top_down() -> None:
    assert path_of(TREE, "knives") == ["home", "kitchen", "knives"]
    assert path_of(TREE, "boats") == ["boats"]


@pytest.mark.parametrize("name", ["", "   ", "x" * 61, "bad\x00name"])
def test_a_name_is_short_printable_text(name: str) -> None:
    with pytest.raises(Invalid) as refused:
        check_name(name)
    assert refused.value.code == "invalid_category_name"
    assert check_name("  Cameras   &  photo ") == "Cameras & photo"
