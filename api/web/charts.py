"""Charts drawn on the server as SVG (no script, nothing fetched): bars over time, stacked by
product, and horizontal bars by product. Each carries a title and a text description; the
page shows the same figures as a table."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

__all__ = ["PALETTE", "Series", "bars_by_key", "stacked_bars"]

PALETTE = ("#0b5cad", "#1d7a35", "#8a5a00", "#6b3fa0", "#b3261e", "#4a5563")
_W, _H = 720, 260
_LEFT, _BOTTOM, _TOP, _RIGHT = 86, 34, 14, 12


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    values: dict[str, int]
    """Period -> value."""


def _nice_top(value: int, ticks: int = 4) -> int:
    """The smallest 'round' axis maximum at or above ``value`` that ``ticks`` divides into
    round steps (1, 2 or 5 times a power of ten)."""
    if value <= 0:
        return ticks
    raw: int = -(-value // ticks)
    magnitude: int = 10 ** (len(str(raw)) - 1)
    for step in (1, 2, 5, 10):
        if step * magnitude >= raw:
            return step * magnitude * ticks
    return raw * ticks


def stacked_bars(
    periods: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    ident: str,
    fmt: Callable[[int], str],
    tick_label: Callable[[str], str] = lambda p: p,
) -> Markup:
    """Vertical bars, one per period, stacked by series."""
    top = _nice_top(max((sum(s.values.get(p, 0) for s in series) for p in periods), default=0))
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM
    slot = plot_w / max(len(periods), 1)
    bar = max(min(slot * 0.7, 48), 2)
    parts = [
        f'<svg class="chart" viewBox="0 0 {_W} {_H}" role="img" aria-labelledby="{ident}">'
        f'<title id="{ident}">{escape(title)}</title>'
    ]
    for i in range(5):
        value = top * i // 4
        y = _TOP + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d5dbe3"/>'
            f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#4a5563">{escape(fmt(value))}</text>'
        )
    every = max(1, -(-len(periods) * 40 // plot_w))  # a label needs about 40 px
    for index, period in enumerate(periods):
        x = _LEFT + slot * index + (slot - bar) / 2
        base: float = _TOP + plot_h
        for number, one in enumerate(series):
            value = one.values.get(period, 0)
            if value <= 0:
                continue
            height = plot_h * value / top
            base -= height
            colour = PALETTE[number % len(PALETTE)]
            parts.append(
                f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" height="{height:.1f}" '
                f'fill="{colour}"><title>{escape(tick_label(period))} · {escape(one.label)}: '
                f"{escape(fmt(value))}</title></rect>"
            )
        if index % every == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{_H - 12}" text-anchor="middle" font-size="11" '
                f'fill="#4a5563">{escape(tick_label(period))}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text and value above went through escape()


def bars_by_key(
    rows: Sequence[tuple[str, int]], *, title: str, ident: str, fmt: Callable[[int], str]
) -> Markup:
    """Horizontal bars: one per (label, value)."""
    height = _TOP + 30 * max(len(rows), 1) + 8
    top = _nice_top(max((v for _, v in rows), default=0))
    left, plot_w = 200, _W - 200 - 120
    parts = [
        f'<svg class="chart" viewBox="0 0 {_W} {height}" role="img" aria-labelledby="{ident}">'
        f'<title id="{ident}">{escape(title)}</title>'
    ]
    for index, (label, value) in enumerate(rows):
        y = _TOP + 30 * index
        width = plot_w * value / top
        colour = PALETTE[index % len(PALETTE)]
        parts.append(
            f'<text x="{left - 8}" y="{y + 15}" text-anchor="end" font-size="12" '
            f'fill="#1b2430">{escape(label)}</text>'
            f'<rect x="{left}" y="{y + 3}" width="{width:.1f}" height="18" fill="{colour}"/>'
            f'<text x="{left + width + 6:.1f}" y="{y + 16}" font-size="12" '
            f'fill="#1b2430">{escape(fmt(value))}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text and value above went through escape()
