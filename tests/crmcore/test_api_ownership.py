"""The API follows the pages' rule for changing and deleting: admins everything, a
rep what they own and what nobody owns, only admins delete accounts; others 403."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from crmcore import factories
from crmcore.models import Account, Contact, Deal, Interaction

pytestmark = pytest.mark.django_db


@pytest.fixture
def colleague(db):
    return factories.UserFactory(username="colleague")


@pytest.fixture
def theirs(workspace, colleague):
    contact = factories.ContactFactory(workspace=workspace, owner=colleague, first_name="Theirs")
    return {
        "contacts": contact,
        "deals": factories.DealFactory(workspace=workspace, contact=contact, owner=colleague),
        "interactions": factories.InteractionFactory(
            workspace=workspace, contact=contact, author=colleague
        ),
    }


CHANGES = {
    "contacts": {"first_name": "Changed"},
    "deals": {"name": "Changed"},
    "interactions": {"subject": "Changed"},
}


@pytest.mark.parametrize("kind", ["contacts", "deals", "interactions"])
def test_rep__someone_elses_row__403_saying_why_and_unchanged(api_client, theirs, kind):
    row = theirs[kind]
    url = f"/api/v1/{kind}/{row.pk}/"

    patched = api_client.patch(url, CHANGES[kind], format="json")
    deleted = api_client.delete(url)

    assert patched.status_code == 403
    assert deleted.status_code == 403
    assert "Only its owner or an administrator can" in patched.json()["detail"]
    assert type(row).objects.filter(pk=row.pk).exists()
    row.refresh_from_db()
    assert "Changed" not in str(getattr(row, next(iter(CHANGES[kind]))))


@pytest.mark.parametrize("kind", ["contacts", "deals", "interactions"])
def test_rep__someone_elses_row__can_still_read_it(api_client, theirs, kind):
    assert api_client.get(f"/api/v1/{kind}/{theirs[kind].pk}/").status_code == 200


def test_rep__own_and_unowned_contacts__changed_and_deleted(api_client, workspace, user):
    own = factories.ContactFactory(workspace=workspace, owner=user)
    unowned = factories.ContactFactory(workspace=workspace, owner=None)

    assert (
        api_client.patch(f"/api/v1/contacts/{own.pk}/", {"first_name": "Mine"}).status_code == 200
    )
    assert api_client.delete(f"/api/v1/contacts/{unowned.pk}/").status_code == 204
    own.refresh_from_db()
    assert own.first_name == "Mine"
    assert not Contact.objects.filter(pk=unowned.pk).exists()


@pytest.mark.parametrize("kind", ["contacts", "deals", "interactions"])
def test_admin__someone_elses_row__changed_and_deleted(staff_api_client, theirs, kind):
    row = theirs[kind]
    url = f"/api/v1/{kind}/{row.pk}/"

    assert staff_api_client.patch(url, CHANGES[kind], format="json").status_code == 200
    assert staff_api_client.delete(url).status_code == 204
    assert not type(row).objects.filter(pk=row.pk).exists()


def test_account__rep_edits_but_only_admin_deletes(api_client, staff_api_client, workspace):
    account = factories.AccountFactory(workspace=workspace, name="Acme")
    url = f"/api/v1/accounts/{account.pk}/"

    assert api_client.patch(url, {"name": "Acme Ltd"}, format="json").status_code == 200
    refused = api_client.delete(url)
    assert refused.status_code == 403
    assert refused.json()["detail"] == "Only an administrator can delete an account."
    assert staff_api_client.delete(url).status_code == 204
    assert not Account.objects.filter(pk=account.pk).exists()


def test_token_user__same_rule_as_session(workspace, theirs):
    rep = factories.UserFactory(username="token-rep")
    client = APIClient()
    client.force_authenticate(rep)

    assert client.delete(f"/api/v1/deals/{theirs['deals'].pk}/").status_code == 403
    assert Deal.objects.filter(pk=theirs["deals"].pk).exists()
    assert Interaction.objects.filter(pk=theirs["interactions"].pk).exists()
