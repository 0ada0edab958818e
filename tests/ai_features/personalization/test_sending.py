"""Sending like a campaign tool: confirmation, opt-out, test send, per-message status,
a retry that never sends twice, and the sent messages as stored, for every user."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from ai_features.capabilities.personalization import selectors, services
from ai_features.capabilities.personalization.models import CampaignMessage
from ai_features.capabilities.personalization.tasks import send_campaign_task
from crmcore import factories, outbound
from crmcore.models import Campaign, Interaction, OutboundRecord

FLAG_STATES = ["on", "off", "kill"]


@pytest.fixture
def flag(request):
    """The capability's state: on (all three capabilities), off, or on under the kill switch."""
    state = request.param
    if state in ("on", "kill"):
        request.getfixturevalue("all_on")
    if state == "kill":
        request.getfixturevalue("kill_switch")
    return state


def _approved(campaign, user):
    services.campaign_messages_build(campaign=campaign, user=user)
    services.campaign_approve(campaign=campaign, user=user)
    campaign.refresh_from_db()
    return campaign


def _audience(workspace, n: int, **extra):
    return [
        factories.ContactFactory(
            workspace=workspace,
            first_name=f"Cust{i}",
            lifecycle_stage="customer",
            **extra,
        )
        for i in range(n)
    ]


@pytest.fixture
def mixed(workspace, campaign, customers, user):
    """2 customers to send to, 2 opted out, 1 with no email, 1 failing the checks."""
    _audience(workspace, 2, marketing_opt_out=True)
    factories.ContactFactory(
        workspace=workspace, first_name="Noemail", email="", lifecycle_stage="customer"
    )
    failing = factories.ContactFactory(
        workspace=workspace, first_name="Fails", lifecycle_stage="customer"
    )
    _approved(campaign, user)
    CampaignMessage.objects.filter(contact=failing).update(problems="Body: a doubled space.")
    return campaign


# The confirmation ------------------------------------------------------------------


@pytest.mark.parametrize("flag", FLAG_STATES, indirect=True)
def test_send_page__states_exactly_what_will_happen(logged_in_client, mixed, flag):
    url = reverse("personalization:campaign-send", args=[mixed.pk])
    page = logged_in_client.get(url).content.decode()
    assert (
        "2 emails to 2 contacts, 4 skipped: 2 opted out of marketing, 1 has no email, "
        "1 fails the checks." in page
    )
    assert "Send 2 emails</button>" in page
    assert mail.outbox == []
    assert Campaign.objects.get(pk=mixed.pk).status == "approved"


def test_send_plan__sentence_plural_and_none_skipped():
    assert selectors.SendPlan(emails=84, opted_out=2, no_email=1, failing=0).sentence == (
        "84 emails to 84 contacts, 3 skipped: 2 opted out of marketing, 1 has no email."
    )
    assert selectors.SendPlan(emails=1, opted_out=0, no_email=2, failing=3).sentence == (
        "1 email to 1 contact, 5 skipped: 2 have no email, 3 fail the checks."
    )
    assert selectors.SendPlan(emails=3, opted_out=0, no_email=0, failing=0).sentence == (
        "3 emails to 3 contacts, none skipped."
    )


def test_send_page__query_count_pinned(logged_in_client, mixed, django_assert_num_queries):
    url = reverse("personalization:campaign-send", args=[mixed.pk])
    logged_in_client.get(url)
    with django_assert_num_queries(5):
        assert logged_in_client.get(url).status_code == 200


