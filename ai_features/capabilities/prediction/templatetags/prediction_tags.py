"""Model card words: a version's plain summary and its features' human labels."""

from __future__ import annotations

from django import template

from ai_features.capabilities.prediction.explain import feature_label
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
def percent(rate) -> str:
    """A rate as a whole percentage ("72%"); a dash when unknown."""
    if rate in (None, ""):
        return "—"
    return f"{round(100 * float(rate))}%"
