"""The campaign builder pages and the suggested-reply panel: flag off, on and kill switch."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from ai_features.capabilities.personalization.models import CampaignMessage, SuggestedReply
from ai_features.models import JobRun, SuggestionEvent
from crmcore import factories
from crmcore.models import Campaign, Interaction
from tests.ai_features.personalization.helpers import inbound

FACT = "Last order: Analytics Pro, 64 days ago"


def _builder(client, campaign):
    return client.get(reverse("personalization:campaign-builder", args=[campaign.pk]))


def test_builder_page__flag_off__plain_mail_merge(logged_in_client, campaign, customers):
    response = _builder(logged_in_client, campaign)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="mode">Mail merge<' in html
    assert FACT not in html
    assert "Personal facts used" not in html
    assert 'name="churn_band"' not in html
    assert "{personal_note}" not in html
    assert "Hi Ada," in html


def test_builder_page__everything_on__facts_and_ai_fields(
    logged_in_client, all_on, campaign, customers
):
    html = _builder(logged_in_client, campaign).content.decode()
    assert 'data-testid="mode">Personalized<' in html
    assert FACT in html
    assert (
        "Next product: Analytics Pro (from Prediction — "
        "bought next by customers with the same purchases)" in html
    )
    assert 'name="churn_band"' in html
    assert "<code>{personal_note}</code>" in html


def test_builder_page__prediction_off__says_what_is_not_used(
    logged_in_client, personalization_on, campaign, customers
):
    html = _builder(logged_in_client, campaign).content.decode()
    assert FACT in html
    assert "Next product: not used — Prediction is not enabled for you" in html
    assert "Recent tone: not used — Sentiment is not enabled for you" in html
    assert 'name="churn_band"' not in html


def test_builder_page__kill_switch__plain_mail_merge(
    logged_in_client, all_on, kill_switch, campaign, customers
):
    html = _builder(logged_in_client, campaign).content.decode()
    assert 'data-testid="mode">Mail merge<' in html
    assert FACT not in html


def test_builder_page__other_workspace_campaign__404(logged_in_client, sandbox):
    campaign = factories.CampaignFactory(workspace=sandbox)
    assert _builder(logged_in_client, campaign).status_code == 404


def test_builder_page__anonymous__redirected_to_login(client, campaign):
    response = _builder(client, campaign)
    assert response.status_code == 302
    assert response.url.startswith("/login/")


@pytest.mark.parametrize("contacts", [2, 12])
def test_builder_page__preview__query_count_pinned(
    logged_in_client, all_on, workspace, campaign, customers, django_assert_num_queries, contacts
):
    for _ in range(contacts - 2):
        factories.ContactFactory(workspace=workspace)
    _builder(logged_in_client, campaign)  # warm the gate's caches
    # session, user, workspace, campaign, audience choices (4), preview (ids, rows, 3 facts,
    # tones, scores, count), message counts, jobs
    with django_assert_num_queries(18):
        response = _builder(logged_in_client, campaign)
    assert response.status_code == 200


def test_builder_page__flag_off__query_count_pinned(
    logged_in_client, campaign, customers, django_assert_num_queries
):
    _builder(logged_in_client, campaign)
    # as above without facts, tones and scores
    with django_assert_num_queries(13):
        assert _builder(logged_in_client, campaign).status_code == 200


def test_new_campaign__post__created_and_redirected(logged_in_client, workspace, user, team):
    response = logged_in_client.post(
        reverse("personalization:campaign-new"),
        {
            "name": "Thank you",
            "goal": "thank",
            "lifecycle_stage": "customer",
            "team": team.pk,
            "subject_template": "Thanks {first_name}",
            "body_template": "Hi {first_name}",
        },
    )
    campaign = Campaign.objects.get(name="Thank you")
    assert response.status_code == 302
    assert response.url == reverse("personalization:campaign-builder", args=[campaign.pk])
    assert (campaign.audience, campaign.created_by, campaign.workspace) == (
        {"lifecycle_stage": "customer", "team": team.pk},
        user,
        workspace,
    )


def test_new_campaign__unknown_placeholder__400_with_reason(logged_in_client):
    response = logged_in_client.post(
        reverse("personalization:campaign-new"),
        {"name": "X", "goal": "thank", "body_template": "Hi {nickname}"},
    )
    assert response.status_code == 400
    assert "Unknown placeholder {nickname}." in response.content.decode()
    assert not Campaign.objects.filter(name="X").exists()


def test_edit_campaign__prediction_off__churn_band_kept(logged_in_client, campaign):
    campaign.audience = {"lifecycle_stage": "customer", "churn_band": "high"}
    campaign.save()
    response = logged_in_client.post(
        reverse("personalization:campaign-builder", args=[campaign.pk]),
        {
            "name": "Renamed",
            "goal": "win_back",
            "lifecycle_stage": "customer",
            "subject_template": "Hi",
            "body_template": "Hi {first_name}",
        },
    )
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.name, campaign.audience) == (
        "Renamed",
        {"lifecycle_stage": "customer", "churn_band": "high"},
    )


def _walk(client, campaign, django_capture_on_commit_callbacks):
    """Build, approve and send through the pages."""
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("personalization:campaign-build", args=[campaign.pk]))
    client.post(reverse("personalization:campaign-approve", args=[campaign.pk]))
    url = reverse("personalization:campaign-send", args=[campaign.pk])
    assert "2 emails to 2 contacts, none skipped." in client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"expected": "2"})
    assert response.status_code == 302
    campaign.refresh_from_db()


@pytest.mark.parametrize(("state", "personalized"), [("off", False), ("on", True), ("kill", False)])
def test_build_approve_send__pages__flag_state_decides_personalization(
    request,
    logged_in_client,
    campaign,
    customers,
    django_capture_on_commit_callbacks,
    state,
    personalized,
):
    if state in ("on", "kill"):
        request.getfixturevalue("all_on")
    if state == "kill":
        request.getfixturevalue("kill_switch")
    ada, _ = customers
    _walk(logged_in_client, campaign, django_capture_on_commit_callbacks)
    assert campaign.status == "sent"
    assert len(mail.outbox) == 2
    ada_mail = next(m for m in mail.outbox if m.to == [ada.email])
    assert ("Analytics Pro" in ada_mail.body) is personalized
    assert set(CampaignMessage.objects.values_list("personalized", flat=True)) == {personalized}
    jobs = JobRun.objects.filter(capability="personalization").order_by("id")
    assert [(j.name, j.status, j.done, j.total) for j in jobs] == [
        (f"build_campaign:{campaign.pk}", "succeeded", 2, 2),
        (f"send_campaign:{campaign.pk}", "succeeded", 2, 2),
    ]


def test_message_edit__page__saved_and_counted_as_correction(
    logged_in_client, all_on, campaign, customers, user
):
    from ai_features.capabilities.personalization.services import campaign_messages_build

    campaign_messages_build(campaign=campaign, user=user)
    message = CampaignMessage.objects.filter(campaign=campaign).first()
    url = reverse("personalization:message-edit", args=[campaign.pk, message.pk])
    assert logged_in_client.get(url).status_code == 200
    response = logged_in_client.post(url, {"subject": "New", "body": "Rewritten"})
    assert response.status_code == 302
    message.refresh_from_db()
    assert (message.subject, message.body, message.edited) == ("New", "Rewritten", True)
    assert SuggestionEvent.objects.filter(action="corrected", object_id=message.pk).count() == 1


@pytest.mark.parametrize("count", [3, 30])
def test_message_list__page__query_count_pinned(
    logged_in_client, workspace, user, django_assert_num_queries, count
):
    from ai_features.capabilities.personalization.services import campaign_messages_build

    for _ in range(count):
        factories.ContactFactory(workspace=workspace)
    campaign = factories.CampaignFactory(workspace=workspace, created_by=user)
    campaign_messages_build(campaign=campaign, user=user)
    url = reverse("personalization:message-list", args=[campaign.pk])
    logged_in_client.get(url)
    # session, user, workspace, campaign, count, page of messages with contacts,
    # messages failing the checks
    with django_assert_num_queries(7):
        response = logged_in_client.get(reverse("personalization:message-list", args=[campaign.pk]))
    assert response.content.decode().count("data-message=") == count


# -- the suggested-reply panel ------------------------------------------------


def _contact_page(client, contact):
    return client.get(reverse("contact-detail", args=[contact.pk])).content.decode()


def test_reply_panel__flag_off__absent(logged_in_client, customers):
    ada, _ = customers
    assert 'data-panel="personalization"' not in _contact_page(logged_in_client, ada)


def test_reply_panel__kill_switch__absent(logged_in_client, all_on, kill_switch, customers):
    ada, _ = customers
    assert 'data-panel="personalization"' not in _contact_page(logged_in_client, ada)


def test_reply_panel__on__suggestion_with_facts_and_shown_metric(
    logged_in_client, all_on, customers, user, django_capture_on_commit_callbacks
):
    ada, _ = customers
    # "shown" is written after the response's transaction commits, off the request
    with django_capture_on_commit_callbacks(execute=True):
        html = _contact_page(logged_in_client, ada)
    assert 'data-panel="personalization"' in html
    assert "I&#x27;m sorry about the trouble (“Export broken”)." in html
    assert FACT in html
    ticket = Interaction.objects.get(subject="Export broken")
    assert (
        SuggestionEvent.objects.filter(
            capability="personalization", action="shown", object_id=ticket.pk, user=user
        ).count()
        == 1
    )


@pytest.mark.parametrize(
    ("action", "status"), [("accepted", "accepted"), ("dismissed", "dismissed")]
)
def test_reply_decide__on__recorded_and_panel_shows_decision(
    logged_in_client, all_on, customers, action, status
):
    ada, _ = customers
    ticket = Interaction.objects.get(subject="Export broken")
    response = logged_in_client.post(
        reverse("personalization:reply-decide", args=[ticket.pk]), {"action": action}
    )
    assert response.status_code == 302
    assert SuggestedReply.objects.get(interaction=ticket).status == status
    page = _contact_page(logged_in_client, ada)
    if status == "dismissed":
        assert "Suggested reply to “Export broken”: dismissed." in page
    else:  # sent: the ticket is answered, nothing waits for a reply
        assert "Nothing waits for a reply: their latest message (“Export broken”" in page


def test_reply_decide__edited__own_words_logged(logged_in_client, all_on, customers):
    ada, _ = customers
    question = inbound(ada, channel="chat", days_ago=0, hour=12, subject="Price?")
    logged_in_client.post(
        reverse("personalization:reply-decide", args=[question.pk]),
        {"action": "edited", "body": "It is 10 a month."},
    )
    reply = Interaction.objects.get(contact=ada, direction="out")
    assert (reply.body, reply.channel) == ("It is 10 a month.", "email")
    assert SuggestionEvent.objects.filter(action="edited", object_id=question.pk).count() == 1


def test_reply_decide__flag_off__403_with_reason(logged_in_client, customers):
    ticket = Interaction.objects.get(subject="Export broken")
    response = logged_in_client.post(
        reverse("personalization:reply-decide", args=[ticket.pk]), {"action": "accepted"}
    )
    assert response.status_code == 403
    assert "Personalization is not enabled for your team." in response.content.decode()
    assert not SuggestedReply.objects.exists()


def test_reply_decide__kill_switch__403_with_reason(
    logged_in_client, all_on, kill_switch, customers
):
    ticket = Interaction.objects.get(subject="Export broken")
    response = logged_in_client.post(
        reverse("personalization:reply-decide", args=[ticket.pk]), {"action": "accepted"}
    )
    assert response.status_code == 403
    assert "Personalization is switched off for everyone for now." in response.content.decode()


def test_nav__signed_in__links_the_builder(logged_in_client):
    html = logged_in_client.get("/").content.decode()

    assert f'href="{reverse("personalization:campaign-list")}" data-nav="campaigns"' in html


def test_campaign_list__builder__lists_workspace_campaigns(logged_in_client, campaign, sandbox):
    factories.CampaignFactory(workspace=sandbox, name="Hidden")
    html = logged_in_client.get(reverse("personalization:campaign-list")).content.decode()
    assert f'data-campaign="{campaign.pk}"' in html
    assert "Hidden" not in html
