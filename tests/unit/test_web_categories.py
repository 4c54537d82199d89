"""The category tree on the site: the seller's options, the catalogue's filter, a lot's trail."""

from __future__ import annotations

from auction_platform.contracts.categories import Category
from auction_platform.services.web.categories import INDENT, choices, facet_choices, trail

TREE = [
    Category("home", "Home & living", None, 1),
    Category("kitchen", "Kitchen", "home", 0),
    Category("knives", "Knives", "kitchen", 0),
    Category("art", "Art", None, 0),
]


def test_the_sellers_options_follow_the_tree_each_under_its_parent() -> None:
    found = choices(TREE, "kitchen")
    assert [(c.value, c.label) for c in found] == [
        ("art", "Art"),
        ("home", "Home & living"),
        ("kitchen", f"{INDENT}Kitchen"),
        ("knives", f"{INDENT * 2}Knives"),
    ]
    assert [c.value for c in found if c.selected] == ["kitchen"]


def test_a_category_no_longer_offered_stays_chosen_on_an_edit() -> None:
    found = choices(TREE, "lamps")
    assert found[-1].value == "lamps" and found[-1].selected
    assert found[-1].label == "lamps (no longer offered)"
    assert not any(c.selected for c in choices(TREE, ""))


def test_the_catalogue_filter_nests_facets_and_ranks_siblings_by_hits() -> None:
    facets = [
        {"value": "home", "name": "Home & living", "parent": None, "count": 3},
        {"value": "art", "name": "Art", "parent": None, "count": 5},
        {"value": "kitchen", "name": "Kitchen", "parent": "home", "count": 1},
        {"value": "clocks", "name": "Clocks", "parent": "home", "count": 2},
        {"value": "knives", "name": "Knives", "parent": "gone", "count": 1},
    ]
    found = facet_choices(facets, "clocks")
    assert [(c.value, c.label) for c in found] == [
        ("art", "Art (5)"),
        ("home", "Home & living (3)"),
        ("clocks", f"{INDENT}Clocks (2)"),
        ("kitchen", f"{INDENT}Kitchen (1)"),
        ("knives", "Knives (1)"),  # its parent has no hits: shown at the top
    ]
    assert [c.value for c in found if c.selected] == ["clocks"]


def test_a_lots_trail_runs_from_the_top_with_names() -> None:
    assert trail(TREE, "knives") == [
        ("home", "Home & living"),
        ("kitchen", "Kitchen"),
        ("knives", "Knives"),
    ]
    assert trail(None, "knives") == [("knives", "knives")]  # the tree could not be had
