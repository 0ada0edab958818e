"""The capability registry: validation, built-ins, and a project's own capability everywhere."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse

from ai_features import gate
from ai_features.registry import Capability, CapabilityError, CapabilityRegistry, registry
from ai_features.services import capability_flags_ensure
from crmcore import extensions
from crmcore.events import registered_events
from tests.ai_features.fakes import FAKE_KEY


def test_registry__builtins__registered_with_flags():
    assert {"prediction", "personalization", "sentiment"} <= set(registry.keys())
    assert registry.get("sentiment").flag_name == "ai_sentiment"


@pytest.mark.parametrize(
    ("attrs", "name", "message"),
    [
        ({"key": "Bad Key", "title": "t", "description": "d"}, "BadCapability", "must match"),
        ({"key": "ok", "title": "", "description": "d"}, "OkCapability", "title is required"),
        ({"key": "ok", "title": "t", "description": ""}, "OkCapability", "description"),
        ({"key": "ok", "title": "t", "description": "d"}, "OkThing", "end in 'Capability'"),
    ],
)
def test_register__invalid_class__capability_error(attrs, name, message):
    cls = type(name, (Capability,), attrs)
    with pytest.raises(CapabilityError, match=message):
        CapabilityRegistry().register(cls)


def test_register__duplicate_key_or_flag__capability_error():
    reg = CapabilityRegistry()
    reg.register(
        type("OneCapability", (Capability,), {"key": "one", "title": "t", "description": "d"})
    )
    other = type("TwoCapability", (Capability,), {"key": "one", "title": "t", "description": "d"})
    with pytest.raises(CapabilityError, match="already registered"):
        reg.register(other)
    clash = type(
        "ThreeCapability",
        (Capability,),
        {"key": "three", "title": "t", "description": "d", "flag_name": "ai_one"},
    )
    with pytest.raises(CapabilityError, match="already used"):
        reg.register(clash)


def test_register_path__not_importable__capability_error():
    with pytest.raises(CapabilityError, match="Cannot import"):
        CapabilityRegistry().register_path("nowhere.NoCapability")


def test_extra_capability__setting__in_gate_panels_events(fake_capability, workspace, user):
    assert registry.get(FAKE_KEY) is fake_capability
    assert "fake_probe_panel" in extensions.contact_panels
    assert "contact.fake_probed" in registered_events()
    assert gate.is_enabled(FAKE_KEY, user, workspace) is False


def test_extra_capability__after_migrate__has_an_off_flag_in_the_admin(
    fake_capability, staff_client
):
    assert capability_flags_ensure() == 1
    response = staff_client.get(reverse("admin:ai_features_flag_changelist"))
    assert "ai_fake_probe" in response.content.decode()


def test_extra_capability__dashboard_cli_api__listed(
    fake_capability, staff_client, staff_api_client, capsys
):
    assert 'data-capability="fake_probe"' in staff_client.get("/ai/rollout/").content.decode()
    call_command("rollout", "set", FAKE_KEY, "--phase", "everyone", "--reason", "try it")
    call_command("rollout", "status")
    assert "fake_probe         phase=everyone" in capsys.readouterr().out
    data = staff_api_client.get("/api/v1/rollout/").json()
    assert {c["key"]: c["phase"] for c in data["capabilities"]}[FAKE_KEY] == "everyone"


def test_unregister__removes_its_panels():
    reg = CapabilityRegistry()

    class GoneCapability(Capability):
        key = "gone"
        title = "Gone"
        description = "d"

        def panels(self):
            return [extensions.ContactPanel(key="gone_panel", title="g", render=lambda r, c: "x")]

    reg.register(GoneCapability)
    assert "gone_panel" in extensions.contact_panels
    reg.unregister("gone")
    assert "gone_panel" not in extensions.contact_panels
