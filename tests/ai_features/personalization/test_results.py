"""Campaign results: sent, opened (reported by the email backend), replied within N days,
unsubscribed; counted once each in the pilot metrics."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from ai_features.capabilities.personalization import selectors, services
from ai_features.capabilities.personalization.models import CampaignMessage
from ai_features.capabilities.personalization.tasks import record_campaign_results_task
from ai_features.models import SuggestionEvent
from crmcore import factories

QUERIES = 11


@pytest.fixture
def sent(campaign, customers, user):
    services.campaign_messages_build(campaign=campaign, user=user)
    services.campaign_approve(campaign=campaign, user=user)
    services.campaign_send(campaign=campaign, user=user)
    return campaign


def _write(contact, *, days_after_send: int, channel: str = "email"):
    message = CampaignMessage.objects.get(contact=contact)
    return factories.InteractionFactory(
        workspace=contact.workspace,
        contact=contact,
        channel=channel,
        direction="in",
        occurred_at=message.sent_at + dt.timedelta(days=days_after_send),
    )


def test_results__counts(sent, customers, settings, workspace):
    settings.AI_PERSONALIZATION_REPLY_WINDOW_DAYS = 7
    ada, ben = customers
    _write(ada, days_after_send=2)
    _write(ben, days_after_send=9)  # outside the window
    _write(ben, days_after_send=1, channel="note")  # a note is not a reply
    ben.marketing_opt_out = True
    ben.save()
    services.campaign_message_opened(message=CampaignMessage.objects.get(contact=ada))

    results = selectors.campaign_results(workspace=workspace, campaign=sent)

    assert (results.sent, results.opened, results.replied, results.unsubscribed) == (2, 1, 1, 1)
    assert results.window_days == 7


def test_results_job__metrics_once_each(sent, customers, workspace):
    ada, ben = customers
    _write(ada, days_after_send=1)
    ben.marketing_opt_out = True
    ben.save()

    assert record_campaign_results_task.run_now(workspace=workspace) == {
        "replied": 1,
        "unsubscribed": 1,
    }
    assert record_campaign_results_task.run_now(workspace=workspace) == {
        "replied": 0,
        "unsubscribed": 0,
    }
    events = SuggestionEvent.objects.filter(capability="personalization").exclude(action="shown")
    assert sorted((e.action, e.detail["kind"]) for e in events) == [
        ("accepted", "campaign_replied"),
        ("dismissed", "campaign_unsubscribed"),
    ]


def test_results_job__kill_switch__skipped(sent, workspace, kill_switch):
    summary = record_campaign_results_task(workspace.pk)
    assert "skipped" in summary


def test_opened_api__first_report_counts_once(
    api_client, all_on, sent, customers, django_capture_on_commit_callbacks
):
    ada, _ = customers
    message = CampaignMessage.objects.get(contact=ada)
    url = reverse("personalization-api-message-opened", args=[message.pk])
    with django_capture_on_commit_callbacks(execute=True):
        assert api_client.post(url).json() == {"message": message.pk, "first_open": True}
        assert api_client.post(url).json() == {"message": message.pk, "first_open": False}
    message.refresh_from_db()
    assert message.opened_at is not None
    assert SuggestionEvent.objects.filter(detail__kind="campaign_opened").count() == 1


def test_opened_api__draft_400_unknown_404_other_workspace_404(
    api_client, all_on, campaign, customers, user
):
    services.campaign_messages_build(campaign=campaign, user=user)
    draft = CampaignMessage.objects.filter(campaign=campaign).first()
    assert (
        api_client.post(reverse("personalization-api-message-opened", args=[draft.pk])).status_code
        == 400
    )
    assert (
        api_client.post(reverse("personalization-api-message-opened", args=[999999])).status_code
        == 404
    )


@pytest.mark.parametrize("state", ["off", "kill"])
def test_opened_api__off_or_kill__403(request, api_client, sent, state):
    if state == "kill":
        request.getfixturevalue("all_on")
        request.getfixturevalue("kill_switch")
    message = CampaignMessage.objects.filter(campaign=sent).first()
    url = reverse("personalization-api-message-opened", args=[message.pk])
    assert api_client.post(url).status_code == 403


def test_campaign_page__sent__results_shown(
    logged_in_client, sent, customers, django_assert_num_queries
):
    ada, _ = customers
    _write(ada, days_after_send=1)
    url = reverse("personalization:campaign-builder", args=[sent.pk])
    logged_in_client.get(url)
    with django_assert_num_queries(QUERIES):
        page = logged_in_client.get(url).content.decode()
    assert '<td class="num" data-result="sent">2</td>' in page
    assert '<td class="num" data-result="replied">1</td>' in page
    assert '<td class="num" data-result="opened">0</td>' in page
