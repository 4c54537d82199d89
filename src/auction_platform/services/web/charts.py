"""Charts drawn on the server as inline SVG: bars and lines, each with its figures in a table.

No script and no other host: a chart is markup in the page, styled by the site's
stylesheet (``.chart``, ``.bar``, ``.line``, ``.dot``, ``.axis``). To assistive
technology each chart is one image (``role="img"``, ``aria-label``, ``<title>``,
``<desc>`` with a summary), followed by a visually hidden table of every value.
Values are counts and amounts, drawn from zero up; ``None`` is "no value" (a gap
in a line, no bar).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup

Point = tuple[str, float | None]
Format = Callable[[float], str]

WIDTH, HEIGHT = 600, 260
LEFT, RIGHT, TOP, BOTTOM = 60, 16, 38, 50
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
MOST_LABELS = 8  # x labels shown at most; the table has every one
NICE_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)


def plain(value: float) -> str:
    """``3``, ``2.5``, ``1,250``: a number as a table shows it."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}".rstrip("0")


def compact(value: float) -> str:
    """``950``, ``1.5k``, ``20k``, ``3M``: a number short enough for an axis."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.1f}".rstrip("0").rstrip(".") + suffix
    return plain(value)


def nice_step(raw: float, *, whole: bool = False) -> float:
    """The smallest of 1, 2, 2.5 and 5 times a power of ten at or above ``raw``.

    ``whole`` keeps to whole numbers (and so skips 2.5 below 10): a count's axis
    never reads 1.25 bids.
    """
    if raw <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in NICE_STEPS:
        step = factor * power
        if whole and (step < 1 or not step.is_integer()):
            continue
        if step >= raw * (1 - 1e-9):
            return step
    return 10.0 * power  # pragma: no cover (10 x power always fits)


@dataclass(frozen=True, slots=True)
class Scale:
    """The value axis: from zero to ``top`` in even ``step``s."""

    top: float
    step: float

    @property
    def ticks(self) -> list[float]:
        """The values the axis marks, zero first."""
        count = round(self.top / self.step)
        return [self.step * i for i in range(count + 1)]

    def y(self, value: float) -> float:
        """Where ``value`` sits, in SVG units from the top of the chart."""
        share = min(max(value, 0.0), self.top) / self.top
        return round(TOP + PLOT_H * (1 - share), 2)


def scale_for(values: Sequence[float | None], *, top: float | None = None, ticks: int = 4) -> Scale:
    """An axis that fits ``values`` in about ``ticks`` nice steps (or up to a fixed ``top``)."""
    known = [v for v in values if v is not None]
    if top is not None:
        return Scale(top, top / ticks)
    highest = max(known, default=0.0)
    whole = all(float(v).is_integer() for v in known)
    step = nice_step(highest / ticks, whole=whole) if highest > 0 else 1.0
    return Scale(step * max(1, math.ceil(highest / step - 1e-9)), step)


def label_every(count: int, most: int = MOST_LABELS) -> int:
    """Show every n-th x label so at most ``most`` are shown."""
    return max(1, math.ceil(count / most))


def _shorten(label: str, room: float) -> str:
    fits = max(3, int(room / 9))  # characters of about 9 units (a phone's larger type)
    return label if len(label) <= fits else label[: fits - 1] + "…"


def _summary(points: Sequence[Point], fmt: Format) -> str:
    known: list[tuple[str, float]] = [(lbl, v) for lbl, v in points if v is not None]
    if not known:
        return "No data for this period."
    label, value = max(known, key=lambda point: point[1])
    span = f"{len(points)} values, {points[0][0]} to {points[-1][0]}" if len(points) > 1 else ""
    highest = f"Highest: {label}, {fmt(value)}."
    return f"{span}. {highest}" if span else highest


def _frame(
    points: Sequence[Point],
    scale: Scale,
    *,
    title: str,
    description: str,
    value_name: str,
    label_name: str,
    fmt: Format,
    tick: Format,
    marks: list[Markup],
) -> Markup:
    """The SVG around ``marks``: title, summary, grid, axes, labels; then the table."""
    band = PLOT_W / max(1, len(points))
    summary = " ".join(part for part in (description, _summary(points, fmt)) if part)
    parts = [
        Markup(
            '<figure class="chart-figure"><svg class="chart" viewBox="0 0 {} {}" role="img" '
            'aria-label="{}" xmlns="http://www.w3.org/2000/svg"><title>{}</title><desc>{}</desc>'
        ).format(WIDTH, HEIGHT, title, title, summary),
        Markup('<text class="axis-title" x="6" y="{}" text-anchor="start">{}</text>').format(
            TOP - 18, value_name
        ),
    ]
    for value in scale.ticks:
        y = scale.y(value)
        parts.append(
            Markup(
                '<line class="grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
                '<text x="{}" y="{}" text-anchor="end">{}</text>'
            ).format(LEFT, WIDTH - RIGHT, y, y, LEFT - 6, y + 4, tick(value))
        )
    parts.extend(marks)
    every = label_every(len(points))
    for i, (label, _) in enumerate(points):
        if i % every == 0:
            # Of many labels every other is "minor": a narrow screen hides it (site.css).
            many = len(points) > MOST_LABELS
            minor = Markup(' class="minor"') if many and (i // every) % 2 else Markup("")
            parts.append(
                Markup('<text{} x="{}" y="{}" text-anchor="middle">{}</text>').format(
                    minor,
                    round(LEFT + band * (i + 0.5), 2),
                    HEIGHT - BOTTOM + 22,
                    _shorten(label, band * every),
                )
            )
    base = scale.y(0)
    parts.append(
        Markup('<line class="axis" x1="{}" x2="{}" y1="{}" y2="{}"/>').format(
            LEFT, WIDTH - RIGHT, base, base
        )
    )
    if label_name:
        parts.append(
            Markup('<text class="axis-title" x="{}" y="{}" text-anchor="middle">{}</text>').format(
                LEFT + PLOT_W / 2, HEIGHT - 6, label_name
            )
        )
    if not any(value is not None for _, value in points):
        parts.append(
            Markup(
                '<text class="empty" x="{}" y="{}" text-anchor="middle">'
                "No data for this period</text>"
            ).format(LEFT + PLOT_W / 2, TOP + PLOT_H / 2)
        )
    parts.append(Markup("</svg>"))
    parts.append(_table(points, title=title, value_name=value_name, label_name=label_name, fmt=fmt))
    parts.append(Markup("</figure>"))
    return Markup("").join(parts)


def _table(
    points: Sequence[Point], *, title: str, value_name: str, label_name: str, fmt: Format
) -> Markup:
    row = Markup('<tr><th scope="row">{}</th><td>{}</td></tr>')
    rows = [row.format(label, "No data" if v is None else fmt(v)) for label, v in points]
    if not rows:
        rows = [Markup('<tr><td colspan="2">No data for this period</td></tr>')]
    return Markup(
        # The wrapper hides it: a table cannot be made smaller than its rows.
        '<div class="visually-hidden"><table><caption>{}</caption><thead><tr>'
        '<th scope="col">{}</th><th scope="col">{}</th></tr></thead><tbody>{}</tbody>'
        "</table></div>"
    ).format(title, label_name or "Label", value_name or "Value", Markup("").join(rows))


def bar_chart(
    points: Sequence[Point],
    *,
    title: str,
    description: str = "",
    value_name: str = "",
    label_name: str = "",
    format_value: Format = plain,
    format_tick: Format | None = None,
    top: float | None = None,
) -> Markup:
    """One bar per point, its value above it when there is room (and a bar)."""
    scale = scale_for([value for _, value in points], top=top)
    band = PLOT_W / max(1, len(points))
    marks: list[Markup] = []
    for i, (label, value) in enumerate(points):
        if value is None:
            continue
        y = scale.y(value)
        marks.append(
            Markup(
                '<rect class="bar" x="{}" y="{}" width="{}" height="{}">'
                "<title>{}: {}</title></rect>"
            ).format(
                round(LEFT + band * (i + 0.15), 2),
                y,
                round(band * 0.7, 2),
                round(scale.y(0) - y, 2),
                label,
                format_value(value),
            )
        )
        if band >= 40 and value > 0:  # a zero needs no label over no bar
            marks.append(
                Markup('<text class="value" x="{}" y="{}" text-anchor="middle">{}</text>').format(
                    round(LEFT + band * (i + 0.5), 2), y - 5, format_value(value)
                )
            )
    return _frame(
        points,
        scale,
        title=title,
        description=description,
        value_name=value_name,
        label_name=label_name,
        fmt=format_value,
        tick=format_tick or format_value,
        marks=marks,
    )


def line_chart(
    points: Sequence[Point],
    *,
    title: str,
    description: str = "",
    value_name: str = "",
    label_name: str = "",
    format_value: Format = plain,
    format_tick: Format | None = None,
    top: float | None = None,
) -> Markup:
    """A line through the points, broken where a value is missing, a dot on each."""
    scale = scale_for([value for _, value in points], top=top)
    band = PLOT_W / max(1, len(points))
    segments: list[list[tuple[float, float]]] = [[]]
    dots: list[Markup] = []
    for i, (label, value) in enumerate(points):
        if value is None:
            segments.append([])
            continue
        x, y = round(LEFT + band * (i + 0.5), 2), scale.y(value)
        segments[-1].append((x, y))
        dots.append(
            Markup(
                '<circle class="dot" cx="{}" cy="{}" r="4.5"><title>{}: {}</title></circle>'
            ).format(x, y, label, format_value(value))
        )
    paths = [
        Markup('<path class="line" d="{}"/>').format(
            " ".join(f"{'M' if j == 0 else 'L'}{x} {y}" for j, (x, y) in enumerate(segment))
        )
        for segment in segments
        if len(segment) > 1
    ]
    return _frame(
        points,
        scale,
        title=title,
        description=description,
        value_name=value_name,
        label_name=label_name,
        fmt=format_value,
        tick=format_tick or format_value,
        marks=paths + dots,
    )
