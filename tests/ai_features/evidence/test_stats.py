from __future__ import annotations

import math

import numpy as np
from scipy import stats as scipy_stats

from ai_features import plan_rules
from ai_features.stats import (
    confidence_sequence_halfwidth,
    did_estimate,
    sample_ratio,
)


def _panel(rng, *, users=120, exposed=40, days=60, exposure_day=30, effect=0.0, advantage=0.0):
    rows_u, rows_d, rows_v = [], [], []
    for u in range(users):
        base = 0.3 + (advantage if u < exposed else 0.0)
        for d in range(days):
            p = base + 0.002 * d + (effect if u < exposed and d >= exposure_day else 0.0)
            rows_u.append(u)
            rows_d.append(d + 0.5)
            rows_v.append(float(rng.random() < p))
    exposures = {u: float(exposure_day) for u in range(exposed)}
    return np.array(rows_u), np.array(rows_d), np.array(rows_v), exposures


def test_the_sequence_is_wider_than_a_fixed_interval_and_narrows_with_more_users():
    se = 0.02
    fixed = scipy_stats.norm.ppf(0.975) * se
    assert confidence_sequence_halfwidth(se, 100) > fixed
    # Same per-user spread, four times the users: about half as wide, never zero.
    wide = confidence_sequence_halfwidth(0.04, 100)
    narrow = confidence_sequence_halfwidth(0.02, 400)
    assert 0 < narrow < wide
    assert confidence_sequence_halfwidth(se, 0) == math.inf


def test_the_team_that_was_already_better_shows_no_lift_without_an_effect():
    est = did_estimate(*_panel(np.random.default_rng(1), advantage=0.2), today=60)
    assert est.enough
    assert est.low < 0 < est.high
    assert abs(est.effect) < 0.05
    assert (est.exposed_users, est.control_users) == (40, 80)
    assert est.events == 120 * 60


def test_a_real_lift_is_estimated_and_significant():
    est = did_estimate(*_panel(np.random.default_rng(2), effect=0.15), today=60)
    assert est.significantly_positive
    assert est.low < 0.15 < est.high


def test_too_few_users_says_not_enough_data_with_the_counts():
    users, days, values, exposures = _panel(np.random.default_rng(3), users=15, exposed=5)
    est = did_estimate(users, days, values, exposures, today=60)
    assert not est.enough and est.effect is None
    assert (est.exposed_users, est.control_users) == (5, 10)


def test_observations_from_today_on_are_ignored():
    users, days, values, exposures = _panel(np.random.default_rng(4))
    est = did_estimate(users, days, values, exposures, today=45)
    assert est.events == 120 * 45
    assert est.days == 15


def test_no_exposure_yet():
    users, days, values, _ = _panel(np.random.default_rng(5))
    est = did_estimate(users, days, values, {}, today=60)
    assert not est.enough and est.exposed_users == 0


def test_sample_ratio_check():
    assert not sample_ratio(26, 100, 0.25).mismatch
    assert sample_ratio(60, 100, 0.25).mismatch
    assert sample_ratio(3, 10, 0.25).p_value is None  # too few to tell


def _guard(value, limit=0.1, severe=0.3):
    return plan_rules.GuardrailReading("Job error rate", value, limit, severe, 50)


def _outcome(low, high, higher_is_better=True):
    from ai_features.stats import Estimate

    est = Estimate((low + high) / 2, low, high, 20, 40, 500, 14, True)
    return plan_rules.OutcomeReading("Deals-won rate", est, higher_is_better)


def test_plan_rules_in_order():
    kw = {"days_in": 10, "min_days": 7, "outcomes": [_outcome(-0.01, 0.05)]}
    assert plan_rules.decide(guardrails=[_guard(0.05)], **kw).action == "advance"
    assert plan_rules.decide(guardrails=[_guard(0.15)], **kw).action == "pause"
    rollback = plan_rules.decide(guardrails=[_guard(0.5)], **kw)
    assert rollback.action == "rollback"
    assert rollback.reasons == ["Job error rate is 50%, past its severe bound of 30%."]
    harmful = {**kw, "outcomes": [_outcome(-0.09, -0.01)]}
    assert plan_rules.decide(guardrails=[], **harmful).action == "pause"
    # Lower is better (hours to answer): a significant rise is the harm.
    slower = {**kw, "outcomes": [_outcome(1.0, 3.0, higher_is_better=False)]}
    assert plan_rules.decide(guardrails=[], **slower).action == "pause"
    early = {**kw, "days_in": 3}
    assert plan_rules.decide(guardrails=[], **early).reasons == ["Day 4 of at least 7."]
    untrained = plan_rules.decide(guardrails=[], trained_share=0.5, min_trained_share=0.8, **kw)
    assert untrained.action == "hold"
    assert untrained.reasons == ["50% of target users passed the lesson; 80% needed."]
