"""Sentiment benchmark: batch analysis against raw TextBlob, 2 workers against 1,
an incremental re-run against the first run, and the labelled set's scores.

    .venv/bin/python -m benchmarks.bench_sentiment [--interactions 10000]
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from benchmarks.harness import best_of, line, report, section, setup_django

LABELLED = Path(__file__).resolve().parent.parent / "tests" / "data" / "sentiment_labelled.csv"


def labelled_rows() -> list[tuple[str, str]]:
    with LABELLED.open(newline="") as handle:
        return [(row["text"], row["tone"]) for row in csv.DictReader(handle)]


def labelled_scores() -> None:
    from ai_features.capabilities.sentiment.services import tone_model_evaluate

    rows = labelled_rows()
    seen: dict[str, int] = {}
    train, held_out = [], []
    for text, tone in rows:
        n = seen.get(tone, 0)
        seen[tone] = n + 1
        (train if n % 2 == 0 else held_out).append((text, tone))
    evaluation = tone_model_evaluate(
        train_texts=[t for t, _ in train],
        train_labels=[tone for _, tone in train],
        test_texts=[t for t, _ in held_out],
        test_labels=[tone for _, tone in held_out],
    )
    before, after = evaluation["before"], evaluation["after"]
    line(
        f"labelled set: {len(rows)} messages, learned from {len(train)}, scored on {len(held_out)}"
    )
    line(f"TextBlob alone: accuracy {before['accuracy']:.3f}, macro-F1 {before['macro_f1']:.3f}")
    line(f"learned blend:  accuracy {after['accuracy']:.3f}, macro-F1 {after['macro_f1']:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interactions", type=int, default=10_000)
    args = parser.parse_args()
    setup_django()

    from django.utils import timezone
    from waffle import get_waffle_flag_model

    from ai_features.capabilities.sentiment.services import sentiment_analyze_interactions
    from crmcore import factories
    from crmcore.models import Contact, Interaction
    from crmcore.workspaces import production_workspace

    workspace = production_workspace()
    flag, _ = get_waffle_flag_model().objects.get_or_create(name="ai_sentiment")
    flag.everyone = True
    flag.save()
    contacts = [factories.ContactFactory(workspace=workspace) for _ in range(50)]
    messages = [text for text, _ in labelled_rows()]
    now = timezone.now()
    texts = [
        f"{messages[i % len(messages)]} {messages[(i * 7 + 3) % len(messages)]} (ref {i})"
        for i in range(args.interactions)
    ]
    Interaction.objects.bulk_create(
        [
            Interaction(
                workspace=workspace,
                contact=contacts[i % len(contacts)],
                channel="email",
                subject="",
                body=text,
                occurred_at=now,
            )
            for i, text in enumerate(texts)
        ],
        batch_size=1000,
    )
    n = len(texts)
    assert Contact.objects.count() == len(contacts)

    section(f"sentiment: {n} interactions")
    from textblob import TextBlob

    raw = best_of(lambda: [TextBlob(t).sentiment_assessments for t in texts], repeat=2)
    one = best_of(
        lambda: sentiment_analyze_interactions(workspace=workspace, reanalyze=True, workers=1),
        repeat=3,
    )
    report(
        "batch analysis (1 worker, DB writes included)",
        rate=(n, one),
        baseline=("raw TextBlob", n, raw),
        unit="texts",
    )
    two = best_of(
        lambda: sentiment_analyze_interactions(workspace=workspace, reanalyze=True, workers=2),
        repeat=3,
    )
    report("batch analysis, 2 workers", rate=(n, two), baseline=("1 worker", n, one), unit="texts")
    again = best_of(lambda: sentiment_analyze_interactions(workspace=workspace), repeat=3)
    report("incremental re-run, nothing changed", seconds=again, baseline=("first run", one))

    section("labelled set (tests/data/sentiment_labelled.csv)")
    labelled_scores()


if __name__ == "__main__":
    main()
