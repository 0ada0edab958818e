"""Build, edit, approve and send campaigns; decide on suggested replies."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from ai_features.capabilities.personalization import selectors, services
from ai_features.capabilities.personalization.facts import Access
from ai_features.capabilities.personalization.models import CampaignMessage, SuggestedReply
from ai_features.models import SuggestionEvent
from crmcore import events, factories
from crmcore.models import Campaign, Interaction, OutboundRecord
from tests.ai_features.personalization.helpers import inbound, order_of, two_customers
from training_sandbox.models import SandboxEvent


@pytest.fixture
def sent_events():
    seen = []

    def listener(event):
        if event.name == "campaign.message_sent":
            seen.append(event)

    events.subscribe(listener)
    yield seen
    events.unsubscribe(listener)


def _built(campaign):
    return {m.contact_id: m for m in CampaignMessage.objects.filter(campaign=campaign)}


def test_build__everything_on__one_personalized_message_per_contact(
    all_on, campaign, customers, user
):
    ada, ben = customers
    result = services.campaign_messages_build(campaign=campaign, user=user)
    assert (result.total, result.built, result.personalized) == (2, 2, 2)
    built = _built(campaign)
    assert built[ada.pk].facts[1] == {
        "key": "last_order",
        "label": "Last order",
        "text": "Analytics Pro, 64 days ago",
    }
    assert built[ben.pk].facts[1]["text"] == "Starter, 10 days ago"
    assert (built[ada.pk].channel, built[ben.pk].channel) == ("email", "call")


def test_build__flag_off__plain_mail_merge(campaign, customers, user):
    ada, _ = customers
    result = services.campaign_messages_build(campaign=campaign, user=user)
    assert (result.built, result.personalized) == (2, 0)
    message = _built(campaign)[ada.pk]
    assert (message.facts, message.unused, message.personalized) == ([], [], False)
    assert message.body == f"Hi Ada,\n\nWe have news for {ada.account.name}.\n\nBest regards"


def test_build__kill_switch__plain_mail_merge(all_on, kill_switch, campaign, customers, user):
    result = services.campaign_messages_build(campaign=campaign, user=user)
    assert (result.built, result.personalized) == (2, 0)


def test_build__twice_with_an_edit__idempotent_and_edit_kept(all_on, campaign, customers, user):
    ada, _ = customers
    services.campaign_messages_build(campaign=campaign, user=user)
    message = _built(campaign)[ada.pk]
    services.campaign_message_edit(message=message, user=user, subject="Mine", body="My words")
    result = services.campaign_messages_build(campaign=campaign, user=user, chunk_size=1)
    assert (result.total, result.built, result.kept) == (2, 1, 1)
    built = _built(campaign)
    assert len(built) == 2
    assert (built[ada.pk].subject, built[ada.pk].body, built[ada.pk].edited) == (
        "Mine",
        "My words",
        True,
    )
    assert (
        SuggestionEvent.objects.filter(
            capability="personalization", action="corrected", object_id=message.pk
        ).count()
        == 1
    )


def test_build__contact_left_audience__its_draft_removed(all_on, campaign, customers, user):
    ada, ben = customers
    services.campaign_messages_build(campaign=campaign, user=user)
    ben.lifecycle_stage = "churned"
    ben.save()
    result = services.campaign_messages_build(campaign=campaign, user=user)
    assert (result.total, result.removed) == (1, 1)
    assert set(_built(campaign)) == {ada.pk}


def test_build__sent_campaign__refused(campaign, user):
    campaign.status = Campaign.Status.SENT
    campaign.save()
    with pytest.raises(services.CampaignError):
        services.campaign_messages_build(campaign=campaign, user=user)


def test_audience__filters__select_matching_contacts(workspace, customers, team):
    ada, ben = customers
    ben.team = team
    ben.region = "APAC"
    ben.save()
    ada.region = "EMEA"
    ada.save()
    analytics = ada.orders.first().lines.first().product
    on = Access(personalization=True, prediction=True, sentiment=True)

    def ids(spec, access=on):
        return list(selectors.audience(workspace=workspace, spec=spec, access=access).contact_ids)

    assert ids({"segment": "Enterprise"}) == [ada.pk]
    assert ids({"region": "APAC"}) == [ben.pk]
    assert ids({"team": team.pk}) == [ben.pk]
    assert ids({"product": analytics.pk}) == [ada.pk]
    assert ids({"churn_band": "high"}) == [ada.pk]
    assert ids({"lifecycle_stage": "lead"}) == []


def test_audience__contacts_added_by_hand__with_and_without_filters(workspace, customers):
    ada, ben = customers
    lead = factories.ContactFactory(workspace=workspace, lifecycle_stage="lead")
    on = Access(personalization=True, prediction=True, sentiment=True)

    def ids(spec):
        return sorted(selectors.audience(workspace=workspace, spec=spec, access=on).contact_ids)

    # alone: exactly those; with filters: besides whoever the filters select
    assert ids({"contacts": [lead.pk]}) == [lead.pk]
    assert ids({"lifecycle_stage": "customer", "contacts": [lead.pk]}) == sorted(
        [ada.pk, ben.pk, lead.pk]
    )
    assert ids({"lifecycle_stage": "lead", "contacts": [ada.pk]}) == sorted([ada.pk, lead.pk])


def test_audience__contacts_of_another_workspace_in_the_list__never_selected(
    workspace, sandbox, customers
):
    foreign = factories.ContactFactory(workspace=sandbox)
    on = Access(personalization=True, prediction=True, sentiment=True)

    selected = selectors.audience(workspace=workspace, spec={"contacts": [foreign.pk]}, access=on)

    assert list(selected.contact_ids) == []


@pytest.mark.parametrize("value", ["1,2", [1, "2"], [True], {"a": 1}, [2**70]])
def test_audience_clean__contacts_not_a_list_of_ids__rejected(workspace, value):
    with pytest.raises(ValidationError, match="contacts"):
        services.audience_clean(workspace=workspace, audience={"contacts": value})


def test_audience_clean__contact_of_another_workspace__rejected(workspace, sandbox):
    foreign = factories.ContactFactory(workspace=sandbox)

    with pytest.raises(ValidationError, match="no such contact"):
        services.audience_clean(workspace=workspace, audience={"contacts": [foreign.pk]})


def test_builder_save__contacts_added_by_hand__kept(workspace, user, customers):
    ada, _ = customers
    campaign = factories.CampaignFactory(
        workspace=workspace, audience={"lifecycle_stage": "customer", "contacts": [ada.pk]}
    )

    saved = services.campaign_builder_save(
        workspace=workspace,
        user=user,
        name="Renamed",
        goal="thank",
        audience={"lifecycle_stage": "lead", "contacts": [ada.pk]},
        subject_template="Hi {first_name}",
        body_template="Thanks {first_name}",
        campaign=campaign,
    )

    assert saved.audience == {"lifecycle_stage": "lead", "contacts": [ada.pk]}


def test_audience__churn_band_prediction_off__not_applied_and_said(workspace, customers):
    ada, ben = customers
    access = Access(personalization=True, prediction=False, sentiment=True)
    selected = selectors.audience(workspace=workspace, spec={"churn_band": "high"}, access=access)
    assert sorted(selected.contact_ids) == sorted([ada.pk, ben.pk])
    assert selected.ignored == ("Churn-risk band: not used — Prediction is not enabled for you",)


def test_builder_save__unknown_placeholder_or_foreign_team__rejected(workspace, sandbox, user):
    other_team = factories.TeamFactory(workspace=sandbox)
    kwargs = {
        "workspace": workspace,
        "user": user,
        "name": "C",
        "goal": "thank",
        "subject_template": "",
    }
    with pytest.raises(ValidationError) as caught:
        services.campaign_builder_save(audience={}, body_template="Hi {nick}", **kwargs)
    assert list(caught.value.message_dict) == ["body_template"]
    with pytest.raises(ValidationError) as caught:
        services.campaign_builder_save(
            audience={"team": other_team.pk}, body_template="Hi", **kwargs
        )
    assert caught.value.message_dict == {"audience": ["team: no such team in this workspace."]}


def test_builder_save__approved_then_changed__draft_again(workspace, user):
    campaign = services.campaign_builder_save(
        workspace=workspace,
        user=user,
        name="Spring",
        goal="thank",
        audience={"segment": "SMB", "region": ""},
        subject_template="Thanks",
        body_template="Hi {first_name}",
    )
    assert (campaign.audience, campaign.created_by) == ({"segment": "SMB"}, user)
    campaign.status = Campaign.Status.APPROVED
    campaign.save()
    services.campaign_builder_save(
        workspace=workspace,
        user=user,
        campaign=campaign,
        name="Spring",
        goal="thank",
        audience={"segment": "SMB"},
        subject_template="Thanks!",
        body_template="Hi {first_name}",
    )
    campaign.refresh_from_db()
    assert (campaign.subject_template, campaign.status) == ("Thanks!", "draft")


def test_approve__nothing_built__refused(campaign, user):
    with pytest.raises(services.CampaignError) as caught:
        services.campaign_approve(campaign=campaign, user=user)
    assert str(caught.value) == "Build the messages before approving the campaign."


def test_send__production__mail_interactions_and_events(
    all_on, campaign, customers, user, sent_events, django_capture_on_commit_callbacks
):
    ada, ben = customers
    services.campaign_messages_build(campaign=campaign, user=user)
    services.campaign_approve(campaign=campaign, user=user)
    with django_capture_on_commit_callbacks(execute=True):
        result = services.campaign_send(campaign=campaign, user=user)
    assert (result.sent, result.recorded, result.skipped) == (2, 0, 0)
    assert sorted(m.to[0] for m in mail.outbox) == sorted([ada.email, ben.email])
    ada_mail = next(m for m in mail.outbox if m.to == [ada.email])
    assert ada_mail.subject == "Ada, we miss you"
    assert "Analytics Pro" in ada_mail.body
    outbound = Interaction.objects.filter(direction="out", channel="email", author=user)
    assert sorted(outbound.values_list("contact_id", flat=True)) == sorted([ada.pk, ben.pk])
    assert sorted(e.payload["contact_id"] for e in sent_events) == sorted([ada.pk, ben.pk])
    payload = next(e.payload for e in sent_events if e.payload["contact_id"] == ada.pk)
    assert payload["facts"][1] == "Last order: Analytics Pro, 64 days ago"
    assert payload["interaction_id"] == _built(campaign)[ada.pk].interaction_id
    campaign.refresh_from_db()
    assert campaign.status == "sent"
    assert {m.status for m in _built(campaign).values()} == {"sent"}
    assert (
        SuggestionEvent.objects.filter(capability="personalization", action="accepted").count() == 1
    )


def test_send__not_approved__refused(campaign, user):
    with pytest.raises(services.CampaignError):
        services.campaign_send(campaign=campaign, user=user)


def test_send__contact_without_email__skipped(workspace, user, django_capture_on_commit_callbacks):
    factories.ContactFactory(workspace=workspace, email="", first_name="NoMail")
    campaign = factories.CampaignFactory(workspace=workspace, created_by=user)
    services.campaign_messages_build(campaign=campaign, user=user)
    services.campaign_approve(campaign=campaign, user=user)
    with django_capture_on_commit_callbacks(execute=True):
        result = services.campaign_send(campaign=campaign, user=user)
    assert (result.sent, result.skipped) == (0, 1)
    assert mail.outbox == []
    assert CampaignMessage.objects.get(campaign=campaign).skip_reason == "No email address."


def test_send__from_sandbox__recorded_never_sent(
    db, sent_events, django_capture_on_commit_callbacks
):
    sandbox = factories.SandboxWorkspaceFactory()
    trainee = sandbox.owner
    ada, ben = two_customers(sandbox)
    campaign = factories.CampaignFactory(workspace=sandbox, created_by=trainee, goal="win_back")
    services.campaign_messages_build(campaign=campaign, user=trainee)
    services.campaign_approve(campaign=campaign, user=trainee)
    with django_capture_on_commit_callbacks(execute=True):
        result = services.campaign_send(campaign=campaign, user=trainee)
    assert (result.sent, result.recorded) == (0, 2)
    assert mail.outbox == []
    records = OutboundRecord.objects.filter(workspace=sandbox)
    assert sorted(records.values_list("recipient", flat=True)) == sorted([ada.email, ben.email])
    assert set(records.values_list("source", flat=True)) == {f"campaign {campaign.pk}"}
    assert SandboxEvent.objects.filter(workspace=sandbox, name="campaign.message_sent").count() == 2
    assert [e.is_sandbox for e in sent_events] == [True, True]
    assert {m.status for m in _built(campaign).values()} == {"recorded"}
    # The sandbox's messages were personalized: the gate is on for its trainee.
    assert all(m.personalized for m in _built(campaign).values())


@pytest.mark.parametrize(
    ("action", "metric", "logged"),
    [
        ("accepted", "accepted", True),
        ("edited", "edited", True),
        ("dismissed", "dismissed", False),
    ],
)
def test_suggested_reply_decide__action__metric_and_reply(
    all_on, workspace, customers, user, action, metric, logged
):
    ada, _ = customers
    question = inbound(ada, channel="chat", days_ago=0, hour=11, subject="Where is my invoice?")
    access = Access(personalization=True, prediction=True, sentiment=True)
    suggestion = selectors.suggested_reply(
        workspace=workspace, interaction=question, user=user, access=access
    )
    decision = services.suggested_reply_decide(
        workspace=workspace,
        user=user,
        interaction=question,
        suggestion=suggestion,
        action=action,
        body="My own words",
    )
    assert decision.status == action
    event = SuggestionEvent.objects.get(capability="personalization", object_id=question.pk)
    assert (event.action, event.user) == (metric, user)
    replies = Interaction.objects.filter(contact=ada, direction="out")
    if logged:
        reply = replies.get()
        assert reply.channel == "email"
        assert reply.body == (suggestion.body if action == "accepted" else "My own words")
    else:
        assert not replies.exists()
    with pytest.raises(services.CampaignError):
        services.suggested_reply_decide(
            workspace=workspace,
            user=user,
            interaction=question,
            suggestion=suggestion,
            action="accepted",
        )
    assert SuggestedReply.objects.count() == 1


def test_suggested_reply__complaint_and_order__apology_first_with_facts(
    all_on, workspace, customers, user
):
    ada, _ = customers
    ticket = Interaction.objects.get(contact=ada, subject="Export broken")
    access = Access(personalization=True, prediction=True, sentiment=True)
    suggestion = selectors.suggested_reply(
        workspace=workspace, interaction=ticket, user=user, access=access
    )
    name = user.get_full_name()
    assert suggestion.body == (
        "Hi Ada,\n\n"
        "I'm sorry about the trouble (“Export broken”). I'm on it now and will come back to you "
        "with a fix as soon as possible.\n\n"
        "I have your order of Analytics Pro from 64 days ago in front of me.\n\n"
        f"Best regards,\n{name}"
    )
    assert suggestion.fact_lines() == [
        "Recent tone: frustrated in their ticket 3 days ago — help and apology first",
        "Last order: Analytics Pro, 64 days ago",
        "Answers most by: Email (2 of 3 inbound)",
        "Best time to reach: 09:00 to 10:00 (2 of 3 inbound)",
    ]
    assert suggestion.subject == "Re: Export broken"


def test_suggested_reply__prediction_off__next_product_not_used(workspace, user):
    contact = factories.ContactFactory(workspace=workspace, first_name="Bo")
    product = factories.ProductFactory(workspace=workspace, name="Starter")
    order_of(contact, product, days_ago=2)
    question = inbound(contact, channel="email", days_ago=0, hour=10, subject="Hi")
    access = Access(personalization=True, prediction=False, sentiment=False)
    suggestion = selectors.suggested_reply(
        workspace=workspace, interaction=question, user=user, access=access
    )
    assert suggestion.unused_lines() == [
        "Next product: not used — Prediction is not enabled for you",
        "Recent tone: not used — Sentiment is not enabled for you",
    ]
    assert suggestion.body.startswith("Hi Bo,\n\nThank you for your email (“Hi”).")
