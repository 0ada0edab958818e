"""Extra read-only fields that other apps add to API items (crmcore.extensions)."""

import pytest
from django.db.models import Count

from crmcore import extensions, factories
from crmcore.extensions import ApiFieldProvider
from crmcore.models import Contact, Interaction

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("core_only")]


class InteractionCounts:
    """A fake provider: one query per call; only callers named ``rep`` see it."""

    def __init__(self) -> None:
        self.calls: list[list[int]] = []

    def __call__(self, request, objects):
        self.calls.append([obj.pk for obj in objects])
        if request.user.username != "rep":
            return {}
        counts = dict(
            Contact.objects.filter(pk__in=[obj.pk for obj in objects])
            .annotate(n=Count("interactions"))
            .values_list("pk", "n")
        )
        # Contacts without interactions get nothing: their items lack the field.
        return {pk: {"interaction_count": n} for pk, n in counts.items() if n}


@pytest.fixture
def contact_provider():
    provide = InteractionCounts()
    provider = ApiFieldProvider(
        key="test-interaction-count",
        model_label="crmcore.contact",
        provide=provide,
        schema={"interaction_count": "How many interactions the contact has."},
    )
    extensions.api_field_providers.register(provider)
    yield provide
    extensions.api_field_providers.unregister(provider.key)


@pytest.fixture
def interaction_provider():
    calls: list[list[int]] = []

    def provide(request, objects):
        calls.append([obj.pk for obj in objects])
        return {obj.pk: {"shouting": obj.subject.isupper()} for obj in objects}

    provider = ApiFieldProvider(
        key="test-shouting", model_label="crmcore.interaction", provide=provide
    )
    extensions.api_field_providers.register(provider)
    yield calls
    extensions.api_field_providers.unregister(provider.key)


def test_contacts_list__provider__called_once_per_page_and_field_only_where_given(
    api_client, workspace, contact_provider
):
    busy = factories.ContactFactory(workspace=workspace, last_name="A")
    factories.InteractionFactory.create_batch(2, workspace=workspace, contact=busy)
    quiet = factories.ContactFactory(workspace=workspace, last_name="B")

    response = api_client.get("/api/v1/contacts/", {"ordering": "last_name"})

    items = response.json()["results"]
    assert contact_provider.calls == [[busy.pk, quiet.pk]]
    assert items[0]["interaction_count"] == 2
    assert "interaction_count" not in items[1]


def test_contacts_list__caller_without_capability__no_field_at_all(workspace, contact_provider):
    from rest_framework.test import APIClient

    contact = factories.ContactFactory(workspace=workspace)
    factories.InteractionFactory(workspace=workspace, contact=contact)
    other = APIClient()
    other.force_authenticate(factories.UserFactory(username="someone-else"))

    item = other.get("/api/v1/contacts/").json()["results"][0]

    assert "interaction_count" not in item


def test_contact_retrieve__provider__called_with_the_one_object(
    api_client, workspace, contact_provider
):
    contact = factories.ContactFactory(workspace=workspace)
    factories.InteractionFactory(workspace=workspace, contact=contact)

    response = api_client.get(f"/api/v1/contacts/{contact.pk}/")

    assert response.json()["interaction_count"] == 1
    assert contact_provider.calls == [[contact.pk]]


def test_contacts_list__provider_registered__query_count_independent_of_page_size(
    api_client, workspace, contact_provider, django_assert_num_queries
):
    for contact in factories.ContactFactory.create_batch(5, workspace=workspace):
        factories.InteractionFactory(workspace=workspace, contact=contact)
    # workspace, page, the provider's one query
    with django_assert_num_queries(3):
        small = api_client.get("/api/v1/contacts/", {"page_size": 2})
    with django_assert_num_queries(3):
        large = api_client.get("/api/v1/contacts/", {"page_size": 5})
    assert [len(r.json()["results"]) for r in (small, large)] == [2, 5]
    assert [len(call) for call in contact_provider.calls] == [2, 5]


def test_interactions_list__provider__fields_added_in_one_call(
    api_client, workspace, interaction_provider
):
    loud = factories.InteractionFactory(workspace=workspace, subject="HELP")
    calm = factories.InteractionFactory(workspace=workspace, subject="Thanks")

    response = api_client.get("/api/v1/interactions/", {"ordering": "id"})

    assert [(i["id"], i["shouting"]) for i in response.json()["results"]] == [
        (loud.pk, True),
        (calm.pk, False),
    ]
    assert interaction_provider == [[loud.pk, calm.pk]]


def test_contacts_list__no_provider__items_have_only_core_fields(api_client, workspace):
    factories.ContactFactory(workspace=workspace)
    item = api_client.get("/api/v1/contacts/").json()["results"][0]
    assert set(item) == {
        "id",
        "first_name",
        "last_name",
        "full_name",
        "email",
        "phone",
        "account",
        "owner",
        "team",
        "lifecycle_stage",
        "region",
        "segment",
        "external_id",
        "marketing_opt_out",
        "do_not_profile",
        "attributes",
        "created_at",
        "updated_at",
    }


def test_contacts_list__provider_raises__field_absent_and_200(api_client, workspace):
    def broken(request, objects):
        raise RuntimeError("model not loaded")

    provider = ApiFieldProvider(key="test-broken", model_label="crmcore.contact", provide=broken)
    extensions.api_field_providers.register(provider)
    try:
        factories.ContactFactory(workspace=workspace)
        response = api_client.get("/api/v1/contacts/")
    finally:
        extensions.api_field_providers.unregister(provider.key)
    assert response.status_code == 200
    assert len(response.json()["results"]) == 1


def test_interaction_create__provider__response_has_field(
    api_client, workspace, interaction_provider
):
    contact = factories.ContactFactory(workspace=workspace)
    response = api_client.post(
        "/api/v1/interactions/", {"contact": contact.pk, "channel": "chat", "subject": "URGENT"}
    )
    assert response.status_code == 201
    assert response.json()["shouting"] is True
    assert Interaction.objects.count() == 1


def test_providers_for__registered_as_model_label__found_by_lower_label():
    provider = ApiFieldProvider(key="test-label", model_label="crmcore.Contact", provide=dict)
    extensions.api_field_providers.register(provider)
    try:
        found_lower = [p.key for p in extensions.providers_for("crmcore.contact")]
        found_label = [p.key for p in extensions.providers_for(Contact._meta.label)]
    finally:
        extensions.api_field_providers.unregister(provider.key)

    assert (found_lower, found_label, provider.model_label) == (
        ["test-label"],
        ["test-label"],
        "crmcore.contact",
    )
