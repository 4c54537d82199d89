"""Charts drawn on the server: scales that read well, empty data, escaped labels, a table."""

from __future__ import annotations

import re
from xml.etree import ElementTree

import pytest

from auction_platform.services.web import charts
from auction_platform.services.web.charts import bar_chart, line_chart, scale_for

SVG = "{http://www.w3.org/2000/svg}"


def parsed(markup: str) -> ElementTree.Element:
    """The chart's markup as XML: it must be well formed to be drawn at all."""
    return ElementTree.fromstring(markup)  # noqa: S314 (our own markup, not a stranger's)


@pytest.mark.parametrize(
    ("raw", "whole", "step"),
    [
        (0.75, True, 1.0),
        (3, True, 5.0),
        (2.2, True, 5.0),
        (2.2, False, 2.5),
        (3812.5, True, 5000.0),
        (0.03, False, 0.05),
        (0, True, 1.0),
    ],
)
def test_steps_are_one_two_two_and_a_half_or_five_times_a_power_of_ten(
    raw: float, whole: bool, step: float
) -> None:
    assert charts.nice_step(raw, whole=whole) == pytest.approx(step)


def test_a_count_axis_has_whole_steps_and_just_covers_the_highest_value() -> None:
    three = scale_for([1, 3, None])
    assert (three.top, three.ticks) == (3, [0, 1, 2, 3])
    gmv = scale_for([15_250, 800])
    assert (gmv.top, gmv.ticks) == (20_000, [0, 5_000, 10_000, 15_000, 20_000])
    assert scale_for([0.4, 0.9], top=1.0).ticks == [0, 0.25, 0.5, 0.75, 1.0]


def test_values_map_from_the_baseline_up_to_the_top() -> None:
    scale = scale_for([10, 5])
    assert scale.y(0) == charts.TOP + charts.PLOT_H
    assert scale.y(scale.top) == charts.TOP
    assert scale.y(5) == pytest.approx(charts.TOP + charts.PLOT_H / 2)
    assert scale.y(-3) == scale.y(0)  # nothing is drawn below the axis


def test_nothing_to_show_is_an_axis_from_zero_to_one() -> None:
    empty = scale_for([])
    assert (empty.top, empty.ticks) == (1, [0, 1])
    assert scale_for([0, 0, None]).top == 1


def test_a_bar_chart_is_an_accessible_image_with_a_bar_per_value() -> None:
    drawn = bar_chart(
        [("1 Mar", 3), ("2 Mar", None), ("3 Mar", 1)],
        title="Bids per day",
        description="Every bid on every lot.",
        value_name="Bids",
        label_name="Day",
    )
    figure = parsed(drawn)
    svg = figure.find(f"{SVG}svg")
    assert svg is not None
    assert (svg.get("role"), svg.get("aria-label")) == ("img", "Bids per day")
    assert svg.findtext(f"{SVG}title") == "Bids per day"
    desc = svg.findtext(f"{SVG}desc") or ""
    assert desc.startswith("Every bid on every lot.")
    assert "Highest: 1 Mar, 3." in desc
    bars = svg.findall(f"{SVG}rect")
    assert [bar.findtext(f"{SVG}title") for bar in bars] == ["1 Mar: 3", "3 Mar: 1"]
    heights = [float(bar.get("height", 0)) for bar in bars]
    assert heights[0] == pytest.approx(charts.PLOT_H)
    assert heights[1] == pytest.approx(charts.PLOT_H / 3, abs=0.01)
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert "Bids" in texts and "Day" in texts  # the axes are named


def test_the_figures_follow_in_a_hidden_table_for_screen_readers() -> None:
    drawn = line_chart(
        [("1 Mar", 0.5), ("2 Mar", None)],
        title="Sell-through per day",
        value_name="Sell-through",
        label_name="Day",
        format_value=lambda v: f"{v:.0%}",
    )
    hidden = parsed(drawn).find("div")
    assert hidden is not None and hidden.get("class") == "visually-hidden"
    table = hidden.find("table")
    assert table is not None
    assert table.findtext("caption") == "Sell-through per day"
    assert [(th.text, th.get("scope")) for th in table.iter("th")][:2] == [
        ("Day", "col"),
        ("Sell-through", "col"),
    ]
    rows = [
        (row.findtext("th"), row.findtext("td"))
        for row in table.iter("tr")
        if row.find("td") is not None
    ]
    assert rows == [("1 Mar", "50%"), ("2 Mar", "No data")]


def test_a_line_breaks_where_a_value_is_missing() -> None:
    drawn = line_chart(
        [("a", 1), ("b", 2), ("c", None), ("d", 2), ("e", 4), ("f", None), ("g", 3)],
        title="Gaps",
    )
    svg = parsed(drawn).find(f"{SVG}svg")
    assert svg is not None
    paths = [path.get("d", "") for path in svg.iter(f"{SVG}path")]
    assert len(paths) == 2  # a-b and d-e; g stands alone, as a dot
    assert all(path.count("M") == 1 and path.count("L") == 1 for path in paths)
    assert len(svg.findall(f"{SVG}circle")) == 5


def test_empty_data_says_so_in_the_chart_and_the_table() -> None:
    for draw in (bar_chart, line_chart):
        figure = parsed(draw([], title="Nothing yet"))
        svg = figure.find(f"{SVG}svg")
        assert svg is not None
        assert svg.findtext(f"{SVG}desc") == "No data for this period."
        assert "No data for this period" in [t.text for t in svg.iter(f"{SVG}text")]
        assert svg.findall(f"{SVG}rect") == [] and svg.findall(f"{SVG}path") == []
        table = figure.find("div/table")
        assert table is not None
        assert table.findtext("tbody/tr/td") == "No data for this period"


def test_labels_and_titles_are_escaped() -> None:
    nasty = '<script>alert("x")</script> & "quotes"'
    for draw in (bar_chart, line_chart):
        drawn = str(draw([(nasty, 2)], title=nasty, value_name=nasty, label_name=nasty))
        assert "<script>" not in drawn
        assert "&lt;script&gt;" in drawn
        assert 'aria-label="&lt;script&gt;alert(&#34;x&#34;)' in drawn
        figure = parsed(drawn)  # still well formed
        svg = figure.find(f"{SVG}svg")
        assert svg is not None and svg.findtext(f"{SVG}title") == nasty


def test_many_labels_are_thinned_and_long_ones_shortened() -> None:
    days = [(f"{d} Mar", d) for d in range(1, 31)]
    svg = parsed(bar_chart(days, title="Thirty days")).find(f"{SVG}svg")
    assert svg is not None
    shown = [t.text or "" for t in svg.iter(f"{SVG}text") if re.fullmatch(r"\d+ Mar", t.text or "")]
    assert shown == ["1 Mar", "5 Mar", "9 Mar", "13 Mar", "17 Mar", "21 Mar", "25 Mar", "29 Mar"]
    long = [("photography equipment and accessories", 3), ("clocks", 1)] * 5
    svg = parsed(bar_chart(long, title="Categories")).find(f"{SVG}svg")
    assert svg is not None
    assert any((t.text or "").endswith("…") for t in svg.iter(f"{SVG}text"))


def test_numbers_are_short_on_axes_and_plain_in_tables() -> None:
    assert [charts.compact(v) for v in (950, 1_500, 20_000, 3_000_000, 2.5)] == [
        "950",
        "1.5k",
        "20k",
        "3M",
        "2.5",
    ]
    assert [charts.plain(v) for v in (1_250, 2.5, 0.25, 3.0)] == ["1,250", "2.5", "0.25", "3"]
