"""Inline SVG charts of the model card (server-rendered, no JavaScript)."""

from __future__ import annotations

from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from ai_features.capabilities.prediction.explain import feature_label


def coefficient_chart(names: list[str], coefficients: list[float], *, top: int = 12) -> SafeString:
    """The largest standardized coefficients: red raises churn risk, green lowers it.

    Features are shown by their human labels ("Days since the last order")."""
    pairs = sorted(
        ((feature_label(n), c) for n, c in zip(names, coefficients, strict=False)),
        key=lambda nc: -abs(nc[1]),
    )[:top]
    if not pairs:
        return mark_safe("")
    width, label_w, row_h = 520, 230, 20
    bar_w = width - label_w - 10
    scale = max(abs(c) for _, c in pairs) or 1.0
    mid = label_w + bar_w / 2
    height = row_h * len(pairs) + 6
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="Largest coefficients"><line x1="{mid}" y1="0" x2="{mid}" y2="{height}" '
        'stroke="#888" />'
    ]
    for k, (name, c) in enumerate(pairs):
        y = 3 + k * row_h
        length = abs(c) / scale * (bar_w / 2 - 4)
        x = mid if c >= 0 else mid - length
        color = "#c0392b" if c > 0 else "#27ae60"
        parts.append(
            f'<text x="0" y="{y + 13}" font-size="11">{escape(name[:40])}</text>'
            f'<rect x="{x:.1f}" y="{y + 2}" width="{max(length, 1):.1f}" height="{row_h - 6}" '
            f'fill="{color}"><title>{escape(name)}: {c:+.3f}</title></rect>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))


def reliability_chart(rows: list[dict[str, Any]], *, size: int = 240) -> SafeString:
    """Predicted against observed churn rate per bin; the diagonal is perfect calibration."""
    if not rows:
        return mark_safe("")
    pad = 24
    inner = size - 2 * pad

    def point(p: float, o: float) -> tuple[float, float]:
        return pad + p * inner, size - pad - o * inner

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" role="img" '
        'aria-label="Reliability diagram">',
        f'<rect x="{pad}" y="{pad}" width="{inner}" height="{inner}" fill="none" stroke="#ccc" />',
        f'<line x1="{pad}" y1="{size - pad}" x2="{size - pad}" y2="{pad}" stroke="#bbb" '
        'stroke-dasharray="4 3" />',
    ]
    points = [point(r["predicted"], r["observed"]) for r in rows]
    parts.append(
        '<polyline fill="none" stroke="#2f5bd3" stroke-width="2" points="'
        + " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        + '" />'
    )
    for (x, y), r in zip(points, rows, strict=False):
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#2f5bd3"><title>{escape(r["bin"])}: '
            f"predicted {r['predicted']:.2f}, observed {r['observed']:.2f} (n={r['count']})"
            "</title></circle>"
        )
    parts.append(
        f'<text x="{pad}" y="{size - 6}" font-size="10">predicted</text>'
        f'<text x="2" y="{pad - 8}" font-size="10">observed</text></svg>'
    )
    return mark_safe("".join(parts))
