"""Template tags of the AI features.

    {% load ai_features %}
    {% ai_enabled "sentiment" as on %}{% if on %}...{% endif %}

``ai_enabled`` asks the gate for the request's user and workspace.
"""

from __future__ import annotations

from django import template

from ai_features import charts, evidence, gate

register = template.Library()


@register.simple_tag(takes_context=True)
def ai_enabled(context, capability) -> bool:
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    workspace = getattr(request, "workspace", None) if request is not None else None
    return gate.is_enabled(capability, user, workspace)


@register.simple_tag
def acceptance_sparkline(rollout):
    return charts.sparkline(
        [p.acceptance_rate for p in rollout.weekly],
        labels=[p.week.isoformat() for p in rollout.weekly],
        title=f"{rollout.title}: weekly acceptance rate",
    )


@register.filter
def percent(value) -> str:
    return "n/a" if value is None else f"{value:.0%}"


@register.filter
def guardrail_sentence(reading) -> str:
    return evidence.guardrail_sentence(reading)


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None
