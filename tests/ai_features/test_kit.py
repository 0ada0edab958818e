"""The capability kit: a capability added through settings gets every surface
gated, its jobs queued through the gate, its schedules run, and reads other
capabilities only through their facades."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from rest_framework.test import APIClient
from waffle.testutils import override_switch

from ai_features import facades, gate
from ai_features.registry import Capability, CapabilityError, CapabilityRegistry
from ai_features.scheduling import (
    SCHEDULED_TASK,
    due_jobs_run,
    job_queue,
    schedules_ensure,
)
from crmcore import extensions, factories
from tests.ai_features.fakes import FAKE_KEY


@pytest.fixture
def probe_contact(workspace):
    return factories.ContactFactory(workspace=workspace, account=None)


# -- every surface behind the gate ---------------------------------------------------


def test_fake_page__flag_off__403_with_reason(fake_capability, logged_in_client):
    response = logged_in_client.get("/fake-probe/")

    assert response.status_code == 403
    assert "Fake probe is not enabled for your team." in response.content.decode()


def test_fake_page__flag_on__the_view_answers(fake_capability, logged_in_client, enable_capability):
    enable_capability(FAKE_KEY)

    response = logged_in_client.get("/fake-probe/")

    assert response.status_code == 200
    assert response.content.decode() == "fake probe page"


def test_fake_page__kill_switch__403_with_reason(
    fake_capability, logged_in_client, enable_capability
):
    enable_capability(FAKE_KEY)
    with override_switch(gate.KILL_SWITCH, active=True):
        response = logged_in_client.get("/fake-probe/")

    assert response.status_code == 403
    assert "Fake probe is switched off for everyone for now." in response.content.decode()


def test_fake_page__anonymous__sent_to_login(fake_capability, client):
    response = client.get("/fake-probe/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_fake_governance_page__staff_outside_pilot__open(fake_capability, staff_client):
    response = staff_client.get("/fake-probe/governance/")

    assert response.status_code == 200
    assert response.content.decode() == "fake probe model card"


def test_fake_governance_page__rep_outside_pilot__403(fake_capability, logged_in_client):
    assert logged_in_client.get("/fake-probe/governance/").status_code == 403


def test_fake_api__token_user__gated_on_and_off(fake_capability, user, enable_capability):
    # Token auth: the gate must see the API's user, not the session's
    api = APIClient()
    token = api.post(
        "/api/v1/auth/token/",
        {"username": user.username, "password": "pw-for-tests-only"},
        format="json",
    ).json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    off = api.get("/api/v1/fake-probe/")
    assert off.status_code == 403
    assert off.json()["detail"] == "Fake probe is not enabled for your team."

    enable_capability(FAKE_KEY, users=[user])
    on = api.get("/api/v1/fake-probe/")
    assert on.status_code == 200
    assert on.json() == {"probed": True}

    with override_switch(gate.KILL_SWITCH, active=True):
        assert api.get("/api/v1/fake-probe/").status_code == 403


def test_fake_api_field__on_and_off(
    fake_capability, api_client, user, probe_contact, enable_capability
):
    url = f"/api/v1/contacts/{probe_contact.pk}/"
    assert "fake_probe" not in api_client.get(url).json()

    enable_capability(FAKE_KEY, users=[user])
    assert api_client.get(url).json()["fake_probe"] == f"probed {probe_contact.pk}"

    with override_switch(gate.KILL_SWITCH, active=True):
        assert "fake_probe" not in api_client.get(url).json()


def test_fake_nav_item__shown_only_when_on(
    fake_capability, logged_in_client, user, enable_capability
):
    assert 'data-nav="fake-probe"' not in logged_in_client.get("/").content.decode()

    enable_capability(FAKE_KEY, users=[user])

    assert 'href="/fake-probe/" data-nav="fake-probe"' in logged_in_client.get("/").content.decode()


def test_fake_panel__shown_only_when_on(
    fake_capability, logged_in_client, user, probe_contact, enable_capability
):
    page = f"/contacts/{probe_contact.pk}/"
    assert "fake-probe" not in logged_in_client.get(page).content.decode()

    enable_capability(FAKE_KEY, users=[user])

    assert f"Probe for {probe_contact.full_name}" in logged_in_client.get(page).content.decode()


def test_fake_contact_column__shown_and_filtering_only_when_on(
    fake_capability, logged_in_client, user, workspace, enable_capability
):
    contacts = factories.ContactFactory.create_batch(4, workspace=workspace)
    odd = sorted(c.pk for c in contacts if c.pk % 2)

    def listed(**params):
        html = logged_in_client.get("/contacts/", params).content.decode()
        return html, sorted(c.pk for c in contacts if f'value="{c.pk}" aria-label' in html)

    off, off_ids = listed(fake_probe="odd")
    enable_capability(FAKE_KEY, users=[user])
    on, on_ids = listed(fake_probe="odd")
    with override_switch(gate.KILL_SWITCH, active=True):
        killed, killed_ids = listed(fake_probe="odd")

    assert "Fake probe" not in off and "Odd probes" not in off
    assert off_ids == sorted(c.pk for c in contacts)  # the filter is not applied
    assert f"probe {odd[0]}" in on and "Odd probes" in on
    assert on_ids == odd
    assert "Fake probe" not in killed and killed_ids == sorted(c.pk for c in contacts)


def test_register__ready_registers_a_surface_directly__refused():
    class SneakyCapability(Capability):
        key = "sneaky"
        title = "Sneaky"
        description = "Registers a page around the gate."

        def ready(self):
            extensions.nav_items.register(
                extensions.NavItem(key="sneaky", label="Sneaky", url_name="dashboard")
            )

    try:
        with pytest.raises(CapabilityError, match="ready\\(\\) registered a surface directly"):
            CapabilityRegistry().register(SneakyCapability)
    finally:
        extensions.nav_items.unregister("sneaky")


def test_register__schedule_of_an_undeclared_job__refused():
    from ai_features.scheduling import Schedule

    class StrayCapability(Capability):
        key = "stray"
        title = "Stray"
        description = "A schedule with no job."

        def schedules(self):
            return [Schedule("nightly", job="missing", cron="0 1 * * *")]

    with pytest.raises(CapabilityError, match="schedule 'nightly' names no job"):
        CapabilityRegistry().register(StrayCapability)


# -- jobs ----------------------------------------------------------------------------


def test_job_queue__flag_off__nothing_queued_reason_given(
    fake_capability, workspace, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        decision = job_queue(FAKE_KEY, "probe", workspace=workspace, note="x")

    assert decision.allowed is False
    assert decision.reason == "Fake probe is not enabled for anyone."
    assert callbacks == []


def test_job_queue__flag_on__runs_after_commit(
    fake_capability, workspace, enable_capability, django_capture_on_commit_callbacks
):
    enable_capability(FAKE_KEY)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        decision = job_queue(FAKE_KEY, "probe", workspace=workspace, note="x")

    assert decision.allowed is True
    assert len(callbacks) == 1  # nothing ran inside the transaction


def test_capability_task__killed_after_queueing__skips(
    fake_capability, workspace, enable_capability
):
    from tests.ai_features.fakes import probe_task

    enable_capability(FAKE_KEY)
    assert probe_task.apply(args=[workspace.pk], kwargs={"note": "a"}).get() == {
        "workspace": workspace.pk,
        "note": "a",
        "kind": "production",
    }
    with override_switch(gate.KILL_SWITCH, active=True):
        result = probe_task.apply(args=[workspace.pk]).get()

    assert result == {
        "workspace": workspace.pk,
        "skipped": "AI features are switched off for everyone (kill switch).",
    }


# -- schedules -----------------------------------------------------------------------


def test_schedules_ensure__every_declared_schedule_once__admin_edits_kept(fake_capability, db):
    created = schedules_ensure()
    assert schedules_ensure() == 0
    names = set(PeriodicTask.objects.filter(task=SCHEDULED_TASK).values_list("name", flat=True))

    assert created >= 1
    assert {
        "prediction: nightly refresh",
        "prediction: score refresh",
        "prediction: weekly retraining",
        "sentiment: nightly analysis",
        "fake_probe: hourly probe",
    } <= names
    probe = PeriodicTask.objects.get(name="fake_probe: hourly probe")
    assert json.loads(probe.kwargs) == {"capability": FAKE_KEY, "job": "probe", "note": "hourly"}
    assert probe.crontab.minute == "0" and probe.crontab.hour == "*"

    probe.enabled = False
    probe.save()
    schedules_ensure()
    assert PeriodicTask.objects.get(name="fake_probe: hourly probe").enabled is False


def test_due_jobs_run__fixed_clock__runs_once_per_due_time_for_allowed_workspaces(
    fake_capability, workspace, sandbox, enable_capability
):
    # Given the hourly probe, created at 10:20, and the capability on in production
    schedules_ensure()
    PeriodicTask.objects.exclude(name="fake_probe: hourly probe").update(enabled=False)
    start = timezone.make_aware(dt.datetime(2026, 3, 2, 10, 20))
    PeriodicTask.objects.filter(name="fake_probe: hourly probe").update(
        date_changed=start, last_run_at=None
    )
    enable_capability(FAKE_KEY)

    # When the embedded beat checks at 10:40, at 11:00:30 and again at 11:01
    assert due_jobs_run(now=start + dt.timedelta(minutes=20)) == []
    runs = due_jobs_run(now=start + dt.timedelta(minutes=40, seconds=30))
    again = due_jobs_run(now=start + dt.timedelta(minutes=41))

    # Then it ran once, for production and the sandbox, and not again before 12:00
    assert [r.name for r in runs] == ["fake_probe: hourly probe"]
    assert runs[0].result["queued"] == [workspace.pk, sandbox.pk]
    assert again == []
    task = PeriodicTask.objects.get(name="fake_probe: hourly probe")
    assert task.total_run_count == 1
    assert task.last_run_at == start + dt.timedelta(minutes=40, seconds=30)


def test_due_jobs_run__flag_off__production_skipped_with_reason(fake_capability, workspace):
    schedules_ensure()
    PeriodicTask.objects.exclude(name="fake_probe: hourly probe").update(enabled=False)
    start = timezone.make_aware(dt.datetime(2026, 3, 2, 10, 20))
    PeriodicTask.objects.filter(name="fake_probe: hourly probe").update(
        date_changed=start, last_run_at=None
    )

    [run] = due_jobs_run(now=start + dt.timedelta(hours=1))

    assert run.result["queued"] == []
    assert run.result["skipped"] == {workspace.pk: "Fake probe is not enabled for anyone."}


def test_run_due_jobs_command__prints_each_run(
    fake_capability, workspace, enable_capability, capsys
):
    from django.core.management import call_command

    schedules_ensure()
    PeriodicTask.objects.exclude(name="fake_probe: hourly probe").update(enabled=False)
    PeriodicTask.objects.filter(name="fake_probe: hourly probe").update(
        date_changed=timezone.now() - dt.timedelta(hours=2), last_run_at=None
    )
    enable_capability(FAKE_KEY)

    call_command("run_due_jobs")

    assert "fake_probe: hourly probe: ran for 1 workspace(s), skipped 0" in capsys.readouterr().out


# -- facades -------------------------------------------------------------------------


def test_facade_for__unknown_capability__not_available(workspace):
    answer = facades.facade_for("forecast", workspace=workspace)

    assert answer.available is False
    assert answer.reason == "The forecast capability is not installed."


def test_facade_for__user_without_the_capability__not_available_with_gate_reason(workspace, user):
    answer = facades.facade_for("prediction", workspace=workspace, user=user)

    assert answer.available is False
    assert answer.reason == "Prediction is not enabled for your team."


def test_facade_for__kill_switch__not_available(workspace):
    with override_switch(gate.KILL_SWITCH, active=True):
        answer = facades.facade_for("sentiment", workspace=workspace)

    assert answer.available is False


def test_sentiment_facade__tone_summaries__uses_sentiments_own_threshold(workspace, settings):
    from ai_features.capabilities.sentiment.models import InteractionSentiment

    contact = factories.ContactFactory(workspace=workspace, account=None)
    now = timezone.now()
    for days, polarity in ((3, -0.2), (10, -0.05), (60, 0.5)):
        interaction = factories.InteractionFactory(
            workspace=workspace, contact=contact, occurred_at=now - dt.timedelta(days=days)
        )
        InteractionSentiment.objects.create(
            workspace=workspace,
            interaction=interaction,
            contact=contact,
            occurred_at=interaction.occurred_at,
            polarity=polarity,
            subjectivity=0.5,
            tone="negative" if polarity < 0 else "positive",
        )
    sentiment = facades.facade_for("sentiment", workspace=workspace)

    default = sentiment.tone_summaries(workspace_id=workspace.pk, as_of=now)[contact.pk]
    settings.AI_SENTIMENT_NEGATIVE_THRESHOLD = -0.01
    stricter = sentiment.tone_summaries(workspace_id=workspace.pk, as_of=now)[contact.pk]

    assert default.negative_30d == 1  # -0.2 only: -0.05 is above the default -0.1
    assert stricter.negative_30d == 2
    assert default.mean_polarity_90d == pytest.approx((-0.2 - 0.05 + 0.5) / 3)


def test_schedules_ensure__settings_beat_entries__rows_the_embedded_beat_runs(db, settings):
    # crmcore's stale-run reaper is a CELERY_BEAT_SCHEDULE entry (crmcore declares no capability)
    schedules_ensure()
    reaper = PeriodicTask.objects.get(name="reap-stale-runs")
    assert reaper.task == "crmcore.reap_stale_runs"
    assert reaper.interval.every == int(settings.RUN_REAP_INTERVAL_SECONDS)

    PeriodicTask.objects.exclude(pk=reaper.pk).update(enabled=False)
    PeriodicTask.objects.filter(pk=reaper.pk).update(
        date_changed=timezone.now() - dt.timedelta(hours=1), last_run_at=None
    )
    [run] = due_jobs_run()
    assert run.name == "reap-stale-runs"
