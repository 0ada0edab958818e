"""Shared pytest fixtures. Tests make their own data through crmcore.factories."""

from __future__ import annotations

import os

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from crmcore import factories
from crmcore.models import Workspace
from crmcore.workspaces import production_workspace


def pytest_collection_modifyitems(config, items):
    """Leave the slow schemathesis run out unless ``-m`` names it (make test-schemathesis)."""
    if "schemathesis" in (config.getoption("markexpr") or ""):
        return
    kept = [item for item in items if item.get_closest_marker("schemathesis") is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def workspace(db) -> Workspace:
    return production_workspace()


@pytest.fixture
def sandbox(db) -> Workspace:
    """Another workspace: a trainee's sandbox, whose rows must never leak."""
    return factories.SandboxWorkspaceFactory()


@pytest.fixture
def user(db):
    return factories.UserFactory(username="rep")


@pytest.fixture
def staff_user(db):
    return factories.StaffUserFactory(username="admin")


@pytest.fixture
def team(workspace, user):
    return factories.TeamFactory(workspace=workspace, name="EMEA Sales", members=[user])


@pytest.fixture
def logged_in_client(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def api_client(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


@pytest.fixture
def staff_api_client(staff_user) -> APIClient:
    api = APIClient()
    api.force_authenticate(staff_user)
    return api


@pytest.fixture
def enable_capability(db):
    """Turn a capability's flag on: for everyone, or for given users or teams."""
    from waffle import get_waffle_flag_model

    from ai_features.registry import registry

    def enable(key: str, *, users=(), teams=(), everyone: bool | None = None):
        capability = registry.get(key)
        flag, _ = get_waffle_flag_model().objects.get_or_create(name=capability.flag_name)
        if everyone is None:
            everyone = not users and not teams
        flag.everyone = True if everyone else None
        flag.save()
        if users:
            flag.users.add(*users)
        if teams:
            flag.teams.add(*teams)
        flag.flush()
        return flag

    return enable


def _drop_unused_waffle_flag_tables() -> None:
    """Drop waffle's own flag tables, unused with ``ai_features.Flag`` (tests only).

    With ``WAFFLE_FLAG_MODEL`` swapped, waffle's migrations still create
    ``waffle_flag`` and its many-to-many tables, which reference ``auth_user``
    and ``auth_group``. Django's flush after a transactional test truncates the
    tables of installed models only, so on PostgreSQL it cannot truncate
    ``auth_group`` past them. Nothing reads those tables.
    """
    from django.conf import settings
    from django.db import connection

    flag_model = getattr(settings, "WAFFLE_FLAG_MODEL", "waffle.Flag")
    if connection.vendor != "postgresql" or flag_model == "waffle.Flag":
        return
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS waffle_flag_users, waffle_flag_groups, waffle_flag")


if os.environ.get("CELERY_BROKER_URL"):
    # The job tests through a real worker (.ci/run, `pytest -m celery_worker`):
    # the worker and the tests share the existing, migrated database named by
    # DATABASE_URL (pytest-django's "use an existing database" recipe), so no
    # test database is created; the tests are transactional.
    @pytest.fixture(scope="session")
    def django_db_setup(django_db_blocker):
        """Use the existing database: the one the Celery worker reads and writes."""
        with django_db_blocker.unblock():
            _drop_unused_waffle_flag_tables()

else:

    @pytest.fixture(scope="session")
    def django_db_setup(django_db_setup, django_db_blocker):
        """The test database, without waffle's unused flag tables."""
        with django_db_blocker.unblock():
            _drop_unused_waffle_flag_tables()
