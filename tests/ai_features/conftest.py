from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.test import override_settings
from django.urls import clear_url_caches

from ai_features.registry import registry
from tests.ai_features.fakes import FAKE_KEY, FAKE_PATH


def _reload_urlconfs() -> None:
    """The URLconfs read crmcore's extension registries when imported: read them again."""
    import crmcore.api.urls
    import crmcore.urls

    importlib.reload(crmcore.api.urls)
    importlib.reload(crmcore.urls)
    clear_url_caches()


@pytest.fixture
def fake_capability():
    """Register the project's own capability the way a project does: by the setting."""
    with override_settings(AI_FEATURES_EXTRA_CAPABILITIES=[FAKE_PATH]):
        apps.get_app_config("ai_features").ready()
        _reload_urlconfs()
        yield registry.get(FAKE_KEY)
    registry.unregister(FAKE_KEY)
    _reload_urlconfs()


@pytest.fixture
def kill_switch_on(db):
    from waffle.testutils import override_switch

    from ai_features.gate import KILL_SWITCH

    with override_switch(KILL_SWITCH, active=True):
        yield
