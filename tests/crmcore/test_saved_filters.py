"""Contact list filters a user saves under a name: save, list, open, replace, delete."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crmcore import factories, services
from crmcore.models import SavedFilter

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(workspace, user):
    return [
        factories.ContactFactory(
            workspace=workspace, first_name="Lena", last_name="Berlin", lifecycle_stage="lead"
        ),
        factories.ContactFactory(
            workspace=workspace, first_name="Carl", last_name="Berlin", lifecycle_stage="customer"
        ),
        factories.ContactFactory(
            workspace=workspace, first_name="Mia", last_name="Paris", lifecycle_stage="lead"
        ),
    ]


def _save(client, name: str, query: str):
    return client.post(reverse("saved-filter-create"), {"name": name, "query": query})


def test_save__list_filter__kept_with_only_list_parameters_and_opens_it(
    logged_in_client, user, workspace, people
):
    response = _save(logged_in_client, "  Berlin   leads ", "q=Berlin&stage=lead&page=4&evil=1")

    saved = SavedFilter.objects.get(owner=user)
    assert (saved.name, saved.query, saved.workspace_id) == (
        "Berlin leads",
        "q=Berlin&stage=lead",
        workspace.pk,
    )
    assert response.status_code == 302
    assert response["Location"] == "/contacts/?q=Berlin&stage=lead"
    page = logged_in_client.get(response["Location"]).content.decode()
    assert "Lena Berlin" in page
    assert "Carl Berlin" not in page and "Mia Paris" not in page
    assert 'aria-current="true">Berlin leads</a>' in page


def test_contact_list__saved_filters__shown_to_their_owner_only(
    logged_in_client, client, user, workspace, people
):
    services.saved_filter_save(workspace=workspace, owner=user, name="Leads", query="stage=lead")
    other = factories.UserFactory(username="other-rep")

    mine = logged_in_client.get(reverse("contact-list")).content.decode()
    client.force_login(other)
    theirs = client.get(reverse("contact-list")).content.decode()

    assert 'href="/contacts/?stage=lead">Leads</a>' in mine
    assert ">Leads</a>" not in theirs


def test_save__same_name_again__replaces_its_query(logged_in_client, user, people):
    _save(logged_in_client, "Mine", "stage=lead")
    _save(logged_in_client, "Mine", "stage=customer")

    assert list(SavedFilter.objects.filter(owner=user).values_list("name", "query")) == [
        ("Mine", "stage=customer")
    ]


def test_contact_list__no_filter__no_save_form_and_with_one__the_form(logged_in_client, people):
    plain = logged_in_client.get(reverse("contact-list")).content.decode()
    filtered = logged_in_client.get(reverse("contact-list"), {"stage": "lead"}).content.decode()

    assert 'data-testid="save-filter"' not in plain
    assert 'data-testid="save-filter"' in filtered
    assert 'name="query" value="stage=lead"' in filtered


@pytest.mark.parametrize(
    "data",
    [
        {"name": "", "query": "stage=lead"},
        {"name": "x" * 81, "query": "stage=lead"},
        {"name": "Nothing", "query": "page=3"},  # nothing the list filters on
        {"name": "No query"},
    ],
)
def test_save__bad_input__refused_and_nothing_saved(logged_in_client, user, data):
    response = logged_in_client.post(reverse("saved-filter-create"), data)

    assert response.status_code in (302, 400)
    assert not SavedFilter.objects.filter(owner=user).exists()


def test_save__over_the_limit__refused_with_a_message(logged_in_client, user, workspace):
    for i in range(services.SAVED_FILTERS_MAX):
        services.saved_filter_save(workspace=workspace, owner=user, name=f"F{i}", query=f"q=n{i}")

    response = _save(logged_in_client, "One more", "stage=lead")
    page = logged_in_client.get(response["Location"]).content.decode()

    assert SavedFilter.objects.filter(owner=user).count() == services.SAVED_FILTERS_MAX
    assert "delete one first" in page


def test_delete__own_filter__gone(logged_in_client, user, workspace):
    saved = services.saved_filter_save(
        workspace=workspace, owner=user, name="Leads", query="stage=lead"
    )

    response = logged_in_client.post(reverse("saved-filter-delete", args=[saved.pk]))

    assert response.status_code == 302
    assert not SavedFilter.objects.filter(pk=saved.pk).exists()


def test_delete__someone_elses_filter__400_and_kept(logged_in_client, workspace):
    other = factories.UserFactory(username="other-rep")
    theirs = services.saved_filter_save(
        workspace=workspace, owner=other, name="Theirs", query="stage=lead"
    )

    response = logged_in_client.post(reverse("saved-filter-delete", args=[theirs.pk]))

    assert response.status_code == 400
    assert SavedFilter.objects.filter(pk=theirs.pk).exists()


def test_save_and_delete__get__not_allowed(logged_in_client):
    assert logged_in_client.get(reverse("saved-filter-create")).status_code == 405
    assert logged_in_client.get(reverse("saved-filter-delete", args=[1])).status_code == 405


def test_save__anonymous__sent_to_login(client):
    response = client.post(reverse("saved-filter-create"), {"name": "x", "query": "stage=lead"})

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
