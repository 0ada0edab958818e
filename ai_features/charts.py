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


def pair_bars(
    rows: Sequence[tuple[str, float | None, float | None]],
    *,
    width: int = 260,
    bar_height: int = 12,
    title: str = "",
) -> SafeString:
    """For each label, two horizontal bars (pilot, rest) of rates in 0..1."""
    label_w = 110
    scale = width - label_w - 40
    row_h = 2 * bar_height + 10
    height = max(len(rows), 1) * row_h
    parts = []
    for i, (label, pilot, rest) in enumerate(rows):
        top = i * row_h
        parts.append(
            format_html('<text x="0" y="{}" font-size="10">{}</text>', top + bar_height + 4, label)
        )
        for j, (name, value, css) in enumerate(
            (("pilot", pilot, "bar-pilot"), ("rest", rest, "bar-rest"))
        ):
            y = top + j * (bar_height + 2)
            w = round((value or 0) * scale, 1)
            text = "n/a" if value is None else f"{value:.0%}"
            parts.append(
                format_html(
                    '<rect class="{}" x="{}" y="{}" width="{}" height="{}" '
                    'fill="{}"><title>{} {}: {}</title></rect>'
                    '<text x="{}" y="{}" font-size="9">{} {}</text>',
                    css,
                    label_w,
                    y,
                    w,
                    bar_height,
                    "#2b6cb0" if name == "pilot" else "#a0aec0",
                    label,
                    name,
                    text,
                    label_w + w + 3,
                    y + bar_height - 2,
                    name,
                    text,
                )
            )
    return format_html(
        '<svg class="chart bars" role="img" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
        'aria-label="{t}"><title>{t}</title>{body}</svg>',
        w=width,
        h=height,
        t=title,
        body=mark_safe("".join(parts)),  # each part is built by format_html
    )
