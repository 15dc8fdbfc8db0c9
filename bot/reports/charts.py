"""Server-side SVG charts for the dashboard: plain markup, no script, no network.

A bar per value, its height (or length) proportional to the value on a scale that starts
at zero, so a glance compares buckets honestly; the value is written on the bar as text,
and every chart's numbers are also in an accessible table next to it (the chart is
``role="img"`` with a title and a description pointing there). Series differ by colour
*and* pattern (solid / hatched / dotted), so nothing depends on telling colours apart.
Colours are dark on white (7:1 and more, like the page's text). All text is escaped: the
least-understood chart shows words residents said (already masked).

Each bar is a ``<rect class="bar">`` with ``data-series``, ``data-category`` and
``data-value``, which the browser test uses to check heights against the seeded numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

INK = "#1a1a1a"
GRID = "#595959"
# Dark enough for text-level contrast on white; the second and third are also patterned.
PALETTE = ("#123c7a", "#7a2e00", "#1d4d1d", "#4a1a5e")
PATTERNS = ("solid", "hatch", "dots", "cross")

WIDTH = 720
HEIGHT = 280
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 16, 40, 48
_FONT = 'font-family="sans-serif"'


@dataclass(frozen=True)
class Series:
    """One row of bars: a name for the legend and one value per category (None: no data)."""

    name: str
    values: Sequence[float | None]


def _fmt(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value * 100:.0f}%"
    if float(value).is_integer():
        return f"{value:.0f}{unit}"
    return f"{value:.1f}{unit}"


def _defs(chart_id: str) -> str:
    parts = []
    for index, kind in enumerate(PATTERNS[1:], start=1):
        colour = PALETTE[index]
        pid = f"{chart_id}-p{index}"
        if kind == "hatch":
            mark = '<path d="M0,8 L8,0" stroke="#ffffff" stroke-width="2"/>'
        elif kind == "dots":
            mark = '<circle cx="4" cy="4" r="1.6" fill="#ffffff"/>'
        else:
            mark = '<path d="M0,4 L8,4 M4,0 L4,8" stroke="#ffffff" stroke-width="1.5"/>'
        parts.append(
            f'<pattern id="{pid}" width="8" height="8" patternUnits="userSpaceOnUse">'
            f'<rect width="8" height="8" fill="{colour}"/>{mark}</pattern>'
        )
    return f"<defs>{''.join(parts)}</defs>"


def _fill(chart_id: str, index: int) -> str:
    index %= len(PALETTE)
    return PALETTE[0] if index == 0 else f"url(#{chart_id}-p{index})"


def _open(chart_id: str, title: str, width: int, height: int) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id={quoteattr(chart_id)} '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">具体数字见图下方的表格。</desc>',
        _defs(chart_id),
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
    ]


def _legend(chart_id: str, series: Sequence[Series], y: int) -> list[str]:
    parts = []
    x = _LEFT
    for index, one in enumerate(series):
        parts.append(
            f'<rect x="{x}" y="{y - 12}" width="16" height="16" fill="{_fill(chart_id, index)}" '
            f'stroke="{INK}"/>'
            f'<text x="{x + 22}" y="{y + 1}" fill="{INK}" font-size="14" {_FONT}>'
            f"{escape(one.name)}</text>"
        )
        x += 34 + 15 * len(one.name)
    return parts


def bar_chart(
    chart_id: str,
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    unit: str = "",
    y_max: float | None = None,
) -> str:
    """Vertical grouped bars: one group per category, one bar per series.

    `unit` "%" means values are shares (0-1, drawn on a 0-100 % scale unless `y_max`);
    otherwise the scale runs to the largest value (rounded up), at least 1.
    """
    values = [v for one in series for v in one.values if v is not None]
    top = y_max if y_max is not None else (1.0 if unit == "%" else _scale_top(values))
    plot_w = WIDTH - _LEFT - _RIGHT
    plot_h = HEIGHT - _TOP - _BOTTOM
    base = _TOP + plot_h
    parts = _open(chart_id, title, WIDTH, HEIGHT)
    parts += _legend(chart_id, series, 20)
    for step in range(5):
        share = step / 4
        y = base - share * plot_h
        parts.append(
            f'<line x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="{1.5 if step == 0 else 0.5}"/>'
            f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{INK}" '
            f'font-size="12" {_FONT}>{escape(_fmt(top * share, unit))}</text>'
        )
    group_w = plot_w / max(1, len(categories))
    bar_w = min(48.0, (group_w - 8) / max(1, len(series)))
    for c_index, category in enumerate(categories):
        x0 = _LEFT + c_index * group_w + (group_w - bar_w * len(series)) / 2
        for s_index, one in enumerate(series):
            value = one.values[c_index]
            x = x0 + s_index * bar_w
            shown = 0.0 if value is None else max(0.0, min(value, top))
            h = plot_h * shown / top if top else 0.0
            parts.append(
                f'<rect class="bar" x="{x:.2f}" y="{base - h:.2f}" width="{bar_w - 2:.2f}" '
                f'height="{h:.2f}" fill="{_fill(chart_id, s_index)}" '
                f"data-series={quoteattr(one.name)} data-category={quoteattr(category)} "
                f'data-value="{"" if value is None else repr(float(value))}"/>'
            )
            if value is not None and bar_w >= 28:  # narrower: the table has the number
                parts.append(
                    f'<text x="{x + (bar_w - 2) / 2:.2f}" y="{base - h - 4:.2f}" '
                    f'text-anchor="middle" fill="{INK}" font-size="11" {_FONT}>'
                    f"{escape(_fmt(value, unit))}</text>"
                )
        parts.append(
            f'<text x="{_LEFT + (c_index + 0.5) * group_w:.2f}" y="{base + 18}" '
            f'text-anchor="middle" fill="{INK}" font-size="12" {_FONT}>{escape(category)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def horizontal_bar_chart(
    chart_id: str, title: str, labels: Sequence[str], values: Sequence[float], *, unit: str = ""
) -> str:
    """One bar per label, drawn across (long labels such as a resident's words fit)."""
    row_h = 30
    height = max(80, _TOP + row_h * len(labels) + 16)
    label_w = 300
    plot_w = WIDTH - label_w - _RIGHT - 40
    top = _nice(max(values, default=0))
    parts = _open(chart_id, title, WIDTH, height)
    if not labels:
        parts.append(
            f'<text x="{_LEFT}" y="{_TOP + 20}" fill="{INK}" font-size="14" {_FONT}>'
            "这段时间没有记录。</text>"
        )
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = _TOP + index * row_h
        w = plot_w * value / top if top else 0.0
        short = label if len(label) <= 18 else label[:17] + "…"
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 19}" text-anchor="end" fill="{INK}" '
            f'font-size="13" {_FONT}>{escape(short)}</text>'
            f'<rect class="bar" x="{label_w}" y="{y + 4}" width="{w:.2f}" height="{row_h - 8}" '
            f'fill="{PALETTE[0]}" data-series="次数" data-category={quoteattr(label)} '
            f'data-value="{float(value)!r}"/>'
            f'<text x="{label_w + w + 6:.2f}" y="{y + 19}" fill="{INK}" font-size="13" '
            f"{_FONT}>{escape(_fmt(value, unit))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _scale_top(values: Sequence[float]) -> float:
    """The top of a count scale: whole numbers on each of the 4 grid lines while small."""
    largest = max(values, default=0)
    if largest <= 40:
        return float(max(4, math.ceil(largest / 4) * 4))
    return _nice(largest)


def _nice(value: float) -> float:
    """A round scale top at or above `value` (1, 2 or 5 times a power of ten), at least 1."""
    if value <= 1:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(10 * magnitude)
