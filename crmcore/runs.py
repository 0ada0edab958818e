"""The reaper of background runs whose heartbeat stopped.

Each app registers a ``RunReaper`` in ``crmcore.extensions.run_reapers``
(crmcore its imports; ai_features its job runs); ``stale_runs_reap`` calls
them all. It runs from ``manage.py reap_stale_runs`` and, under Celery beat,
as the ``crmcore.reap_stale_runs`` task (``RUN_REAP_INTERVAL_SECONDS``).
"""

from __future__ import annotations

from crmcore.extensions import ReapReport, run_reapers


def stale_runs_reap(*, stale_after: float | None = None) -> list[ReapReport]:
    """Every registered reaper's report, in registration order."""
    return [reaper(stale_after=stale_after) for reaper in run_reapers]
