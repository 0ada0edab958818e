"""The personalization API: 403 with a plain reason where the capability is off."""

from __future__ import annotations

import pytest
from django.urls import reverse

from ai_features.capabilities.personalization.models import CampaignMessage, SuggestedReply
from ai_features.capabilities.personalization.services import (
    campaign_approve,
    campaign_messages_build,
)
from crmcore import factories
from crmcore.models import Interaction

FACT = "Last order: Analytics Pro, 64 days ago"


def _url(name, *args):
    return reverse(f"personalization-api-{name}", args=args)


def test_preview_api__on__sample_with_facts(api_client, all_on, campaign, customers):
    ada, ben = customers
    response = api_client.get(_url("campaign-preview", campaign.pk), {"limit": 5})
    assert response.status_code == 200
    data = response.json()
    assert (data["audience_size"], data["ignored_filters"]) == (2, [])
    by_contact = {m["contact"]: m for m in data["messages"]}
    assert FACT in by_contact[ada.pk]["facts"]
    assert "Last order: Starter, 10 days ago" in by_contact[ben.pk]["facts"]
    assert by_contact[ada.pk]["apology_first"] is True


def test_preview_api__flag_off__403_with_reason(api_client, campaign):
    response = api_client.get(_url("campaign-preview", campaign.pk))
    assert response.status_code == 403
    assert response.json() == {"detail": "Personalization is not enabled for your team."}


def test_preview_api__kill_switch__403_with_reason(api_client, all_on, kill_switch, campaign):
    response = api_client.get(_url("campaign-preview", campaign.pk))
    assert response.status_code == 403
    assert response.json() == {"detail": "Personalization is switched off for everyone for now."}


def test_preview_api__other_workspace__404(api_client, all_on, sandbox):
    campaign = factories.CampaignFactory(workspace=sandbox)
    assert api_client.get(_url("campaign-preview", campaign.pk)).status_code == 404


@pytest.mark.parametrize("extra", [0, 15])
def test_preview_api__query_count_pinned(
    api_client, all_on, workspace, campaign, customers, django_assert_num_queries, extra
):
    for _ in range(extra):
        factories.ContactFactory(workspace=workspace)
    url = _url("campaign-preview", campaign.pk)
    api_client.get(url, {"limit": 20})
    # workspace, campaign, ids, rows, 3 facts, tones, scores, count
    with django_assert_num_queries(10):
        response = api_client.get(url, {"limit": 20})
    assert len(response.json()["messages"]) == 2 + extra


@pytest.mark.parametrize("count", [3, 40])
def test_messages_api__query_count_pinned(
    api_client, all_on, workspace, user, django_assert_num_queries, count
):
    for _ in range(count):
        factories.ContactFactory(workspace=workspace)
    campaign = factories.CampaignFactory(workspace=workspace, created_by=user)
    campaign_messages_build(campaign=campaign, user=user)
    url = _url("campaign-messages", campaign.pk)
    api_client.get(url)
    # workspace, campaign, count, page with contacts
    with django_assert_num_queries(4):
        response = api_client.get(url)
    assert (response.json()["count"], len(response.json()["results"])) == (count, count)


