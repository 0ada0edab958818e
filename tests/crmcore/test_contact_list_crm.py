"""The contact list works like a CRM's: sortable columns, saved filters, bulk actions, export."""

import csv
import io

import pytest
from django.urls import reverse

from crmcore import factories
from crmcore.models import AuditEntry, Contact

pytestmark = pytest.mark.django_db


@pytest.fixture
def contacts(workspace, user):
    acme = factories.AccountFactory(workspace=workspace, name="Acme")
    zeta = factories.AccountFactory(workspace=workspace, name="Zeta")
    return [
        factories.ContactFactory(
            workspace=workspace,
            first_name="Bea",
            last_name="Young",
            account=acme,
            owner=user,
            lifecycle_stage="customer",
        ),
        factories.ContactFactory(
            workspace=workspace,
            first_name="Al",
            last_name="Zimmer",
            account=zeta,
            lifecycle_stage="lead",
        ),
        factories.ContactFactory(
            workspace=workspace,
            first_name="Cy",
            last_name="Adams",
            account=zeta,
            owner=user,
            lifecycle_stage="lead",
        ),
    ]


def _names(response):
    return [c.last_name for c in response.context["page"].object_list]


@pytest.mark.parametrize(
    "sort, expected",
    [
        ("", ["Adams", "Young", "Zimmer"]),
        ("name", ["Adams", "Young", "Zimmer"]),
        ("-name", ["Zimmer", "Young", "Adams"]),
        ("company", ["Young", "Adams", "Zimmer"]),
        ("-company", ["Zimmer", "Adams", "Young"]),
        ("stage", ["Young", "Adams", "Zimmer"]),
    ],
)
def test_sort__whitelisted_columns(logged_in_client, contacts, sort, expected):
    response = logged_in_client.get(reverse("contact-list"), {"sort": sort})
    assert _names(response) == expected


@pytest.mark.parametrize(
    "sort", ["password", "owner__password", "-id; drop table", "x" * 500, "--name", "__str__"]
)
def test_sort__hostile__ignored_never_500(logged_in_client, contacts, sort):
    response = logged_in_client.get(reverse("contact-list"), {"sort": sort})
    assert response.status_code == 200
    assert _names(response) == ["Adams", "Young", "Zimmer"]


def test_sort__header_links_flip_the_order(logged_in_client, contacts):
    html = logged_in_client.get(reverse("contact-list"), {"sort": "name"}).content.decode()
    assert 'aria-sort="ascending"' in html
    assert '<a href="?sort=-name" data-sort="name">Name ▲</a>' in html
    assert '<a href="?sort=company" data-sort="company">' in html


def test_saved_filters__my_customers(logged_in_client, contacts, user):
    html = logged_in_client.get(reverse("contact-list")).content.decode()
    assert f'href="/contacts/?owner={user.pk}&amp;stage=customer"' in html
    response = logged_in_client.get(
        reverse("contact-list"), {"owner": user.pk, "stage": "customer"}
    )
    assert _names(response) == ["Young"]


