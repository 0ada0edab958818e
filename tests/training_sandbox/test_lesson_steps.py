"""The steps of the built-in lessons: what each check counts, and what it does not.

Each test makes the records a trainee's work would leave in their sandbox
(and near misses: the wrong kind, another user's, before the lesson started)
and runs the step's own check from its JSON file.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from ai_features.capabilities.personalization.models import CampaignMessage
from ai_features.capabilities.prediction.models import ContactNextNeeds
from ai_features.models import SuggestionEvent
from crmcore import factories
from crmcore.integrations.models import ImportMapping, ImportRun
from crmcore.models import DealStageChange, OutboundRecord, Task
from training_sandbox.lessons import get_lesson
from training_sandbox.lessons.checks import CheckContext, run_check


@pytest.fixture
def trainee(sandbox):
    return sandbox.owner


@pytest.fixture
def context(sandbox, trainee):
    return CheckContext(
        user=trainee, workspace=sandbox, started_at=timezone.now() - dt.timedelta(minutes=5)
    )


def found(context, slug: str, step_key: str) -> int:
    step = next(s for s in get_lesson(slug).steps if s.key == step_key)
    return run_check(context, step.check).found


# -- personalization-campaign-send --------------------------------------------

SLUG_SEND = "personalization-campaign-send"


@pytest.mark.parametrize(
    ("body", "fallback", "optional"),
    [
        ("Hi {first_name}, all the best.", 0, 0),
        ("Hi {first_name}, news for {company|your team}.", 1, 0),
        ("Hi {first_name}. [Since your order of {last_purchase}, we improved.]", 0, 1),
        ("Hi {first_name}. [We improved for {company|your team}.] Bye", 1, 1),
        ("Hi {first_name}, a literal [[note]] and {{braces}}.", 0, 0),
    ],
)
def test_campaign_send_lesson__template_steps__fallback_and_optional_sentence(
    context, sandbox, trainee, body, fallback, optional
):
    factories.CampaignFactory(workspace=sandbox, created_by=trainee, body_template=body)

    assert found(context, SLUG_SEND, "write-fallback") == fallback
    assert found(context, SLUG_SEND, "write-optional-sentence") == optional


def test_campaign_send_lesson__template_of_another_user__not_counted(context, sandbox):
    factories.CampaignFactory(
        workspace=sandbox,
        created_by=factories.UserFactory(),
        body_template="[For {company|your team}.]",
    )

    assert found(context, SLUG_SEND, "write-fallback") == 0
    assert found(context, SLUG_SEND, "write-optional-sentence") == 0


def test_campaign_send_lesson__test_send__only_a_test_email_counts(context, sandbox):
    OutboundRecord.objects.create(
        workspace=sandbox, kind="email", recipient="c@example.com", subject="Ada, we miss you"
    )
    assert found(context, SLUG_SEND, "test-send") == 0

    OutboundRecord.objects.create(
        workspace=sandbox, kind="email", recipient="t@example.com", subject="[Test] Ada, hi"
    )
    assert found(context, SLUG_SEND, "test-send") == 1


def test_campaign_send_lesson__send__recorded_messages_of_own_campaign_since_start(
    context, sandbox, trainee
):
    mine = factories.CampaignFactory(workspace=sandbox, created_by=trainee, status="sent")
    theirs = factories.CampaignFactory(workspace=sandbox, created_by=factories.UserFactory())
    now = timezone.now()
    for campaign, status, sent_at in [
        (mine, "draft", None),
        (mine, "recorded", context.started_at - dt.timedelta(seconds=1)),
        (theirs, "recorded", now),
    ]:
        CampaignMessage.objects.create(
            workspace=sandbox,
            campaign=campaign,
            contact=factories.ContactFactory(workspace=sandbox),
            status=status,
            sent_at=sent_at,
        )
    assert found(context, SLUG_SEND, "confirm-send") == 0

    CampaignMessage.objects.create(
        workspace=sandbox,
        campaign=mine,
        contact=factories.ContactFactory(workspace=sandbox),
        status="recorded",
        sent_at=now,
    )
    assert found(context, SLUG_SEND, "confirm-send") == 1


# -- prediction-next-needs ------------------------------------------------------

SLUG_NEEDS = "prediction-next-needs"


def _needs(sandbox, contact, *kinds: str) -> None:
    ContactNextNeeds.objects.create(
        workspace=sandbox,
        contact=contact,
        needs=[
            {"product_id": i, "product": f"P{i}", "kind": kind, "reason": "…", "score": 0.5}
            for i, kind in enumerate(kinds, start=1)
        ],
    )


def test_next_needs_lesson__judge__a_next_need_not_the_next_action(context, sandbox, trainee):
    for kind in ("action", "product"):
        SuggestionEvent.objects.create(
            workspace=sandbox,
            capability="prediction",
            action="dismissed",
            user=trainee,
            detail={"kind": kind, "item": "1"},
        )

    assert found(context, SLUG_NEEDS, "judge-next-need") == 1


def test_next_needs_lesson__task__on_a_customer_with_a_reorder_only(context, sandbox, trainee):
    popular_only = factories.ContactFactory(workspace=sandbox)
    _needs(sandbox, popular_only, "popular", "sequence")
    factories.TaskFactory(workspace=sandbox, owner=trainee, contact=popular_only)
    assert found(context, SLUG_NEEDS, "plan-reorder") == 0

    reorder = factories.ContactFactory(workspace=sandbox)
    _needs(sandbox, reorder, "sequence", "reorder")
    factories.TaskFactory(workspace=sandbox, owner=factories.UserFactory(), contact=reorder)
    assert found(context, SLUG_NEEDS, "plan-reorder") == 0

    factories.TaskFactory(workspace=sandbox, owner=trainee, contact=reorder)
    assert found(context, SLUG_NEEDS, "plan-reorder") == 1


# -- prediction-win-forecast ----------------------------------------------------

SLUG_WIN = "prediction-win-forecast"


def test_win_forecast_lesson__contact_deal__interaction_with_an_open_deals_contact(
    context, sandbox, trainee
):
    closed = factories.DealFactory(workspace=sandbox, stage="won")
    factories.InteractionFactory(workspace=sandbox, contact=closed.contact, author=trainee)
    assert found(context, SLUG_WIN, "contact-deal") == 0

    open_deal = factories.DealFactory(workspace=sandbox, stage="proposal")
    factories.InteractionFactory(workspace=sandbox, contact=open_deal.contact, author=trainee)
    assert found(context, SLUG_WIN, "contact-deal") == 1


def test_win_forecast_lesson__new_deal__open_with_amount_and_close_date(context, sandbox, trainee):
    factories.DealFactory(workspace=sandbox, owner=trainee, expected_close=None)
    factories.DealFactory(workspace=sandbox, owner=trainee, amount=0)
    factories.DealFactory(workspace=sandbox, owner=trainee, stage="lost")
    factories.DealFactory(workspace=sandbox, owner=factories.UserFactory())
    assert found(context, SLUG_WIN, "new-deal-with-close-date") == 0

    factories.DealFactory(workspace=sandbox, owner=trainee)
    assert found(context, SLUG_WIN, "new-deal-with-close-date") == 1


def test_win_forecast_lesson__close_deal__won_or_lost_since_start(context, sandbox):
    deal = factories.DealFactory(workspace=sandbox)
    before = context.started_at - dt.timedelta(minutes=1)
    DealStageChange.objects.create(
        workspace=sandbox, deal=deal, from_stage="proposal", to_stage="won", changed_at=before
    )
    DealStageChange.objects.create(
        workspace=sandbox, deal=deal, from_stage="qualified", to_stage="proposal"
    )
    assert found(context, SLUG_WIN, "close-deal") == 0

    DealStageChange.objects.create(
        workspace=sandbox, deal=deal, from_stage="proposal", to_stage="lost"
    )
    assert found(context, SLUG_WIN, "close-deal") == 1


# -- prediction-tasks -------------------------------------------------------------

SLUG_TASKS = "prediction-tasks"


def test_tasks_lesson__accept__next_action_accepted_with_a_reason(context, sandbox, trainee):
    for action, kind, reason in [
        ("accepted", "action", ""),
        ("dismissed", "action", "Not now"),
        ("accepted", "product", "Fits"),
    ]:
        SuggestionEvent.objects.create(
            workspace=sandbox,
            capability="prediction",
            action=action,
            user=trainee,
            reason=reason,
            detail={"kind": kind},
        )
    assert found(context, SLUG_TASKS, "accept-action") == 0

    SuggestionEvent.objects.create(
        workspace=sandbox,
        capability="prediction",
        action="accepted",
        user=trainee,
        reason="Asked about renewal",
        detail={"kind": "action", "item": "call"},
    )
    assert found(context, SLUG_TASKS, "accept-action") == 1


def test_tasks_lesson__done__a_next_best_action_task_ticked_off(context, sandbox, trainee):
    factories.TaskFactory(workspace=sandbox, owner=trainee, source="next_best_action")
    factories.TaskFactory(workspace=sandbox, owner=trainee, source="manual", done=True)
    assert found(context, SLUG_TASKS, "task-done") == 0

    Task.objects.filter(workspace=sandbox, source="next_best_action").update(done=True)
    assert found(context, SLUG_TASKS, "task-done") == 1


# -- import-mapping -----------------------------------------------------------------

SLUG_IMPORT = "import-mapping"


def test_import_lesson__dry_run_then_import_that_created_contacts(context, sandbox, trainee):
    def run(**fields):
        return ImportRun.objects.create(
            workspace=sandbox, kind="contacts", created_by=trainee, **fields
        )

    run(dry_run=True, status="failed")
    run(dry_run=False, status="done", created=0, unchanged=3)
    assert found(context, SLUG_IMPORT, "dry-run") == 0
    assert found(context, SLUG_IMPORT, "import") == 0

    run(dry_run=True, status="done", created=2)
    run(dry_run=False, status="done", created=2)
    assert found(context, SLUG_IMPORT, "dry-run") == 1
    assert found(context, SLUG_IMPORT, "import") == 1


def test_import_lesson__saved_mapping__by_the_trainee(context, sandbox, trainee):
    ImportMapping.objects.create(
        workspace=sandbox, name="Theirs", kind="contacts", created_by=factories.UserFactory()
    )
    assert found(context, SLUG_IMPORT, "save-mapping") == 0

    ImportMapping.objects.create(
        workspace=sandbox, name="Old CRM", kind="contacts", created_by=trainee
    )
    assert found(context, SLUG_IMPORT, "save-mapping") == 1


# -- rollout-evidence ----------------------------------------------------------------

SLUG_EVIDENCE = "rollout-evidence"


def test_rollout_evidence_lesson__steps__a_deal_won_and_a_dismissal_with_reason(
    context, sandbox, trainee
):
    deal = factories.DealFactory(workspace=sandbox)
    DealStageChange.objects.create(
        workspace=sandbox, deal=deal, from_stage="proposal", to_stage="lost"
    )
    SuggestionEvent.objects.create(
        workspace=sandbox, capability="sentiment", action="dismissed", user=trainee
    )
    assert found(context, SLUG_EVIDENCE, "outcome") == 0
    assert found(context, SLUG_EVIDENCE, "guardrail") == 0

    DealStageChange.objects.create(
        workspace=sandbox, deal=deal, from_stage="proposal", to_stage="won"
    )
    SuggestionEvent.objects.create(
        workspace=sandbox,
        capability="prediction",
        action="dismissed",
        user=trainee,
        reason="Spoke to them this morning",
    )
    assert found(context, SLUG_EVIDENCE, "outcome") == 1
    assert found(context, SLUG_EVIDENCE, "guardrail") == 1
