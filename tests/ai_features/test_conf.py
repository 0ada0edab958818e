"""The apps' settings: prefixed names, read from Django settings or the environment."""

from __future__ import annotations

import pytest

from ai_features.capabilities.personalization.conf import PersonalizationSettings
from ai_features.capabilities.prediction.conf import PredictionSettings
from ai_features.capabilities.sentiment.conf import SentimentSettings
from ai_features.capabilities.sentiment.conf import app_settings as sentiment_settings
from ai_features.conf import AiFeaturesSettings
from ai_features.conf import app_settings as ai_settings
from crmcore.integrations.conf import IntegrationSettings
from training_sandbox.conf import TrainingSandboxSettings
from training_sandbox.conf import app_settings as sandbox_settings

SETTINGS = (
    (IntegrationSettings, "CRMCORE_"),
    (AiFeaturesSettings, "AI_FEATURES_"),
    (SentimentSettings, "AI_SENTIMENT_"),
    (PredictionSettings, "AI_PREDICTION_"),
    (PersonalizationSettings, "AI_PERSONALIZATION_"),
    (TrainingSandboxSettings, "TRAINING_SANDBOX_"),
)


@pytest.mark.parametrize(("settings_class", "prefix"), SETTINGS)
def test_app_settings__every_app__names_carry_its_prefix(settings_class, prefix):
    names = settings_class.names()

    assert names
    assert [name for name in names if not name.startswith(prefix)] == []


def test_sentiment_workers__environment__read(monkeypatch):
    monkeypatch.setenv("AI_SENTIMENT_WORKERS", "4")

    assert sentiment_settings.WORKERS == 4


def test_extra_capabilities__environment__comma_separated_paths(monkeypatch):
    monkeypatch.setenv("AI_FEATURES_EXTRA_CAPABILITIES", "shop.ai.ForecastCapability,x.YCapability")

    assert ai_settings.EXTRA_CAPABILITIES == ["shop.ai.ForecastCapability", "x.YCapability"]


def test_sandbox_default_contacts__django_setting_over_environment(settings, monkeypatch):
    monkeypatch.setenv("TRAINING_SANDBOX_DEFAULT_CONTACTS", "300")
    assert sandbox_settings.DEFAULT_CONTACTS == 300

    settings.TRAINING_SANDBOX_DEFAULT_CONTACTS = 40

    assert sandbox_settings.DEFAULT_CONTACTS == 40
