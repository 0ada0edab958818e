"""In their own training sandbox a rep changes and deletes everything (practice data
owned by made-up reps), on the pages, in bulk and through the API; nowhere else."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from crmcore import factories
from crmcore.models import Account, Contact, Deal
from crmcore.workspaces import SESSION_KEY

pytestmark = pytest.mark.django_db


@pytest.fixture
def own_sandbox(user):
    return factories.SandboxWorkspaceFactory(owner=user)


@pytest.fixture
def made_up_rep(db):
    return factories.UserFactory(username="alice-made-up")


@pytest.fixture
def in_sandbox(logged_in_client, own_sandbox):
    session = logged_in_client.session
    session[SESSION_KEY] = own_sandbox.pk
    session.save()
    return logged_in_client


def test_own_sandbox__someone_elses_deal__edited_on_the_page(in_sandbox, own_sandbox, made_up_rep):
    contact = factories.ContactFactory(workspace=own_sandbox, owner=made_up_rep)
    deal = factories.DealFactory(workspace=own_sandbox, contact=contact, owner=made_up_rep)

    page = in_sandbox.get(reverse("deal-edit", args=[deal.pk]))
    contact_page = in_sandbox.get(reverse("contact-edit", args=[contact.pk]))

    assert page.status_code == 200
    assert contact_page.status_code == 200


def test_own_sandbox__someone_elses_contact_and_account__deleted(
    in_sandbox, own_sandbox, made_up_rep
):
    account = factories.AccountFactory(workspace=own_sandbox)
    contact = factories.ContactFactory(workspace=own_sandbox, owner=made_up_rep, account=None)

    in_sandbox.post(reverse("contact-delete", args=[contact.pk]), {"confirm": "on"})
    in_sandbox.post(reverse("account-delete", args=[account.pk]), {"confirm": "on"})

    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert not Account.objects.filter(pk=account.pk).exists()


def test_own_sandbox__bulk_assign__someone_elses_contacts_count(
    in_sandbox, own_sandbox, user, made_up_rep
):
    contacts = factories.ContactFactory.create_batch(2, workspace=own_sandbox, owner=made_up_rep)

    in_sandbox.post(
        reverse("contact-bulk"),
        {"action": "assign_owner", "ids": [c.pk for c in contacts], "owner": user.pk},
    )

    assert set(
        Contact.objects.filter(pk__in=[c.pk for c in contacts]).values_list("owner", flat=True)
    ) == {user.pk}


def test_own_sandbox__api__someone_elses_deal_deleted(user, own_sandbox, made_up_rep):
    deal = factories.DealFactory(workspace=own_sandbox, owner=made_up_rep)
    api = APIClient()
    api.force_login(user)
    session = api.session
    session[SESSION_KEY] = own_sandbox.pk
    session.save()

    assert api.delete(f"/api/v1/deals/{deal.pk}/").status_code == 204
    assert not Deal.objects.filter(pk=deal.pk).exists()


def test_someone_elses_sandbox__never_reachable(logged_in_client, made_up_rep):
    theirs = factories.SandboxWorkspaceFactory(owner=made_up_rep)
    deal = factories.DealFactory(workspace=theirs, owner=made_up_rep)

    assert logged_in_client.get(reverse("deal-edit", args=[deal.pk])).status_code == 404


def test_production__someone_elses_deal__still_refused(
    logged_in_client, workspace, own_sandbox, made_up_rep
):
    # Owning a sandbox gives nothing in production
    deal = factories.DealFactory(workspace=workspace, owner=made_up_rep)

    assert logged_in_client.get(reverse("deal-edit", args=[deal.pk])).status_code == 403
