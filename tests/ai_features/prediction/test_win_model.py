"""The deal win model on generated demo data (fixed seed): it beats the stage's own
win rate (AUC and Brier, same run), its top factors are the planted drivers, its
explanations are exact and never contradict their words, the bias audit covers owner
team, region and segment, and rollback makes an earlier version live again."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from ai_features.capabilities.prediction import deal_services, services
from ai_features.capabilities.prediction.deal_features import (
    WIN_DIRECTIONS,
    WIN_FEATURES,
    extract_deals,
    open_deal_rows,
    snapshot_time,
)
from ai_features.capabilities.prediction.models import DealScore, ModelVersion
from ai_features.capabilities.prediction.selectors import model_version_live
from crmcore.models import Deal
from training_sandbox.generator import generate_workspace_data

NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
#: What the generator plants (training_sandbox/generator/deals.py): the stage
#: reached, engagement, stalls and age, size against the account's usual, discounts.
PLANTED = {
    "stage=lead",
    "stage=qualified",
    "stage=proposal",
    "stage=negotiation",
    "touches_14d",
    "deal_touches",
    "touches_total",
    "days_since_touch",
    "days_in_stage",
    "deal_age_days",
    "amount_vs_usual",
    "discount_percent",
    "owner_win_rate",
    "account_won_deals",
}


@pytest.fixture
def demo(workspace):
    generate_workspace_data(workspace=workspace, contacts=400, seed=7, now=NOW)
    return workspace


def test_win_model__demo_data__beats_the_stage_win_rate_with_the_planted_drivers_on_top(demo):
    version = deal_services.win_version_train(workspace=demo, as_of=NOW)

    m = version.metrics
    assert version.kind == ModelVersion.Kind.WIN and version.is_live, m
    assert m["auc"] > m["auc_stage_baseline"] + 0.02
    assert m["brier"] < m["brier_stage_baseline"]
    coef = dict(zip(version.feature_names, version.coefficients, strict=True))
    top = sorted(coef, key=lambda name: -abs(coef[name]))[:5]
    print(
        "WIN",
        {k: m[k] for k in ("auc", "auc_stage_baseline", "brier", "brier_stage_baseline", "n_test")},
        top,
    )
    assert set(top) <= PLANTED, top
    engagement = {"touches_14d", "deal_touches", "touches_total", "days_since_touch"}
    assert engagement & set(top) and {"deal_age_days", "days_in_stage"} & set(top), top
    # Signs as documented: engagement up, discounts and size down.
    assert max(coef[e] for e in ("touches_14d", "deal_touches", "touches_total")) > 0
    assert coef["discount_percent"] <= 0 and coef["deal_age_days"] < 0
    assert coef["amount_vs_usual"] <= 0
    audit = version.bias_audits.get()
    assert {g["attribute"] for g in audit.groups} == {"owner team", "region", "segment"}
    assert {"EMEA Sales", "AMER Sales"} <= {
        g["group"] for g in audit.groups if g["attribute"] == "owner team"
    }


def test_win_scores__every_open_deal__exact_and_no_word_contradicts_its_sign(demo):
    version = deal_services.win_version_train(workspace=demo, as_of=NOW)
    scored = deal_services.deals_score(workspace=demo, now=NOW)

    open_deals = Deal.objects.filter(workspace=demo, stage__in=Deal.OPEN_STAGES).count()
    assert scored.scored == open_deals > 20
    model = services.artifact_load(version)["win"]
    contradictions = 0
    for score in DealScore.objects.filter(workspace=demo):
        shown = sum(c for _, c, _ in score.factors)
        # Contributions are stored to 6 decimals.
        assert version.intercept + shown + score.rest == pytest.approx(score.log_odds, abs=1e-5)
        assert 1 / (1 + np.exp(-score.log_odds)) == pytest.approx(score.probability)
        for index, contribution, value in score.factors:
            name = WIN_FEATURES[index]
            direction = WIN_DIRECTIONS.get(name, 0)
            if direction:
                # A value above the training mean pushes the documented way.
                above = value > model.mean[index]
                contradictions += (contribution > 0) != (above == (direction > 0))
    assert contradictions == 0


def test_win_features__closed_deal__taken_inside_its_open_life_without_the_outcome(demo):
    from ai_features.capabilities.prediction.deal_features import DEAL_FIELDS

    won = (
        list(
            Deal.objects.filter(workspace=demo, stage=Deal.Stage.WON)
            .exclude(stage_changes__from_stage="")  # only deals whose history has moves
            .distinct()
            .order_by("pk")
            .values(*DEAL_FIELDS)[:20]
        )
        or list(Deal.objects.filter(workspace=demo, stage=Deal.Stage.WON).values(*DEAL_FIELDS)[:20])
    )
    times = [snapshot_time(r["created_at"], r["closed_at"]) for r in won]
    assert all(r["created_at"] < t < r["closed_at"] for r, t in zip(won, times, strict=True))

    raw = extract_deals(workspace=demo, rows=won, times=times)

    # Each is described in the open stage it was in then, never as won.
    assert set(raw.stages) <= set(Deal.OPEN_STAGES)
    col = WIN_FEATURES.index("deal_age_days")
    ages = [(t - r["created_at"]).total_seconds() / 86400 for r, t in zip(won, times, strict=True)]
    assert raw.matrix[:, col] == pytest.approx(ages)
    # Scoring an open deal as of now reads it in its current stage.
    rows = open_deal_rows(workspace=demo)[:5]
    now_raw = extract_deals(workspace=demo, rows=rows, times=[NOW] * len(rows))
    assert now_raw.stages == [r["stage"] for r in rows]


def test_rollback__earlier_win_version__live_again_churn_untouched(demo, settings):
    settings.AI_PREDICTION_MIN_AUC = 0.5
    first = deal_services.win_version_train(workspace=demo, as_of=NOW)
    second = deal_services.win_version_train(workspace=demo, as_of=NOW)
    assert (first.number, second.number) == (1, 2)
    assert model_version_live(workspace=demo, kind=ModelVersion.Kind.WIN) == second

    services.model_version_publish(version=first, user=None)

    assert model_version_live(workspace=demo, kind=ModelVersion.Kind.WIN) == first
    assert model_version_live(workspace=demo) is None  # churn has its own live version


def test_win_training__too_few_closed_deals__insufficient_in_plain_words(workspace):
    version = deal_services.win_version_train(workspace=workspace, as_of=NOW)

    assert version.status == ModelVersion.Status.INSUFFICIENT
    assert version.notes.startswith("Not enough closed deals to predict wins yet: 0 won")
