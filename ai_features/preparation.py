"""Getting a workspace's AI ready: every capability's preparation jobs, in order.

A training sandbox is only useful if its AI works from the first minute: tones
analysed, models trained, customers scored. ``workspace_prepare`` runs the jobs
each capability declares for that (``Capability.prepare_jobs``, ordered by
``prepare_order``) as one job run whose progress the sandbox page shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ai_features.jobs import job_run
from ai_features.models import JobRun
from ai_features.registry import registry
from ai_features.scheduling import job_task
from crmcore.models import Workspace

PREPARE_JOB = "prepare_workspace"


def preparation_steps() -> list[tuple[str, str]]:
    """(capability key, job name) of every preparation job, in the order they run."""
    ordered = sorted(registry, key=lambda cap: (cap.prepare_order, cap.key))
    return [(cap.key, job) for cap in ordered for job in cap.prepare_jobs]


def workspace_prepare(*, workspace: Workspace) -> dict[str, Any]:
    """Run every capability's preparation jobs for ``workspace``, recording progress.

    Each job asks the gate for jobs itself (a killed capability is skipped with
    its reason). Idempotent: analysis is incremental, training adds a version,
    scoring replaces scores.
    """
    steps = preparation_steps()
    results: dict[str, Any] = {}
    with job_run(name=PREPARE_JOB, workspace=workspace, total=len(steps)) as run:
        for key, job in steps:
            results[f"{key}.{job}"] = job_task(key, job)(workspace.pk)
            run.advance(1)
        run.set_result(steps=list(results))
    return results


@dataclass(frozen=True)
class PreparationStatus:
    """The latest preparation of a workspace, for its owner's page."""

    state: str  # running, ready or failed
    percent: int
    message: str

    @property
    def ready(self) -> bool:
        return self.state == "ready"


def preparation_status(*, workspace: Workspace) -> PreparationStatus | None:
    """The latest preparation run of ``workspace`` (None: never prepared)."""
    run = (
        JobRun.objects.filter(workspace=workspace, name=PREPARE_JOB)
        .order_by("-started_at", "-pk")
        .only("status", "done", "total", "message")
        .first()
    )
    if run is None:
        return None
    if run.status == JobRun.Status.SUCCEEDED:
        return PreparationStatus(
            "ready", 100, "The AI is ready: tones analysed, models trained, customers scored."
        )
    if run.status == JobRun.Status.FAILED:
        return PreparationStatus("failed", run.percent, f"Preparing the AI failed: {run.message}")
    return PreparationStatus("running", run.percent, f"Preparing the AI: {run.percent}%")
