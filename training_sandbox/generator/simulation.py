"""A rollout simulated day by day, with a planted effect, to check the evidence.

Reps produce outcome events (a closed deal: won or lost) every day; each rep
has their own base rate, the pilot team is better to begin with, and every
rep's rate follows a common weekly rhythm and drift. A release plan rolls
the capability out (pilot team, then sticky percentages of the rest), and
from the day a rep is exposed their rate moves by the planted ``effect``
(0 for a null run). Every day the plan looks at the evidence with the same
estimator (``ai_features.stats.did_estimate``) and the same rules
(``ai_features.plan_rules.decide``) the scheduled plan job uses.

Generated with numpy only (no database), so hundreds of runs fit in a test.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ai_features import plan_rules
from ai_features.stats import Estimate, did_estimate

#: Milestones: None for the pilot team, else a percentage of every rep.
DEFAULT_MILESTONES: tuple[float | None, ...] = (None, 10, 25, 50, 100)


@dataclass(frozen=True)
class SimulationConfig:
    seed: int = 0
    effect: float = 0.0
    reps: int = 240
    pilot_reps: int = 24
    history_days: int = 42
    plan_days: int = 42
    events_per_day: float = 1.0
    base_rate: float = 0.3
    rep_spread: float = 0.08
    pilot_advantage: float = 0.1
    milestones: tuple[float | None, ...] = DEFAULT_MILESTONES
    min_days: int = 7


@dataclass
class SimulationRun:
    config: SimulationConfig
    users: np.ndarray
    days: np.ndarray
    values: np.ndarray
    exposures: dict[int, float]
    #: (plan day, decision action, milestone index) of every daily look.
    looks: list[tuple[int, str, int]] = field(default_factory=list)
    last_estimate: Estimate | None = None

    @property
    def stopped(self) -> bool:
        """Did the plan pause or roll back at some look?"""
        return any(a in (plan_rules.PAUSE, plan_rules.ROLLBACK) for _, a, _ in self.looks)


def _exposed_at(milestone: float | None, pilot: np.ndarray, bucket: np.ndarray) -> np.ndarray:
    if milestone is None:
        return pilot
    return pilot | (bucket < milestone / 100)


def simulate(config: SimulationConfig) -> SimulationRun:
    """One run: history, then the plan looking at the evidence every day."""
    rng = np.random.default_rng(config.seed)
    n = config.reps
    pilot = np.zeros(n, dtype=bool)
    pilot[: config.pilot_reps] = True
    bucket = rng.random(n)
    rate = config.base_rate + rng.normal(0, config.rep_spread, n) + pilot * config.pilot_advantage
    total_days = config.history_days + config.plan_days
    counts = rng.poisson(config.events_per_day, (total_days, n))
    day_of_event = np.repeat(np.repeat(np.arange(total_days), n), counts.ravel())
    user_of_event = np.repeat(np.tile(np.arange(n), total_days), counts.ravel())
    draws = rng.random(len(day_of_event))
    trend = 0.04 * np.sin(2 * np.pi * np.arange(total_days) / 7) + 0.0015 * np.arange(total_days)
    values = np.zeros(len(day_of_event))
    starts = np.searchsorted(day_of_event, np.arange(total_days + 1))

    exposure = np.full(n, np.inf)
    run = SimulationRun(config, user_of_event, day_of_event.astype(float), values, {})
    milestone, milestone_day, done = 0, config.history_days, False
    for day in range(total_days):
        if day >= config.history_days and not done:
            on = _exposed_at(config.milestones[milestone], pilot, bucket)
            exposure[on & np.isinf(exposure)] = day
        lo, hi = starts[day], starts[day + 1]
        users_today = user_of_event[lo:hi]
        p = rate[users_today] + trend[day] + config.effect * (exposure[users_today] <= day)
        values[lo:hi] = (draws[lo:hi] < np.clip(p, 0, 1)).astype(float)
        if day < config.history_days or done:
            continue
        # The plan looks at the end of the day.
        exposures = {int(u): float(exposure[u]) for u in np.flatnonzero(np.isfinite(exposure))}
        estimate = did_estimate(
            user_of_event[:hi], day_of_event[:hi], values[:hi], exposures, today=day + 1
        )
        run.last_estimate = estimate
        decision = plan_rules.decide(
            days_in=day + 1 - milestone_day,
            min_days=config.min_days,
            outcomes=[plan_rules.OutcomeReading("Deals-won rate", estimate)],
            guardrails=[],
        )
        run.looks.append((day - config.history_days, decision.action, milestone))
        if decision.action in (plan_rules.PAUSE, plan_rules.ROLLBACK):
            done = True
        elif decision.action == plan_rules.ADVANCE:
            if milestone + 1 >= len(config.milestones):
                done = True
            else:
                milestone, milestone_day = milestone + 1, day + 1
    run.exposures = {int(u): float(exposure[u]) for u in np.flatnonzero(np.isfinite(exposure))}
    return run
