"""Every registered capability x every surface x every rollout state.

Generated from whatever the registry holds when the tests are collected, plus
the project's own fake capability (registered through the setting). Surfaces:
its contact panels (as installed in crmcore.extensions.contact_panels), an API
view protected by CapabilityPermission, the ``ai_enabled`` template tag, and a
job (the gate called with no request).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from rest_framework.test import APIRequestFactory, force_authenticate
from waffle.testutils import override_switch

from ai_features import gate
from ai_features.flag_rules import in_percentage
from ai_features.models import Flag
from ai_features.registry import registry
from crmcore import extensions, factories
from tests.ai_features.fakes import FAKE_KEY, CapabilityProbeApi, FakeProbeCapability

STATES = {
    "flag_off": False,
    "on_for_team": True,
    "on_by_percentage": True,
    "kill_switch": False,
    "sandbox": True,
}


def _panel_keys(key: str) -> list[str]:
    cap = FakeProbeCapability() if key == FAKE_KEY else registry.get(key)
    return [panel.key for panel in cap.panels()]


def _cases():
    for key in [*registry.keys(), FAKE_KEY]:
        surfaces = [f"panel:{p}" for p in _panel_keys(key)] + ["api", "template", "job"]
        for surface in surfaces:
            for state in STATES:
                yield pytest.param(key, surface, state, id=f"{key}-{surface}-{state}")


@pytest.fixture
def arrange(workspace, fake_capability, enable_capability):
    """Put the capability in ``state`` for a fresh user; returns (user, workspace)."""

    def _arrange(key: str, state: str):
        cap = registry.get(key)
        Flag.objects.get_or_create(name=cap.flag_name)
        if state == "on_by_percentage":
            user = factories.UserFactory()
            while not in_percentage(cap.flag_name, user.pk, Decimal("50.0")):
                user = factories.UserFactory()
            flag = Flag.objects.get(name=cap.flag_name)
            flag.percent = Decimal("50.0")
            flag.save()
            flag.flush()
            return user, workspace
        user = factories.UserFactory()
        if state == "on_for_team":
            team = factories.TeamFactory(workspace=workspace, members=[user])
            enable_capability(key, teams=[team])
        elif state == "kill_switch":
            enable_capability(key, everyone=True)
        elif state == "sandbox":
            return user, factories.SandboxWorkspaceFactory(owner=user)
        return user, workspace

    return _arrange


def _surface_answer(key: str, surface: str, user, workspace) -> bool:
    if surface == "job":
        return gate.is_enabled(key, user, workspace)
    if surface == "template":
        request = RequestFactory().get("/")
        request.user, request.workspace = user, workspace
        html = Template("{% load ai_features %}{% ai_enabled key as on %}{{ on }}").render(
            Context({"request": request, "key": key})
        )
        return {"True": True, "False": False}[html]
    if surface == "api":
        request = APIRequestFactory().get("/probe/")
        request.workspace = workspace
        force_authenticate(request, user=user)
        response = CapabilityProbeApi.as_view(capability=key)(request)
        if response.status_code == 403:
            assert response.data["detail"] == gate.disabled_reason(key, user, workspace)
            return False
        assert response.status_code == 200
        return True
    panel_key = surface.split(":", 1)[1]
    installed = extensions.contact_panels.get(panel_key)
    raw = next(p for p in registry.get(key).panels() if p.key == panel_key)
    contact = factories.ContactFactory(workspace=workspace)
    request = RequestFactory().get(f"/contacts/{contact.pk}/")
    request.user, request.workspace = user, workspace
    html = installed.render(request, contact)
    if html is None:
        return False
    assert html == raw.render(request, contact)
    return True


@pytest.mark.parametrize(("key", "surface", "state"), list(_cases()))
def test_capability_surface__state__gated(arrange, key, surface, state):
    user, workspace = arrange(key, state)
    if state == "kill_switch":
        with override_switch(gate.KILL_SWITCH, active=True):
            assert _surface_answer(key, surface, user, workspace) is False
    else:
        assert _surface_answer(key, surface, user, workspace) is STATES[state]


def test_matrix__covers_fake_and_every_registered_capability(fake_capability):
    keys = {case.values[0] for case in _cases()}
    assert keys == set(registry.keys())
    assert {"prediction", "personalization", "sentiment", FAKE_KEY} <= keys


# Do not profile: a contact who objects gets nothing from any capability ----------


def _panel_cases():
    for key in [*registry.keys(), FAKE_KEY]:
        for panel_key in _panel_keys(key):
            for objects in (False, True):
                yield pytest.param(key, panel_key, objects, id=f"{key}-{panel_key}-dnp{objects}")


@pytest.mark.parametrize(("key", "panel_key", "objects"), list(_panel_cases()))
def test_panel__do_not_profile_contact__not_rendered_even_when_on(
    arrange, workspace, enable_capability, key, panel_key, objects
):
    user = factories.UserFactory()
    enable_capability(key, everyone=True)
    contact = factories.ContactFactory(workspace=workspace, do_not_profile=objects)
    request = RequestFactory().get(f"/contacts/{contact.pk}/")
    request.user, request.workspace = user, workspace
    html = extensions.contact_panels.get(panel_key).render(request, contact)
    assert (html is None) is objects
    assert gate.may_profile(contact) is (not objects)
    assert gate.is_enabled_for_contact(key, user, workspace, contact) is (not objects)


@pytest.mark.parametrize("provider_key", [p.key for p in extensions.api_field_providers])
def test_api_fields__do_not_profile_contact__left_out(workspace, enable_capability, provider_key):
    for capability in registry:
        enable_capability(capability.key, everyone=True)
    provider = extensions.api_field_providers.get(provider_key)
    user = factories.UserFactory()
    objector = factories.ContactFactory(workspace=workspace, do_not_profile=True)
    interaction = factories.InteractionFactory(workspace=workspace, contact=objector)
    request = RequestFactory().get("/api/v1/contacts/")
    request.user, request.workspace = user, workspace
    objects = [interaction] if provider.model_label == "crmcore.interaction" else [objector]
    assert provider.provide(request, objects) == {}


def test_profiled__excludes_objectors_from_job_querysets(workspace):
    from crmcore.models import Contact, Interaction

    keep = factories.ContactFactory(workspace=workspace)
    objector = factories.ContactFactory(workspace=workspace, do_not_profile=True)
    factories.InteractionFactory(workspace=workspace, contact=keep)
    factories.InteractionFactory(workspace=workspace, contact=objector)
    assert list(gate.profiled(Contact.objects.all())) == [keep]
    assert [i.contact_id for i in gate.profiled(Interaction.objects.all(), "contact__")] == [
        keep.pk
    ]
