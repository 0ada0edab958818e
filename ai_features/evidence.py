"""Does a capability pay off? Its estimated effect on each declared outcome, and its guardrails.

For every capability: the outcomes it declares (``Capability.outcomes()``),
each estimated by ``ai_features.stats.did_estimate`` (exposed against not
yet exposed users, before against after their exposure, with an always-valid
95% interval); its guardrails (``Capability.guardrails()``: job error,
dismiss and complaint rates); and, in a percentage phase, a sample-ratio
check. Production workspace only: a sandbox's deals, messages, events and
job runs never count.

``evidence_all`` reads everything in a fixed number of queries: exposures,
one query per declared outcome (two for churn warnings), job runs, events.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.module_loading import import_string

from ai_features import stats
from ai_features.conf import app_settings
from ai_features.declarations import Guardrail, Outcome
from ai_features.models import Exposure, JobRun, SuggestionEvent
from ai_features.plan_rules import GuardrailReading, OutcomeReading
from ai_features.registry import registry
from crmcore.models import Workspace
from crmcore.workspaces import production_workspace

MINUS = "\u2212"
SECONDS_PER_DAY = 86400.0
#: Outcome rows of the last this many days make a user "active" for the sample-ratio check.
ACTIVE_DAYS = 14


def _signed(value: float, digits: int = 1) -> str:
    text = f"{abs(value):.{digits}f}"
    if text.strip("0.") == "":
        return text
    return f"+{text}" if value > 0 else f"{MINUS}{text}"


def _plural(n: int, word: str) -> str:
    if n == 1 and word.endswith("s"):
        return f"{n} {word[:-1]}"
    return f"{n} {word}"


def _span(days: int) -> str:
    if days >= 14:
        return f"{round(days / 7)} weeks"
    return _plural(max(days, 1), "days")


@dataclass(frozen=True)
class OutcomeEvidence:
    outcome: Outcome
    estimate: stats.Estimate
    capability_title: str

    @property
    def reading(self) -> OutcomeReading:
        return OutcomeReading(self.outcome.label, self.estimate, self.outcome.higher_is_better)

    def _scaled(self, value: float) -> float:
        return value * 100 if self.outcome.unit == "points" else value

    @property
    def verdict(self) -> str:
        """better, worse, unclear or not-enough (for the page's badge)."""
        est = self.estimate
        if not est.enough:
            return "not-enough"
        if self.reading.harmful:
            return "worse"
        good = (
            est.significantly_positive
            if self.outcome.higher_is_better
            else (est.significantly_negative)
        )
        return "better" if good else "unclear"

    @property
    def verdict_label(self) -> str:
        return {
            "better": "Better",
            "worse": "Worse",
            "unclear": "No clear difference yet",
            "not-enough": "Not enough data yet",
        }[self.verdict]

    @property
    def sentence(self) -> str:
        """One sentence an admin reads: the change, its interval, who and how long."""
        o, est = self.outcome, self.estimate
        who = o.who
        if est.exposed_users == 0 and est.events == 0:
            nobody = f"no {who[:-1]} has had {self.capability_title}"
            return f"{o.label}: not enough data yet ({nobody})."
        if est.events == 0:
            return f"{o.label}: not enough data yet (no {o.events} in the window yet)."
        if not est.enough or est.effect is None or est.low is None or est.high is None:
            need_users = app_settings.EVIDENCE_MIN_USERS
            need_events = app_settings.EVIDENCE_MIN_EVENTS
            return (
                f"{o.label}: not enough data yet ({est.exposed_users} exposed {who} against "
                f"{est.control_users} not yet exposed, {_plural(est.events, o.events)}; "
                f"at least {need_users} {who} on each side and {need_events} {o.events} needed)."
            )
        effect, low, high = (self._scaled(v) for v in (est.effect, est.low, est.high))
        unit = "points" if o.unit == "points" else o.unit
        return (
            f"{o.label} {_signed(effect)} {unit} (95% CI {_signed(low)} to {_signed(high)}) "
            f"for {est.exposed_users} exposed {who} against {est.control_users} not yet "
            f"exposed, over {_span(est.days)}."
        )


@dataclass(frozen=True)
class CapabilityEvidence:
    key: str
    title: str
    exposed: int
    outcomes: list[OutcomeEvidence]
    guardrails: list[GuardrailReading]
    sample_ratio: stats.SampleRatio | None = None

    @property
    def sample_ratio_sentence(self) -> str:
        srm = self.sample_ratio
        if srm is None:
            return ""
        if srm.p_value is None:
            return (
                f"Sample ratio: {srm.exposed} of {srm.total} active users outside the pilot "
                "exposed; too few to check yet."
            )
        observed = srm.observed_share or 0.0
        head = (
            f"Sample ratio: {observed:.0%} of {srm.total} active users outside the pilot "
            f"exposed, {srm.expected_share:.0%} expected"
        )
        if srm.mismatch:
            return (
                f"{head}: mismatch (p < {stats.SRM_P_VALUE}). Exposure may not be recorded "
                "for everyone; do not trust the estimates until it is explained."
            )
        return f"{head}: no clear mismatch."


def guardrail_sentence(reading: GuardrailReading) -> str:
    bounds = f"bound {reading.limit:.0%}, severe above {reading.severe:.0%}"
    unit = reading.unit or "observations"
    if reading.value is None:
        return (
            f"{reading.label}: too few {unit} yet ({reading.count} of {reading.needed} "
            f"needed); {bounds}."
        )
    return f"{reading.label}: {reading.value:.1%} of {reading.count} {unit}; {bounds}."


def _days(when: dt.datetime) -> float:
    return when.timestamp() / SECONDS_PER_DAY


def _guardrail_counts(
    workspace: Workspace, since: dt.datetime
) -> dict[str, dict[str, tuple[int, int]]]:
    """capability -> guardrail kind -> (part, whole), over the production workspace."""
    counts: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
    runs = (
        JobRun.objects.filter(workspace=workspace, started_at__gte=since)
        .exclude(status=JobRun.Status.RUNNING)
        .values("capability")
        .annotate(total=Count("id"), failed=Count("id", filter=Q(status=JobRun.Status.FAILED)))
    )
    for row in runs:
        counts[row["capability"]]["job_errors"] = (row["failed"], row["total"])
    Action = SuggestionEvent.Action
    responses = [a for a in Action.values if a != Action.SHOWN]
    events = (
        SuggestionEvent.objects.filter(
            workspace=workspace, created_at__gte=since, action__in=responses
        )
        .values("capability")
        .annotate(
            total=Count("id"),
            dismissed=Count("id", filter=Q(action=Action.DISMISSED)),
            reported=Count("id", filter=Q(action=Action.REPORTED)),
        )
    )
    for row in events:
        counts[row["capability"]]["dismissals"] = (row["dismissed"], row["total"])
        counts[row["capability"]]["complaints"] = (row["reported"], row["total"])
    return counts


def _guardrail_reading(guardrail: Guardrail, part: int, whole: int) -> GuardrailReading:
    value = part / whole if whole >= guardrail.min_count else None
    unit = "job runs" if guardrail.kind == "job_errors" else "responses"
    return GuardrailReading(
        guardrail.label,
        value,
        guardrail.limit,
        guardrail.severe,
        whole,
        unit=unit,
        needed=guardrail.min_count,
    )


def evidence_all(
    *,
    now: dt.datetime | None = None,
    percentages: dict[str, tuple[Decimal, set[int]]] | None = None,
) -> dict[str, CapabilityEvidence]:
    """Every registered capability's evidence, by key.

    ``percentages`` maps a capability in a percentage phase to (percent, ids
    of its pilot users); those get a sample-ratio check.
    """
    now = now or timezone.now()
    workspace = production_workspace()
    window = app_settings.EVIDENCE_WINDOW_DAYS
    exposures: dict[str, dict[int, float]] = defaultdict(dict)
    first: dict[str, dt.datetime] = {}
    for key, user_id, first_at in Exposure.objects.filter(first_at__lt=now).values_list(
        "capability", "user_id", "first_at"
    ):
        exposures[key][user_id] = _days(first_at)
        if key not in first or first_at < first[key]:
            first[key] = first_at
    counts = _guardrail_counts(
        workspace, now - dt.timedelta(days=app_settings.EVIDENCE_GUARDRAIL_DAYS)
    )
    today = _days(now)
    result = {}
    for cap in registry:
        outcomes = []
        active: set[int] = set()
        for outcome in cap.outcomes():
            rows: list[tuple[int, dt.datetime, float]] = []
            if cap.key in first:
                since = first[cap.key] - dt.timedelta(days=window)
                rows = import_string(outcome.rows)(workspace=workspace, since=since, until=now)
            users = np.array([r[0] for r in rows], dtype=np.int64)
            days = np.array([_days(r[1]) for r in rows], dtype=float)
            values = np.array([r[2] for r in rows], dtype=float)
            active |= {int(u) for u in users[days >= today - ACTIVE_DAYS]}
            estimate = stats.did_estimate(
                users,
                days,
                values,
                exposures.get(cap.key, {}),
                today=today,
                window=window,
                min_users=app_settings.EVIDENCE_MIN_USERS,
                min_events=app_settings.EVIDENCE_MIN_EVENTS,
            )
            outcomes.append(OutcomeEvidence(outcome, estimate, cap.title))
        guardrails = [
            _guardrail_reading(g, *counts.get(cap.key, {}).get(g.kind, (0, 0)))
            for g in cap.guardrails()
        ]
        srm = None
        if percentages and cap.key in percentages:
            percent, pilot = percentages[cap.key]
            outside = active - pilot
            exposed = sum(1 for u in outside if u in exposures.get(cap.key, {}))
            srm = stats.sample_ratio(exposed, len(outside), float(percent) / 100)
        result[cap.key] = CapabilityEvidence(
            key=cap.key,
            title=cap.title,
            exposed=len(exposures.get(cap.key, {})),
            outcomes=outcomes,
            guardrails=guardrails,
            sample_ratio=srm,
        )
    return result


def readings(evidence: CapabilityEvidence) -> dict[str, Any]:
    """What a release plan decides on: the outcome and guardrail readings."""
    return {
        "outcomes": [o.reading for o in evidence.outcomes],
        "guardrails": evidence.guardrails,
    }