def test_export__streams_the_current_filter(logged_in_client, contacts):
    response = logged_in_client.get(reverse("contact-export"), {"stage": "lead", "q": "zeta"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="contacts.csv"'
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert sorted(r["last_name"] for r in rows) == ["Adams", "Zimmer"]


def test_export__hostile_filters__whole_list_or_nothing_never_500(logged_in_client, contacts):
    response = logged_in_client.get(reverse("contact-export"), {"team": "x", "ids": ["a", "-1"]})
    assert response.status_code == 200
    b"".join(response.streaming_content)


def test_bulk_export__the_selection(logged_in_client, contacts):
    response = logged_in_client.post(
        reverse("contact-bulk"), {"action": "export", "ids": [contacts[0].pk]}
    )
    assert response.status_code == 302
    export = logged_in_client.get(response.url)
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert [r["last_name"] for r in rows] == ["Young"]


def test_bulk_assign_owner__own_and_unowned_changed_audited(
    logged_in_client, workspace, user, team, contacts
):
    colleague = factories.UserFactory(username="colleague")
    team.members.add(colleague)
    theirs = factories.ContactFactory(workspace=workspace, owner=colleague)
    ids = [c.pk for c in [*contacts, theirs]]
    response = logged_in_client.post(
        reverse("contact-bulk"), {"action": "assign_owner", "ids": ids, "owner": colleague.pk}
    )
    assert response.status_code == 302
    assert Contact.objects.filter(owner=colleague).count() == 4
    entry = AuditEntry.objects.get(action="bulk_assign")
    assert sorted(entry.details["ids"]) == sorted(c.pk for c in contacts)


def test_bulk_assign_team(logged_in_client, team, contacts):
    logged_in_client.post(
        reverse("contact-bulk"),
        {"action": "assign_team", "ids": [c.pk for c in contacts], "team": team.pk},
    )
    assert Contact.objects.filter(team=team).count() == 3


@pytest.mark.parametrize(
    "data",
    [
        {"action": "assign_owner"},
        {"action": "assign_owner", "owner": "999999"},
        {"action": "assign_team", "team": "abc"},
    ],
)
def test_bulk_assign__hostile__400(logged_in_client, contacts, data):
    data = {"ids": [contacts[0].pk], **data}
    assert logged_in_client.post(reverse("contact-bulk"), data).status_code == 400


def test_bulk_assign__team_of_another_workspace__400(logged_in_client, contacts, sandbox):
    foreign = factories.TeamFactory(workspace=sandbox, name="Elsewhere")
    data = {"action": "assign_team", "ids": [contacts[0].pk], "team": foreign.pk}
    assert logged_in_client.post(reverse("contact-bulk"), data).status_code == 400


def test_contact_list__sorted__query_count(
    logged_in_client, contacts, core_only, django_assert_num_queries
):
    # session, user, workspace, teams, owners, the page of contacts, the user's
    # saved filters, the open campaigns and the workspace's users (the bulk
    # bar's choices)
    with django_assert_num_queries(9):
        logged_in_client.get(reverse("contact-list"), {"sort": "-company"})


# Add to campaign --------------------------------------------------------------


def test_bulk_add_to_campaign__ids_in_audience_audited_and_told(
    logged_in_client, contacts, workspace
):
    campaign = factories.CampaignFactory(workspace=workspace, status="draft", name="Spring")

    response = logged_in_client.post(
        reverse("contact-bulk"),
        {
            "action": "add_to_campaign",
            "ids": [contacts[0].pk, contacts[1].pk],
            "campaign": campaign.pk,
        },
        follow=True,
    )

    campaign.refresh_from_db()
    assert campaign.audience["contacts"] == sorted([contacts[0].pk, contacts[1].pk])
    assert campaign.audience["lifecycle_stage"] == "customer"  # its filter kept
    assert "Added 2 contacts to the campaign Spring." in response.content.decode()
    entry = AuditEntry.objects.get(action="campaign_add")
    assert entry.object_id == campaign.pk
    assert sorted(entry.details["ids"]) == sorted([contacts[0].pk, contacts[1].pk])


def test_bulk_add_to_campaign__again__only_new_ones_added(logged_in_client, contacts, workspace):
    campaign = factories.CampaignFactory(workspace=workspace, status="draft", audience={})
    data = {"action": "add_to_campaign", "campaign": campaign.pk}
    logged_in_client.post(reverse("contact-bulk"), {**data, "ids": [contacts[0].pk]})

    response = logged_in_client.post(
        reverse("contact-bulk"), {**data, "ids": [contacts[0].pk, contacts[2].pk]}, follow=True
    )

    campaign.refresh_from_db()
    assert campaign.audience == {"contacts": sorted([contacts[0].pk, contacts[2].pk])}
    assert "Added 1 contact to the campaign" in response.content.decode()
    assert "1 was in it already." in response.content.decode()


def test_bulk_add_to_campaign__approved__back_to_draft(logged_in_client, contacts, workspace):
    campaign = factories.CampaignFactory(workspace=workspace, status="approved")

    logged_in_client.post(
        reverse("contact-bulk"),
        {"action": "add_to_campaign", "ids": [contacts[0].pk], "campaign": campaign.pk},
    )

    campaign.refresh_from_db()
    assert campaign.status == "draft"


def test_bulk_add_to_campaign__sent_campaign__refused_with_message_and_unchanged(
    logged_in_client, contacts, workspace
):
    campaign = factories.CampaignFactory(workspace=workspace, status="sent", audience={})

    response = logged_in_client.post(
        reverse("contact-bulk"),
        {"action": "add_to_campaign", "ids": [contacts[0].pk], "campaign": campaign.pk},
        follow=True,
    )

    campaign.refresh_from_db()
    assert campaign.audience == {}
    assert "A sent campaign cannot get new contacts." in response.content.decode()


@pytest.mark.parametrize("campaign", ["", "0", "abc", "99999999", str(2**70)])
def test_bulk_add_to_campaign__no_such_campaign__400(logged_in_client, contacts, campaign):
    response = logged_in_client.post(
        reverse("contact-bulk"),
        {"action": "add_to_campaign", "ids": [contacts[0].pk], "campaign": campaign},
    )

    assert response.status_code == 400


def test_bulk_add_to_campaign__campaign_of_another_workspace__400(
    logged_in_client, contacts, sandbox
):
    foreign = factories.CampaignFactory(workspace=sandbox, status="draft", audience={})

    response = logged_in_client.post(
        reverse("contact-bulk"),
        {"action": "add_to_campaign", "ids": [contacts[0].pk], "campaign": foreign.pk},
    )

    foreign.refresh_from_db()
    assert response.status_code == 400
    assert foreign.audience == {}


def test_contact_list__open_campaigns__offered_in_the_bulk_bar(
    logged_in_client, workspace, contacts
):
    factories.CampaignFactory(workspace=workspace, status="draft", name="Open one")
    factories.CampaignFactory(workspace=workspace, status="sent", name="Done one")

    page = logged_in_client.get(reverse("contact-list")).content.decode()

    assert '<option value="add_to_campaign">' in page
    assert ">Open one</option>" in page
    assert ">Done one</option>" not in page
