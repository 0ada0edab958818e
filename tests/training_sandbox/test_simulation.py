"""The evidence checked against a planted effect: coverage, false alarms, detection.

Each run is a simulated rollout (``training_sandbox.generator.simulation``)
through the estimator and the plan rules the dashboard and the plan job use.
"""

from __future__ import annotations

from training_sandbox.generator.simulation import SimulationConfig, simulate

SEEDS = range(50)
#: 160 reps, 16 in the pilot team, one closed deal a day each, 6 weeks of history.
SIZE = {"reps": 160, "pilot_reps": 16}


def test_a_planted_lift_is_covered_by_the_interval_in_at_least_90_percent():
    planted = 0.10
    covered = 0
    for seed in SEEDS:
        config = SimulationConfig(seed=seed, effect=planted, milestones=(None, 10, 25, 50), **SIZE)
        estimate = simulate(config).last_estimate
        assert estimate is not None and estimate.enough
        covered += estimate.low <= planted <= estimate.high
    assert covered >= 45, f"covered {covered} of 50"


def test_null_runs_looked_at_daily_for_six_weeks_rarely_stop():
    stopped = 0
    for seed in SEEDS:
        run = simulate(SimulationConfig(seed=seed, effect=0.0, **SIZE))
        assert len(run.looks) >= 28  # looked at every day until everyone had it
        stopped += run.stopped
    assert stopped <= 5, f"{stopped} of 50 null runs paused or rolled back"


def test_a_planted_harmful_effect_is_caught_in_at_least_80_percent():
    caught = 0
    for seed in SEEDS:
        run = simulate(SimulationConfig(seed=seed, effect=-0.10, **SIZE))
        caught += run.stopped
        if run.stopped:
            assert run.looks[-1][2] < len(run.config.milestones) - 1  # before everyone
    assert caught >= 40, f"caught {caught} of 50"


def test_a_null_run_exposes_no_one_before_the_plan_and_everyone_at_the_end():
    run = simulate(SimulationConfig(seed=3, **SIZE))
    assert min(run.exposures.values()) == run.config.history_days
    assert len(run.exposures) == run.config.reps
    assert [a for _, a, _ in run.looks].count("advance") == len(run.config.milestones)
