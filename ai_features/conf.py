from typing import Any

from django.conf import settings

from ai_features import defaults

PREFIX = "AI_FEATURES_"


def get_setting(name: str) -> Any:
    """An ai_features setting: ``settings.AI_FEATURES_<name>`` or its default."""
    return getattr(settings, PREFIX + name, getattr(defaults, name))
