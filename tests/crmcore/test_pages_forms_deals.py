"""The CRM's write pages: log an interaction, create a deal, move a deal's stage."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from crmcore import events, factories
from crmcore.models import Deal, Interaction

# session, user, workspace
REQUEST_QUERIES = 3


@pytest.fixture
def captured():
    received = []
    events.subscribe(received.append)
    yield received
    events.unsubscribe(received.append)


@pytest.fixture
def contact(workspace):
    return factories.ContactFactory(workspace=workspace, first_name="Ada", last_name="Lovelace")


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# Log an interaction -------------------------------------------------------------


def test_contact_detail__log_form__defaults_to_a_call_now(logged_in_client, contact):
    before = timezone.localtime().replace(second=0, microsecond=0)
    response = logged_in_client.get(reverse("contact-detail", args=[contact.pk]))
    after = timezone.localtime()

    html = _text(response)
    assert f'action="{reverse("interaction-create", args=[contact.pk])}"' in html
    assert '<option value="call" selected>Call</option>' in html
    assert '<option value="out" selected>Outbound</option>' in html
    shown = re.search(r'name="occurred_at" value="([0-9T:-]+)"', html).group(1)
    assert shown in {f"{before:%Y-%m-%dT%H:%M}", f"{after:%Y-%m-%dT%H:%M}"}


def test_interaction_create__valid__logged_by_user_and_first_in_timeline(
    logged_in_client, workspace, contact, user
):
    factories.InteractionFactory(
        workspace=workspace, contact=contact, subject="Yesterday", occurred_at=timezone.now()
    )
    factories.DealFactory(workspace=workspace, contact=contact)
    before = timezone.now()

    response = logged_in_client.post(
        reverse("interaction-create", args=[contact.pk]),
        {
            "channel": "meeting",
            "direction": "out",
            "subject": "Quarterly review",
            "body": "Went well.",
            "occurred_at": "",
        },
        follow=True,
    )

    assert response.redirect_chain == [(reverse("contact-detail", args=[contact.pk]), 302)]
    interaction = Interaction.objects.get(subject="Quarterly review")
    assert (interaction.workspace, interaction.contact, interaction.author) == (
        workspace,
        contact,
        user,
    )
    assert (interaction.channel, interaction.direction, interaction.body) == (
        "meeting",
        "out",
        "Went well.",
    )
    assert before <= interaction.occurred_at <= timezone.now()
    first = response.context["timeline"].entries[0]
    assert (first.kind, first.item.pk) == ("interaction", interaction.pk)
    assert "Interaction logged on Ada Lovelace." in _text(response)


def test_interaction_create__time_given__used_in_local_time(logged_in_client, contact, settings):
    settings.TIME_ZONE = "Europe/Paris"

    logged_in_client.post(
        reverse("interaction-create", args=[contact.pk]),
        {
            "channel": "call",
            "direction": "in",
            "subject": "Call",
            "occurred_at": "2025-03-04T10:30",
        },
    )

    interaction = Interaction.objects.get()
    assert interaction.occurred_at == dt.datetime(2025, 3, 4, 9, 30, tzinfo=dt.UTC)


def test_interaction_create__invalid__400_contact_page_with_errors_nothing_written(
    logged_in_client, contact
):
    response = logged_in_client.post(
        reverse("interaction-create", args=[contact.pk]),
        {
            "channel": "pigeon",
            "direction": "out",
            "subject": " ",
            "body": "",
            "occurred_at": "yesterday-ish",
        },
    )

    assert response.status_code == 400
    assert Interaction.objects.count() == 0
    assert response.context["interaction_form"].errors == {
        "channel": ["Select a valid choice. pigeon is not one of the available choices."],
        "occurred_at": ["Enter a valid date/time."],
        "subject": ["Give the interaction a subject or a body."],
    }
    html = _text(response)
    assert "<h1>Ada Lovelace</h1>" in html
    assert 'value="yesterday-ish"' in html
    assert "Nothing has been saved yet." in html


def test_interaction_create__body_only__valid(logged_in_client, contact):
    response = logged_in_client.post(
        reverse("interaction-create", args=[contact.pk]),
        {"channel": "note", "direction": "in", "subject": "", "body": "Prefers email."},
    )
    assert response.status_code == 302
    assert Interaction.objects.get().body == "Prefers email."


def test_interaction_create__contact_of_other_workspace__404_nothing_written(
    logged_in_client, sandbox
):
    theirs = factories.ContactFactory(workspace=sandbox)

    response = logged_in_client.post(
        reverse("interaction-create", args=[theirs.pk]),
        {"channel": "call", "direction": "out", "subject": "Sneaky"},
    )

    assert response.status_code == 404
    assert Interaction.objects.count() == 0


def test_interaction_create__get__redirects_to_contact(logged_in_client, contact):
    response = logged_in_client.get(reverse("interaction-create", args=[contact.pk]))
    assert (response.status_code, response["Location"]) == (
        302,
        reverse("contact-detail", args=[contact.pk]),
    )


# Create a deal -------------------------------------------------------------------


def _deal_post(**overrides) -> dict:
    data = {
        "name": "Rocket fuel",
        "contact": "",
        "account": "",
        "stage": "qualified",
        "amount": "12500.50",
        "expected_close": "2026-06-30",
        "owner": "",
    }
    return data | overrides


def test_deal_create__from_contact__prefilled_with_contact_and_account(
    logged_in_client, workspace, user
):
    acme = factories.AccountFactory(workspace=workspace, name="Acme Rockets")
    ada = factories.ContactFactory(
        workspace=workspace, first_name="Ada", last_name="Lovelace", email="", account=acme
    )

    response = logged_in_client.get(reverse("deal-create"), {"contact": ada.pk})

    assert response.status_code == 200
    html = _text(response)
    assert "<h1>New deal with Ada Lovelace</h1>" in html
    assert f'<option value="{ada.pk}" selected>Ada Lovelace</option>' in html
    assert f'<option value="{acme.pk}" selected>Acme Rockets</option>' in html
    assert f'<option value="{user.pk}" selected>' in html


def test_deal_create__contact_of_other_workspace_in_query__404(logged_in_client, sandbox):
    theirs = factories.ContactFactory(workspace=sandbox)
    assert logged_in_client.get(reverse("deal-create"), {"contact": theirs.pk}).status_code == 404


def test_deal_create__valid__created_with_contacts_account(logged_in_client, workspace, user):
    ada = factories.ContactFactory(workspace=workspace)

    response = logged_in_client.post(
        reverse("deal-create"), _deal_post(contact=ada.pk, owner=user.pk)
    )

    deal = Deal.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("deal-detail", args=[deal.pk])
    assert _messages(response) == ["Deal Rocket fuel created."]
    assert (deal.workspace, deal.contact, deal.account, deal.owner) == (
        workspace,
        ada,
        ada.account,
        user,
    )
    assert (deal.stage, deal.amount, deal.expected_close, deal.closed_at) == (
        "qualified",
        Decimal("12500.50"),
        dt.date(2026, 6, 30),
        None,
    )


def test_deal_create__invalid__400_values_kept_nothing_written(logged_in_client, db):
    response = logged_in_client.post(
        reverse("deal-create"),
        _deal_post(name="", amount="-5", stage="maybe", expected_close="30/06/2026"),
    )

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "name": ["This field is required."],
        "amount": ["Ensure this value is greater than or equal to 0."],
        "stage": ["Select a valid choice. maybe is not one of the available choices."],
        "expected_close": ["Enter a valid date."],
    }
    assert 'value="-5"' in response.content.decode()
    assert Deal.objects.count() == 0


@pytest.mark.parametrize("field", ["contact", "account"])
def test_deal_create__choice_of_other_workspace__400_nothing_written(
    logged_in_client, sandbox, field
):
    factory = factories.ContactFactory if field == "contact" else factories.AccountFactory
    foreign = factory(workspace=sandbox)

    response = logged_in_client.post(reverse("deal-create"), _deal_post(**{field: foreign.pk}))

    assert response.status_code == 400
    assert response.context["form"].errors[field] == [
        "Select a valid choice. That choice is not one of the available choices."
    ]
    assert Deal.objects.count() == 0


def test_deal_create__query_count__fixed(
    logged_in_client, workspace, user, core_only, django_assert_num_queries
):
    contacts = factories.ContactFactory.create_batch(15, workspace=workspace)

    # contacts, accounts, owners
    with django_assert_num_queries(REQUEST_QUERIES + 3):
        assert logged_in_client.get(reverse("deal-create")).status_code == 200
    # + the contact of ?contact=
    with django_assert_num_queries(REQUEST_QUERIES + 4):
        response = logged_in_client.get(reverse("deal-create"), {"contact": contacts[0].pk})
    assert response.status_code == 200


# Deal page and stage moves -------------------------------------------------------


def test_deal_detail__deal__shows_fields_and_stage_buttons(logged_in_client, workspace, user):
    deal = factories.DealFactory(
        workspace=workspace, name="Rocket fuel", stage="proposal", amount=12500, owner=user
    )

    response = logged_in_client.get(reverse("deal-detail", args=[deal.pk]))

    assert response.status_code == 200
    html = _text(response)
    assert "<h1>Rocket fuel</h1>" in html
    assert '<strong class="deal-amount">12,500</strong>' in html
    assert f'action="{reverse("deal-stage", args=[deal.pk])}"' in html
    assert '<span class="stage-step current deal-proposal" aria-current="step">Proposal</span>' in (
        html
    )
    assert '<button type="submit" name="stage" value="negotiation" class="stage-step">' in html
    assert 'value="proposal" class="stage-step"' not in html


def test_deal_detail__other_workspace__404(logged_in_client, sandbox):
    theirs = factories.DealFactory(workspace=sandbox)
    assert logged_in_client.get(reverse("deal-detail", args=[theirs.pk])).status_code == 404


def test_deal_detail__query_count__fixed(
    logged_in_client, workspace, user, core_only, django_assert_num_queries
):
    deal = factories.DealFactory(workspace=workspace, owner=user)
    # the deal with its contact, account and owner
    with django_assert_num_queries(REQUEST_QUERIES + 1):
        assert logged_in_client.get(reverse("deal-detail", args=[deal.pk])).status_code == 200


def test_deal_stage__won__moved_closed_event_and_back_to_next(
    logged_in_client, workspace, captured, django_capture_on_commit_callbacks
):
    deal = factories.DealFactory(workspace=workspace, name="Rocket fuel", stage="negotiation")

    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in_client.post(
            reverse("deal-stage", args=[deal.pk]), {"stage": "won", "next": "/deals/?page=1"}
        )

    assert (response.status_code, response["Location"]) == (302, "/deals/?page=1")
    assert _messages(response) == ["Rocket fuel moved from Negotiation to Won."]
    deal.refresh_from_db()
    assert deal.stage == "won"
    assert deal.closed_at is not None
    moves = [e.payload for e in captured if e.name == "deal.stage_changed"]
    assert [(p["id"], p["from_stage"], p["to_stage"]) for p in moves] == [
        (deal.pk, "negotiation", "won")
    ]


@pytest.mark.parametrize("next_url", ["", "https://evil.example/", "//evil.example/x"])
def test_deal_stage__no_or_foreign_next__back_to_deal_page(logged_in_client, workspace, next_url):
    deal = factories.DealFactory(workspace=workspace, stage="lead")

    response = logged_in_client.post(
        reverse("deal-stage", args=[deal.pk]), {"stage": "qualified", "next": next_url}
    )

    assert response["Location"] == reverse("deal-detail", args=[deal.pk])
    deal.refresh_from_db()
    assert deal.stage == "qualified"


def test_deal_stage__same_stage__nothing_changes_info_message(
    logged_in_client, workspace, captured, django_capture_on_commit_callbacks
):
    deal = factories.DealFactory(workspace=workspace, name="Rocket fuel", stage="proposal")

    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in_client.post(
            reverse("deal-stage", args=[deal.pk]), {"stage": "proposal"}
        )

    assert _messages(response) == ["Rocket fuel is already in Proposal."]
    assert [e for e in captured if e.name == "deal.stage_changed"] == []


def test_deal_stage__unknown_stage__400_and_unchanged(logged_in_client, workspace):
    deal = factories.DealFactory(workspace=workspace, stage="proposal")

    response = logged_in_client.post(reverse("deal-stage", args=[deal.pk]), {"stage": "sold"})

    assert response.status_code == 400
    assert "Select a valid choice. sold is not one of the available choices." in _text(response)
    deal.refresh_from_db()
    assert deal.stage == "proposal"


def test_deal_stage__other_workspace__404_and_unchanged(logged_in_client, sandbox):
    theirs = factories.DealFactory(workspace=sandbox, stage="lead")

    response = logged_in_client.post(reverse("deal-stage", args=[theirs.pk]), {"stage": "won"})

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.stage == "lead"


def test_deal_pipeline__cards__link_to_deal_and_carry_a_stage_form(logged_in_client, workspace):
    deal = factories.DealFactory(workspace=workspace, name="Rocket fuel", stage="proposal")

    html = _text(logged_in_client.get(reverse("deal-pipeline")))

    assert f'<a class="deal-link" href="{reverse("deal-detail", args=[deal.pk])}">' in html
    assert f'<form method="post" action="{reverse("deal-stage", args=[deal.pk])}"' in html
    assert '<option value="proposal" selected>Proposal</option>' in html
    assert '<input type="hidden" name="next" value="/deals/">' in html
    assert f'href="{reverse("deal-create")}"' in html
