"""Inline SVG charts rendered on the server (no JavaScript, no CDN)."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe


def sparkline(
    values: Sequence[float | None],
    *,
    labels: Sequence[str] = (),
    width: int = 220,
    height: int = 48,
    title: str = "",
) -> SafeString:
    """A line of rates in 0..1, one point per value; gaps (None) are skipped."""
    n = len(values)
    pad = 4
    step = (width - 2 * pad) / max(n - 1, 1)

    def y(v: float) -> float:
        return round(height - pad - v * (height - 2 * pad), 1)

    points = [(round(pad + i * step, 1), y(v), i) for i, v in enumerate(values) if v is not None]
    line = " ".join(f"{x},{yy}" for x, yy, _ in points)
    dots = format_html_join(
        "",
        '<circle cx="{}" cy="{}" r="2.5"><title>{}: {}</title></circle>',
        ((x, yy, labels[i] if i < len(labels) else i, f"{values[i]:.0%}") for x, yy, i in points),
    )
    body = (
        format_html(
            '<polyline fill="none" stroke="currentColor" stroke-width="2" points="{}"/>', line
        )
        if len(points) > 1
        else mark_safe("")
    )
    return format_html(
        '<svg class="chart sparkline" role="img" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
        'aria-label="{t}"><title>{t}</title>'
        '<line x1="0" x2="{w}" y1="{mid}" y2="{mid}" stroke="#ccc" stroke-dasharray="2,2"/>'
        "{body}{dots}</svg>",
        w=width,
        h=height,
        t=title,
        mid=y(0.5),
        body=body,
        dots=dots,
    )
