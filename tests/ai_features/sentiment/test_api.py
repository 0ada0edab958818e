import pytest
from django.test import RequestFactory
from waffle.testutils import override_switch

from ai_features.capabilities.sentiment import api
from ai_features.capabilities.sentiment.models import InteractionSentiment, ToneCorrection
from ai_features.capabilities.sentiment.services import sentiment_analyze_interactions
from ai_features.models import SuggestionEvent
from crmcore import factories
from crmcore.models import Contact, Interaction

pytestmark = pytest.mark.django_db

ANALYZE = "/api/v1/ai/sentiment/analyze"


def test_analyze_api__flag_on__polarity_tone_and_explanation(api_client, sentiment_on):
    response = api_client.post(ANALYZE, {"text": "The support was excellent, thanks!"})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"polarity", "subjectivity", "tone", "explanation"}
    assert body["tone"] == "positive"
    assert body["polarity"] == 0.625
    assert body["explanation"][0]["words"] == ["excellent"]


def test_analyze_api__flag_off__403_with_reason(api_client):
    response = api_client.post(ANALYZE, {"text": "Great."})

    assert response.status_code == 403
    assert response.json()["detail"] == "Sentiment is not enabled for your team."


def test_analyze_api__kill_switch__403(api_client, sentiment_on):
    with override_switch("ai_kill_switch", active=True):
        response = api_client.post(ANALYZE, {"text": "Great."})

    assert response.status_code == 403


def test_analyze_api__anonymous__401_or_403(client, sentiment_on):
    response = client.post(ANALYZE, {"text": "Great."}, content_type="application/json")

    assert response.status_code in (401, 403)


@pytest.mark.parametrize("payload", [{}, {"text": ""}, {"text": "   "}, {"text": None}])
def test_analyze_api__missing_or_empty_text__400(api_client, sentiment_on, payload):
    response = api_client.post(ANALYZE, payload, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["text"]


def test_analyze_api__oversized_text__400(api_client, sentiment_on, settings):
    settings.AI_SENTIMENT_API_MAX_TEXT_LENGTH = 50

    response = api_client.post(ANALYZE, {"text": "word " * 11})

    assert response.status_code == 400
    assert response.json() == {"text": ["Ensure this field has no more than 50 characters."]}


def test_correction_api__flag_on__stored_audited_and_counted(
    api_client, user, workspace, sentiment_on
):
    interaction = factories.InteractionFactory(workspace=workspace, subject="", body="Fine.")

    response = api_client.post(
        f"/api/v1/ai/sentiment/interactions/{interaction.pk}/correction", {"tone": "urgent"}
    )

    assert response.status_code == 201
    assert response.json()["from_tone"] == "positive"
    assert response.json()["to_tone"] == "urgent"
    correction = ToneCorrection.objects.get()
    assert (correction.corrected_by, correction.from_tone, correction.to_tone) == (
        user,
        "positive",
        "urgent",
    )
    assert InteractionSentiment.objects.get(interaction=interaction).tone == "urgent"
    event = SuggestionEvent.objects.get()
    assert (event.capability, event.action, event.object_id) == (
        "sentiment",
        "corrected",
        interaction.pk,
    )


def test_correction_api__other_workspace__404(api_client, sandbox, sentiment_on):
    interaction = factories.InteractionFactory(workspace=sandbox)

    response = api_client.post(
        f"/api/v1/ai/sentiment/interactions/{interaction.pk}/correction", {"tone": "urgent"}
    )

    assert response.status_code == 404
    assert ToneCorrection.objects.count() == 0


def test_correction_api__unknown_tone__400(api_client, workspace, sentiment_on):
    interaction = factories.InteractionFactory(workspace=workspace)

    response = api_client.post(
        f"/api/v1/ai/sentiment/interactions/{interaction.pk}/correction", {"tone": "angry"}
    )

    assert response.status_code == 400


def test_correction_api__flag_off__403(api_client, workspace):
    interaction = factories.InteractionFactory(workspace=workspace)

    response = api_client.post(
        f"/api/v1/ai/sentiment/interactions/{interaction.pk}/correction", {"tone": "urgent"}
    )

    assert response.status_code == 403


def _analysed(workspace, n=3):
    contact = factories.ContactFactory(workspace=workspace)
    for _ in range(n):
        factories.InteractionFactory(
            workspace=workspace, contact=contact, subject="", body="Terrible delays."
        )
    sentiment_analyze_interactions(workspace=workspace, check_gate=False)
    return contact


def test_interaction_fields__flag_on__sentiment_in_list(api_client, workspace, sentiment_on):
    _analysed(workspace)

    response = api_client.get("/api/v1/interactions/")

    items = response.json()["results"]
    assert [item["sentiment_tone"] for item in items] == ["negative"] * 3
    assert items[0]["sentiment_polarity"] == -1.0


def test_interaction_fields__flag_off__no_sentiment_fields(api_client, workspace):
    _analysed(workspace)

    items = api_client.get("/api/v1/interactions/").json()["results"]

    assert len(items) == 3
    assert all("sentiment_tone" not in item for item in items)


def test_interaction_fields__kill_switch__no_sentiment_fields(api_client, workspace, sentiment_on):
    _analysed(workspace)

    with override_switch("ai_kill_switch", active=True):
        items = api_client.get("/api/v1/interactions/").json()["results"]

    assert all("sentiment_tone" not in item for item in items)


def test_contact_fields__flag_on__tone_mean_and_alert(api_client, workspace, sentiment_on):
    contact = _analysed(workspace)

    item = api_client.get(f"/api/v1/contacts/{contact.pk}/").json()

    assert item["sentiment_tone"] == "negative"
    assert item["sentiment_mean_polarity"] == -1.0
    assert item["sentiment_alert"] is False


def test_contact_fields__flag_off__absent(api_client, workspace):
    contact = _analysed(workspace)

    item = api_client.get(f"/api/v1/contacts/{contact.pk}/").json()

    assert "sentiment_tone" not in item


def test_contact_fields__page_of_contacts__one_query_for_all(
    user, workspace, sentiment_on, django_assert_num_queries
):
    for _ in range(4):
        _analysed(workspace, n=2)
    request = RequestFactory().get("/api/v1/contacts/")
    request.user = user
    request.workspace = workspace
    contacts = list(Contact.objects.in_workspace(workspace))
    api.provide_contact_fields(request, contacts[:1])  # warms the gate's caches

    with django_assert_num_queries(1):
        fields = api.provide_contact_fields(request, contacts)

    assert sorted(fields) == sorted(c.pk for c in contacts)
    assert {f["sentiment_tone"] for f in fields.values()} == {"negative"}


def test_interaction_fields__page__one_query_for_all(
    user, workspace, sentiment_on, django_assert_num_queries
):
    _analysed(workspace, n=5)
    request = RequestFactory().get("/api/v1/interactions/")
    request.user = user
    request.workspace = workspace
    interactions = list(Interaction.objects.in_workspace(workspace))
    api.provide_interaction_fields(request, interactions[:1])

    with django_assert_num_queries(1):
        fields = api.provide_interaction_fields(request, interactions)

    assert len(fields) == 5
