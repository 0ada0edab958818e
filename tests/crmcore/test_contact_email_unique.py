"""One contact per email in a workspace, whatever its case: database, services, API, pages."""

from __future__ import annotations

import importlib
import threading

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from rest_framework.test import APIClient

from crmcore import factories, services
from crmcore.models import Contact

check_migration = importlib.import_module("crmcore.migrations.0004_contact_email_duplicates_check")


def taken(contact: Contact) -> str:
    return (
        "A contact with this email already exists in this workspace: "
        f"{contact.full_name} (contact {contact.pk})."
    )


# The database ---------------------------------------------------------------------


def test_contact_email_constraint__same_email_other_case_written_directly__integrity_error(
    workspace,
):
    factories.ContactFactory(workspace=workspace, email="ada@example.com")

    with pytest.raises(IntegrityError), transaction.atomic():
        factories.ContactFactory(workspace=workspace, email="Ada@Example.COM")


def test_contact_email_constraint__empty_emails_and_other_workspace__allowed(workspace, sandbox):
    factories.ContactFactory(workspace=workspace, email="")
    factories.ContactFactory(workspace=workspace, email="")
    factories.ContactFactory(workspace=workspace, email="ada@example.com")
    factories.ContactFactory(workspace=sandbox, email="ADA@example.com")

    assert Contact.objects.count() == 4


# The services ---------------------------------------------------------------------


def test_contact_create__email_of_another_contact_other_case__validation_error_naming_it(
    workspace,
):
    ada = factories.ContactFactory(
        workspace=workspace, first_name="Ada", last_name="Lovelace", email="ada@example.com"
    )

    with pytest.raises(ValidationError) as caught:
        services.contact_create(workspace=workspace, first_name="Ada", email="ADA@example.com")

    assert caught.value.message_dict == {"email": [taken(ada)]}
    assert Contact.objects.count() == 1


def test_contact_update__email_of_another_contact__validation_error_and_unchanged(workspace):
    ada = factories.ContactFactory(
        workspace=workspace, first_name="Ada", last_name="Lovelace", email="ada@example.com"
    )
    grace = factories.ContactFactory(workspace=workspace, email="grace@example.com")

    with pytest.raises(ValidationError) as caught:
        services.contact_update(contact=grace, data={"email": "Ada@example.com"})

    assert caught.value.message_dict == {"email": [taken(ada)]}
    grace.refresh_from_db()
    assert grace.email == "grace@example.com"


def test_contact_update__own_email_in_another_case__saved(workspace):
    ada = factories.ContactFactory(workspace=workspace, email="ada@example.com")

    services.contact_update(contact=ada, data={"email": "Ada@Example.com"})

    ada.refresh_from_db()
    assert ada.email == "Ada@Example.com"


def test_contact_create__concurrent_write_wins_the_race__validation_error_from_the_constraint(
    workspace, monkeypatch
):
    # Given: the check before writing sees nothing (another request is about to commit),
    # then the other contact is there when the insert runs.
    grace = factories.ContactFactory(
        workspace=workspace, first_name="Grace", last_name="Hopper", email="grace@example.com"
    )
    real_lookup = services.contact_with_email
    calls = []

    def late_lookup(**kwargs):
        calls.append(kwargs["email"])
        return None if len(calls) == 1 else real_lookup(**kwargs)

    monkeypatch.setattr(services, "contact_with_email", late_lookup)

    with pytest.raises(ValidationError) as caught:
        services.contact_create(workspace=workspace, first_name="G", email="GRACE@example.com")

    assert caught.value.message_dict == {"email": [taken(grace)]}
    assert calls == ["GRACE@example.com", "GRACE@example.com"]
    assert Contact.objects.count() == 1


# The API and the pages --------------------------------------------------------------


