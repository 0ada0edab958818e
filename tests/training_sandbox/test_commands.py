import json
from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command, get_commands

from crmcore import factories
from crmcore.models import Contact, Team
from training_sandbox.management.commands import setup_demo


def _run(*args, **options) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def _passwords(output: str) -> dict[str, str]:
    table = output.split("role / teams", 1)[1].splitlines()
    rows = [line.split() for line in table if line.startswith("  ")]
    return {row[0]: row[1] for row in rows}


@pytest.fixture
def no_demo_jobs(monkeypatch):
    """Leave the AI jobs out of setup_demo: their own tests cover them."""
    monkeypatch.setattr(setup_demo, "DEMO_JOBS", ())


@pytest.fixture
def fixtures_dir(tmp_path):
    (tmp_path / "groups.json").write_text(
        json.dumps([{"model": "auth.group", "pk": 900, "fields": {"name": "Demo reviewers"}}])
    )
    (tmp_path / "mapping.json").write_text(json.dumps({"Email": "email"}))
    return tmp_path


def test_seed_demo__empty_production__seeds_it(workspace):
    output = _run("seed_demo", "--contacts", "40", "--seed", "3", verbosity=0)

    assert Contact.objects.in_workspace(workspace).count() == 40
    assert "with seed 3" in output
    assert "40 contacts" in output


def test_seed_demo__workspace_with_contacts__refused_and_unchanged(workspace):
    factories.ContactFactory(workspace=workspace, first_name="Kept")

    with pytest.raises(CommandError, match="already has 1 contacts; nothing was changed"):
        _run("seed_demo", "--contacts", "40", "--seed", "3", verbosity=0)

    assert list(Contact.objects.in_workspace(workspace).values_list("first_name", flat=True)) == [
        "Kept"
    ]


def test_seed_demo__replace__replaces_the_data(workspace):
    factories.ContactFactory(workspace=workspace, first_name="Gone")

    _run("seed_demo", "--contacts", "30", "--seed", "3", "--replace", verbosity=0)

    contacts = Contact.objects.in_workspace(workspace)
    assert contacts.count() == 30
    assert not contacts.filter(first_name="Gone").exists()


def test_seed_demo__workspace_option__seeds_only_that_workspace(workspace, sandbox):
    _run(
        "seed_demo", "--contacts", "25", "--seed", "3", "--workspace", str(sandbox.pk), verbosity=0
    )

    assert Contact.objects.in_workspace(sandbox).count() == 25
    assert Contact.objects.in_workspace(workspace).count() == 0


def test_seed_demo__unknown_workspace__command_error(db):
    with pytest.raises(CommandError, match="No workspace with id 999"):
        _run("seed_demo", "--contacts", "5", "--workspace", "999", verbosity=0)


def test_setup_demo__fresh_database__seeds_users_fixtures_and_prints_logins(
    workspace, no_demo_jobs, fixtures_dir
):
    # When the demo is set up on an empty database
    output = _run(
        "setup_demo", "--contacts", "50", "--seed", "42", "--fixtures-dir", str(fixtures_dir)
    )

    # Then production is seeded and the fixture (not the mapping file) is loaded
    assert Contact.objects.in_workspace(workspace).count() == 50
    assert Group.objects.filter(pk=900, name="Demo reviewers").exists()
    assert "Loaded fixture groups.json." in output
    assert "mapping.json" not in output
    # and every demo user logs in with the password printed for them
    assert "http://127.0.0.1:8000/" in output
    passwords = _passwords(output)
    assert sorted(passwords) == ["admin", "alice", "bob", "carol", "dave"]
    for username, password in passwords.items():
        assert authenticate(username=username, password=password).username == username
    dave = next(line for line in output.splitlines() if line.startswith("  dave "))
    assert "sales and support rep: EMEA Sales + Support · AI pilot: " in dave
    assert Team.objects.in_workspace(workspace).get(name="Support").members.count() == 2


def test_setup_demo__second_run__keeps_data_and_issues_new_passwords(
    workspace, no_demo_jobs, fixtures_dir
):
    first = _passwords(
        _run("setup_demo", "--contacts", "30", "--seed", "1", "--fixtures-dir", str(fixtures_dir))
    )
    names = sorted(Contact.objects.in_workspace(workspace).values_list("email", flat=True))

    output = _run(
        "setup_demo", "--contacts", "60", "--seed", "2", "--fixtures-dir", str(fixtures_dir)
    )

    second = _passwords(output)
    assert "already has 30 contacts: kept them" in output
    assert sorted(Contact.objects.in_workspace(workspace).values_list("email", flat=True)) == names
    assert get_user_model().objects.filter(username__in=first).count() == 5
    for username in first:
        assert first[username] != second[username]
        assert authenticate(username=username, password=first[username]) is None
        assert authenticate(username=username, password=second[username]) is not None
    assert Group.objects.filter(name="Demo reviewers").count() == 1