@pytest.mark.parametrize("flag", FLAG_STATES, indirect=True)
def test_send__confirmed__sent_skipped_each_with_status_and_reason(
    logged_in_client, mixed, customers, flag, django_capture_on_commit_callbacks
):
    url = reverse("personalization:campaign-send", args=[mixed.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in_client.post(url, {"expected": "2"})
    assert response.status_code == 302
    assert sorted(m.to[0] for m in mail.outbox) == sorted(c.email for c in customers)
    statuses = sorted(
        CampaignMessage.objects.filter(campaign=mixed).values_list("status", "skip_reason")
    )
    assert statuses == [
        ("sent", ""),
        ("sent", ""),
        ("skipped", "Fails the checks: Body: a doubled space."),
        ("skipped", "No email address."),
        ("skipped", "Opted out of marketing email."),
        ("skipped", "Opted out of marketing email."),
    ]
    assert Campaign.objects.get(pk=mixed.pk).status == "sent"
    # Each sent message is an outbound email interaction holding what was sent.
    sent = CampaignMessage.objects.filter(campaign=mixed, status="sent").select_related(
        "interaction"
    )
    for message in sent:
        assert (message.interaction.channel, message.interaction.direction) == ("email", "out")
        assert message.interaction.body == message.body


def test_send__the_audience_changed_since_confirming__nothing_sent(
    logged_in_client, mixed, django_capture_on_commit_callbacks
):
    url = reverse("personalization:campaign-send", args=[mixed.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in_client.post(url, {"expected": "3"}, follow=True)
    assert "The messages changed since you confirmed: 2 emails to 2 contacts" in (
        response.content.decode()
    )
    assert mail.outbox == []
    assert not CampaignMessage.objects.filter(campaign=mixed, status="queued").exists()


@pytest.mark.parametrize("expected", ["", "abc", "1e9", "-"])
def test_send__hostile_expected__400_nothing_sent(logged_in_client, mixed, expected):
    url = reverse("personalization:campaign-send", args=[mixed.pk])
    assert logged_in_client.post(url, {"expected": expected}).status_code == 400
    assert mail.outbox == []


def test_send_page__draft_campaign__back_to_the_campaign(logged_in_client, campaign):
    url = reverse("personalization:campaign-send", args=[campaign.pk])
    assert logged_in_client.get(url).status_code == 302
    assert logged_in_client.post(url, {"expected": "0"}).status_code == 302
    assert mail.outbox == []


# Opt-out and the unsubscribe link ------------------------------------------------------


@pytest.mark.parametrize("flag", FLAG_STATES, indirect=True)
def test_send__opted_out_never_sent_and_every_email_has_a_working_unsubscribe(
    client, campaign, customers, user, flag
):
    ada, ben = customers
    ben.marketing_opt_out = True
    ben.save()
    _approved(campaign, user)

    services.campaign_send(campaign=campaign, user=user)

    assert [m.to for m in mail.outbox] == [[ada.email]]
    sent = mail.outbox[0]
    assert sent.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = sent.extra_headers["List-Unsubscribe"].strip("<>")
    assert sent.body.endswith(f"To stop receiving these emails, unsubscribe here: {link}")
    path = link.split("localhost:8000", 1)[1]
    assert client.post(path).status_code == 200
    ada.refresh_from_db()
    assert ada.marketing_opt_out is True


def test_send__from_a_sandbox__recorded_with_the_headers(sandbox, user):
    ada = factories.ContactFactory(workspace=sandbox, first_name="Ada", lifecycle_stage="customer")
    campaign = factories.CampaignFactory(
        workspace=sandbox,
        audience={"lifecycle_stage": "customer"},
        subject_template="Hello {first_name}",
        body_template="Hi {first_name},\n\nThank you.\n\nBest regards",
    )
    result = services.campaign_send(campaign=_approved(campaign, user), user=user)
    assert (result.sent, result.recorded) == (0, 1)
    assert mail.outbox == []
    record = OutboundRecord.objects.get(workspace=sandbox)
    assert record.recipient == ada.email
    assert "List-Unsubscribe" in record.payload["headers"]
    assert CampaignMessage.objects.get(campaign=campaign).status == "recorded"


# A retry never sends twice -------------------------------------------------------------


class WorkerKilled(BaseException):
    """Stands for the worker process dying: not an Exception, nothing catches it."""


@pytest.mark.parametrize("flag", FLAG_STATES, indirect=True)
def test_send_job__killed_mid_way_then_retried__no_message_sent_twice(
    workspace, campaign, user, monkeypatch, flag
):
    _audience(workspace, 5)
    _approved(campaign, user)
    services.campaign_send_start(campaign=campaign, user=user, queue=False)
    real_send = outbound.emails_send
    calls = {"n": 0}

    def dies_on_second_chunk(**kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise WorkerKilled  # after the chunk was claimed, before anything is marked sent
        return real_send(**kwargs)

    monkeypatch.setattr(outbound, "emails_send", dies_on_second_chunk)
    monkeypatch.setattr(
        "ai_features.capabilities.personalization.conf.app_settings.__class__.SEND_CHUNK_SIZE", 2
    )
    with pytest.raises(WorkerKilled):
        send_campaign_task.run(campaign.pk, user.pk)
    first_run = sorted(m.to[0] for m in mail.outbox)
    assert len(first_run) == 2
    assert CampaignMessage.objects.filter(campaign=campaign, status="sending").count() == 2

    # The broker delivers the task again (acks_late): the claimed chunk is failed, not resent.
    summary = send_campaign_task.run(campaign.pk, user.pk)

    addresses = [m.to[0] for m in mail.outbox]
    assert len(addresses) == len(set(addresses)) == 5
    assert summary["failed"] == 2 and summary["sent"] == 3
    failed = CampaignMessage.objects.filter(campaign=campaign, status="failed")
    assert {m.skip_reason for m in failed} == {services.INTERRUPTED[:200]}
    assert not failed.filter(contact__email__in=addresses).exists()
    # And once more: nothing left to send, nothing sent.
    send_campaign_task.run(campaign.pk, user.pk)
    assert len(mail.outbox) == 5


def test_send_chunk__claims_each_message_once(workspace, campaign, user):
    _audience(workspace, 3)
    _approved(campaign, user)
    services.campaign_send_start(campaign=campaign, user=user, queue=False)
    _, first = services._claim(campaign=campaign, limit=10)
    _, second = services._claim(campaign=campaign, limit=10)
    assert len(first) == 5 and second == []
    assert set(CampaignMessage.objects.values_list("status", flat=True)) == {"sending"}


def test_send__mail_server_refuses__failed_with_the_reason(campaign, customers, user, monkeypatch):
    _approved(campaign, user)

    def refuses(**kwargs):
        raise OSError("Connection refused")

    monkeypatch.setattr(outbound, "emails_send", refuses)
    result = services.campaign_send(campaign=campaign, user=user)
    assert result.failed == 2
    assert set(CampaignMessage.objects.values_list("status", "skip_reason")) == {
        ("failed", "The mail server refused: Connection refused")
    }
    assert not Interaction.objects.filter(direction="out").exists()


# Test send ------------------------------------------------------------------------------


@pytest.mark.parametrize("flag", FLAG_STATES, indirect=True)
def test_test_send__to_the_signed_in_user_only(logged_in_client, campaign, customers, user, flag):
    services.campaign_messages_build(campaign=campaign, user=user)
    message = CampaignMessage.objects.filter(campaign=campaign).first()
    url = reverse("personalization:message-test-send", args=[campaign.pk, message.pk])

    response = logged_in_client.post(url, follow=True)

    assert [(m.to, m.subject) for m in mail.outbox] == [([user.email], f"[Test] {message.subject}")]
    assert mail.outbox[0].body.startswith(message.body)
    assert "unsubscribe here: (the contact's own unsubscribe link)" in mail.outbox[0].body
    assert f"sent to {user.email}" in response.content.decode()
    message.refresh_from_db()
    assert message.status == "draft"
    assert not Interaction.objects.filter(direction="out").exists()


def test_test_send__user_without_email__says_so(logged_in_client, campaign, customers, user):
    user.email = ""
    user.save()
    services.campaign_messages_build(campaign=campaign, user=user)
    message = CampaignMessage.objects.filter(campaign=campaign).first()
    url = reverse("personalization:message-test-send", args=[campaign.pk, message.pk])
    response = logged_in_client.post(url, follow=True)
    assert "Your account has no email address" in response.content.decode()
    assert mail.outbox == []


def test_test_send__other_workspace_message__404(logged_in_client, campaign, user):
    other = factories.WorkspaceFactory()
    foreign = factories.CampaignFactory(workspace=other)
    url = reverse("personalization:message-test-send", args=[foreign.pk, 1])
    assert logged_in_client.post(url).status_code == 404


# The sent campaign, as stored, for everyone ---------------------------------------------


@pytest.mark.parametrize("flag", FLAG_STATES, indirect=True)
def test_sent_message__another_user_reads_what_was_sent_not_a_new_rendering(
    client, campaign, customers, user, flag, django_assert_num_queries
):
    _approved(campaign, user)
    services.campaign_send(campaign=campaign, user=user)
    message = CampaignMessage.objects.filter(campaign=campaign, status="sent").first()
    sent_body = mail.outbox[0].body if mail.outbox[0].to == [message.contact.email] else None
    sent_body = sent_body or mail.outbox[1].body
    # The template changes afterwards: what was sent stays what was sent.
    Campaign.objects.filter(pk=campaign.pk).update(body_template="Hello {first_name}, changed")

    other = factories.UserFactory(username="another-rep")
    client.force_login(other)
    url = reverse("personalization:message-edit", args=[campaign.pk, message.pk])
    client.get(url)
    with django_assert_num_queries(6):
        page = client.get(url).content.decode()
    assert "Exactly what was sent." in page
    from django.utils.html import escape

    assert escape(sent_body) in page
    assert "changed" not in page
    builder = client.get(reverse("personalization:campaign-builder", args=[campaign.pk]))
    assert 'data-testid="preview"' not in builder.content.decode()
    assert "See what was sent to whom" in builder.content.decode()
