import pytest

from crmcore import factories
from crmcore.models import Contact, Workspace
from crmcore.workspaces import SESSION_KEY, production_workspace, resolve_workspace


@pytest.mark.django_db
def test_production_workspace__created_by_migration__is_reused():
    first = production_workspace()
    assert first.kind == Workspace.Kind.PRODUCTION
    assert production_workspace().pk == first.pk
    assert Workspace.objects.filter(kind=Workspace.Kind.PRODUCTION).count() == 1


@pytest.mark.django_db
def test_resolve_workspace__own_sandbox_in_session__returns_sandbox():
    sandbox = factories.SandboxWorkspaceFactory()
    session = {SESSION_KEY: sandbox.pk}
    assert resolve_workspace(user=sandbox.owner, session=session) == sandbox


@pytest.mark.django_db
def test_resolve_workspace__someone_elses_sandbox__falls_back_to_production():
    sandbox = factories.SandboxWorkspaceFactory()
    intruder = factories.UserFactory()
    session = {SESSION_KEY: sandbox.pk}
    assert resolve_workspace(user=intruder, session=session) == production_workspace()
    assert SESSION_KEY not in session


@pytest.mark.django_db
def test_in_workspace__filters_rows_of_other_workspaces(workspace, sandbox):
    mine = factories.ContactFactory(workspace=workspace)
    factories.ContactFactory(workspace=sandbox)
    assert list(Contact.objects.in_workspace(workspace)) == [mine]
