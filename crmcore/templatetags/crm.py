"""Template helpers of the CRM pages: ``{% load crm %}``.

* ``{{ amount|money }}``: a whole amount with thousands separators ("12,500").
* ``{% bar_chart bars %}``: a horizontal bar chart as inline SVG, rendered on
  the server. ``bars`` is a list of dicts with ``label``, ``value`` (a number)
  and optionally ``note`` (shown after the value) and ``display`` (the value
  as text; defaults to ``value|money``). Other apps may use it for their own
  charts.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()

BAR_HEIGHT = 26
BAR_GAP = 12
LABEL_WIDTH = 120
VALUE_WIDTH = 170
BAR_AREA = 360


def _num(value: float) -> str:
    """An SVG coordinate, never localized ("12.5", "30")."""
    return f"{value:g}"


@register.filter
def money(value) -> str:
    try:
        amount = Decimal(value)
    except (TypeError, ValueError, InvalidOperation):
        return ""
    return f"{amount:,.0f}"


@register.inclusion_tag("crmcore/includes/bar_chart.svg")
def bar_chart(bars, title: str = "") -> dict:
    values = [float(bar["value"] or 0) for bar in bars]
    largest = max(values, default=0) or 1
    rows = []
    for index, (bar, value) in enumerate(zip(bars, values, strict=True)):
        y = index * (BAR_HEIGHT + BAR_GAP)
        width = round(BAR_AREA * value / largest, 1) if value > 0 else 0
        display = bar.get("display") or money(bar["value"])
        rows.append(
            {
                "label": bar["label"],
                "text": f"{display} · {bar['note']}" if bar.get("note") else display,
                "y": _num(y),
                "text_y": _num(y + BAR_HEIGHT / 2 + 5),
                "width": _num(width),
                "value_x": _num(LABEL_WIDTH + width + 8),
            }
        )
    return {
        "title": title,
        "rows": rows,
        "bar_x": LABEL_WIDTH,
        "bar_area": BAR_AREA,
        "bar_height": BAR_HEIGHT,
        "label_x": LABEL_WIDTH - 10,
        "width": LABEL_WIDTH + BAR_AREA + VALUE_WIDTH,
        "height": max(1, len(rows)) * (BAR_HEIGHT + BAR_GAP) - BAR_GAP,
    }