def test_setup_demo__demo_jobs__runs_those_installed_in_order(workspace, monkeypatch, fixtures_dir):
    ran = []
    real_call_command = setup_demo.call_command

    def recording_call_command(command, *args, **options):
        if isinstance(command, str):
            return real_call_command(command, *args, **options)
        ran.append((type(command).__module__.rsplit(".", 1)[-1], options.get("workspace")))
        return None

    monkeypatch.setattr(setup_demo, "call_command", recording_call_command)
    monkeypatch.setattr(
        setup_demo, "DEMO_JOBS", ("analyze_sentiment", "not_a_command", *setup_demo.DEMO_JOBS[1:])
    )

    _run("setup_demo", "--contacts", "20", "--fixtures-dir", str(fixtures_dir), verbosity=0)

    installed = get_commands()
    expected = [
        n
        for n in ("analyze_sentiment", "train_models", "score_contacts", "score_deals")
        if n in installed
    ]
    assert ran == [(name, workspace.pk) for name in expected]
    assert expected == ["analyze_sentiment", "train_models", "score_contacts", "score_deals"]


def test_fixture_files__only_django_fixtures(fixtures_dir):
    (fixtures_dir / "broken.json").write_text("{not json")

    assert [p.name for p in setup_demo.fixture_files(fixtures_dir)] == ["groups.json"]


def test_setup_demo__fresh_database__emea_sales_pilots_every_capability(
    workspace, no_demo_jobs, fixtures_dir
):
    from ai_features import gate
    from ai_features.models import RolloutAuditEntry
    from ai_features.registry import registry

    # When the demo is set up on an empty database
    output = _run("setup_demo", "--contacts", "30", "--fixtures-dir", str(fixtures_dir))

    # Then every capability is on for alice (EMEA Sales) and off for bob (AMER Sales)
    users = {u.username: u for u in get_user_model().objects.filter(username__in=["alice", "bob"])}
    for capability in registry:
        assert gate.is_enabled(capability, users["alice"], workspace) is True
        assert gate.is_enabled(capability, users["bob"], workspace) is False
    # and the change is audited with its reason
    assert RolloutAuditEntry.objects.filter(
        reason="Demo: EMEA Sales pilots every capability"
    ).count() == len(registry)
    assert "Demo pilot: every AI capability is on for EMEA Sales." in output
    # and the printed roles say so: bob is not called a pilot user
    lines = {line.split()[0]: line for line in output.splitlines() if line.startswith("  ")}
    capabilities = ", ".join(cap.key for cap in registry)
    assert lines["alice"].endswith(f"sales rep: EMEA Sales · AI pilot: {capabilities}")
    assert lines["bob"].endswith("sales rep: AMER Sales · AI off (not in the pilot)")
    assert "pilot" not in lines["bob"].replace("not in the pilot", "")


def test_setup_demo__url__follows_host_and_port(workspace, no_demo_jobs, fixtures_dir, monkeypatch):
    monkeypatch.setenv("PORT", "8862")
    monkeypatch.setenv("HOST", "0.0.0.0")
    output = _run("setup_demo", "--contacts", "10", "--fixtures-dir", str(fixtures_dir))
    assert "PilotCRM demo: http://0.0.0.0:8862/" in output
    assert "8000" not in output


def test_setup_demo__second_run__keeps_the_admins_rollout_changes(
    workspace, no_demo_jobs, fixtures_dir
):
    from ai_features import gate
    from ai_features.models import RolloutAuditEntry
    from ai_features.services import rollout_set_phase

    _run("setup_demo", "--contacts", "30", "--fixtures-dir", str(fixtures_dir))
    admin = get_user_model().objects.get(username="admin")
    rollout_set_phase(
        capability="sentiment",
        actor=admin,
        reason="pause",
        source=RolloutAuditEntry.Source.CLI,
        phase="off",
    )

    _run("setup_demo", "--contacts", "30", "--fixtures-dir", str(fixtures_dir))

    alice = get_user_model().objects.get(username="alice")
    assert gate.is_enabled("sentiment", alice, workspace) is False
    assert gate.is_enabled("prediction", alice, workspace) is True
