"""The load benchmark's raw baseline view: off unless asked for, one query when on."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from crmcore import factories

pytestmark = pytest.mark.django_db


def test_perf_raw__off_by_default__404(client, workspace):
    contact = factories.ContactFactory(workspace=workspace)

    assert client.get(f"/perf/raw/{contact.pk}/").status_code == 404


def test_perf_raw__on__contact_and_25_newest_interactions_in_one_query(
    client, workspace, settings, django_assert_num_queries
):
    settings.PERF_RAW_VIEW = True
    contact = factories.ContactFactory(workspace=workspace, first_name="Ada", last_name="<Byron>")
    now = timezone.now()
    for n in range(30):
        factories.InteractionFactory(
            workspace=workspace,
            contact=contact,
            subject=f"note {n}",
            occurred_at=now - dt.timedelta(hours=n),
        )

    with django_assert_num_queries(1):
        response = client.get(f"/perf/raw/{contact.pk}/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Ada &lt;Byron&gt;</h1>" in html
    assert html.count("<li>") == 25
    assert html.index("note 0 ") < html.index("note 24 ")
    assert "note 25 " not in html


def test_perf_raw__on__unknown_contact_404(client, db, settings):
    settings.PERF_RAW_VIEW = True

    assert client.get("/perf/raw/999999/").status_code == 404
