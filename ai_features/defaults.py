"""Defaults of the ai_features settings; override with AI_FEATURES_<NAME>."""

#: Dotted paths of a project's own Capability classes.
EXTRA_CAPABILITIES: list[str] = []

#: Weeks shown in the rollout dashboard's acceptance trend.
DASHBOARD_WEEKS: int = 8

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
