"""Edit and delete what a rep owns: confirmation that says what goes, audited, permissions."""

import datetime as dt
from decimal import Decimal

import pytest
from django.apps import apps
from django.urls import reverse

from crmcore import factories
from crmcore.models import AuditEntry, Campaign, Contact, Deal, Interaction, Order

pytestmark = pytest.mark.django_db

#: session, user, workspace, contact, then one per relation that goes with a contact:
#: more where the AI apps add theirs (scores, sentiment, messages, next needs).
QUERIES_DELETE_CONFIRM = 21 if apps.is_installed("ai_features") else 10


@pytest.fixture
def other_rep(db):
    return factories.UserFactory(username="other")


@pytest.fixture
def owned_contact(workspace, user):
    contact = factories.ContactFactory(workspace=workspace, first_name="Ada", owner=user)
    factories.InteractionFactory.create_batch(2, workspace=workspace, contact=contact)
    factories.OrderFactory(workspace=workspace, contact=contact)
    factories.DealFactory(workspace=workspace, contact=contact, owner=user)
    return contact


# Deals ----------------------------------------------------------------------


def test_deal_edit__owner__saves_every_field(logged_in_client, workspace, user, owned_contact):
    deal = Deal.objects.get(contact=owned_contact)
    account = factories.AccountFactory(workspace=workspace, name="Initech")
    response = logged_in_client.post(
        reverse("deal-edit", args=[deal.pk]),
        {
            "name": "Renewal 2027",
            "contact": owned_contact.pk,
            "account": account.pk,
            "stage": "won",
            "amount": "12345.50",
            "expected_close": "2027-01-15",
            "owner": user.pk,
        },
    )
    assert response.status_code == 302
    deal.refresh_from_db()
    assert (deal.name, deal.account, deal.stage, deal.amount) == (
        "Renewal 2027",
        account,
        "won",
        Decimal("12345.50"),
    )
    assert deal.expected_close == dt.date(2027, 1, 15)
    assert deal.closed_at is not None
    page = logged_in_client.get(reverse("deal-edit", args=[deal.pk]))
    assert b'value="Renewal 2027"' in page.content and b"Save deal" in page.content


def test_deal_edit__someone_elses__403_with_reason(logged_in_client, workspace, other_rep):
    deal = factories.DealFactory(workspace=workspace, owner=other_rep)
    response = logged_in_client.get(reverse("deal-edit", args=[deal.pk]))
    assert response.status_code == 403
    assert b"Only the owner of this deal or an administrator can edit it." in response.content
    assert logged_in_client.post(reverse("deal-delete", args=[deal.pk])).status_code == 403
    assert Deal.objects.filter(pk=deal.pk).exists()


def test_deal_edit__admin__may_edit_any(staff_client, workspace, other_rep):
    deal = factories.DealFactory(workspace=workspace, owner=other_rep)
    assert staff_client.get(reverse("deal-edit", args=[deal.pk])).status_code == 200


@pytest.mark.parametrize(
    "data", [{"amount": "-5"}, {"stage": "bogus"}, {"contact": "abc"}, {"expected_close": "x"}]
)
def test_deal_edit__hostile_input__400(logged_in_client, workspace, user, data):
    deal = factories.DealFactory(workspace=workspace, owner=user)
    base = {"name": "D", "stage": "lead", "amount": "1", "owner": user.pk}
    response = logged_in_client.post(reverse("deal-edit", args=[deal.pk]), base | data)
    assert response.status_code == 400


# Deleting a contact ---------------------------------------------------------


