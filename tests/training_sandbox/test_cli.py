"""manage.py sandbox create|reset|delete --user <username>."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from crmcore import factories
from crmcore.models import Contact, Workspace


def _run(*args) -> str:
    out = StringIO()
    call_command("sandbox", *args, "--no-progress", stdout=out)
    return out.getvalue()


@pytest.fixture
def trainee(db):
    return factories.UserFactory(username="tina")


def test_sandbox_command__create__size_and_seed(trainee):
    output = _run("create", "--user", "tina", "--contacts", "25", "--seed", "8")

    sandbox = Workspace.objects.get(owner=trainee)
    assert output.startswith("Created the sandbox of tina: 25 contacts, seed 8, in ")
    assert (sandbox.seed, Contact.objects.in_workspace(sandbox).count()) == (8, 25)


def test_sandbox_command__reset__back_to_generated_size(trainee):
    _run("create", "--user", "tina", "--contacts", "25")
    sandbox = Workspace.objects.get(owner=trainee)
    factories.ContactFactory(workspace=sandbox)

    output = _run("reset", "--user", "tina")

    assert output.startswith("Reset the sandbox of tina: 25 contacts, seed 42")
    assert Contact.objects.in_workspace(sandbox).count() == 25


def test_sandbox_command__delete__gone(trainee):
    _run("create", "--user", "tina", "--contacts", "5")

    assert _run("delete", "--user", "tina") == "Deleted the sandbox of tina.\n"
    assert not Workspace.objects.filter(owner=trainee).exists()


def test_sandbox_command__reset_without_sandbox__error(trainee):
    with pytest.raises(CommandError, match="tina has no sandbox"):
        _run("reset", "--user", "tina")


def test_sandbox_command__unknown_user__error(db):
    with pytest.raises(CommandError, match="No user 'nobody'"):
        _run("create", "--user", "nobody")


def test_sandbox_command__create_twice__error(trainee):
    _run("create", "--user", "tina", "--contacts", "5")

    with pytest.raises(CommandError, match="tina already has a sandbox"):
        _run("create", "--user", "tina", "--contacts", "5")
