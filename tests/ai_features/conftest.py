from __future__ import annotations

import pytest
from django.apps import apps
from django.test import override_settings

from ai_features.registry import registry
from tests.ai_features.fakes import FAKE_KEY, FAKE_PATH


@pytest.fixture
def fake_capability():
    """Register the project's own capability the way a project does: by the setting."""
    with override_settings(AI_FEATURES_EXTRA_CAPABILITIES=[FAKE_PATH]):
        apps.get_app_config("ai_features").ready()
        yield registry.get(FAKE_KEY)
    registry.unregister(FAKE_KEY)


@pytest.fixture
def kill_switch_on(db):
    from waffle.testutils import override_switch

    from ai_features.gate import KILL_SWITCH

    with override_switch(KILL_SWITCH, active=True):
        yield
