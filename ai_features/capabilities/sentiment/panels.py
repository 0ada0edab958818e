"""The contact page panel: tone trend (inline SVG), alert, latest tones with
their explanation and a correction form. Installed behind the gate by the
capability registry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.template.loader import render_to_string

from ai_features.capabilities.sentiment import selectors
from ai_features.capabilities.sentiment.analysis import TONES
from ai_features.capabilities.sentiment.selectors import TrendPoint
from ai_features.metrics import metric_record

WIDTH, HEIGHT, PAD = 300, 120, 12
#: Points on a contact's trend chart.
TREND_POINTS = 30
TONE_COLOURS = {
    "positive": "#2e7d32",
    "neutral": "#757575",
    "negative": "#c62828",
    "frustrated": "#ef6c00",
    "urgent": "#6a1b9a",
}


@dataclass(frozen=True)
class ChartDot:
    x: float
    y: float
    colour: str
    label: str


@dataclass(frozen=True)
class TrendChart:
    width: int
    height: int
    zero_y: float
    path: str
    dots: tuple[ChartDot, ...]


def trend_chart(points: Sequence[TrendPoint]) -> TrendChart | None:
    """Polarity over time as SVG geometry: x evenly spaced, y from -1 (bottom) to 1 (top)."""
    if not points:
        return None
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD
    step = inner_w / (len(points) - 1) if len(points) > 1 else 0.0

    def y_of(polarity: float) -> float:
        return round(PAD + (1 - (max(-1.0, min(1.0, polarity)) + 1) / 2) * inner_h, 2)

    dots = tuple(
        ChartDot(
            x=round(PAD + (i * step if len(points) > 1 else inner_w / 2), 2),
            y=y_of(p.polarity),
            colour=TONE_COLOURS.get(p.tone, "#757575"),
            label=f"{p.occurred_at:%d %b %Y}: {p.tone} ({p.polarity:+.2f})",
        )
        for i, p in enumerate(points)
    )
    path = " ".join(f"{'M' if i == 0 else 'L'}{d.x},{d.y}" for i, d in enumerate(dots))
    return TrendChart(width=WIDTH, height=HEIGHT, zero_y=y_of(0.0), path=path, dots=dots)


def render_contact_panel(request, contact) -> str | None:
    workspace = request.workspace
    points = selectors.contact_trend(workspace=workspace, contact_id=contact.pk, limit=TREND_POINTS)
    recent = selectors.contact_recent_sentiments(workspace=workspace, contact_id=contact.pk)
    alert = selectors.open_alert_for_contact(workspace=workspace, contact_id=contact.pk)
    if points:
        metric_record(
            capability="sentiment",
            action="shown",
            user=request.user,
            workspace=workspace,
            obj=contact,
            detail={"points": len(points)},
        )
    return render_to_string(
        "sentiment/panel.html",
        {
            "contact": contact,
            "chart": trend_chart(points),
            "points": points,
            "recent": [
                {"sentiment": s, "colour": TONE_COLOURS.get(s.tone, "#757575")} for s in recent
            ],
            "alert": alert,
            "tones": TONES,
            "next": request.get_full_path(),
        },
        request=request,
    )
