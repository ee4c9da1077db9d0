"""Small inline-SVG charts for the HTML report: no scripts, no fonts, no network."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

PALETTE = ["#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d"]
W, H = 1160, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 28, 46

Series = tuple[str, Sequence[float], str]  # (name, values, colour)


def nice_max(v: float) -> float:
    """A round axis maximum at or above `v`."""
    if v <= 0:
        return 1.0
    exp = math.pow(10, math.floor(math.log10(v)))
    for m in (1, 2, 2.5, 5, 10):
        if v <= m * exp:
            return m * exp
    return 10 * exp


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if v >= 10 or v == int(v) else f"{v:.2g}"


def _frame(
    title: str, ymax: float, ylabel: Callable[[float], str], x_labels: Sequence[str]
) -> list[str]:
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img"'
        f' aria-label="{escape(title)}" class="chart">',
        f'<text x="{LEFT}" y="18" class="title">{escape(title)}</text>',
    ]
    ph = H - TOP - BOTTOM
    for i in range(5):
        y = TOP + ph - ph * i / 4
        out.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        out.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{ylabel(ymax * i / 4)}</text>'
        )
    n = len(x_labels)
    step = max(1, math.ceil(n / 12))
    for i in range(0, n, step):
        x = _x(i, n)
        out.append(
            f'<text x="{x:.1f}" y="{H - BOTTOM + 16}" text-anchor="middle">'
            f"{escape(x_labels[i])}</text>"
        )
    return out


def _x(i: int, n: int) -> float:
    pw = W - LEFT - RIGHT
    return LEFT + (pw * (i + 0.5) / n if n else 0)


def _y(v: float, ymax: float) -> float:
    ph = H - TOP - BOTTOM
    return TOP + ph - ph * (v / ymax if ymax else 0)


def _legend(series: Sequence[tuple[str, str]]) -> list[str]:
    out, x = [], LEFT
    for name, colour in series:
        out.append(f'<rect x="{x}" y="{H - 18}" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text x="{x + 16}" y="{H - 8}">{escape(name)}</text>')
        x += 28 + 8 * len(name)
    return out


def line_chart(
    title: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    ylabel: Callable[[float], str] = _fmt,
    ymax: float | None = None,
) -> str:
    """Lines over x_labels; a series may be shorter than x_labels (it stops early)."""
    if ymax is None:
        ymax = nice_max(max((max(v, default=0) for _, v, _ in series), default=0))
    out = _frame(title, ymax, ylabel, x_labels)
    n = len(x_labels)
    for name, values, colour in series:
        pts = " ".join(f"{_x(i, n):.1f},{_y(v, ymax):.1f}" for i, v in enumerate(values))
        out.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2.5">')
        out.append(f"<title>{escape(name)}</title></polyline>")
        for i, v in enumerate(values):
            out.append(
                f'<circle cx="{_x(i, n):.1f}" cy="{_y(v, ymax):.1f}" r="2.5" fill="{colour}">'
                f"<title>{escape(name)} {escape(x_labels[i])}: {ylabel(v)}</title></circle>"
            )
    out += _legend([(s[0], s[2]) for s in series])
    return "\n".join([*out, "</svg>"])


def stacked_bars(title: str, x_labels: Sequence[str], series: Sequence[Series]) -> str:
    n = len(x_labels)
    totals = [sum(s[1][i] for s in series) for i in range(n)]
    ymax = nice_max(max(totals, default=0))
    out = _frame(title, ymax, _fmt, x_labels)
    bw = max(2.0, (W - LEFT - RIGHT) / max(n, 1) * 0.8)
    base = [0.0] * n
    for name, values, colour in series:
        for i, v in enumerate(values):
            if v <= 0:
                continue
            y0, y1 = _y(base[i], ymax), _y(base[i] + v, ymax)
            out.append(
                f'<rect x="{_x(i, n) - bw / 2:.1f}" y="{y1:.1f}" width="{bw:.1f}"'
                f' height="{y0 - y1:.1f}" fill="{colour}"><title>{escape(name)}'
                f" {escape(x_labels[i])}: {_fmt(v)}</title></rect>"
            )
            base[i] += v
    out += _legend([(s[0], s[2]) for s in series])
    return "\n".join([*out, "</svg>"])


def hbars(
    title: str,
    items: Sequence[tuple[str, float, str]],
    fmt: Callable[[float], str] = _fmt,
    lo: float = 0.0,
    hi: float | None = None,
) -> str:
    """Horizontal bars (label, value, value text) on an axis from `lo` to `hi`."""
    hi = nice_max(max((v for _, v, _ in items), default=0)) if hi is None else hi
    row = 30
    label_w = min(420, max(200, 7 * max((len(x[0]) for x in items), default=0)))  # ~7px a char
    h = TOP + row * max(1, len(items)) + 30
    pw = W - LEFT - RIGHT - label_w - 80
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {h}" role="img"'
        f' aria-label="{escape(title)}" class="chart">',
        f'<text x="{LEFT}" y="18" class="title">{escape(title)}</text>',
    ]
    x0 = LEFT + label_w
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        x = x0 + pw * k / 4
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{h - 24}" class="grid"/>')
        out.append(f'<text x="{x:.1f}" y="{h - 8}" text-anchor="middle">{fmt(v)}</text>')
    for i, (label, v, text) in enumerate(items):
        y = TOP + i * row + 4
        frac = 0.0 if hi == lo else max(0.0, min(1.0, (v - lo) / (hi - lo)))
        colour = PALETTE[i % len(PALETTE)]
        out.append(f'<text x="{x0 - 8}" y="{y + 16}" text-anchor="end">{escape(label)}</text>')
        out.append(
            f'<rect x="{x0}" y="{y}" width="{pw * frac:.1f}" height="{row - 10}"'
            f' fill="{colour}"><title>{escape(label)}: {escape(text)}</title></rect>'
        )
        if pw * (1 - frac) < 7 * len(text):  # no room right of the bar: write inside its end
            out.append(
                f'<text x="{x0 + pw * frac - 6:.1f}" y="{y + 16}" text-anchor="end"'
                f' style="fill:#fff">{escape(text)}</text>'
            )
        else:
            out.append(f'<text x="{x0 + pw * frac + 6:.1f}" y="{y + 16}">{escape(text)}</text>')
    return "\n".join([*out, "</svg>"])
