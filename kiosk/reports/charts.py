"""The reports' charts as server-rendered SVG: bars by category (this period against the
one before), the daily trend, and stacked bars of shares (the repairs on site in time).

Pure functions of numbers and texts the caller has already translated; each returns one
``<svg>`` as ``Markup``, every text in it escaped. No script, no style attribute (the
Content-Security-Policy allows neither): presentation attributes only, sized by the
``viewBox`` and the page's CSS (``.chart`` in ``static/css/report.css``).

Readable in print, in colour and in grey: each series has its own fill *and* texture
(solid dark, light hatched), and every value is printed next to or on its bar, so
nothing depends on colour alone. Each chart is ``role="img"`` with an ``aria-label``
and a ``<title>`` that say what it shows, and a ``<desc>`` with its numbers.
"""
from __future__ import annotations

import math
from unicodedata import east_asian_width

from markupsafe import Markup, escape

WIDTH = 560
#: The stacked bars sit in half a page's width: drawn narrower, their texts read larger.
NARROW = 400
FONT = 13
#: The series' looks: (fill, stroke, text colour on it). Dark solid, then light hatched,
#: then light solid: three different greys once printed without colour.
SOLID = ("#0b5cad", "#0b5cad", "#ffffff")
HATCHED = ("url(#{id}-hatch)", "#4a5563", "#1b2430")
GOOD = ("#1c6b3a", "#1c6b3a", "#ffffff")
BAD = ("url(#{id}-warn)", "#b42318", "#1b2430")
PLAIN = ("#d5dbe3", "#4a5563", "#1b2430")
SEGMENTS = (GOOD, BAD, PLAIN)
INK, SOFT, LINE = "#1b2430", "#4a5563", "#d5dbe3"


def text_width(text: str, size: float = FONT) -> float:
    """About how wide ``text`` is drawn at ``size``: a Chinese character is a square."""
    return sum(size if east_asian_width(ch) in "WF" else size * 0.6 for ch in text)


