import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from waffle.testutils import override_switch

from ai_features.capabilities.sentiment.models import InteractionSentiment
from ai_features.capabilities.sentiment.services import (
    SentimentDisabled,
    sentiment_analyze_interactions,
)
from ai_features.models import JobRun
from crmcore import factories
from crmcore.models import Interaction
from crmcore.services import interaction_create

pytestmark = pytest.mark.django_db


def _interactions(workspace, n=6):
    contact = factories.ContactFactory(workspace=workspace)
    bodies = ["Great call, thanks!", "The invoice is wrong.", "Please send the quote."]
    return [
        factories.InteractionFactory(
            workspace=workspace, contact=contact, subject="", body=bodies[i % 3]
        )
        for i in range(n)
    ]


def test_analyze__first_run__every_interaction_analysed_in_bulk(
    workspace, sentiment_on, settings, django_assert_max_num_queries
):
    settings.AI_SENTIMENT_CHUNK_SIZE = 4
    interactions = _interactions(workspace, n=10)

    summary = sentiment_analyze_interactions(workspace=workspace)

    assert (summary.total, summary.analysed, summary.unchanged) == (10, 10, 0)
    tones = dict(InteractionSentiment.objects.values_list("interaction_id", "tone"))
    assert tones[interactions[0].pk] == "positive"
    assert tones[interactions[1].pk] == "negative"
    assert tones[interactions[2].pk] == "neutral"
    run = JobRun.objects.get(pk=summary.job_id)
    assert (run.status, run.done, run.total) == ("succeeded", 10, 10)
    assert run.result == {"analysed": 10, "unchanged": 0, "alerts": 0}


def test_analyze__query_count__does_not_grow_per_interaction(
    workspace, sentiment_on, settings, django_assert_num_queries
):
    settings.AI_SENTIMENT_CHUNK_SIZE = 100
    _interactions(workspace, n=30)
    sentiment_analyze_interactions(workspace=workspace)  # warms the flag cache
    Interaction.objects.update(body="Changed text, excellent news.")

    # model lookup, state, count, job create, rows, corrections, upsert, advance,
    # alert history, alert series, job finish (+ savepoints of the alert check)
    with django_assert_num_queries(13):
        summary = sentiment_analyze_interactions(workspace=workspace)

    assert summary.analysed == 30


def test_analyze__second_run_unchanged__nothing_analysed(workspace, sentiment_on):
    interactions = _interactions(workspace)
    sentiment_analyze_interactions(workspace=workspace)
    before = dict(InteractionSentiment.objects.values_list("interaction_id", "analyzed_at"))

    summary = sentiment_analyze_interactions(workspace=workspace)

    assert (summary.analysed, summary.unchanged) == (0, 6)
    after = dict(InteractionSentiment.objects.values_list("interaction_id", "analyzed_at"))
    assert after == before
    assert len(after) == len(interactions)


def test_analyze__one_text_changed__only_it_analysed(workspace, sentiment_on):
    interactions = _interactions(workspace)
    sentiment_analyze_interactions(workspace=workspace)
    Interaction.objects.filter(pk=interactions[2].pk).update(body="This is terrible news.")

    summary = sentiment_analyze_interactions(workspace=workspace)

    assert (summary.analysed, summary.unchanged) == (1, 5)
    assert InteractionSentiment.objects.get(interaction=interactions[2]).tone == "negative"


def test_analyze__reanalyze__every_text_analysed_again(workspace, sentiment_on):
    _interactions(workspace)
    sentiment_analyze_interactions(workspace=workspace)

    summary = sentiment_analyze_interactions(workspace=workspace, reanalyze=True)

    assert (summary.analysed, summary.unchanged) == (6, 0)


def test_analyze__two_workers__same_results_as_one(workspace, sentiment_on, settings):
    settings.AI_SENTIMENT_CHUNK_SIZE = 3
    _interactions(workspace, n=12)
    sentiment_analyze_interactions(workspace=workspace, workers=1)
    one = set(InteractionSentiment.objects.values_list("interaction_id", "tone", "polarity"))

    summary = sentiment_analyze_interactions(workspace=workspace, reanalyze=True, workers=2)

    two = set(InteractionSentiment.objects.values_list("interaction_id", "tone", "polarity"))
    assert summary.analysed == 12
    assert two == one