def test_build_api__on__job_runs_with_progress(
    api_client, all_on, campaign, customers, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(_url("campaign-build", campaign.pk))
    assert response.status_code == 202
    jobs = api_client.get(response.json()["jobs"]).json()["results"]
    assert [(j["status"], j["done"], j["total"]) for j in jobs] == [("succeeded", 2, 2)]
    assert jobs[0]["result"]["personalized_messages"] == 2
    messages = api_client.get(_url("campaign-messages", campaign.pk)).json()["results"]
    assert {m["personalized"] for m in messages} == {True}


@pytest.mark.parametrize("state", ["off", "kill"])
def test_build_and_send_api__off_or_kill__403_nothing_built(
    request, api_client, campaign, customers, state
):
    if state == "kill":
        request.getfixturevalue("all_on")
        request.getfixturevalue("kill_switch")
    for name in ("campaign-build", "campaign-approve", "campaign-send"):
        assert api_client.post(_url(name, campaign.pk)).status_code == 403
    assert api_client.get(_url("campaign-messages", campaign.pk)).status_code == 403
    assert not CampaignMessage.objects.exists()


def test_edit_approve_send_api__on__sent(
    api_client, all_on, campaign, customers, user, mailoutbox, django_capture_on_commit_callbacks
):
    campaign_messages_build(campaign=campaign, user=user)
    message = CampaignMessage.objects.filter(campaign=campaign).first()
    edited = api_client.patch(
        _url("campaign-message", campaign.pk, message.pk),
        {"subject": "S", "body": "B"},
        format="json",
    )
    assert (edited.status_code, edited.json()["edited"]) == (200, True)
    assert api_client.post(_url("campaign-approve", campaign.pk)).json()["status"] == "approved"
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(_url("campaign-send", campaign.pk))
    assert response.status_code == 202
    other = CampaignMessage.objects.exclude(pk=message.pk).get()
    assert sorted(m.subject for m in mailoutbox) == sorted(["S", other.subject])


def test_send_api__not_approved__400(api_client, all_on, campaign):
    response = api_client.post(_url("campaign-send", campaign.pk))
    assert response.status_code == 400
    assert response.json() == {"detail": "Approve the campaign before sending it."}


def test_approve_api__nothing_built__400(api_client, all_on, campaign, user):
    response = api_client.post(_url("campaign-approve", campaign.pk))
    assert response.status_code == 400
    campaign_messages_build(campaign=campaign, user=user)
    campaign_approve(campaign=campaign, user=user)
    assert api_client.post(_url("campaign-approve", campaign.pk)).status_code == 400


def test_suggested_reply_api__on__get_then_accept(api_client, all_on, customers, user):
    ticket = Interaction.objects.get(subject="Export broken")
    url = _url("suggested-reply", ticket.pk)
    data = api_client.get(url).json()
    assert data["decision"] is None
    assert data["apology_first"] is True
    assert FACT in data["facts"]
    response = api_client.post(url, {"action": "accepted"}, format="json")
    assert response.status_code == 201
    assert response.json()["body"] == data["body"]
    assert api_client.get(url).json()["decision"] == "accepted"
    assert api_client.post(url, {"action": "dismissed"}, format="json").status_code == 400
    assert SuggestedReply.objects.get().reply.direction == "out"


def test_suggested_reply_api__edited_without_body__400(api_client, all_on, customers):
    ticket = Interaction.objects.get(subject="Export broken")
    response = api_client.post(
        _url("suggested-reply", ticket.pk), {"action": "edited"}, format="json"
    )
    assert response.status_code == 400
    assert not SuggestedReply.objects.exists()


def test_suggested_reply_api__outbound_interaction__400(api_client, all_on, customers):
    ada, _ = customers
    out = factories.InteractionFactory(contact=ada, direction="out")
    assert api_client.get(_url("suggested-reply", out.pk)).status_code == 400


@pytest.mark.parametrize("state", ["off", "kill"])
def test_suggested_reply_api__off_or_kill__403(request, api_client, customers, state):
    if state == "kill":
        request.getfixturevalue("all_on")
        request.getfixturevalue("kill_switch")
    ticket = Interaction.objects.get(subject="Export broken")
    url = _url("suggested-reply", ticket.pk)
    assert api_client.get(url).status_code == 403
    assert api_client.post(url, {"action": "accepted"}, format="json").status_code == 403
    assert not SuggestedReply.objects.exists()


def test_suggested_reply_api__other_workspace__404(api_client, all_on, sandbox):
    other = factories.InteractionFactory(workspace=sandbox)
    assert api_client.get(_url("suggested-reply", other.pk)).status_code == 404


#: First call, caches cold: the kill switch and three flags (the gate), workspace,
#: interaction, contact row, orders, two interaction facts, tones, next needs, decision.
COLD = 13


def test_suggested_reply_api__query_count_pinned(
    api_client, all_on, customers, django_assert_num_queries
):
    ticket = Interaction.objects.get(subject="Export broken")
    url = _url("suggested-reply", ticket.pk)
    with django_assert_num_queries(COLD):
        assert api_client.get(url).status_code == 200
    # Composed once, the reply comes from the cache (AI_PERSONALIZATION_REPLY_CACHE_SECONDS):
    # workspace, interaction, decision
    with django_assert_num_queries(3):
        assert api_client.get(url).status_code == 200
