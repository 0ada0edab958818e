"""Model card words: a version's plain summary and its features' human labels."""

from __future__ import annotations

from django import template

from ai_features.capabilities.prediction.explain import feature_label, money
from ai_features.capabilities.prediction.selectors import model_card_summary

register = template.Library()


@register.filter(name="feature_label")
def feature_label_filter(name: str) -> str:
    return feature_label(str(name))


@register.filter
def feature_labels(names) -> list[str]:
    return [feature_label(str(name)) for name in names or ()]


@register.filter
def summary(version) -> str:
    return model_card_summary(version=version)


@register.filter
def percent(value) -> str:
    """A probability as a whole percentage: 0.724 -> "72%"; "—" when unknown."""
    if value in (None, ""):
        return "—"
    try:
        return f"{round(100 * float(value))}%"
    except (TypeError, ValueError):
        return "—"


@register.filter
def currency(value) -> str:
    """An amount with the workspace currency: "$16,100"; "" when it is no number."""
    try:
        return money(float(value))
    except (TypeError, ValueError):
        return ""