def test_analyze__other_workspace__untouched(workspace, sandbox, sentiment_on):
    _interactions(workspace, n=2)
    theirs = _interactions(sandbox, n=3)

    sentiment_analyze_interactions(workspace=sandbox)

    assert set(InteractionSentiment.objects.values_list("interaction_id", flat=True)) == {
        i.pk for i in theirs
    }


def test_analyze__flag_off__refused(workspace):
    _interactions(workspace, n=1)

    with pytest.raises(SentimentDisabled):
        sentiment_analyze_interactions(workspace=workspace)
    assert InteractionSentiment.objects.count() == 0


def test_analyze__kill_switch__refused_even_with_flag_on(workspace, sentiment_on):
    _interactions(workspace, n=1)

    with override_switch("ai_kill_switch", active=True), pytest.raises(SentimentDisabled):
        sentiment_analyze_interactions(workspace=workspace)
    assert InteractionSentiment.objects.count() == 0


def test_command__workspace__analyses_and_reports(workspace, sentiment_on):
    _interactions(workspace, n=4)
    out = StringIO()

    call_command("analyze_sentiment", "--workspace", str(workspace.pk), "--no-progress", stdout=out)
    call_command("analyze_sentiment", "--workspace", str(workspace.pk), "--no-progress", stdout=out)
    call_command(
        "analyze_sentiment", "--workspace", str(workspace.pk), "--all", "--no-progress", stdout=out
    )

    assert out.getvalue().splitlines() == [
        "Production: 4 analysed, 0 unchanged, 0 new alert(s).",
        "Production: 0 analysed, 4 unchanged, 0 new alert(s).",
        "Production: 4 analysed, 0 unchanged, 0 new alert(s).",
    ]


def test_command__flag_off__error_and_nothing_analysed(workspace):
    _interactions(workspace, n=2)

    with pytest.raises(CommandError, match="not enabled"):
        call_command("analyze_sentiment", "--workspace", str(workspace.pk), stdout=StringIO())
    assert InteractionSentiment.objects.count() == 0


def test_command__kill_switch__error(workspace, sentiment_on):
    _interactions(workspace, n=2)

    with override_switch("ai_kill_switch", active=True), pytest.raises(CommandError):
        call_command("analyze_sentiment", "--workspace", str(workspace.pk), stdout=StringIO())
    assert InteractionSentiment.objects.count() == 0


def test_interaction_create__flag_on__analysed_after_commit(
    workspace, sentiment_on, django_capture_on_commit_callbacks
):
    contact = factories.ContactFactory(workspace=workspace)

    with django_capture_on_commit_callbacks(execute=True):
        interaction = interaction_create(
            workspace=workspace, contact=contact, channel="email", body="This is terrible."
        )
        assert InteractionSentiment.objects.count() == 0

    assert InteractionSentiment.objects.get(interaction=interaction).tone == "negative"


def test_interaction_create__flag_off__not_analysed(workspace, django_capture_on_commit_callbacks):
    contact = factories.ContactFactory(workspace=workspace)

    with django_capture_on_commit_callbacks(execute=True):
        interaction_create(
            workspace=workspace, contact=contact, channel="email", body="This is terrible."
        )

    assert InteractionSentiment.objects.count() == 0


def test_interaction_create__kill_switch__not_analysed(
    workspace, sentiment_on, django_capture_on_commit_callbacks
):
    contact = factories.ContactFactory(workspace=workspace)

    with (
        override_switch("ai_kill_switch", active=True),
        django_capture_on_commit_callbacks(execute=True),
    ):
        interaction_create(
            workspace=workspace, contact=contact, channel="email", body="This is terrible."
        )

    assert InteractionSentiment.objects.count() == 0


LAZY_IMPORT_CHECK = """
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crmcore.settings")
import django
django.setup()
import crmcore.urls
from django.core.management import call_command
from io import StringIO
call_command("check", stdout=StringIO())
from ai_features.capabilities.sentiment.management.commands import analyze_sentiment
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"textblob", "sklearn", "nltk"})
print(",".join(heavy) or "none")
from ai_features.capabilities.sentiment.analysis import analyze_text
analyze_text("A lovely day.")
print("textblob" in sys.modules)
"""


def test_startup__urls_and_commands_loaded__textblob_not_imported():
    completed = subprocess.run(
        [sys.executable, "-c", LAZY_IMPORT_CHECK],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )

    assert completed.stdout.split() == ["none", "True"]
