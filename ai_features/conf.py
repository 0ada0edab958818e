"""Settings of ai_features: ``AI_FEATURES_<NAME>``.

Each is read from the Django setting, then the environment variable of the
same name, then the default here (see :mod:`crmcore.conf`).
"""

from __future__ import annotations

from crmcore.conf import AppSettings


class AiFeaturesSettings(AppSettings):
    prefix = "AI_FEATURES_"

    #: Dotted paths of a project's own Capability classes.
    EXTRA_CAPABILITIES: list[str] = []

    # Readiness checklist before widening a phase.
    #: Minimum pilot acceptance rate (accepted / responded).
    READINESS_MIN_ACCEPTANCE_RATE: float = 0.5
    #: Responses (accepted, dismissed, corrected) needed before the rate counts.
    READINESS_MIN_RESPONSES: int = 20
    #: Maximum share of failed runs of the capability's jobs.
    READINESS_MAX_JOB_ERROR_RATE: float = 0.05
    #: Window of job runs considered, in days.
    READINESS_JOB_WINDOW_DAYS: int = 30
    #: Minimum share of target users who passed the capability's lesson.
    READINESS_MIN_TRAINED_SHARE: float = 0.8

    # Rollout evidence (see ai_features.evidence and ai_features.stats).
    #: Days before and after each user's exposure that are compared.
    EVIDENCE_WINDOW_DAYS: int = 42
    #: Users needed on each side (exposed, not yet exposed) before an estimate is shown.
    EVIDENCE_MIN_USERS: int = 10
    #: Observations needed before an estimate is shown.
    EVIDENCE_MIN_EVENTS: int = 100
    #: Window of job runs and responses behind the guardrail rates, in days.
    EVIDENCE_GUARDRAIL_DAYS: int = 14


app_settings = AiFeaturesSettings()
