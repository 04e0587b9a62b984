"""Server-rendered charts: inline SVG, no JavaScript, no external library or CDN.

:func:`bar_chart` draws one bar per day, stacking the series. The SVG carries a
``<title>`` and a ``<desc>`` (a one-line summary) for screen readers, every bar a
``<title>`` (a tooltip with the day's numbers), and a visually hidden table of the same
numbers follows it. The drawing is 360 units wide and scales to its container: its text
stays legible from a 390 px phone (about 0.9x) to a 1280 px screen (about 1.3x).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH = 360
HEIGHT = 200
PAD_LEFT = 30  # the y-axis labels
PAD_RIGHT = 8
PAD_TOP = 10
PAD_BOTTOM = 26  # the day labels
FONT = "system-ui, sans-serif"

#: The class (static/console/console.css) of the element holding the table of numbers:
#: visually hidden, read by screen readers. On a wrapping <div>, not on the <table>: a
#: table box ignores ``overflow`` and ``width``, so a hidden table still widened the page.
VISUALLY_HIDDEN = "visually-hidden"


@dataclass(frozen=True)
class Series:
    """One stacked layer: a name, one value per day, and a fill colour (with contrast
    of at least 3:1 against white, as WCAG asks of graphics)."""

    label: str
    values: Sequence[int]
    color: str


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 4, 6, 8 x 10^k that is >= value (at least 1): a round axis
    top whose half (the middle grid line) is a whole number too."""
    if value <= 1:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 4, 6, 8, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover


def day_label(day: date) -> str:
    """``Mar 7``: short, unambiguous within a 30-day window."""
    return f"{day:%b} {day.day}"


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def bar_chart(
    series: Sequence[Series],
    days: Sequence[date],
    *,
    title: str,
    chart_id: str,
    unit: str = "",
    label_every: int = 7,
) -> SafeString:
    """A stacked bar chart of ``series`` over ``days`` as a ``<figure>`` holding the
    inline SVG and a visually hidden table of the numbers.

    ``chart_id`` must be unique in the page (it prefixes the ids that ``aria-labelledby``
    points to). ``label_every``: one day label every so many bars (the last day always
    gets one), so that labels never overlap at 30 days.
    """
    n = len(days)
    for s in series:
        if len(s.values) != n:
            raise ValueError(f"series {s.label!r} has {len(s.values)} values for {n} days")
    totals = [sum(s.values[i] for s in series) for i in range(n)]
    top = nice_ceiling(max(totals, default=0))
    grand_total = sum(totals)
    unit_text = f" {unit}" if unit else ""

    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    slot = plot_w / max(n, 1)
    bar_w = max(slot * 0.72, 1.0)
    baseline = PAD_TOP + plot_h

    def y_of(value: float) -> float:
        return baseline - plot_h * value / top

    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    if n:
        busiest = max(range(n), key=lambda i: (totals[i], i))
        summary = (
            f"{grand_total}{unit_text} from {day_label(days[0])} to {day_label(days[-1])}, "
            + ", ".join(f"{s.label}: {sum(s.values)}" for s in series)
            + f". Busiest day: {day_label(days[busiest])} with {totals[busiest]}."
        )
    else:
        summary = "No data."

    parts: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="{title_id} {desc_id}" font-family="{FONT}" '
        f'font-size="12" fill="currentColor">',
        f'<title id="{title_id}">{escape(title)}</title>',
        f'<desc id="{desc_id}">{escape(summary)}</desc>',
    ]
    # Horizontal grid lines and y labels: 0, half, top.
    for value in (0, top // 2, top) if top >= 2 else (0, top):
        y = y_of(value)
        parts.append(
            f'<line class="{"axis" if value == 0 else "grid"}" '
            f'x1="{PAD_LEFT}" y1="{_fmt(y)}" x2="{WIDTH - PAD_RIGHT}" y2="{_fmt(y)}" '
            f'stroke="{"#57606a" if value == 0 else "#d0d7de"}" stroke-width="1"></line>'
            f'<text x="{PAD_LEFT - 4}" y="{_fmt(y + 3.5)}" text-anchor="end">'
            f"{_fmt(value)}</text>"
        )
    # Bars (stacked, first series at the bottom), each day with a tooltip.
    for i, day in enumerate(days):
        bx = PAD_LEFT + i * slot + (slot - bar_w) / 2
        tip = f"{day.isoformat()}: " + ", ".join(f"{s.values[i]} {s.label}" for s in series)
        parts.append(f"<g><title>{escape(tip)}</title>")
        acc = 0
        for s in series:
            v = s.values[i]
            if v:
                y_top = y_of(acc + v)
                parts.append(
                    f'<rect x="{_fmt(bx)}" y="{_fmt(y_top)}" width="{_fmt(bar_w)}" '
                    f'height="{_fmt(y_of(acc) - y_top)}" fill="{escape(s.color)}"></rect>'
                )
                acc += v
        # An invisible full-height target so the tooltip works on empty days too.
        parts.append(
            f'<rect x="{_fmt(PAD_LEFT + i * slot)}" y="{PAD_TOP}" width="{_fmt(slot)}" '
            f'height="{plot_h}" fill="transparent"></rect></g>'
        )
        last = i == n - 1
        # Every label_every-th day, and the last day (unless that would collide).
        if last or (i % label_every == 0 and n - 1 - i >= label_every / 2):
            anchor, lx = ("end", PAD_LEFT + (i + 1) * slot) if last else ("middle", None)
            lx = PAD_LEFT + i * slot + slot / 2 if lx is None else lx
            parts.append(
                f'<text x="{_fmt(lx)}" y="{HEIGHT - 8}" text-anchor="{anchor}">'
                f"{escape(day_label(day))}</text>"
            )
    parts.append("</svg>")

    head = "".join(f'<th scope="col">{escape(s.label)}</th>' for s in series)
    rows = "".join(
        f'<tr><th scope="row">{day.isoformat()}</th>'
        + "".join(f"<td>{s.values[i]}</td>" for s in series)
        + f"<td>{totals[i]}</td></tr>"
        for i, day in enumerate(days)
    )
    table = (
        f'<div class="{VISUALLY_HIDDEN}"><table><caption>{escape(title)}</caption>'
        f'<thead><tr><th scope="col">Day (UTC)</th>{head}<th scope="col">Total</th></tr>'
        f"</thead><tbody>{rows}</tbody></table></div>"
    )
    # The legend is HTML: it reflows and follows the page's font size. No style=
    # attributes (the Content-Security-Policy has no 'unsafe-inline' for styles): the
    # swatch is a tiny SVG whose colour is a presentation attribute.
    items = "".join(
        '<li><svg class="swatch" viewBox="0 0 10 10" aria-hidden="true" focusable="false">'
        f'<rect width="10" height="10" rx="1.5" fill="{escape(s.color)}"></rect></svg>'
        f"{escape(s.label)}: {sum(s.values)}</li>"
        for s in series
    )
    legend = f'<ul class="chart-legend">{items}</ul>'
    figure = f'<figure class="chart" id="{escape(chart_id)}">'
    return mark_safe(f"{figure}{legend}{''.join(parts)}{table}</figure>")
