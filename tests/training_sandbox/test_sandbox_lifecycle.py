"""Create, reset and delete a trainee's sandbox."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from ai_features.models import SuggestionEvent
from crmcore import factories, outbound
from crmcore.models import Contact, Deal, Interaction, OutboundRecord, Team, Workspace
from training_sandbox import services
from training_sandbox.models import LessonProgress, Sandbox, SandboxEvent

SIZE = 30


def _snapshot(workspace: Workspace) -> dict:
    return {
        "contacts": sorted(
            Contact.objects.in_workspace(workspace).values_list(
                "first_name", "last_name", "email", "lifecycle_stage"
            )
        ),
        "deals": sorted(
            Deal.objects.in_workspace(workspace).values_list("name", "stage", "amount")
        ),
        "interactions": Interaction.objects.in_workspace(workspace).count(),
    }


@pytest.fixture
def trainee(db):
    return factories.UserFactory(username="trainee")


def test_sandbox_create__new_trainee__seeded_private_workspace(trainee):
    sandbox = services.sandbox_create(user=trainee, contacts=SIZE, seed=7)

    assert (sandbox.kind, sandbox.owner, sandbox.seed) == ("sandbox", trainee, 7)
    assert Contact.objects.in_workspace(sandbox).count() == SIZE
    assert Sandbox.objects.get(workspace=sandbox).contacts == SIZE


def test_sandbox_create__defaults__default_size_and_seed(trainee, settings):
    settings.TRAINING_SANDBOX_DEFAULT_CONTACTS = 12
    settings.TRAINING_SANDBOX_DEFAULT_SEED = 5

    sandbox = services.sandbox_create(user=trainee)

    assert (Contact.objects.in_workspace(sandbox).count(), sandbox.seed) == (12, 5)


def test_sandbox_create__same_seed_for_two_trainees__same_data(trainee):
    first = services.sandbox_create(user=trainee, contacts=SIZE, seed=11)
    second = services.sandbox_create(user=factories.UserFactory(), contacts=SIZE, seed=11)

    assert _snapshot(first) == _snapshot(second)


def test_sandbox_create__already_has_one__refused(trainee):
    services.sandbox_create(user=trainee, contacts=SIZE)

    with pytest.raises(ValidationError, match="trainee already has a sandbox"):
        services.sandbox_create(user=trainee, contacts=SIZE)
    assert Workspace.objects.filter(owner=trainee).count() == 1


@pytest.mark.parametrize("contacts", [0, 100_001])
def test_sandbox_create__size_out_of_range__refused(trainee, contacts):
    with pytest.raises(ValidationError):
        services.sandbox_create(user=trainee, contacts=contacts)
    assert not Workspace.objects.filter(owner=trainee).exists()


def test_sandbox_reset__after_practice__back_to_seeded_state(
    trainee, django_capture_on_commit_callbacks
):
    # Given a sandbox the trainee worked in
    from crmcore import services as crm

    sandbox = services.sandbox_create(user=trainee, contacts=SIZE, seed=3)
    seeded = _snapshot(sandbox)
    contact = Contact.objects.in_workspace(sandbox).first()
    deal = Deal.objects.in_workspace(sandbox).filter(stage="qualified").first()
    with django_capture_on_commit_callbacks(execute=True):
        crm.interaction_create(workspace=sandbox, contact=contact, channel="call", author=trainee)
        crm.deal_stage_change(deal=deal, stage="won")
        crm.contact_create(workspace=sandbox, first_name="Extra")
    SuggestionEvent.objects.create(
        workspace=sandbox, capability="sentiment", action="corrected", user=trainee
    )
    outbound.email_send(workspace=sandbox, to=["x@example.com"], subject="Hi", body="x")
    assert _snapshot(sandbox) != seeded

    # When it is reset
    services.sandbox_reset(workspace=sandbox)

    # Then its data is the seeded data again, and the practice traces are gone
    assert _snapshot(sandbox) == seeded
    assert SuggestionEvent.objects.filter(workspace=sandbox).count() == 0
    assert SandboxEvent.objects.filter(workspace=sandbox).count() == 0
    assert OutboundRecord.objects.filter(workspace=sandbox).count() == 0
    assert Sandbox.objects.get(workspace=sandbox).reset_at is not None


def test_sandbox_reset__lessons__passed_kept_open_restarted(trainee):
    sandbox = services.sandbox_create(user=trainee, contacts=SIZE)
    passed = services.lesson_start(user=trainee, lesson="crm-basics", workspace=sandbox)
    LessonProgress.objects.filter(pk=passed.pk).update(passed_at=passed.started_at)
    open_ = services.lesson_start(user=trainee, lesson="sentiment-basics", workspace=sandbox)

    services.sandbox_reset(workspace=sandbox)

    passed.refresh_from_db()
    assert passed.passed_at is not None
    assert LessonProgress.objects.get(pk=open_.pk).started_at > open_.started_at


def test_sandbox_delete__every_row_removed_progress_kept(trainee, workspace):
    production_contact = factories.ContactFactory(workspace=workspace)
    sandbox = services.sandbox_create(user=trainee, contacts=SIZE)
    SuggestionEvent.objects.create(workspace=sandbox, capability="prediction", action="shown")
    services.lesson_start(user=trainee, lesson="crm-basics", workspace=sandbox)
    sandbox_id = sandbox.pk

    services.sandbox_delete(workspace=sandbox)

    assert not Workspace.objects.filter(pk=sandbox_id).exists()
    for model in (Contact, Deal, Interaction, Team, SuggestionEvent, Sandbox):
        assert model.objects.filter(workspace_id=sandbox_id).count() == 0, model
    assert LessonProgress.objects.get(user=trainee).workspace_id is None
    assert list(Contact.objects.all()) == [production_contact]


def test_sandbox_reset__production__refused(workspace):
    with pytest.raises(ValidationError):
        services.sandbox_reset(workspace=workspace)
    with pytest.raises(ValidationError):
        services.sandbox_delete(workspace=workspace)
