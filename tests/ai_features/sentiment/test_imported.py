"""Imported interactions are analysed like logged ones, whether subscribers are told or not."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from waffle.testutils import override_switch

from ai_features.capabilities.sentiment.models import InteractionSentiment
from crmcore import factories
from crmcore.integrations import services
from crmcore.integrations.models import WebhookDelivery
from crmcore.models import Interaction

pytestmark = pytest.mark.django_db

CSV = (
    "Who,When,Type,Notes\n"
    "ada@example.com,2024-03-12 14:30,email,This is terrible and I am very angry.\n"
    'ada@example.com,2024-03-13 09:00,email,"Wonderful service, thank you so much!"\n'
)
MAPPING = {
    "columns": {"Who": "contact_email", "When": "occurred_at", "Type": "channel", "Notes": "body"}
}


def import_interactions(tmp_path, *extra: str) -> None:
    path = tmp_path / "interactions.csv"
    path.write_text(CSV, encoding="utf-8")
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps(MAPPING), encoding="utf-8")
    call_command(
        "import_csv",
        "interactions",
        str(path),
        "--mapping",
        str(mapping),
        *extra,
        stdout=StringIO(),
        verbosity=0,
    )


@pytest.fixture
def hook(workspace, user, settings):
    settings.CRMCORE_WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    return services.webhook_subscribe(
        workspace=workspace,
        owner=user,
        event="interaction.created",
        target_url="http://127.0.0.1:9/hook",
    )


@pytest.mark.parametrize(("extra", "deliveries"), [((), 2), (("--quiet",), 0)])
def test_import_interactions__flag_on__analysed_and_subscribers_told_unless_quiet(
    workspace, sentiment_on, hook, tmp_path, django_capture_on_commit_callbacks, extra, deliveries
):
    factories.ContactFactory(workspace=workspace, email="ada@example.com", external_id="")

    with django_capture_on_commit_callbacks(execute=True):
        import_interactions(tmp_path, *extra)

    tones = dict(
        InteractionSentiment.objects.values_list("interaction__body", "tone").order_by("id")
    )
    assert tones == {
        "This is terrible and I am very angry.": "negative",
        "Wonderful service, thank you so much!": "positive",
    }
    services.outbox_events_dispatch()
    assert WebhookDelivery.objects.count() == deliveries


def test_import_interactions__flag_off__not_analysed(
    workspace, tmp_path, django_capture_on_commit_callbacks
):
    factories.ContactFactory(workspace=workspace, email="ada@example.com", external_id="")

    with django_capture_on_commit_callbacks(execute=True):
        import_interactions(tmp_path)

    assert Interaction.objects.count() == 2
    assert InteractionSentiment.objects.count() == 0


def test_import_interactions__kill_switch__not_analysed(
    workspace, sentiment_on, tmp_path, django_capture_on_commit_callbacks
):
    factories.ContactFactory(workspace=workspace, email="ada@example.com", external_id="")

    with (
        override_switch("ai_kill_switch", active=True),
        django_capture_on_commit_callbacks(execute=True),
    ):
        import_interactions(tmp_path)

    assert Interaction.objects.count() == 2
    assert InteractionSentiment.objects.count() == 0


def test_import_interactions__one_chunk__one_analysis_task_for_all_of_it(
    workspace, sentiment_on, tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    from ai_features.capabilities.sentiment import tasks

    factories.ContactFactory(workspace=workspace, email="ada@example.com", external_id="")
    queued = []
    monkeypatch.setattr(
        tasks.analyze_interactions_task,
        "delay",
        lambda *args, **kwargs: queued.append((args, kwargs)),
    )

    with django_capture_on_commit_callbacks(execute=True):
        import_interactions(tmp_path)

    ids = list(Interaction.objects.order_by("id").values_list("pk", flat=True))
    assert queued == [((workspace.pk,), {"interaction_ids": ids})]
