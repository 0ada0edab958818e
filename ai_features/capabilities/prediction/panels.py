"""The contact page panel: churn risk with its reasons, next needs with theirs, next action."""

from __future__ import annotations

from django.db.models import F, OuterRef, Subquery
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from ai_features.capabilities.prediction.deal_selectors import (
    deal_prediction,
    deal_scores_for,
    win_band,
)
from ai_features.capabilities.prediction.explain import svg_chart
from ai_features.capabilities.prediction.models import ContactScore
from ai_features.capabilities.prediction.selectors import (
    contact_next_needs,
    contact_prediction,
    contact_scores_for,
)
from ai_features.metrics import Action, metric_record
from crmcore.extensions import (
    ContactColumn,
    ContactPanel,
    DealBadge,
    DealBadgeProvider,
    DealPanel,
    ListCell,
)


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


CHURN_LEVELS = {"high": "bad", "medium": "warn", "low": "good"}


def churn_cells(request, contacts) -> dict[int, ListCell]:
    """Each scored contact's churn risk, for its row of the contact list (one query)."""
    scores = contact_scores_for(workspace=request.workspace, contact_ids=[c.pk for c in contacts])
    return {
        pk: ListCell(
            text=f"{round(100 * s.probability)}%",
            title=f"{s.get_band_display()} churn risk",
            level=CHURN_LEVELS.get(s.band, ""),
        )
        for pk, s in scores.items()
    }


def churn_filter(request, contacts, band: str):
    """The contacts whose stored churn risk is in ``band`` (a subquery: no ids in Python)."""
    scored = ContactScore.objects.filter(workspace=request.workspace, band=band)
    return contacts.filter(pk__in=scored.values("contact_id"))


def churn_sort(request, contacts, descending: bool):
    """Contacts by stored churn risk, unscored ones last either way."""
    risk = ContactScore.objects.filter(workspace=request.workspace, contact=OuterRef("pk"))
    ordered = contacts.annotate(churn_probability=Subquery(risk.values("probability")[:1]))
    key = F("churn_probability")
    order = key.desc(nulls_last=True) if descending else key.asc(nulls_last=True)
    return ordered.order_by(order, "pk")


def churn_column() -> ContactColumn:
    return ContactColumn(
        key="churn_risk",
        label="Churn risk",
        provide=churn_cells,
        filter_label="Churn risk",
        filter_choices=tuple(
            (value, f"{label} risk") for value, label in reversed(ContactScore.Band.choices)
        ),
        filter=churn_filter,
        sort=churn_sort,
        saved_filters=(("At-risk customers", "?stage=customer&churn_risk=high"),),
        order=20,
    )
