"""A new or reset sandbox has its AI ready without any staff action."""

from __future__ import annotations

import pytest
from django.urls import reverse

from ai_features.capabilities.prediction.models import ContactScore, DealScore, ModelVersion
from ai_features.capabilities.sentiment.models import InteractionSentiment
from ai_features.models import JobRun
from ai_features.preparation import PREPARE_JOB, preparation_status, preparation_steps
from crmcore import factories
from crmcore.models import Contact, Deal, Interaction, Workspace
from training_sandbox import services

SIZE = 200  # at 100 the win model passed its quality gate on some days only (too few closed deals)


@pytest.fixture
def trainee_client(client, db):
    trainee = factories.UserFactory(username="newbie", is_staff=False)
    client.force_login(trainee)
    return client, trainee


def test_preparation_steps__tone_before_churn():
    assert preparation_steps() == [
        ("sentiment", "analyze"),
        ("prediction", "retrain_and_score"),
        ("prediction", "train_win_model"),
    ]


def test_sandbox_create__as_a_trainee_through_the_page__ai_ready(
    trainee_client, django_capture_on_commit_callbacks, settings
):
    client, trainee = trainee_client
    settings.TRAINING_SANDBOX_DEFAULT_CONTACTS = SIZE  # the page offers the default size

    # When a trainee without staff rights creates a sandbox from the page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("sandbox:create"), {"contacts": SIZE, "seed": 42})
    assert response.status_code == 302

    # Then every interaction is analysed, a churn model is live and customers are
    # scored, and so are the open deals with a win model
    sandbox = Workspace.objects.get(owner=trainee)
    interactions = Interaction.objects.in_workspace(sandbox).count()
    assert interactions > 0
    assert InteractionSentiment.objects.filter(workspace=sandbox).count() == interactions
    live = ModelVersion.objects.get(workspace=sandbox, kind="churn", is_live=True)
    customers = Contact.objects.in_workspace(sandbox).filter(lifecycle_stage="customer").count()
    assert ContactScore.objects.filter(workspace=sandbox, model_version=live).count() == customers
    win = ModelVersion.objects.get(workspace=sandbox, kind="win", is_live=True)
    open_deals = Deal.objects.in_workspace(sandbox).filter(stage__in=Deal.OPEN_STAGES).count()
    assert DealScore.objects.filter(workspace=sandbox, model_version=win).count() == open_deals
    # And the sandbox page says so
    status = preparation_status(workspace=sandbox)
    assert (status.state, status.percent) == ("ready", 100)
    page = client.get(reverse("sandbox:home")).content.decode()
    assert "The AI is ready: tones analysed, models trained, customers scored." in page


def test_sandbox_reset__prepares_again(django_capture_on_commit_callbacks, db):
    trainee = factories.UserFactory(username="again")
    with django_capture_on_commit_callbacks(execute=True):
        sandbox = services.sandbox_create(user=trainee, contacts=SIZE, seed=3)
    with django_capture_on_commit_callbacks(execute=True):
        services.sandbox_reset(workspace=sandbox)

    # The reset cleared the first run with the rest of the sandbox's rows
    runs = JobRun.objects.filter(workspace=sandbox, name=PREPARE_JOB)
    assert list(runs.values_list("status", "done", "total")) == [("succeeded", 3, 3)]
    assert InteractionSentiment.objects.filter(workspace=sandbox).count() == (
        Interaction.objects.in_workspace(sandbox).count()
    )


def test_preparation_status__running__percent_shown(sandbox, client):
    JobRun.objects.create(name=PREPARE_JOB, workspace=sandbox, total=5, done=3)
    client.force_login(sandbox.owner)

    page = client.get(reverse("sandbox:home")).content.decode()

    assert "Preparing the AI: 60%" in page
    assert '<meta http-equiv="refresh" content="3">' in page


def test_sandbox_create__setting_off__nothing_prepared(
    settings, django_capture_on_commit_callbacks, db
):
    settings.TRAINING_SANDBOX_PREPARE_AI = False
    trainee = factories.UserFactory(username="manual")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        sandbox = services.sandbox_create(user=trainee, contacts=20, seed=3)

    assert callbacks == []
    assert preparation_status(workspace=sandbox) is None


def test_lesson_detail__ai_being_prepared__lesson_says_it_waits(sandbox, client):
    JobRun.objects.create(name=PREPARE_JOB, workspace=sandbox, total=5, done=3)
    client.force_login(sandbox.owner)

    prediction = client.get(reverse("sandbox:lesson-detail", args=["prediction-basics"]))
    crm_basics = client.get(reverse("sandbox:lesson-detail", args=["crm-basics"]))

    assert "The AI in your sandbox is still being prepared (60%)" in prediction.content.decode()
    # A lesson about the CRM alone needs no AI: no waiting message there
    assert 'data-testid="lesson-ai-waiting"' not in crm_basics.content.decode()


def test_lesson_detail__ai_ready__no_waiting_message(sandbox, client):
    JobRun.objects.create(
        name=PREPARE_JOB, workspace=sandbox, total=5, done=5, status=JobRun.Status.SUCCEEDED
    )
    client.force_login(sandbox.owner)

    page = client.get(reverse("sandbox:lesson-detail", args=["sentiment-basics"])).content.decode()

    assert 'data-testid="lesson-ai-waiting"' not in page
