"""Celery tasks of the personalization capability: build and send a campaign.

Each records its progress as a JobRun (named ``build_campaign:<id>`` or
``send_campaign:<id>``). A build asks the gate for the user who started it:
personalized where the capability is on for them, a plain mail merge where it
is off (also under the kill switch).
"""

from __future__ import annotations

from celery import shared_task
from django.contrib.auth import get_user_model

from ai_features.capabilities.personalization import selectors, services
from ai_features.capabilities.personalization.facts import CAPABILITY, access_for
from ai_features.jobs import job_run
from ai_features.plans import plan_task
from ai_features.scheduling import capability_task
from crmcore.models import Campaign, Workspace


def _load(campaign_id: int, user_id: int | None):
    campaign = Campaign.objects.select_related("workspace").get(pk=campaign_id)
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    return campaign, user


def build_campaign(*, campaign: Campaign, user, progress=None) -> dict:
    """Build every message of the campaign's audience; returns a summary."""
    access = access_for(user=user, workspace=campaign.workspace)
    with job_run(
        name=selectors.job_name("build", campaign.pk),
        capability=CAPABILITY,
        workspace=campaign.workspace,
        progress=progress,
    ) as job:
        result = services.campaign_messages_build(
            campaign=campaign, user=user, on_chunk=job.advance, on_total=job.set_total
        )
        summary = {
            "campaign": campaign.pk,
            "personalized": access.personalization,
            "total": result.total,
            "built": result.built,
            "personalized_messages": result.personalized,
            "kept": result.kept,
            "removed": result.removed,
        }
        job.set_result(**summary)
    return summary


def send_campaign(*, campaign: Campaign, user, progress=None) -> dict:
    counts = selectors.campaign_message_counts(workspace=campaign.workspace, campaign=campaign)
    with job_run(
        name=selectors.job_name("send", campaign.pk),
        capability=CAPABILITY,
        workspace=campaign.workspace,
        total=counts["queued"] + counts["sending"] or counts["draft"],
        progress=progress,
    ) as job:
        result = services.campaign_send(campaign=campaign, user=user, on_chunk=job.advance)
        summary = {
            "campaign": campaign.pk,
            "sent": result.sent,
            "recorded": result.recorded,
            "skipped": result.skipped,
            "failed": result.failed,
        }
        job.set_result(**summary)
    return summary


@shared_task(name="personalization.build_campaign", acks_late=True)
def build_campaign_task(campaign_id: int, user_id: int | None = None) -> dict:
    campaign, user = _load(campaign_id, user_id)
    return build_campaign(campaign=campaign, user=user)


@shared_task(name="personalization.send_campaign", acks_late=True)
def send_campaign_task(campaign_id: int, user_id: int | None = None) -> dict:
    campaign, user = _load(campaign_id, user_id)
    return send_campaign(campaign=campaign, user=user)


@capability_task(CAPABILITY, "record_campaign_results")
def record_campaign_results_task(*, workspace: Workspace) -> dict:
    """Replies and unsubscribes of sent campaigns, counted once in the pilot metrics."""
    result = services.campaign_results_record(workspace=workspace)
    return {"replied": result.replied, "unsubscribed": result.unsubscribed}


#: The daily release-plan check (declared in the capability's jobs and schedules).
release_plan_task = plan_task("personalization")
