"""The build job: manage.py build_campaign and the Celery tasks, with progress."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from ai_features.capabilities.personalization.models import CampaignMessage
from ai_features.capabilities.personalization.tasks import build_campaign_task, send_campaign_task
from ai_features.models import JobRun
from crmcore import factories
from crmcore.models import Campaign


def _run(campaign, *args):
    from io import StringIO

    out = StringIO()
    call_command("build_campaign", str(campaign.pk), "--no-progress", *args, stdout=out)
    return out.getvalue().strip()


@pytest.mark.parametrize(
    ("state", "personalized", "kind"),
    [
        ("off", False, "plain mail merge"),
        ("on", True, "personalized"),
        ("kill", False, "plain mail merge"),
    ],
)
def test_build_campaign_command__flag_state__personalized_only_when_on(
    request, campaign, customers, state, personalized, kind
):
    if state in ("on", "kill"):
        request.getfixturevalue("all_on")
    if state == "kill":
        request.getfixturevalue("kill_switch")
    output = _run(campaign)
    assert output == (
        f"Campaign {campaign.pk} ({campaign.name}): built 2 of 2 messages ({kind}), "
        "kept 0 edited or sent, removed 0."
    )
    assert set(CampaignMessage.objects.values_list("personalized", flat=True)) == {personalized}
    job = JobRun.objects.get(capability="personalization")
    assert (job.name, job.status, job.done, job.total) == (
        f"build_campaign:{campaign.pk}",
        "succeeded",
        2,
        2,
    )
    assert job.result["personalized"] is personalized


def test_build_campaign_command__user_option__gate_asked_for_that_user(
    enable_capability, campaign, customers
):
    pilot = factories.UserFactory(username="pilot")
    enable_capability("personalization", users=[pilot])
    assert _run(campaign).endswith("(plain mail merge), kept 0 edited or sent, removed 0.")
    assert "(personalized)" in _run(campaign, "--user", "pilot")


def test_build_campaign_command__unknown_campaign_or_user__error(campaign):
    with pytest.raises(CommandError, match="No campaign with id 999999"):
        call_command("build_campaign", "999999", "--no-progress")
    with pytest.raises(CommandError, match="No user 'nobody'"):
        _run(campaign, "--user", "nobody")


def test_build_campaign_command__sent_campaign__error_and_failed_job(campaign):
    campaign.status = Campaign.Status.SENT
    campaign.save()
    with pytest.raises(CommandError, match=r"^A sent campaign is not rebuilt\.$"):
        _run(campaign)
    assert JobRun.objects.get().status == "failed"


def test_build_task__chunks__progress_counts_every_contact(settings, workspace, user):
    settings.AI_PERSONALIZATION_CHUNK_SIZE = 3
    for _ in range(7):
        factories.ContactFactory(workspace=workspace)
    campaign = factories.CampaignFactory(workspace=workspace, created_by=user)
    summary = build_campaign_task(campaign.pk, user.pk)
    assert (summary["total"], summary["built"]) == (7, 7)
    job = JobRun.objects.get()
    assert (job.done, job.total) == (7, 7)
    assert CampaignMessage.objects.count() == 7


def test_send_task__sandbox__recorded_with_progress(db, mailoutbox):
    sandbox = factories.SandboxWorkspaceFactory()
    factories.ContactFactory(workspace=sandbox)
    campaign = factories.CampaignFactory(workspace=sandbox, created_by=sandbox.owner)
    build_campaign_task(campaign.pk, sandbox.owner.pk)
    campaign.status = Campaign.Status.APPROVED
    campaign.save()
    summary = send_campaign_task(campaign.pk, sandbox.owner.pk)
    assert (summary["sent"], summary["recorded"]) == (0, 1)
    assert mailoutbox == []
    send_job = JobRun.objects.get(name=f"send_campaign:{campaign.pk}")
    assert (send_job.done, send_job.total, send_job.workspace) == (1, 1, sandbox)