def test_contact_delete__confirm_page_says_what_goes_with_it(logged_in_client, owned_contact):
    response = logged_in_client.get(reverse("contact-delete", args=[owned_contact.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Delete contact “Ada" in html
    assert "2 interactions deleted with it" in html
    assert "1 order deleted with it" in html
    assert "1 deal kept, without the link to it" in html
    assert Contact.objects.filter(pk=owned_contact.pk).exists()  # a GET deletes nothing


def test_contact_delete__post__deletes_and_audits(logged_in_client, user, owned_contact):
    pk = owned_contact.pk
    response = logged_in_client.post(reverse("contact-delete", args=[pk]))
    assert response.status_code == 302 and response.url == reverse("contact-list")
    assert not Contact.objects.filter(pk=pk).exists()
    assert not Interaction.objects.filter(contact_id=pk).exists()
    assert not Order.objects.filter(contact_id=pk).exists()
    assert Deal.objects.filter(contact=None).count() == 1
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.object_type, entry.object_id) == (
        user,
        "delete",
        "contact",
        pk,
    )
    assert "2 interactions deleted with it" in entry.summary
    assert entry.details["deleted"]["interactions"] == 2


def test_contact_delete__someone_elses__403(logged_in_client, workspace, other_rep):
    contact = factories.ContactFactory(workspace=workspace, owner=other_rep)
    response = logged_in_client.post(reverse("contact-delete", args=[contact.pk]))
    assert response.status_code == 403
    assert b"Only the owner of this contact or an administrator" in response.content
    assert Contact.objects.filter(pk=contact.pk).exists()
    assert not AuditEntry.objects.exists()


def test_contact_edit__someone_elses__403(logged_in_client, workspace, other_rep):
    contact = factories.ContactFactory(workspace=workspace, owner=other_rep)
    assert logged_in_client.get(reverse("contact-edit", args=[contact.pk])).status_code == 403


def test_delete__other_workspace_or_missing__404(logged_in_client, sandbox):
    foreign = factories.ContactFactory(workspace=sandbox)
    assert logged_in_client.post(reverse("contact-delete", args=[foreign.pk])).status_code == 404
    assert logged_in_client.get(reverse("deal-delete", args=[999999])).status_code == 404
    assert logged_in_client.get("/contacts/abc/delete/").status_code == 404


# Accounts, interactions, campaigns ------------------------------------------


def test_account_delete__admins_only(logged_in_client, staff_user, workspace):
    from django.test import Client

    staff_client = Client()
    staff_client.force_login(staff_user)
    account = factories.AccountFactory(workspace=workspace, name="Initech")
    factories.ContactFactory(workspace=workspace, account=account)
    refused = logged_in_client.post(reverse("account-delete", args=[account.pk]))
    assert refused.status_code == 403
    assert b"Only administrators can delete an account." in refused.content
    page = staff_client.get(reverse("account-delete", args=[account.pk]))
    assert "1 contact kept, without the link to it" in page.content.decode()
    assert staff_client.post(reverse("account-delete", args=[account.pk])).status_code == 302
    assert AuditEntry.objects.get().summary.startswith("Deleted account “Initech”")


def test_interaction_edit_and_delete__author(logged_in_client, workspace, user, owned_contact):
    interaction = owned_contact.interactions.first()
    interaction.author = user
    interaction.save()
    response = logged_in_client.post(
        reverse("interaction-edit", args=[interaction.pk]),
        {"channel": "email", "direction": "in", "subject": "Fixed subject", "body": ""},
    )
    assert response.status_code == 302
    interaction.refresh_from_db()
    assert (interaction.channel, interaction.subject) == ("email", "Fixed subject")
    assert (
        logged_in_client.post(reverse("interaction-edit", args=[interaction.pk]), {}).status_code
        == 400
    )
    response = logged_in_client.post(reverse("interaction-delete", args=[interaction.pk]))
    assert response.url == reverse("contact-detail", args=[owned_contact.pk])
    assert not Interaction.objects.filter(pk=interaction.pk).exists()


def test_interaction__someone_elses_contact__403(logged_in_client, workspace, other_rep):
    contact = factories.ContactFactory(workspace=workspace, owner=other_rep)
    interaction = factories.InteractionFactory(workspace=workspace, contact=contact)
    assert (
        logged_in_client.get(reverse("interaction-edit", args=[interaction.pk])).status_code == 403
    )


def test_campaign_delete__creator(logged_in_client, workspace, user):
    campaign = factories.CampaignFactory(workspace=workspace, created_by=user, name="Spring")
    assert logged_in_client.post(reverse("campaign-delete", args=[campaign.pk])).status_code == 302
    assert not Campaign.objects.exists()
    assert AuditEntry.objects.get().object_type == "campaign"


def test_contact_page__links_to_edit_and_delete(logged_in_client, owned_contact):
    html = logged_in_client.get(reverse("contact-detail", args=[owned_contact.pk])).content.decode()
    assert reverse("contact-delete", args=[owned_contact.pk]) in html
    interaction = owned_contact.interactions.first()
    assert reverse("interaction-edit", args=[interaction.pk]) in html


def test_delete_confirm__query_count(logged_in_client, owned_contact, django_assert_num_queries):
    # session, user, workspace, contact, then one query per relation that
    # goes with a contact (interactions, orders, deals, AI rows...): bounded by
    # the schema, not by the number of rows (after a first request fills the caches)
    logged_in_client.get(reverse("contact-delete", args=[owned_contact.pk]))
    with django_assert_num_queries(QUERIES_DELETE_CONFIRM):
        logged_in_client.get(reverse("contact-delete", args=[owned_contact.pk]))
    factories.InteractionFactory.create_batch(
        5, workspace=owned_contact.workspace, contact=owned_contact
    )
    with django_assert_num_queries(QUERIES_DELETE_CONFIRM):
        logged_in_client.get(reverse("contact-delete", args=[owned_contact.pk]))


# Bulk delete -----------------------------------------------------------------


def test_bulk_delete__confirm_then_delete_own_only(logged_in_client, workspace, user, other_rep):
    mine = factories.ContactFactory.create_batch(2, workspace=workspace, owner=user)
    factories.InteractionFactory(workspace=workspace, contact=mine[0])
    theirs = factories.ContactFactory(workspace=workspace, owner=other_rep)
    ids = [c.pk for c in [*mine, theirs]]

    confirm = logged_in_client.post(reverse("contact-bulk"), {"action": "delete", "ids": ids})
    html = confirm.content.decode()
    assert confirm.status_code == 200
    assert "Delete 2 contacts?" in html
    assert "1 interaction deleted with it" in html
    assert "1 of the selected contact belongs to someone else" in html
    assert Contact.objects.count() == 3

    done = logged_in_client.post(
        reverse("contact-bulk"), {"action": "delete", "ids": ids, "confirm": "1"}
    )
    assert done.status_code == 302
    assert list(Contact.objects.all()) == [theirs]
    entry = AuditEntry.objects.get()
    assert entry.action == "bulk_delete" and sorted(entry.details["ids"]) == sorted(
        c.pk for c in mine
    )
    assert entry.summary.startswith("Deleted 2 contacts")


def test_bulk_delete__admin_deletes_any(staff_client, workspace, other_rep):
    theirs = factories.ContactFactory(workspace=workspace, owner=other_rep)
    staff_client.post(
        reverse("contact-bulk"), {"action": "delete", "ids": [theirs.pk], "confirm": "1"}
    )
    assert not Contact.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        {"action": "delete"},
        {"action": "explode", "ids": ["1"]},
        {"action": "delete", "ids": ["x"]},
        {"action": "delete", "ids": [str(n) for n in range(1, 600)]},
    ],
)
def test_bulk__hostile_input__400(logged_in_client, data):
    assert logged_in_client.post(reverse("contact-bulk"), data).status_code == 400


def test_bulk__other_workspace_ids__ignored(logged_in_client, sandbox):
    foreign = factories.ContactFactory(workspace=sandbox)
    logged_in_client.post(
        reverse("contact-bulk"), {"action": "delete", "ids": [foreign.pk], "confirm": "1"}
    )
    assert Contact.objects.filter(pk=foreign.pk).exists()


def test_bulk__external_next__not_followed(logged_in_client, workspace, user):
    contact = factories.ContactFactory(workspace=workspace, owner=user)
    response = logged_in_client.post(
        reverse("contact-bulk"),
        {"action": "delete", "ids": [contact.pk], "confirm": "1", "next": "https://evil.example/"},
    )
    assert response.url == reverse("contact-list")
