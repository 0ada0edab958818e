from typing import Any

from django.conf import settings

from training_sandbox import defaults

PREFIX = "TRAINING_SANDBOX_"


def get_setting(name: str) -> Any:
    """A training_sandbox setting: ``settings.TRAINING_SANDBOX_<name>`` or its default."""
    return getattr(settings, PREFIX + name, getattr(defaults, name))
