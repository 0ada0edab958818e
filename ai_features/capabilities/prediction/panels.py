"""The contact page panel: churn risk with its reasons, next needs with theirs, next action."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from ai_features.capabilities.prediction.deal_selectors import (
    deal_prediction,
    deal_scores_for,
    win_band,
)
from ai_features.capabilities.prediction.explain import svg_chart
from ai_features.capabilities.prediction.selectors import contact_next_needs, contact_prediction
from ai_features.metrics import Action, metric_record
from crmcore.extensions import ContactPanel, DealBadge, DealBadgeProvider, DealPanel


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


def _record_shown(request, obj, object_type: str = "contact") -> None:
    """A pilot metric: the rep was shown a score. Written after commit, off the request."""
    metric_record(
        capability="prediction",
        action=Action.SHOWN,
        user=request.user,
        workspace=request.workspace,
        obj=obj,
    )


def contact_panel() -> ContactPanel:
    return ContactPanel(
        key="prediction", title="Churn risk and next need", render=render_panel, order=20
    )


def render_deal_panel(request, deal) -> str | None:
    """The deal page panel: the chance to win and its top factors in words (as a
    list of full sentences: a chart would cut them short)."""
    prediction = deal_prediction(workspace=request.workspace, deal=deal)
    if prediction.available:
        _record_shown(request, deal, "deal")
    html = render_to_string(
        "prediction/deal_panel.html", {"deal": deal, "prediction": prediction}, request=request
    )
    return mark_safe(html)


def deal_badges(request, deals) -> dict[int, DealBadge]:
    """Each scored open deal's chance to win, for its pipeline card (one query)."""
    scores = deal_scores_for(
        workspace=request.workspace, deal_ids=[d.pk for d in deals if d.is_open]
    )
    return {
        pk: DealBadge(
            text=f"{round(100 * s.probability)}%",
            title=f"{round(100 * s.probability)}% chance to win",
            level=win_band(s.probability),
        )
        for pk, s in scores.items()
    }


def deal_panel() -> DealPanel:
    return DealPanel(
        key="prediction-win", title="Chance to win", render=render_deal_panel, order=20
    )


def deal_badge_provider() -> DealBadgeProvider:
    return DealBadgeProvider(key="prediction-win", label="Win", provide=deal_badges, order=20)
