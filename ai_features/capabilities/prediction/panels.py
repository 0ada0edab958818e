"""The contact page panel: churn risk with its reasons, next needs with theirs, next action."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from ai_features.capabilities.prediction.explain import svg_chart
from ai_features.capabilities.prediction.selectors import contact_next_needs, contact_prediction
from ai_features.metrics import Action, metric_record
from crmcore.extensions import ContactPanel


def render_panel(request, contact) -> str | None:
    prediction = contact_prediction(workspace=request.workspace, contact=contact)
    next_needs = contact_next_needs(workspace=request.workspace, contact=contact)
    if prediction.available:
        _record_shown(request, contact)
    chart = svg_chart(prediction.explanation) if prediction.explanation else ""
    html = render_to_string(
        "prediction/panel.html",
        {
            "contact": contact,
            "prediction": prediction,
            "next_needs": next_needs,
            "percent": round(100 * prediction.probability) if prediction.available else None,
            "chart": mark_safe(chart),  # built from escaped text only
        },
        request=request,
    )
    return mark_safe(html)


def _record_shown(request, contact) -> None:
    """A pilot metric: the rep was shown a score. Written after commit, off the request."""
    metric_record(
        capability="prediction",
        action=Action.SHOWN,
        user=request.user,
        workspace=request.workspace,
        obj=contact,
    )


def contact_panel() -> ContactPanel:
    return ContactPanel(
        key="prediction", title="Churn risk and next need", render=render_panel, order=20
    )
