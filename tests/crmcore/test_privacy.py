"""A person's privacy: do not profile (editable, importable, in the API), erasure, export."""

import json

import pytest
from django.urls import reverse

from crmcore import factories, services
from crmcore.models import AuditEntry, Contact, Deal, Interaction, Order, Task
from tests.crmcore.test_import import run_command, write, write_mapping

pytestmark = pytest.mark.django_db


@pytest.fixture
def person(workspace, user):
    contact = factories.ContactFactory(
        workspace=workspace,
        first_name="Ada",
        last_name="Lovelace",
        email="ada@example.com",
        phone="+441234",
        owner=user,
    )
    factories.InteractionFactory.create_batch(
        2, workspace=workspace, contact=contact, subject="About Ada"
    )
    factories.OrderFactory(workspace=workspace, contact=contact)
    factories.DealFactory(workspace=workspace, contact=contact, name="Engine deal")
    services.task_create(
        workspace=workspace,
        owner=user,
        title="Call Ada",
        due_date=contact.created_at.date(),
        contact=contact,
    )
    return contact


def test_do_not_profile__editable_from_the_contact_form(logged_in_client, person):
    page = logged_in_client.get(reverse("contact-edit", args=[person.pk]))
    assert b'name="do_not_profile"' in page.content
    data = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
        "lifecycle_stage": "lead",
        "do_not_profile": "on",
        "owner": person.owner_id,
    }
    response = logged_in_client.post(reverse("contact-edit", args=[person.pk]), data)
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.do_not_profile is True
    html = logged_in_client.get(reverse("contact-detail", args=[person.pk])).content.decode()
    assert 'data-testid="do-not-profile"' in html


def test_do_not_profile__in_the_api(api_client, person):
    url = f"/api/v1/contacts/{person.pk}/"
    assert api_client.get(url).json()["do_not_profile"] is False
    assert api_client.patch(url, {"do_not_profile": True}, format="json").status_code == 200
    person.refresh_from_db()
    assert person.do_not_profile is True
    assert api_client.patch(url, {"do_not_profile": "maybe"}, format="json").status_code == 400


def test_do_not_profile__importable(workspace, tmp_path):
    csv_path = write(
        tmp_path,
        "people.csv",
        "First,Email,Objects\nAda,ada@x.example,yes\nGrace,grace@x.example,no\nAlan,alan@x.example,\n"
        "Bad,bad@x.example,perhaps\n",
    )
    mapping = write_mapping(
        tmp_path,
        {"columns": {"First": "first_name", "Email": "email", "Objects": "do_not_profile"}},
    )
    output = run_command("contacts", str(csv_path), "--mapping", str(mapping))
    flags = dict(Contact.objects.values_list("first_name", "do_not_profile"))
    assert flags == {"Ada": True, "Grace": False, "Alan": False}
    assert "invalid do_not_profile 'perhaps' (expected yes or no)" in output


# Export of everything stored about a person ------------------------------------


def test_personal_data__json_with_everything_about_them(logged_in_client, person):
    response = logged_in_client.get(reverse("contact-personal-data", args=[person.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    data = json.loads(response.content)
    assert data["contact"]["email"] == "ada@example.com"
    assert data["contact"]["do_not_profile"] is False
    related = data["related"]
    assert [i["subject"] for i in related["crmcore.Interaction"]] == ["About Ada", "About Ada"]
    assert len(related["crmcore.Order"]) == 1
    assert [t["title"] for t in related["crmcore.Task"]] == ["Call Ada"]
    assert [d["name"] for d in related["crmcore.Deal"]] == ["Engine deal"]


def test_personal_data__other_workspace__404(logged_in_client, sandbox):
    foreign = factories.ContactFactory(workspace=sandbox)
    url = reverse("contact-personal-data", args=[foreign.pk])
    assert logged_in_client.get(url).status_code == 404


# Erasure ----------------------------------------------------------------------------


def test_erase__everything_derived_goes_audit_keeps_no_personal_data(staff_client, person):
    pk = person.pk
    page = staff_client.get(reverse("contact-erase", args=[pk]))
    assert "2 interactions deleted with it" in page.content.decode()

    response = staff_client.post(reverse("contact-erase", args=[pk]))

    assert response.status_code == 302
    assert not Contact.objects.filter(pk=pk).exists()
    assert not Interaction.objects.exists() and not Order.objects.exists()
    assert not Task.objects.exists()
    assert Deal.objects.get().contact is None
    entry = AuditEntry.objects.get(action="erase")
    assert entry.object_id == pk
    assert entry.summary.startswith(f"Erased contact #{pk} and everything derived from them (")
    stored = json.dumps([entry.summary, entry.details])
    for personal in ("Ada", "Lovelace", "ada@example.com", "+441234", "About Ada"):
        assert personal not in stored


def test_erase__rep__403_with_reason(logged_in_client, person):
    response = logged_in_client.post(reverse("contact-erase", args=[person.pk]))
    assert response.status_code == 403
    assert b"Only administrators can erase a person." in response.content
    assert Contact.objects.filter(pk=person.pk).exists()


def test_erase__missing__404(staff_client):
    assert staff_client.post(reverse("contact-erase", args=[999999])).status_code == 404
