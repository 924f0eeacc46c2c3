"""Server-rendered SVG charts: pictures that need no script and pass a strict CSP (colours are
presentation attributes, not style). Each chart has a <title> and <desc>; the page also shows
the numbers as a table for screen readers and copying.

The drawing is 420 units wide, so on a 390 px phone (about 330 px of chart) its 15-unit text is
about 12 px: a 600-unit drawing's 14-unit text came out at about 7 px. Week labels are thinned
to fit; bar labels sit above their bars, so long category names need no margin."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

FONT = 'font-family="system-ui, sans-serif" font-size="15" fill="#1b1b1b"'
WIDTH = 420
LABEL_UNITS = 46  # room one week label ("28 Sep") needs along the axis


@dataclass(frozen=True)
class Series:
    name: str
    colour: str
    values: Sequence[float]


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step * 4:
            return step * 4 if value > step * 2 else step * 2 if value > step else step
    return value


def _format(value: float) -> str:
    if float(value).is_integer():
        return f"{value:.0f}"
    return f"{value:.2f}".rstrip("0")


def _frame(chart_id: str, title: str, desc: str, width: int, height: int, body: str) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'class="chart" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" '
        f'preserveAspectRatio="xMinYMin meet">'
        f'<title id="{chart_id}-t">{escape(title)}</title>'
        f'<desc id="{chart_id}-d">{escape(desc)}</desc>{body}</svg>'
    )


def _legend(series: Sequence[Series], x: int, y: int) -> str:
    parts, offset = [], 0
    for s in series:
        parts.append(
            f'<rect x="{x + offset}" y="{y - 10}" width="12" height="12" fill="{s.colour}"/>'
            f'<text x="{x + offset + 16}" y="{y}" {FONT}>{escape(s.name)}</text>'
        )
        offset += 30 + 8 * len(s.name)
    return "".join(parts)


def column_chart(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    stacked: bool = True,
    unit: str = "",
    axis: str = "",
    width: int = WIDTH,
    height: int = 300,
) -> Markup:
    """Columns per label (weeks), stacked or side by side. `axis` names the vertical axis's
    unit ("minutes"), written above it; `unit` follows each value in the descriptions."""
    left, right, top, bottom = 44, 8, 52, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [
        sum(s.values[i] or 0 for s in series) if stacked else max(s.values[i] or 0 for s in series)
        for i in range(len(labels))
    ]
    top_value = _nice_max(max(totals, default=0))
    desc = "; ".join(
        f"{label}: "
        + ", ".join(f"{s.name} {_format(s.values[i] or 0)}{unit}" for s in series)
        for i, label in enumerate(labels)
    ) or "No data in this period."
    body = [_legend(series, 4, 16)]
    if axis:
        body.append(f'<text x="4" y="{top - 14}" {FONT} font-weight="bold">{escape(axis)}</text>')
    for tick in range(5):  # gridlines and axis labels
        value = top_value * tick / 4
        y = top + plot_h - plot_h * tick / 4
        body.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
            f'stroke="#d0d0d0" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" {FONT}>'
            f"{_format(value)}</text>"
        )
    if labels:
        slot = plot_w / len(labels)
        bar_w = slot * 0.7 if stacked else slot * 0.7 / max(len(series), 1)
        for i, label in enumerate(labels):
            x0 = left + slot * i + slot * 0.15
            base = top + plot_h
            for k, s in enumerate(series):
                value = s.values[i] or 0
                h = plot_h * value / top_value
                x = x0 if stacked else x0 + bar_w * k
                y = base - h
                if value:
                    body.append(
                        f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                        f'fill="{s.colour}"><title>{escape(label)}: {escape(s.name)} '
                        f"{_format(value)}{escape(unit)}</title></rect>"
                    )
                if stacked:
                    base = y
            if i % math.ceil(len(labels) * LABEL_UNITS / plot_w) == 0:
                body.append(
                    f'<text x="{left + slot * i + slot / 2:.1f}" y="{height - bottom + 16}" '
                    f'text-anchor="middle" {FONT}>{escape(label)}</text>'
                )
    else:
        body.append(
            f'<text x="{width / 2}" y="{top + plot_h / 2}" text-anchor="middle" {FONT}>'
            "No data in this period</text>"
        )
    return _frame(chart_id, title, desc, width, height, "".join(body))


def bar_chart(
    chart_id: str,
    title: str,
    items: Sequence[tuple[str, float]],
    *,
    colour: str = "#1d4f91",
    width: int = WIDTH,
) -> Markup:
    """Horizontal bars, one per item, largest first, each under its label."""
    items = sorted(items, key=lambda kv: (-kv[1], kv[0]))
    row, left, right, top = 44, 4, 50, 4
    height = top + row * max(len(items), 1) + 8
    top_value = max((v for _, v in items), default=0) or 1
    plot_w = width - left - right
    desc = "; ".join(f"{k}: {_format(v)}" for k, v in items) or "No data in this period."
    body = []
    for i, (label, value) in enumerate(items):
        y = top + row * i
        w = plot_w * value / top_value
        body.append(
            f'<text x="{left}" y="{y + 15}" {FONT}>{escape(label[:48])}</text>'
            f'<rect x="{left}" y="{y + 21}" width="{w:.1f}" height="16" fill="{colour}"/>'
            f'<text x="{left + w + 6:.1f}" y="{y + 35}" {FONT}>{_format(value)}</text>'
        )
    if not items:
        body.append(f'<text x="{width / 2}" y="24" text-anchor="middle" {FONT}>'
                    "No data in this period</text>")
    return _frame(chart_id, title, desc, width, height, "".join(body))
