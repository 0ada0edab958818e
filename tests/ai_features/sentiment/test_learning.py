import csv
from pathlib import Path

import pytest
from django.core.files.storage import default_storage

from ai_features.capabilities.sentiment import artifacts
from ai_features.capabilities.sentiment.analysis import TONES
from ai_features.capabilities.sentiment.models import InteractionSentiment, SentimentModel
from ai_features.capabilities.sentiment.services import (
    sentiment_analyze_interactions,
    sentiment_analyze_text,
    sentiment_model_train,
    tone_correction_create,
    tone_model_evaluate,
)
from crmcore import factories

pytestmark = pytest.mark.django_db

LABELLED = Path(__file__).resolve().parents[2] / "data" / "sentiment_labelled.csv"


def labelled_halves():
    """The labelled set split in two halves, alternating within each tone."""
    with LABELLED.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    seen: dict[str, int] = {}
    first, second = [], []
    for row in rows:
        n = seen.get(row["tone"], 0)
        seen[row["tone"]] = n + 1
        (first if n % 2 == 0 else second).append((row["text"], row["tone"]))
    return first, second


def round_robin(rows, n):
    """The first ``n`` rows taking one tone after another."""
    by_tone = {tone: [r for r in rows if r[1] == tone] for tone in TONES}
    mixed = [row for group in zip(*by_tone.values(), strict=False) for row in group]
    return mixed[:n]


def test_labelled_set__size_and_balance__at_least_200_balanced():
    first, second = labelled_halves()
    tones = [tone for _, tone in first + second]

    assert len(tones) >= 200
    assert {tone: tones.count(tone) for tone in TONES} == dict.fromkeys(TONES, 44)
    assert len({text for text, _ in first + second}) == len(tones)


def test_learned_blend__half_of_labelled_set__beats_textblob_on_other_half():
    train, held_out = labelled_halves()

    evaluation = tone_model_evaluate(
        train_texts=[t for t, _ in train],
        train_labels=[tone for _, tone in train],
        test_texts=[t for t, _ in held_out],
        test_labels=[tone for _, tone in held_out],
    )

    before, after = evaluation["before"], evaluation["after"]
    assert before == {"accuracy": 0.6273, "macro_f1": 0.6167, "n": 110}
    assert after["accuracy"] > before["accuracy"]
    assert after["macro_f1"] > before["macro_f1"]


def _correct(workspace, user, rows):
    contact = factories.ContactFactory(workspace=workspace)
    for text, tone in rows:
        interaction = factories.InteractionFactory(
            workspace=workspace, contact=contact, subject="", body=text
        )
        tone_correction_create(
            workspace=workspace, interaction=interaction, to_tone=tone, user=user
        )


def test_train__too_few_corrections__no_model(workspace, user, sentiment_on):
    train, _ = labelled_halves()
    _correct(workspace, user, round_robin(train, 19))

    assert sentiment_model_train(workspace=workspace) is None
    assert SentimentModel.objects.count() == 0


def test_correction__threshold_reached__model_trained_after_commit_with_card(
    workspace, user, sentiment_on, settings, django_capture_on_commit_callbacks
):
    settings.AI_SENTIMENT_MIN_CORRECTIONS = 20
    train, _ = labelled_halves()

    with django_capture_on_commit_callbacks(execute=True):
        _correct(workspace, user, round_robin(train, 20))

    card = SentimentModel.objects.get(workspace=workspace)
    assert (card.version, card.trained_on) == (1, 20)
    assert card.held_out == 5
    assert card.accuracy_before == 0.6
    assert card.is_active is (card.accuracy_after >= card.accuracy_before)
    assert default_storage.exists(card.artifact)


def test_trained_model__published__blends_into_analysis_and_explains(workspace, user, sentiment_on):
    train, _ = labelled_halves()
    _correct(workspace, user, train)

    card = sentiment_model_train(workspace=workspace)

    assert card.is_active is True
    result = sentiment_analyze_text(
        text="Still no reply to my ticket, nobody calls back.", workspace=workspace
    )
    assert result.model_version == card.version
    assert result.tone == "frustrated"
    assert any(item["source"] == "learned" for item in result.explanation)


def test_trained_model__loaded_once__cached_per_process(workspace, user, sentiment_on, monkeypatch):
    train, _ = labelled_halves()
    _correct(workspace, user, round_robin(train, 40))
    sentiment_model_train(workspace=workspace)
    loads = []
    real_open = default_storage.open
    monkeypatch.setattr(
        default_storage, "open", lambda *a, **k: loads.append(a[0]) or real_open(*a, **k)
    )

    sentiment_analyze_text(text="Great work.", workspace=workspace)
    sentiment_analyze_text(text="Bad work.", workspace=workspace)

    assert len(loads) == 1
    artifacts.cache_clear()
    sentiment_analyze_text(text="Bad work.", workspace=workspace)
    assert len(loads) == 2


def test_trained_model__other_workspace__not_used(workspace, sandbox, user, sentiment_on):
    train, _ = labelled_halves()
    _correct(workspace, user, train)
    sentiment_model_train(workspace=workspace)

    result = sentiment_analyze_text(text="Still no reply to my ticket.", workspace=sandbox)

    assert result.model_version is None


def test_retrain__new_corrections__new_version_only_one_active(workspace, user, sentiment_on):
    train, held_out = labelled_halves()
    _correct(workspace, user, train)
    sentiment_model_train(workspace=workspace)
    _correct(workspace, user, round_robin(held_out, 30))

    card = sentiment_model_train(workspace=workspace)

    assert card.version == 2
    assert SentimentModel.objects.filter(workspace=workspace, is_active=True).count() == 1


def test_trained_model__two_workers__blended_and_corrections_kept_as_with_one(
    workspace, user, sentiment_on, settings
):
    settings.AI_SENTIMENT_CHUNK_SIZE = 7
    train, held_out = labelled_halves()
    _correct(workspace, user, train)
    card = sentiment_model_train(workspace=workspace)
    contact = factories.ContactFactory(workspace=workspace)
    for text, _ in held_out[:20]:
        factories.InteractionFactory(workspace=workspace, contact=contact, subject="", body=text)
    # A user's tone the model disagrees with: it must survive re-analysis.
    disputed = factories.InteractionFactory(
        workspace=workspace, contact=contact, subject="", body="Thanks, that was great help!"
    )
    tone_correction_create(workspace=workspace, interaction=disputed, to_tone="urgent", user=user)
    fields = ("interaction_id", "tone", "base_tone", "model_version", "explanation")

    sentiment_analyze_interactions(workspace=workspace, reanalyze=True, workers=1)
    one = {row[0]: row for row in InteractionSentiment.objects.values_list(*fields)}
    sentiment_analyze_interactions(workspace=workspace, reanalyze=True, workers=2)
    two = {row[0]: row for row in InteractionSentiment.objects.values_list(*fields)}

    assert two == one
    assert len(two) == len(train) + 21
    assert {row[3] for row in two.values()} == {card.version}
    learned = [row for row in two.values() if any(i["source"] == "learned" for i in row[4])]
    assert len(learned) > len(two) // 2
    assert two[disputed.pk][1:3] == ("urgent", "positive")
