"""crmcore.conf: typed app settings from Django settings, the environment or defaults."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from crmcore.conf import AppSettings
from crmcore.integrations.conf import app_settings as integration_settings


class DemoSettings(AppSettings):
    prefix = "DEMO_"

    CHUNK_SIZE: int = 500
    THRESHOLD: float = 0.5
    ENABLED: bool = False
    LABEL: str = "plain"
    TONES: tuple[str, ...] = ("negative", "urgent")
    DIRS: list[str] = []


class RenamedSettings(AppSettings):
    prefix = "NEW_"
    deprecated_prefix = "OLD_"

    LIMIT: int = 3


demo = DemoSettings()
renamed = RenamedSettings()


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    for name in [*DemoSettings.names(), *RenamedSettings.names(), "OLD_LIMIT"]:
        monkeypatch.delenv(name, raising=False)


def test_app_settings__nothing_set__defaults():
    assert (demo.CHUNK_SIZE, demo.THRESHOLD, demo.ENABLED, demo.LABEL) == (500, 0.5, False, "plain")
    assert (demo.TONES, demo.DIRS) == (("negative", "urgent"), [])


def test_app_settings__names__prefixed_in_declaration_order():
    assert DemoSettings.names() == [
        "DEMO_CHUNK_SIZE",
        "DEMO_THRESHOLD",
        "DEMO_ENABLED",
        "DEMO_LABEL",
        "DEMO_TONES",
        "DEMO_DIRS",
    ]


def test_app_settings__django_setting__read_on_each_access(settings):
    settings.DEMO_CHUNK_SIZE = 7
    assert demo.CHUNK_SIZE == 7

    with override_settings(DEMO_CHUNK_SIZE=9):
        assert demo.CHUNK_SIZE == 9
    assert demo.CHUNK_SIZE == 7


def test_app_settings__environment__parsed_to_the_declared_type(monkeypatch):
    monkeypatch.setenv("DEMO_CHUNK_SIZE", "250")
    monkeypatch.setenv("DEMO_THRESHOLD", "0.25")
    monkeypatch.setenv("DEMO_ENABLED", "true")
    monkeypatch.setenv("DEMO_LABEL", "from the environment")
    monkeypatch.setenv("DEMO_TONES", "negative, frustrated,")
    monkeypatch.setenv("DEMO_DIRS", "/srv/lessons,/opt/lessons")

    assert (demo.CHUNK_SIZE, demo.THRESHOLD, demo.ENABLED) == (250, 0.25, True)
    assert demo.LABEL == "from the environment"
    assert demo.TONES == ("negative", "frustrated")
    assert demo.DIRS == ["/srv/lessons", "/opt/lessons"]


@pytest.mark.parametrize(
    ("text", "expected"), [("1", True), ("Yes", True), ("on", True), ("0", False), ("off", False)]
)
def test_app_settings__boolean_spellings__parsed(monkeypatch, text, expected):
    monkeypatch.setenv("DEMO_ENABLED", text)

    assert demo.ENABLED is expected


def test_app_settings__django_setting_and_environment__django_setting_wins(settings, monkeypatch):
    monkeypatch.setenv("DEMO_CHUNK_SIZE", "250")
    settings.DEMO_CHUNK_SIZE = 7

    assert demo.CHUNK_SIZE == 7


def test_app_settings__int_for_a_float__accepted_as_float(settings):
    settings.DEMO_THRESHOLD = 2

    assert demo.THRESHOLD == 2.0
    assert isinstance(demo.THRESHOLD, float)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("DEMO_CHUNK_SIZE", "many", "DEMO_CHUNK_SIZE must be int: invalid literal"),
        ("DEMO_ENABLED", "maybe", "DEMO_ENABLED must be bool: 'maybe' is not a boolean"),
        ("DEMO_THRESHOLD", "high", "DEMO_THRESHOLD must be float: could not convert"),
    ],
)
def test_app_settings__unparsable_environment__improperly_configured(
    monkeypatch, name, text, message
):
    monkeypatch.setenv(name, text)

    with pytest.raises(ImproperlyConfigured, match=message):
        getattr(demo, name.removeprefix("DEMO_"))


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEMO_CHUNK_SIZE", 2.5, "DEMO_CHUNK_SIZE must be int: 2.5 is not int"),
        ("DEMO_CHUNK_SIZE", True, "DEMO_CHUNK_SIZE must be int: True is not int"),
        ("DEMO_ENABLED", 1, "DEMO_ENABLED must be bool: 1 is not bool"),
        ("DEMO_TONES", ["a", 1], r"DEMO_TONES must be tuple\[str, ...\]"),
    ],
)
def test_app_settings__django_setting_of_another_type__improperly_configured(
    settings, name, value, message
):
    setattr(settings, name, value)

    with pytest.raises(ImproperlyConfigured, match=message):
        getattr(demo, name.removeprefix("DEMO_"))


def test_app_settings__deprecated_name__still_read_with_a_warning(settings):
    settings.OLD_LIMIT = 8

    with pytest.warns(DeprecationWarning, match="OLD_LIMIT is deprecated; use NEW_LIMIT"):
        assert renamed.LIMIT == 8


def test_app_settings__deprecated_name_in_environment__still_read(monkeypatch):
    monkeypatch.setenv("OLD_LIMIT", "11")

    with pytest.warns(DeprecationWarning):
        assert renamed.LIMIT == 11


def test_app_settings__new_and_deprecated_names__new_name_wins(settings, recwarn):
    settings.OLD_LIMIT = 8
    settings.NEW_LIMIT = 4

    assert renamed.LIMIT == 4
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]


def test_app_settings__unsupported_type__refused_when_declared():
    with pytest.raises(TypeError, match=r"BadSettings.MAPPING: unsupported type dict\[str, int\]"):

        class BadSettings(AppSettings):
            prefix = "BAD_"
            MAPPING: dict[str, int] = {}


def test_app_settings__no_default__refused_when_declared():
    with pytest.raises(TypeError, match=r"BadSettings\.LIMIT has no default"):

        class BadSettings(AppSettings):
            prefix = "BAD_"
            LIMIT: int


def test_app_settings__default_of_another_type__refused_when_declared():
    with pytest.raises(TypeError, match=r"BadSettings\.LIMIT: default 'ten' is not int"):

        class BadSettings(AppSettings):
            prefix = "BAD_"
            LIMIT: int = "ten"  # type: ignore[assignment]


def test_integration_settings__unprefixed_environment_variable__deprecated_alias(monkeypatch):
    monkeypatch.delenv("CRMCORE_WEBHOOKS_MAX_ATTEMPTS", raising=False)
    monkeypatch.setenv("WEBHOOKS_MAX_ATTEMPTS", "2")

    with pytest.warns(DeprecationWarning, match="use CRMCORE_WEBHOOKS_MAX_ATTEMPTS"):
        assert integration_settings.WEBHOOKS_MAX_ATTEMPTS == 2


def test_integration_settings__prefixed_environment_variable__read(monkeypatch):
    monkeypatch.setenv("CRMCORE_WEBHOOKS_ALLOW_PRIVATE_TARGETS", "true")

    assert integration_settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS is True