def _num(value: float) -> str:
    """A coordinate, short: no trailing zeros."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _text(x: float, y: float, text: str, *, size: float = FONT, fill: str = INK,
          anchor: str = "start", bold: bool = False, halo: bool = False) -> str:
    """A text; ``halo``: outlined in white, to read on a hatched fill."""
    weight = ' font-weight="700"' if bold else ""
    outline = ' stroke="#ffffff" stroke-width="4" paint-order="stroke"' if halo else ""
    return (f'<text x="{_num(x)}" y="{_num(y)}" font-size="{_num(size)}" fill="{fill}" '
            f'text-anchor="{anchor}"{weight}{outline}>{escape(text)}</text>')


def _rect(x: float, y: float, w: float, h: float, look: tuple, chart_id: str) -> str:
    fill, stroke, _ = look
    return (f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(max(w, 0))}" height="{_num(h)}" '
            f'fill="{fill.format(id=chart_id)}" stroke="{stroke}" stroke-width="1"/>')


def _patterns(chart_id: str) -> str:
    """The hatched fills, named for this chart (ids are unique on the page)."""
    return ("<defs>"
            f'<pattern id="{chart_id}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
            'patternTransform="rotate(45)"><rect width="6" height="6" fill="#e5effa"/>'
            '<line x1="0" y1="0" x2="0" y2="6" stroke="#4a5563" stroke-width="1.5"/></pattern>'
            f'<pattern id="{chart_id}-warn" width="6" height="6" patternUnits="userSpaceOnUse" '
            'patternTransform="rotate(-45)"><rect width="6" height="6" fill="#fdecea"/>'
            '<line x1="0" y1="0" x2="0" y2="6" stroke="#b42318" stroke-width="1.5"/></pattern>'
            "</defs>")


def _svg(chart_id: str, height: float, title: str, desc: str, body: list[str],
         width: int = WIDTH) -> Markup:
    chart_id, label = escape(chart_id), escape(title)
    return Markup(
        f'<svg class="chart{" narrow" if width < WIDTH else ""}" id="{chart_id}" '
        f'viewBox="0 0 {width} {_num(height)}" '
        f'role="img" aria-label="{label}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{label}</title><desc>{escape(desc)}</desc>{_patterns(chart_id)}"
        + "".join(body) + "</svg>")


def _legend(x: float, y: float, items: list[tuple[str, tuple]], chart_id: str,
            width: float = WIDTH) -> tuple[list[str], float]:
    """Swatches with their texts in rows from (x, y), the baseline of the texts, within
    ``width``; return them and the baseline of the last row."""
    out, left = [], x
    for text, look in items:
        size = 20 + text_width(text) + 18
        if x > left and x + size - 18 > width:
            x, y = left, y + 20
        out.append(_rect(x, y - 11, 14, 14, look, chart_id))
        out.append(_text(x + 20, y, text))
        x += size
    return out, y


def category_bars(rows: list[tuple[str, int, int]], *, chart_id: str, title: str,
                  now_label: str, before_label: str) -> Markup:
    """Horizontal bars of each category's count: this period (solid), the period before
    (hatched) under it, each with its number at its end. ``rows``: (label, now, before)."""
    label_w = max([text_width(r[0]) for r in rows] + [40]) + 16
    left, right = label_w, WIDTH - 48
    scale = (right - left) / max([max(r[1], r[2]) for r in rows] + [1])
    bar, gap = 15, 12
    body, y = _legend(1, 16, [(now_label, SOLID), (before_label, HATCHED)], chart_id)
    top = y + 20
    y = top
    for label, now, before in rows:
        body.append(_text(label_w - 8, y + bar + 4, label, anchor="end"))
        for value, look, bold in ((now, SOLID, True), (before, HATCHED, False)):
            width = value * scale
            body.append(_rect(left, y, width, bar, look, chart_id))
            body.append(_text(left + width + 6, y + bar - 3, str(value), size=12, bold=bold))
            y += bar + 2
        y += gap
    body.append(f'<line x1="{_num(left)}" y1="{_num(top - 4)}" x2="{_num(left)}" '
                f'y2="{_num(y - gap + 2)}" stroke="{SOFT}" stroke-width="1"/>')
    desc = "; ".join(f"{label}: {now_label} {now}, {before_label} {before}"
                     for label, now, before in rows)
    return _svg(chart_id, y - gap + 8, title, desc, body)


def _nice_top(value: int) -> int:
    """The axis' top: ``value`` rounded up to 1, 2 or 5 times a power of ten."""
    if value <= 5:
        return max(value, 1)
    power = 10 ** int(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def trend_line(points: list[tuple[str, int]], *, chart_id: str, title: str,
               total_label: str) -> Markup:
    """The count of each day (``points``: ISO day, n) as a line with a dot a day, the
    axis' numbers at the left, some days under it; a day's count printed over its dot
    for a month or less, else over the peak only."""
    height, left, right, top, bottom = 200, 40, WIDTH - 16, 22, 170
    peak = max([n for _, n in points] + [0])
    axis = _nice_top(peak)
    step_x = (right - left) / max(len(points) - 1, 1)

    def x_of(i: int) -> float:
        return left + i * step_x if len(points) > 1 else (left + right) / 2

    def y_of(n: int) -> float:
        return bottom - n / axis * (bottom - top)

    body = []
    for value in sorted({0, axis // 2, axis}):
        y = y_of(value)
        body.append(f'<line x1="{left}" y1="{_num(y)}" x2="{right}" y2="{_num(y)}" '
                    f'stroke="{LINE}" stroke-width="1"/>')
        body.append(_text(left - 6, y + 4, str(value), size=11, fill=SOFT, anchor="end"))
    every = max(1, math.ceil(len(points) / 8))  # at most about 8 days named under the axis
    named = list(range(0, len(points), every))
    if named and len(points) - 1 - named[-1] >= every * 0.75:
        named.append(len(points) - 1)
    for i in named:
        body.append(_text(x_of(i), bottom + 18, points[i][0][5:], size=11, fill=SOFT,
                          anchor="middle"))
    coords = " ".join(f"{_num(x_of(i))},{_num(y_of(n))}" for i, (_, n) in enumerate(points))
    body.append(f'<polyline points="{coords}" fill="none" stroke="{SOLID[0]}" stroke-width="2.5" '
                'stroke-linejoin="round"/>')
    labelled = len(points) <= 31
    for i, (_, n) in enumerate(points):
        if len(points) <= 93:
            body.append(f'<circle cx="{_num(x_of(i))}" cy="{_num(y_of(n))}" r="3" '
                        f'fill="#ffffff" stroke="{SOLID[0]}" stroke-width="2"/>')
        if n and (labelled or n == peak):
            body.append(_text(x_of(i), y_of(n) - 7, str(n), size=10, anchor="middle",
                              bold=n == peak))
    desc = f"{total_label} {sum(n for _, n in points)}; " + ", ".join(
        f"{day} {n}" for day, n in points)
    return _svg(chart_id, height, title, desc, body)


def stacked_bars(rows: list[tuple[str, list[tuple[str, int]]]], *, chart_id: str, title: str,
                 empty_label: str) -> Markup:
    """One bar per row, split into its parts (at most three: dark green solid, light red
    hatched, grey), each part's share printed on it when it fits, and a line under the
    bar naming every part with its number and share. ``rows``: (label, [(part, n)])."""
    body, y = [], 0.0
    left, right = 1, NARROW - 1
    for label, parts in rows:
        total = sum(n for _, n in parts)
        body.append(_text(left, y + 15, label, bold=True))
        y += 22
        if not total:
            body.append(_rect(left, y, right - left, 26, PLAIN, chart_id))
            body.append(_text((left + right) / 2, y + 18, empty_label, anchor="middle"))
        x = left
        for (part, n), look in zip(parts, SEGMENTS) if total else ():
            width = (right - left) * n / total
            body.append(_rect(x, y, width, 26, look, chart_id))
            pct = f"{round(n * 100 / total)}%"
            if n and width >= text_width(pct) + 10:
                body.append(_text(x + width / 2, y + 18, pct, fill=look[2], anchor="middle",
                                  bold=True, halo=look[0].startswith("url(")))
            x += width
        y += 26 + 20
        items = [(f"{part} {n}" + (f" ({round(n * 100 / total)}%)" if total else ""), look)
                 for (part, n), look in zip(parts, SEGMENTS)]
        legend, y = _legend(left, y, items, chart_id, NARROW)
        body.extend(legend)
        y += 20
    desc = "; ".join(f"{label}: " + ", ".join(f"{part} {n}" for part, n in parts)
                     for label, parts in rows)
    return _svg(chart_id, y, title, desc, body, NARROW)
