"""The churn-risk column of the contact list: its values, filter, sort, saved filter
and export, with prediction on for the user, off, and under the kill switch."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from waffle.testutils import override_switch

from ai_features.capabilities.prediction import services
from ai_features.capabilities.prediction.models import ContactScore
from crmcore import factories
from tests.ai_features.prediction.helpers import make_history

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored(workspace, settings):
    """Four contacts: one in each band with known values, and one never scored."""
    settings.AI_PREDICTION_MIN_AUC = 0.5
    contacts = [
        factories.ContactFactory(
            workspace=workspace,
            account=None,
            first_name="Zed",
            last_name=f"Risk{i}",
            email=f"c{i}@example.com",
            lifecycle_stage="customer",
        )
        for i in range(4)
    ]
    # Other customers give the model something to learn from; their scores are
    # removed so that the four above are the only scored contacts.
    make_history(workspace, customers=10, churned=10)
    services.model_version_train(workspace=workspace)
    services.contacts_score(workspace=workspace)
    ContactScore.objects.filter(workspace=workspace).exclude(contact__in=contacts[:3]).delete()
    for contact, (probability, band) in zip(
        contacts, [(0.12, "low"), (0.5, "medium"), (0.87, "high")], strict=False
    ):
        ContactScore.objects.filter(workspace=workspace, contact=contact).update(
            probability=probability, band=band
        )
    return contacts


def _rows(response) -> dict[str, str]:
    """Contact name -> the text of its churn-risk cell, from the list page."""
    html = response.content.decode()
    rows = {}
    for chunk in html.split('<td class="cell-primary">')[1:]:
        name = chunk.split(">", 2)[1].split("<", 1)[0]
        cell = chunk.split('data-column="churn_risk">', 1)
        rows[name] = cell[1].split("</td>", 1)[0] if len(cell) == 2 else None
    return rows


def _names(response) -> list[str]:
    return list(_rows(response))


def test_contact_list__prediction_on__churn_risk_column_with_stored_values(
    scored, logged_in_client, enable_capability
):
    enable_capability("prediction")

    response = logged_in_client.get(reverse("contact-list"), {"q": "Risk"})

    assert "Churn risk" in response.content.decode()
    rows = _rows(response)
    assert "12%" in rows["Zed Risk0"] and "Low churn risk" in rows["Zed Risk0"]
    assert "50%" in rows["Zed Risk1"] and "cell-badge-warn" in rows["Zed Risk1"]
    assert "87%" in rows["Zed Risk2"] and "cell-badge-bad" in rows["Zed Risk2"]
    assert "%" not in rows["Zed Risk3"]  # never scored: a dash


def test_contact_list__filter_high__only_high_risk_contacts(
    scored, logged_in_client, enable_capability
):
    enable_capability("prediction")

    response = logged_in_client.get(reverse("contact-list"), {"churn_risk": "high"})

    assert _names(response) == ["Zed Risk2"]
    assert '<option value="high" selected>' in response.content.decode()


def test_contact_list__sorted_by_risk__highest_first_unscored_last(
    scored, logged_in_client, enable_capability
):
    enable_capability("prediction")

    descending = logged_in_client.get(reverse("contact-list"), {"q": "Risk", "sort": "-churn_risk"})
    ascending = logged_in_client.get(reverse("contact-list"), {"q": "Risk", "sort": "churn_risk"})

    assert _names(descending) == ["Zed Risk2", "Zed Risk1", "Zed Risk0", "Zed Risk3"]
    assert _names(ascending) == ["Zed Risk0", "Zed Risk1", "Zed Risk2", "Zed Risk3"]


def test_contact_list__prediction_on__at_risk_saved_filter_lists_high_risk_customers(
    scored, logged_in_client, enable_capability
):
    enable_capability("prediction")
    lead = scored[2]
    factories.ContactFactory(workspace=lead.workspace, first_name="Lee", lifecycle_stage="lead")

    page = logged_in_client.get(reverse("contact-list")).content.decode()
    assert "At-risk customers" in page
    query = page.split("At-risk customers", 1)[0].rsplit('href="', 1)[1].split('"', 1)[0]
    response = logged_in_client.get(query.replace("&amp;", "&"))

    assert _names(response) == ["Zed Risk2"]


def test_contact_list__do_not_profile__no_value_and_no_filter_match(
    scored, logged_in_client, enable_capability
):
    enable_capability("prediction")
    scored[2].do_not_profile = True
    scored[2].save(update_fields=["do_not_profile"])

    listed = _rows(logged_in_client.get(reverse("contact-list"), {"q": "Risk"}))
    filtered = logged_in_client.get(reverse("contact-list"), {"churn_risk": "high"})

    assert "%" not in listed["Zed Risk2"]
    assert _names(filtered) == []


@pytest.mark.parametrize("how", ["off", "kill switch"])
def test_contact_list__prediction_not_on__no_column_filter_or_saved_filter(
    scored, logged_in_client, enable_capability, how
):
    if how == "kill switch":
        enable_capability("prediction")
    with override_switch("ai_kill_switch", active=how == "kill switch"):
        page = logged_in_client.get(reverse("contact-list"), {"q": "Risk"})
        filtered = logged_in_client.get(
            reverse("contact-list"), {"q": "Risk", "churn_risk": "high", "sort": "-churn_risk"}
        )

    html = page.content.decode()
    assert "Churn risk" not in html
    assert "At-risk customers" not in html
    assert 'name="churn_risk"' not in html
    # The filter and sort are not applied: the four, by name
    assert _names(filtered) == ["Zed Risk0", "Zed Risk1", "Zed Risk2", "Zed Risk3"]


def test_contact_list__only_for_pilot_team__others_see_no_column(
    scored, client, user, team, enable_capability
):
    other = factories.UserFactory(username="outsider")
    enable_capability("prediction", teams=[team])

    client.force_login(user)
    pilot = client.get(reverse("contact-list"), {"q": "Risk"}).content.decode()
    client.force_login(other)
    outsider = client.get(reverse("contact-list"), {"q": "Risk"}).content.decode()

    assert "Churn risk" in pilot
    assert "Churn risk" not in outsider


def test_contact_export__filter_high__only_high_risk_rows_with_churn_columns(
    scored, logged_in_client, enable_capability
):
    enable_capability("prediction")

    response = logged_in_client.get(reverse("contact-export"), {"churn_risk": "high"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))

    assert [(r["email"], r["churn_band"]) for r in rows] == [("c2@example.com", "high")]


def test_contact_list__prediction_on__query_count(
    scored, logged_in_client, enable_capability, django_assert_num_queries
):
    enable_capability("prediction")
    workspace = scored[0].workspace
    logged_in_client.get(reverse("contact-list"))  # warm the flag cache

    # crmcore's 9 (session, user, workspace, teams, owners, the page of contacts
    # ordered by the risk subquery, saved filters, open campaigns, the
    # workspace's users) and one
    # for the page's scores, whether 4 or 34 contacts are scored.
    with django_assert_num_queries(10):
        logged_in_client.get(reverse("contact-list"), {"sort": "-churn_risk"})
    factories.ContactFactory.create_batch(30, workspace=workspace, lifecycle_stage="customer")
    services.contacts_score(workspace=workspace)
    with django_assert_num_queries(10):
        response = logged_in_client.get(reverse("contact-list"), {"sort": "-churn_risk"})

    assert response.content.decode().count('data-column="churn_risk"') == 50
