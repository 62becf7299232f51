"""Inline SVG line charts, drawn on the server from stored checkpoints when the trainer wrote no PNG.

Plain SVG text (no plotting library, no JavaScript) so that a page stays fast and the server stays free of
matplotlib's global state; the numbers come from the run store, never from running generated code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from typing import Any

WIDTH, HEIGHT = 420, 220
LEFT, RIGHT, TOP, BOTTOM = 52, 20, 26, 34
COLOURS = ("#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#db2777")


@dataclass(frozen=True)
class Series:
    """One line: ``points`` as (x, y); ``band`` as (x, low, high) for a shaded min-max area."""

    name: str
    points: list[tuple[float, float]]
    band: list[tuple[float, float, float]] | None = None


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _ticks(low: float, high: float, count: int = 4) -> list[float]:
    if high <= low:
        return [low]
    return [low + (high - low) * i / count for i in range(count + 1)]


def _label(value: float) -> str:
    """Short tick text: 0.25, 120, 2.5k, 1.2M."""
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}"


def line_chart(title: str, series: list[Series], x_label: str = "timesteps") -> str:
    """An SVG element with axes, ticks, one polyline per series and a legend; empty string without data."""
    xs = [x for s in series for x, _ in s.points] + [b[0] for s in series for b in s.band or []]
    ys = [y for s in series for _, y in s.points] + [v for s in series for b in s.band or [] for v in b[1:]]
    if not xs:
        return ""
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    if y1 == y0:
        y0, y1 = y0 - 1, y1 + 1

    def px(x: float) -> float:
        return LEFT + (x - x0) / (x1 - x0) * (WIDTH - LEFT - RIGHT)

    def py(y: float) -> float:
        return HEIGHT - BOTTOM - (y - y0) / (y1 - y0) * (HEIGHT - TOP - BOTTOM)

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<text x="{WIDTH / 2}" y="16" text-anchor="middle" class="chart-title">{escape(title)}</text>',
    ]
    for y in _ticks(y0, y1):
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{py(y):.1f}" y2="{py(y):.1f}" class="grid"/>')
        parts.append(f'<text x="{LEFT - 4}" y="{py(y) + 4:.1f}" text-anchor="end">{_label(y)}</text>')
    for x in _ticks(x0, x1):
        parts.append(f'<text x="{px(x):.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="middle">{_label(x)}</text>')
    parts.append(f'<text x="{WIDTH / 2}" y="{HEIGHT - 4}" text-anchor="middle">{escape(x_label)}</text>')
    for i, line in enumerate(series):
        colour = COLOURS[i % len(COLOURS)]
        if line.band:
            upper = [f"{px(x):.1f},{py(hi):.1f}" for x, _, hi in line.band]
            lower = [f"{px(x):.1f},{py(lo):.1f}" for x, lo, _ in reversed(line.band)]
            parts.append(f'<polygon points="{" ".join(upper + lower)}" fill="{colour}" fill-opacity="0.15"/>')
        points = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in line.points)
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for x, y in line.points:
            parts.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.5" fill="{colour}"/>')
        parts.append(
            f'<text x="{LEFT + 6}" y="{TOP + 12 + 13 * i}" fill="{colour}" class="legend">{escape(line.name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def fitness_chart(checkpoints: list[dict[str, Any]]) -> str:
    """True fitness of the training episodes (mean with min-max band) and per-checkpoint evaluations."""
    mean, band, evals = [], [], []
    for c in checkpoints:
        x = float(c.get("timesteps", 0))
        m, lo, hi = (_finite(c.get(k)) for k in ("fitness_mean", "fitness_min", "fitness_max"))
        if m is not None:
            mean.append((x, m))
        if lo is not None and hi is not None:
            band.append((x, lo, hi))
        if (e := _finite(c.get("eval_fitness"))) is not None:
            evals.append((x, e))
    series = [Series("training episodes", mean, band or None)]
    if evals:
        series.append(Series("evaluation", evals))
    return line_chart("learning curve (true fitness)", [s for s in series if s.points])


def component_charts(checkpoints: list[dict[str, Any]]) -> list[str]:
    """One small chart per reward component: its per-step mean with the min-max band."""
    names = sorted({name for c in checkpoints for name in c.get("components") or {}})
    charts = []
    for name in names:
        points, band = [], []
        for c in checkpoints:
            stats = (c.get("components") or {}).get(name)
            mean = _finite(stats.get("mean")) if stats else None
            if mean is None:
                continue
            x = float(c.get("timesteps", 0))
            points.append((x, mean))
            lo, hi = _finite(stats.get("min")), _finite(stats.get("max"))
            if lo is not None and hi is not None:
                band.append((x, lo, hi))
        if points:
            charts.append(line_chart(f"component {name}", [Series("mean per step", points, band or None)]))
    return charts
