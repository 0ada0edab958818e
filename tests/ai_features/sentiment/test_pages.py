import pytest
from django.urls import reverse
from waffle.testutils import override_switch

from ai_features.capabilities.sentiment.models import SentimentAlert, ToneCorrection
from ai_features.capabilities.sentiment.services import sentiment_analyze_interactions
from ai_features.models import JobRun, SuggestionEvent
from crmcore import factories
from tests.ai_features.sentiment.conftest import COLD, WARM

pytestmark = pytest.mark.django_db


def _contact_page(client, contact):
    return client.get(reverse("contact-detail", args=[contact.pk]))


def test_contact_panel__flag_on__trend_chart_alert_and_correction_form(
    logged_in_client,
    workspace,
    sentiment_on,
    contact_with_history,
    django_capture_on_commit_callbacks,
):
    contact, interactions = contact_with_history(WARM + COLD)
    sentiment_analyze_interactions(workspace=workspace)

    # "shown" is written once the response is done, after the commit
    with django_capture_on_commit_callbacks(execute=True):
        response = _contact_page(logged_in_client, contact)

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="sentiment-trend"' in html
    assert html.count('class="trend-point"') == 8
    assert 'data-testid="sentiment-alert"' in html
    assert reverse("sentiment:correction-create", args=[interactions[-1].pk]) in html
    assert SuggestionEvent.objects.filter(action="shown", capability="sentiment").count() == 1


def test_contact_panel__flag_off__absent(
    logged_in_client, workspace, sentiment_on, contact_with_history, enable_capability
):
    contact, _ = contact_with_history(WARM)
    sentiment_analyze_interactions(workspace=workspace)
    flag = sentiment_on
    flag.everyone = False
    flag.save()
    flag.flush()

    response = _contact_page(logged_in_client, contact)

    assert response.status_code == 200
    assert "sentiment-panel" not in response.content.decode()
    assert SuggestionEvent.objects.count() == 0


def test_contact_panel__kill_switch__absent(
    logged_in_client, workspace, sentiment_on, contact_with_history
):
    contact, _ = contact_with_history(WARM)
    sentiment_analyze_interactions(workspace=workspace)

    with override_switch("ai_kill_switch", active=True):
        response = _contact_page(logged_in_client, contact)

    assert "sentiment-panel" not in response.content.decode()


def test_correction_form__flag_on__saved_and_redirected_back(
    logged_in_client, user, workspace, sentiment_on, contact_with_history
):
    contact, interactions = contact_with_history(WARM[:1])
    back = reverse("contact-detail", args=[contact.pk])

    response = logged_in_client.post(
        reverse("sentiment:correction-create", args=[interactions[0].pk]),
        {"tone": "neutral", "next": back},
    )

    assert response.status_code == 302
    assert response["Location"] == back
    correction = ToneCorrection.objects.get()
    assert (correction.from_tone, correction.to_tone, correction.corrected_by) == (
        "positive",
        "neutral",
        user,
    )


def test_correction_form__flag_off__403_with_reason(
    logged_in_client, workspace, contact_with_history
):
    _, interactions = contact_with_history(WARM[:1])

    response = logged_in_client.post(
        reverse("sentiment:correction-create", args=[interactions[0].pk]), {"tone": "neutral"}
    )

    assert response.status_code == 403
    assert "Sentiment is not enabled for your team." in response.content.decode()
    assert ToneCorrection.objects.count() == 0


def test_correction_form__other_workspace__404(logged_in_client, sandbox, sentiment_on):
    interaction = factories.InteractionFactory(workspace=sandbox)

    response = logged_in_client.post(
        reverse("sentiment:correction-create", args=[interaction.pk]), {"tone": "neutral"}
    )

    assert response.status_code == 404


def test_alert_list__flag_on__lists_open_alerts_in_fixed_queries(
    logged_in_client, workspace, sentiment_on, contact_with_history, django_assert_num_queries
):
    for _ in range(3):
        contact_with_history(WARM + COLD)
    sentiment_analyze_interactions(workspace=workspace)
    url = reverse("sentiment:alert-list")
    logged_in_client.get(url)  # warms the session, user and gate caches

    # session, user, workspace, alerts (+ contacts joined)
    with django_assert_num_queries(4):
        response = logged_in_client.get(url)

    assert response.status_code == 200
    assert response.content.decode().count("data-alert=") == 3


def test_alert_list__flag_off__403_with_reason(logged_in_client):
    response = logged_in_client.get(reverse("sentiment:alert-list"))

    assert response.status_code == 403
    assert "Sentiment is not enabled for your team." in response.content.decode()


def test_alert_list__kill_switch__403_with_reason(logged_in_client, sentiment_on):
    with override_switch("ai_kill_switch", active=True):
        response = logged_in_client.get(reverse("sentiment:alert-list"))

    assert response.status_code == 403
    assert "Sentiment is switched off for everyone for now." in response.content.decode()


def test_alert_acknowledge__flag_on__leaves_the_open_list(
    logged_in_client, user, workspace, sentiment_on, contact_with_history
):
    contact_with_history(WARM + COLD)
    sentiment_analyze_interactions(workspace=workspace)
    alert = SentimentAlert.objects.get()

    response = logged_in_client.post(reverse("sentiment:alert-acknowledge", args=[alert.pk]))

    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.acknowledged_by == user
    page = logged_in_client.get(reverse("sentiment:alert-list")).content.decode()
    assert 'data-testid="no-alerts"' in page


def test_model_card__flag_on__shows_correction_progress(logged_in_client, sentiment_on):
    response = logged_in_client.get(reverse("sentiment:model-card"))

    assert response.status_code == 200
    assert "No model yet: 0 of 20 corrections." in response.content.decode()


def test_model_card__flag_off__403_for_a_rep(logged_in_client):
    assert logged_in_client.get(reverse("sentiment:model-card")).status_code == 403


def test_model_card__flag_off__open_to_staff(staff_client):
    response = staff_client.get(reverse("sentiment:model-card"))

    assert response.status_code == 200
    assert "No model yet: 0 of 20 corrections." in response.content.decode()


def test_job_start__staff_flag_on__runs_analysis(
    staff_client, workspace, sentiment_on, contact_with_history, django_capture_on_commit_callbacks
):
    contact_with_history(WARM)

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(reverse("sentiment:job-start"), {"job": "analyze"})

    assert response.status_code == 302
    page = staff_client.get(reverse("sentiment:model-card")).content.decode()
    assert "analyze_sentiment · Succeeded · 5/5 (100%)" in page


def test_job_start__not_staff__403(logged_in_client, sentiment_on):
    response = logged_in_client.post(reverse("sentiment:job-start"), {"job": "analyze"})

    assert response.status_code == 403


def test_job_start__kill_switch__nothing_runs_and_says_why(
    staff_client, sentiment_on, django_capture_on_commit_callbacks
):
    with (
        override_switch("ai_kill_switch", active=True),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        response = staff_client.post(
            reverse("sentiment:job-start"), {"job": "analyze"}, follow=True
        )

    assert callbacks == []
    assert JobRun.objects.count() == 0
    assert "AI features are switched off for everyone (kill switch)." in response.content.decode()


def test_nav_item__flag_on_and_off__shown_only_when_on(logged_in_client, enable_capability):
    assert 'data-nav="sentiment-alerts"' not in logged_in_client.get("/").content.decode()

    enable_capability("sentiment")

    assert 'data-nav="sentiment-alerts"' in logged_in_client.get("/").content.decode()
