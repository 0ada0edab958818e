"""Suggested replies answer what is open; send by email, save as draft, dismiss."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from ai_features.capabilities.personalization import selectors
from ai_features.capabilities.personalization.models import SuggestedReply
from ai_features.models import SuggestionEvent
from crmcore import factories
from crmcore.models import Interaction, OutboundRecord
from tests.ai_features.personalization.helpers import inbound

FLAG_STATES = ["on", "off", "kill"]
#: The whole contact page, warm: the composed reply comes from the cache (its first view
#: composes it: AI_PERSONALIZATION_REPLY_CACHE_SECONDS).
PANEL_QUERIES = 16


@pytest.fixture
def flag(request):
    state = request.param
    if state in ("on", "kill"):
        request.getfixturevalue("all_on")
    if state == "kill":
        request.getfixturevalue("kill_switch")
    return state


def _outbound(contact, *, days_ago: int, channel: str = "email"):
    return factories.InteractionFactory(
        workspace=contact.workspace,
        contact=contact,
        channel=channel,
        direction="out",
        subject="Our answer",
        occurred_at=timezone.now() - dt.timedelta(days=days_ago),
    )


def _panel(client, contact) -> str:
    return client.get(reverse("contact-detail", args=[contact.pk])).content.decode()


def test_open_inbound__answered_complaint__nothing_open(workspace, customers):
    ada, _ = customers
    ticket = Interaction.objects.get(subject="Export broken")  # 3 days ago
    _outbound(ada, days_ago=2)
    latest, is_open = selectors.open_inbound(workspace=workspace, contact_id=ada.pk)
    assert (latest, is_open) == (ticket, False)
    assert latest.answered_at is not None


def test_open_inbound__newer_question_after_answer__that_one_is_open(workspace, customers):
    ada, _ = customers
    _outbound(ada, days_ago=2)
    question = inbound(ada, channel="email", days_ago=1, hour=10, subject="And the invoice?")
    # A note is not an answer.
    _outbound(ada, days_ago=0, channel="note")
    assert selectors.open_inbound(workspace=workspace, contact_id=ada.pk) == (question, True)


def test_panel__everything_answered__says_so_and_offers_nothing(
    logged_in_client, all_on, customers
):
    ada, _ = customers
    _outbound(ada, days_ago=2)
    page = _panel(logged_in_client, ada)
    assert "Nothing waits for a reply: their latest message (“Export broken”" in page
    assert 'data-testid="reply-send"' not in page
    assert not SuggestionEvent.objects.filter(capability="personalization").exists()


def test_panel__old_complaint_answered_new_question__no_apology_for_the_old_one(
    logged_in_client, all_on, customers
):
    ada, _ = customers
    _outbound(ada, days_ago=2)
    inbound(ada, channel="email", days_ago=1, hour=10, subject="Price of Data Connector?")
    page = _panel(logged_in_client, ada)
    assert "Waiting for a reply: their email of" in page
    assert "Thank you for your email (“Price of Data Connector?”)." in page
    assert "sorry" not in page.split('data-testid="reply-body"')[1].split("</textarea>")[0]


def test_panel__buttons_say_what_they_do(logged_in_client, all_on, customers):
    ada, _ = customers
    page = _panel(logged_in_client, ada)
    assert f'Reply by email to <span data-testid="reply-to">{ada.email}</span>' in page
    assert "Send reply by email</button>" in page
    assert "Save as draft (sends nothing)</button>" in page
    assert "Dismiss suggestion</button>" in page


@pytest.mark.parametrize("edit", [False, True])
def test_reply_send__emailed_logged_as_email_and_metric(
    logged_in_client, all_on, customers, user, edit
):
    ada, _ = customers
    ticket = Interaction.objects.get(subject="Export broken")
    suggestion = selectors.suggested_reply(
        workspace=ada.workspace,
        interaction=ticket,
        user=user,
        access=selectors.Access(personalization=True, prediction=True, sentiment=True),
    )
    body = "Hi Ada,\n\nFixed now.\n\nBest regards" if edit else suggestion.body
    response = logged_in_client.post(
        reverse("personalization:reply-decide", args=[ticket.pk]),
        {"action": "send", "body": body},
        follow=True,
    )
    assert f"Reply emailed to {ada.email} and logged as an email." in response.content.decode()
    assert [(m.to, m.subject, m.body) for m in mail.outbox] == [
        ([ada.email], "Re: Export broken", body)
    ]
    reply = Interaction.objects.get(contact=ada, direction="out")
    assert (reply.channel, reply.body, reply.author) == ("email", body, user)
    status = "edited" if edit else "accepted"
    decision = SuggestedReply.objects.get(interaction=ticket)
    assert (decision.status, decision.reply) == (status, reply)
    assert SuggestionEvent.objects.filter(action=status, object_id=ticket.pk).count() == 1


def test_reply_draft__kept_shown_again_then_sent(logged_in_client, all_on, customers):
    ada, _ = customers
    ticket = Interaction.objects.get(subject="Export broken")
    url = reverse("personalization:reply-decide", args=[ticket.pk])
    response = logged_in_client.post(
        url, {"action": "draft", "body": "Hi Ada,\n\nLooking into it."}, follow=True
    )
    assert "Reply saved as a draft: nothing was sent." in response.content.decode()
    assert mail.outbox == []
    assert not Interaction.objects.filter(direction="out").exists()
    assert not SuggestionEvent.objects.exclude(action="shown").exists()
    page = _panel(logged_in_client, ada)
    assert "Your draft, saved" in page
    assert "Hi Ada,\n\nLooking into it.</textarea>" in page

    logged_in_client.post(url, {"action": "send", "body": "Hi Ada,\n\nLooking into it."})
    assert [m.body for m in mail.outbox] == ["Hi Ada,\n\nLooking into it."]
    assert SuggestedReply.objects.get(interaction=ticket).status == "edited"
    # Decided: a second send is refused, nothing more goes out.
    logged_in_client.post(url, {"action": "send", "body": "again"})
    assert len(mail.outbox) == 1


def test_reply_send__contact_without_email__refused_draft_possible(
    logged_in_client, all_on, customers
):
    ada, _ = customers
    ada.email = ""
    ada.save()
    ticket = Interaction.objects.get(subject="Export broken")
    url = reverse("personalization:reply-decide", args=[ticket.pk])
    response = logged_in_client.post(url, {"action": "send", "body": "Hi"}, follow=True)
    assert "has no email address: save the reply as a draft." in response.content.decode()
    assert mail.outbox == [] and not Interaction.objects.filter(direction="out").exists()
    assert "No email address: the reply cannot be emailed." in _panel(logged_in_client, ada)


def test_reply_send__from_a_sandbox__recorded_not_sent(sandbox, user):
    from ai_features.capabilities.personalization import services

    ada = factories.ContactFactory(workspace=sandbox, first_name="Ada")
    question = inbound(ada, channel="email", days_ago=1, hour=9, subject="Hello?")
    suggestion = selectors.suggested_reply(
        workspace=sandbox,
        interaction=question,
        user=user,
        access=selectors.Access(personalization=True),
    )
    services.suggested_reply_decide(
        workspace=sandbox,
        user=user,
        interaction=question,
        suggestion=suggestion,
        action="send",
        body="Hi Ada",
    )
    assert mail.outbox == []
    record = OutboundRecord.objects.get(workspace=sandbox)
    assert (record.recipient, record.subject, record.body) == (ada.email, "Re: Hello?", "Hi Ada")
    assert Interaction.objects.get(direction="out").channel == "email"


@pytest.mark.parametrize("flag", ["off", "kill"], indirect=True)
@pytest.mark.parametrize("action", ["send", "draft", "dismissed"])
def test_reply__off_or_kill__403_nothing_sent_no_panel(logged_in_client, customers, flag, action):
    ada, _ = customers
    ticket = Interaction.objects.get(subject="Export broken")
    response = logged_in_client.post(
        reverse("personalization:reply-decide", args=[ticket.pk]), {"action": action, "body": "x"}
    )
    assert response.status_code == 403
    assert mail.outbox == []
    assert not SuggestedReply.objects.exists()
    assert not Interaction.objects.filter(direction="out").exists()
    assert 'data-testid="reply-panel"' not in _panel(logged_in_client, ada)


@pytest.mark.parametrize("action", ["", "sent", "<script>", "accepted" * 50])
def test_reply__hostile_action__no_500_nothing_sent(logged_in_client, all_on, customers, action):
    ticket = Interaction.objects.get(subject="Export broken")
    response = logged_in_client.post(
        reverse("personalization:reply-decide", args=[ticket.pk]), {"action": action}
    )
    assert response.status_code == 302
    assert mail.outbox == []


def test_panel__query_count_pinned(logged_in_client, all_on, customers, django_assert_num_queries):
    ada, _ = customers
    _panel(logged_in_client, ada)
    with django_assert_num_queries(PANEL_QUERIES):
        _panel(logged_in_client, ada)
