"""What a release plan decides at a milestone, from the evidence (pure, no database).

The scheduled plan job (``ai_features.plans``) and the generator's simulation
both call ``decide``, in this order:

1. a guardrail past its severe bound: **roll back** one milestone (or switch
   the capability off when there is none before);
2. a guardrail past its bound, or an outcome whose lift is significantly
   harmful (its always-valid interval entirely on the wrong side of zero):
   **pause** and tell the owners;
3. the milestone's minimum duration not yet over, or too few target users
   passed the lesson: **hold** (wait, nothing is wrong);
4. otherwise **advance** to the next milestone.

"Not enough data yet" never blocks or pauses a plan by itself: the plan is
held by its minimum durations and stopped by evidence of harm.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ai_features.stats import Estimate

ADVANCE = "advance"
HOLD = "hold"
PAUSE = "pause"
ROLLBACK = "rollback"


@dataclass(frozen=True)
class OutcomeReading:
    label: str
    estimate: Estimate
    higher_is_better: bool = True

    @property
    def harmful(self) -> bool:
        if self.higher_is_better:
            return self.estimate.significantly_negative
        return self.estimate.significantly_positive


@dataclass(frozen=True)
class GuardrailReading:
    """A rate (0..1) with its bound and severe bound; None below its minimum count."""

    label: str
    value: float | None
    limit: float
    severe: float
    count: int = 0
    #: What ``count`` counts ("job runs", "responses").
    unit: str = ""
    needed: int = 0

    @property
    def breached(self) -> bool:
        return self.value is not None and self.value > self.limit

    @property
    def severely_breached(self) -> bool:
        return self.value is not None and self.value > self.severe


@dataclass(frozen=True)
class Decision:
    action: str
    reasons: list[str] = field(default_factory=list)


def decide(
    *,
    days_in: float,
    min_days: int,
    outcomes: list[OutcomeReading],
    guardrails: list[GuardrailReading],
    trained_share: float | None = None,
    min_trained_share: float | None = None,
) -> Decision:
    severe = [g for g in guardrails if g.severely_breached]
    if severe:
        return Decision(
            ROLLBACK,
            [
                f"{g.label} is {g.value:.0%}, past its severe bound of {g.severe:.0%}."
                for g in severe
            ],
        )
    reasons = [
        f"{g.label} is {g.value:.0%}, above its bound of {g.limit:.0%}."
        for g in guardrails
        if g.breached
    ]
    reasons += [f"{o.label}: the change is significantly harmful." for o in outcomes if o.harmful]
    if reasons:
        return Decision(PAUSE, reasons)
    if days_in < min_days:
        return Decision(HOLD, [f"Day {int(days_in) + 1} of at least {min_days}."])
    if min_trained_share is not None and (trained_share or 0) < min_trained_share:
        share = "No" if trained_share is None else f"{trained_share:.0%} of"
        needed = f"{min_trained_share:.0%}"
        return Decision(HOLD, [f"{share} target users passed the lesson; {needed} needed."])
    return Decision(ADVANCE, ["Every criterion holds."])
