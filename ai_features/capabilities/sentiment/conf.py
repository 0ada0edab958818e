from typing import Any

from django.conf import settings

from ai_features.capabilities.sentiment import defaults

PREFIX = "AI_SENTIMENT_"


def get_setting(name: str) -> Any:
    """A sentiment setting: ``settings.AI_SENTIMENT_<name>`` or its default."""
    return getattr(settings, PREFIX + name, getattr(defaults, name))
