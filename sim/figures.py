"""Small SVG charts for the validation report, written as plain text (no plotting library).

`band_chart` draws a model's median and 5-95% band over time against published figures (points
and accepted ranges); `claims_chart` draws each claim's held share against its placebo's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 70, 60, 36, 40
MODEL_COLOUR, PUBLISHED_COLOUR = "#1f77b4", "#d62728"


@dataclass(frozen=True)
class Published:
    """A published figure on a chart: a point (x, y) or, with ``high``, a range from y to high."""

    x: float
    y: float
    label: str
    high: float | None = None
    x_end: float | None = None


def band_chart(
    title: str,
    x: Sequence[float],
    median: Sequence[float],
    low: Sequence[float],
    high: Sequence[float],
    published: Sequence[Published],
    y_label: str,
    log: bool = False,
) -> str:
    """Model median line and 5-95% band against published points and ranges, as an SVG document."""
    ys = [*low, *high, *(p.y for p in published), *(p.high for p in published if p.high is not None)]
    x_lo, x_hi = min(x), max([*x, *(p.x_end or p.x for p in published)])
    y_lo, y_hi = _extent(ys, log)
    sx = _scale(x_lo, x_hi, LEFT, WIDTH - RIGHT)
    sy = _scale(_t(y_lo, log), _t(y_hi, log), HEIGHT - BOTTOM, TOP)

    def py(value: float) -> float:
        return sy(_t(value, log))

    band = [f"{sx(a):.1f},{py(b):.1f}" for a, b in zip(x, high, strict=True)]
    band += [f"{sx(a):.1f},{py(b):.1f}" for a, b in reversed(list(zip(x, low, strict=True)))]
    parts = [_frame(title, y_label), _y_axis(y_lo, y_hi, log, py), _x_axis(x_lo, x_hi, sx)]
    parts.append(f'<polygon points="{" ".join(band)}" fill="{MODEL_COLOUR}" fill-opacity="0.2" stroke="none"/>')
    line = " ".join(f"{sx(a):.1f},{py(b):.1f}" for a, b in zip(x, median, strict=True))
    parts.append(f'<polyline points="{line}" fill="none" stroke="{MODEL_COLOUR}" stroke-width="2"/>')
    for p in published:
        if p.high is None:
            parts.append(f'<circle cx="{sx(p.x):.1f}" cy="{py(p.y):.1f}" r="4.5" fill="{PUBLISHED_COLOUR}"/>')
        else:
            x0, x1 = sx(p.x), sx(p.x_end if p.x_end is not None else p.x)
            y0, y1 = py(p.high), py(p.y)
            width = max(x1 - x0, 6.0)
            parts.append(
                f'<rect x="{x0 - (3 if x1 == x0 else 0):.1f}" y="{y0:.1f}" width="{width:.1f}" height="{y1 - y0:.1f}" '
                f'fill="none" stroke="{PUBLISHED_COLOUR}" stroke-width="2"/>'
            )
        parts.append(_text(sx(p.x) + 7, py(p.high if p.high is not None else p.y) - 6, p.label, PUBLISHED_COLOUR))
    parts.append(_legend([("model: median and 5-95% of 100 seeds", MODEL_COLOUR), ("published", PUBLISHED_COLOUR)]))
    return _document(parts)


def targets_chart(rows: Sequence[tuple[str, float, float, float, float, float]]) -> str:
    """Each target's accepted range (the shaded strip, scaled to -1..1) against the model's median
    (dot) and 5-95% of seeds (line); rows are (label, median, p5, p95, low, high). Values beyond
    three half-widths are drawn at the edge with an arrow."""
    row, limit = 22, 3.0
    height = TOP + BOTTOM + row * len(rows)
    left, right = 300, WIDTH - 30
    sx = _scale(-limit, limit, left, right)
    title = escape("Targets: accepted range (shaded) and the model (median, 5-95% of seeds)")
    parts = [f'<text x="10" y="20" font-size="14" font-weight="bold">{title}</text>']
    parts.append(
        f'<rect x="{sx(-1):.1f}" y="{TOP - 4}" width="{sx(1) - sx(-1):.1f}" height="{row * len(rows) + 4}" '
        f'fill="{PUBLISHED_COLOUR}" fill-opacity="0.12"/>'
    )
    for i, (label, median, p5, p95, low, high) in enumerate(rows):
        y = TOP + i * row + row / 2
        middle, half = (low + high) / 2, (high - low) / 2

        def z(value: float, middle: float = middle, half: float = half) -> float:
            return max(-limit, min(limit, (value - middle) / half))

        parts.append(_text(10, y + 4, label if len(label) <= 48 else label[:47] + "…", "#333", size=10))
        parts.append(
            f'<line x1="{sx(z(p5)):.1f}" y1="{y:.1f}" x2="{sx(z(p95)):.1f}" y2="{y:.1f}" '
            f'stroke="{MODEL_COLOUR}" stroke-width="2"/>'
        )
        parts.append(f'<circle cx="{sx(z(median)):.1f}" cy="{y:.1f}" r="4" fill="{MODEL_COLOUR}"/>')
        if abs((median - middle) / half) > limit:
            beyond_x = sx(z(median)) + (-8 if median > middle else 8)
            anchor = "end" if median > middle else "start"
            parts.append(_text(beyond_x, y - 5, "off the scale", "#333", anchor=anchor, size=9))
    for tick, label in ((-1, "low end"), (1, "high end")):
        parts.append(_text(sx(tick), height - BOTTOM + 16, label, "#333", anchor="middle"))
    return _document(parts, height)


def claims_chart(labels: Sequence[str], held: Sequence[float], placebo: Sequence[float], required: float) -> str:
    """Each claim's share of seeds where it holds (bar) and where it holds under its placebo (dot)."""
    row = 18
    height = TOP + BOTTOM + row * len(labels)
    left, right = 340, WIDTH - 30
    sx = _scale(0.0, 1.0, left, right)
    title = escape("Claims: held (bar) and under their placebo (dot)")
    parts = [f'<text x="10" y="20" font-size="14" font-weight="bold">{title}</text>']
    for share in (0.0, 0.5, required, 1.0):
        dash = ' stroke-dasharray="4 3"' if share in (0.5, required) else ""
        x = f"{sx(share):.1f}"
        parts.append(f'<line x1="{x}" y1="{TOP - 4}" x2="{x}" y2="{height - BOTTOM}" stroke="#999"{dash}/>')
        parts.append(_text(sx(share) - 10, height - BOTTOM + 16, f"{share:.0%}", "#333"))
    for i, (label, h, p) in enumerate(zip(labels, held, placebo, strict=True)):
        y = TOP + i * row
        parts.append(_text(10, y + 12, label if len(label) <= 58 else label[:57] + "…", "#333", size=10))
        parts.append(
            f'<rect x="{left}" y="{y + 3}" width="{sx(h) - left:.1f}" height="{row - 6}" fill="{MODEL_COLOUR}"/>'
        )
        parts.append(f'<circle cx="{sx(p):.1f}" cy="{y + row / 2:.1f}" r="4" fill="{PUBLISHED_COLOUR}"/>')
    parts.append(
        _text(
            left, height - 6, f"a claim must hold on {required:.0%} or more, and on under 50% under its placebo", "#333"
        )
    )
    return _document(parts, height)


