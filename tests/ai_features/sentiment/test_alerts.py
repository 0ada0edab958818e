import pytest

from ai_features.capabilities.sentiment.models import SentimentAlert
from ai_features.capabilities.sentiment.services import (
    sentiment_alert_acknowledge,
    sentiment_analyze_interactions,
)
from crmcore import events
from tests.ai_features.sentiment.conftest import COLD, WARM

pytestmark = pytest.mark.django_db


@pytest.fixture
def captured_events():
    seen = []

    def listener(event):
        seen.append(event)

    events.subscribe(listener)
    yield seen
    events.unsubscribe(listener)


def test_alert__recent_tone_below_baseline__raised_and_event_emitted(
    workspace,
    sentiment_on,
    contact_with_history,
    captured_events,
    django_capture_on_commit_callbacks,
):
    contact, _ = contact_with_history(WARM + COLD)

    with django_capture_on_commit_callbacks(execute=True):
        summary = sentiment_analyze_interactions(workspace=workspace)

    alert = SentimentAlert.objects.get()
    assert summary.alerts == 1
    assert alert.contact == contact
    assert (alert.recent_count, alert.baseline_count) == (3, 5)
    assert alert.drop >= 0.3
    dropped = [e for e in captured_events if e.name == "contact.sentiment_dropped"]
    assert len(dropped) == 1
    assert dropped[0].payload["contact_id"] == contact.pk
    assert dropped[0].payload["drop"] == round(alert.drop, 4)


def test_alert__steady_tone__none(workspace, sentiment_on, contact_with_history):
    contact_with_history(WARM + WARM[:3])

    summary = sentiment_analyze_interactions(workspace=workspace)

    assert summary.alerts == 0
    assert SentimentAlert.objects.count() == 0


def test_alert__too_little_history__none(workspace, sentiment_on, contact_with_history):
    contact_with_history(WARM[:2] + COLD)

    sentiment_analyze_interactions(workspace=workspace)

    assert SentimentAlert.objects.count() == 0


def test_alert__already_open__not_raised_twice(workspace, sentiment_on, contact_with_history):
    contact_with_history(WARM + COLD)
    sentiment_analyze_interactions(workspace=workspace)

    sentiment_analyze_interactions(workspace=workspace, reanalyze=True)

    assert SentimentAlert.objects.count() == 1


def test_alert__acknowledged_and_no_new_interaction__not_raised_again(
    workspace, user, sentiment_on, contact_with_history
):
    contact_with_history(WARM + COLD)
    sentiment_analyze_interactions(workspace=workspace)
    sentiment_alert_acknowledge(alert=SentimentAlert.objects.get(), user=user)

    sentiment_analyze_interactions(workspace=workspace, reanalyze=True)

    assert SentimentAlert.objects.count() == 1


def test_alert__threshold_setting__respected(
    workspace, sentiment_on, contact_with_history, settings
):
    settings.AI_SENTIMENT_ALERT_DROP_THRESHOLD = 5.0
    contact_with_history(WARM + COLD)

    sentiment_analyze_interactions(workspace=workspace)

    assert SentimentAlert.objects.count() == 0


def test_analysis_job__do_not_profile_contact__no_sentiment_no_alert(
    workspace, sentiment_on, contact_with_history
):
    from ai_features.capabilities.sentiment.models import InteractionSentiment

    contact, _ = contact_with_history(WARM + COLD)
    contact.do_not_profile = True
    contact.save(update_fields=["do_not_profile"])

    summary = sentiment_analyze_interactions(workspace=workspace)

    assert summary.alerts == 0
    assert not InteractionSentiment.objects.filter(interaction__contact=contact).exists()
