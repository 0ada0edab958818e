"""A user who had a panel and lost it sees a short notice in its place."""

from __future__ import annotations

from django.test import RequestFactory
from waffle.testutils import override_switch

from ai_features import gate, services
from ai_features.registry import registry
from crmcore import extensions, factories


def _render(panel_key, user, workspace):
    contact = factories.ContactFactory(workspace=workspace)
    request = RequestFactory().get(f"/contacts/{contact.pk}/")
    request.user, request.workspace = user, workspace
    return extensions.contact_panels.get(panel_key).render(request, contact)


def test_a_panel_switched_off_leaves_a_notice_for_those_who_had_it(
    workspace,
    user,
    team,
    staff_user,
    django_capture_on_commit_callbacks,
    django_assert_num_queries,
):
    panel = registry.get("sentiment").panels()[0].key
    never = factories.UserFactory()
    services.rollout_set_phase(
        capability="sentiment",
        phase="pilot",
        teams=["EMEA Sales"],
        actor=staff_user,
        reason="p",
        source="cli",
    )
    with django_capture_on_commit_callbacks(execute=True):
        html = _render(panel, user, workspace)
    assert html and "ai-notice" not in html
    assert _render(panel, never, workspace) is None  # never had it: nothing
    services.rollout_set_phase(
        capability="sentiment", phase="off", actor=staff_user, reason="p", source="cli"
    )
    gate.is_enabled("sentiment", user, workspace)  # warm the gate
    with django_assert_num_queries(0):
        notice = extensions.contact_panels.get(panel).render(_request(user, workspace), None)
    assert notice == (
        '<p class="muted ai-notice" data-testid="ai-notice">Sentiment has been switched off '
        "for you for now. Everything else works as before.</p>"
    )
    assert _render(panel, never, workspace) is None
    with override_switch(gate.KILL_SWITCH, active=True):
        assert "Sentiment is switched off for everyone for now." in _render(panel, user, workspace)


def test_no_notice_in_a_sandbox(sandbox, django_capture_on_commit_callbacks):
    from django.core.cache import cache

    from ai_features.exposure import exposure_key

    panel = registry.get("sentiment").panels()[0].key
    cache.set(exposure_key("sentiment", sandbox.owner.pk), True)
    other = factories.UserFactory()
    cache.set(exposure_key("sentiment", other.pk), True)
    assert _render(panel, other, sandbox) is None


def _request(user, workspace):
    request = RequestFactory().get("/contacts/1/")
    request.user, request.workspace = user, workspace
    return request