def _extent(values: Sequence[float], log: bool) -> tuple[float, float]:
    finite = [v for v in values if v is not None and math.isfinite(v) and (v > 0 or not log)]
    if not finite:
        return (1.0, 10.0) if log else (0.0, 1.0)
    lo, hi = min(finite), max(finite)
    if log:
        return 10 ** math.floor(math.log10(lo)), 10 ** math.ceil(math.log10(hi))
    return min(0.0, lo), hi * 1.1


def _t(value: float, log: bool) -> float:
    return math.log10(max(value, 1e-300)) if log else value


def _scale(d0: float, d1: float, r0: float, r1: float):
    span = (d1 - d0) or 1.0
    return lambda v: r0 + (v - d0) / span * (r1 - r0)


def _y_axis(lo: float, hi: float, log: bool, py) -> str:
    if log:
        ticks = [10**e for e in range(round(math.log10(lo)), round(math.log10(hi)) + 1)]
        labels = [f"1e{round(math.log10(t))}" for t in ticks]
    else:
        step = _nice_step(hi - lo)
        ticks = [lo + i * step for i in range(int((hi - lo) / step) + 1)]
        labels = [f"{t:g}" for t in ticks]
    parts = []
    for tick, label in zip(ticks, labels, strict=True):
        y = py(tick)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(_text(LEFT - 6, y + 4, label, "#333", anchor="end"))
    return "".join(parts)


def _x_axis(lo: float, hi: float, sx) -> str:
    parts = [f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" y2="{HEIGHT - BOTTOM}" stroke="#333"/>']
    for year in range(math.ceil(lo), math.floor(hi) + 1):
        parts.append(_text(sx(year), HEIGHT - BOTTOM + 16, str(year), "#333", anchor="middle"))
    return "".join(parts)


def _nice_step(span: float) -> float:
    raw = span / 5 if span > 0 else 1.0
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def _frame(title: str, y_label: str) -> str:
    return (
        f'<text x="10" y="20" font-size="14" font-weight="bold">{escape(title)}</text>'
        f'<text x="14" y="{(TOP + HEIGHT - BOTTOM) / 2:.0f}" font-size="11" '
        f'transform="rotate(-90 14 {(TOP + HEIGHT - BOTTOM) / 2:.0f})" text-anchor="middle">{escape(y_label)}</text>'
    )


def _legend(entries: Sequence[tuple[str, str]]) -> str:
    parts, x = [], LEFT + 10
    for label, colour in entries:
        parts.append(f'<rect x="{x}" y="{TOP - 4}" width="10" height="10" fill="{colour}"/>')
        parts.append(_text(x + 14, TOP + 5, label, "#333"))
        x += 18 + 6.2 * len(label)
    return "".join(parts)


def _text(x: float, y: float, text: str, colour: str, anchor: str = "start", size: int = 11) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{colour}" text-anchor="{anchor}">{escape(text)}</text>'
    )


def _document(parts: Sequence[str], height: int = HEIGHT) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" '
        'font-family="sans-serif">'
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>' + "".join(parts) + "</svg>\n"
    )