def test_contacts_api__create_with_taken_email__400_naming_the_contact(api_client, workspace):
    ada = factories.ContactFactory(
        workspace=workspace, first_name="Ada", last_name="Lovelace", email="ada@example.com"
    )

    response = api_client.post(
        "/api/v1/contacts/", {"first_name": "Ada", "email": "Ada@Example.com"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"email": [taken(ada)]}
    assert Contact.objects.count() == 1


def test_contacts_api__patch_to_taken_email__400_naming_the_contact(api_client, workspace):
    ada = factories.ContactFactory(
        workspace=workspace, first_name="Ada", last_name="Lovelace", email="ada@example.com"
    )
    grace = factories.ContactFactory(workspace=workspace, email="grace@example.com")

    response = api_client.patch(
        f"/api/v1/contacts/{grace.pk}/", {"email": "ADA@example.com"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"email": [taken(ada)]}


def test_contact_create_page__taken_email__400_with_the_error_on_the_email_field(
    logged_in_client, workspace
):
    ada = factories.ContactFactory(
        workspace=workspace, first_name="Ada", last_name="Lovelace", email="ada@example.com"
    )

    response = logged_in_client.post(
        reverse("contact-create"),
        {"first_name": "Ada", "email": "ADA@example.com", "lifecycle_stage": "lead"},
    )

    assert response.status_code == 400
    assert response.context["form"].errors == {"email": [taken(ada)]}
    assert Contact.objects.count() == 1


def test_contact_edit_page__taken_email__400_with_the_error_on_the_email_field(
    logged_in_client, workspace
):
    ada = factories.ContactFactory(
        workspace=workspace, first_name="Ada", last_name="Lovelace", email="ada@example.com"
    )
    grace = factories.ContactFactory(workspace=workspace, first_name="Grace", email="g@example.com")

    response = logged_in_client.post(
        reverse("contact-edit", args=[grace.pk]),
        {"first_name": "Grace", "email": "Ada@example.com", "lifecycle_stage": "lead"},
    )

    assert response.status_code == 400
    assert response.context["form"].errors == {"email": [taken(ada)]}
    grace.refresh_from_db()
    assert grace.email == "g@example.com"


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="concurrent writers need a server database; the in-memory SQLite test database "
    "locks whole tables (the race itself is covered above on both databases)",
)
@pytest.mark.django_db(transaction=True)
def test_contacts_api__same_email_created_concurrently__exactly_one_contact(user):
    # Given: eight clients posting the same email (in different cases) at the same moment.
    from crmcore.workspaces import production_workspace

    production_workspace()
    clients = 8
    barrier = threading.Barrier(clients)
    statuses: list[int] = []
    failures: list[BaseException] = []

    def post(index: int) -> None:
        try:
            api = APIClient()
            api.force_authenticate(user)
            email = "Ada@Example.com" if index % 2 else "ada@example.com"
            barrier.wait()
            response = api.post(
                "/api/v1/contacts/", {"first_name": f"Ada {index}", "email": email}, format="json"
            )
            statuses.append(response.status_code)
        except BaseException as exc:  # reported below: a thread's exception is otherwise lost
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert sorted(statuses) == [201] + [400] * (clients - 1)
    assert Contact.objects.filter(email__iexact="ada@example.com").count() == 1


# The migration that adds the constraint ------------------------------------------------


def _without_the_constraint():
    """Drop the unique constraint for this test (rolled back with the test's transaction)."""
    constraint = next(
        c for c in Contact._meta.constraints if c.name == "contact_email_ci_per_workspace"
    )
    connection.schema_editor().remove_constraint(Contact, constraint)


def test_email_duplicates_check__duplicates__refuses_listing_emails_and_contact_ids(
    workspace, sandbox
):
    _without_the_constraint()
    first = factories.ContactFactory(workspace=workspace, email="ada@example.com")
    second = factories.ContactFactory(workspace=workspace, email="ADA@example.com")
    third = factories.ContactFactory(workspace=workspace, email="Ada@Example.com")
    grace = factories.ContactFactory(workspace=workspace, email="grace@example.com")
    grace_too = factories.ContactFactory(workspace=workspace, email="grace@example.com")
    factories.ContactFactory(workspace=workspace, email="")
    factories.ContactFactory(workspace=workspace, email="")
    factories.ContactFactory(workspace=sandbox, email="grace@example.com")

    with pytest.raises(CommandError) as caught:
        check_migration.check_no_duplicate_emails(django_apps, None)

    assert str(caught.value).splitlines() == [
        "2 email(s) are shared by several contacts of the same workspace "
        "(compared without regard to case):",
        f"  workspace {workspace.pk}: ada@example.com "
        f"(contacts {first.pk}, {second.pk}, {third.pk})",
        f"  workspace {workspace.pk}: grace@example.com (contacts {grace.pk}, {grace_too.pk})",
        "Keep one contact per email: change or clear the email of the others (or delete "
        "them) in the admin or the API, then run `manage.py migrate` again.",
    ]


def test_email_duplicates_check__none__passes(workspace, sandbox):
    factories.ContactFactory(workspace=workspace, email="ada@example.com")
    factories.ContactFactory(workspace=sandbox, email="ada@example.com")
    factories.ContactFactory(workspace=workspace, email="")
    factories.ContactFactory(workspace=workspace, email="")

    assert check_migration.check_no_duplicate_emails(django_apps, None) is None


def test_admin_contact_add__taken_email_other_case__form_error_nothing_written(
    staff_client, workspace
):
    factories.ContactFactory(workspace=workspace, email="ada@example.com")

    response = staff_client.post(
        reverse("admin:crmcore_contact_add"),
        {
            "workspace": workspace.pk,
            "first_name": "Ada",
            "email": "ADA@example.com",
            "lifecycle_stage": "lead",
            "attributes": "{}",
        },
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "__all__": ["A contact with this email already exists in this workspace."]
    }
    assert Contact.objects.count() == 1
