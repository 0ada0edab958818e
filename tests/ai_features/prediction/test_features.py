import datetime as dt
from decimal import Decimal

import numpy as np
import pytest
from django.utils import timezone
from waffle.testutils import override_switch

from ai_features.capabilities.prediction.features import (
    BASE_FEATURES,
    OTHER,
    FeatureSpec,
    as_datetime,
    extract_raw,
)
from ai_features.gate import KILL_SWITCH, kill_switch_active
from crmcore import factories
from crmcore.models import Contact, Interaction, Order

COL = {name: i for i, name in enumerate(BASE_FEATURES)}
STAGES = (Contact.Stage.CUSTOMER, Contact.Stage.CHURNED)


def _contact(workspace, **kwargs):
    return factories.ContactFactory(workspace=workspace, account=None, **kwargs)


@pytest.mark.parametrize("killed", [False, True])
@pytest.mark.parametrize("contacts", [2, 12])
def test_extract_raw__any_number_of_contacts__same_number_of_queries(
    workspace, django_assert_num_queries, contacts, killed
):
    now = timezone.now()
    with override_switch(KILL_SWITCH, active=killed):
        assert kill_switch_active() is killed  # warms the gate's cache
        for _ in range(contacts):
            contact = _contact(workspace)
            factories.OrderFactory(workspace=workspace, contact=contact)
            factories.InteractionFactory(workspace=workspace, contact=contact)
            factories.DealFactory(workspace=workspace, contact=contact, account=None)

        # contacts, orders, interactions, deals, the attribute types imports
        # recorded, and tones through sentiment's facade
        with django_assert_num_queries(5 + (not killed)):
            raw = extract_raw(workspace=workspace, as_of=now, stages=STAGES)

    assert len(raw) == contacts


def test_extract_raw__orders_and_tickets__recency_frequency_trend_and_tickets(workspace):
    now = timezone.now()
    contact = _contact(workspace)
    for days, status in ((10, Order.Status.PAID), (40, Order.Status.REFUNDED), (120, "paid")):
        factories.OrderFactory(
            workspace=workspace,
            contact=contact,
            ordered_at=now - dt.timedelta(days=days),
            status=status,
            total=Decimal("50.00"),
        )
    factories.OrderFactory(
        workspace=workspace,
        contact=contact,
        ordered_at=now - dt.timedelta(days=5),
        status=Order.Status.CANCELLED,
    )
    for days in (3, 12, 45):
        factories.InteractionFactory(
            workspace=workspace,
            contact=contact,
            channel=Interaction.Channel.TICKET,
            occurred_at=now - dt.timedelta(days=days),
        )

    raw = extract_raw(workspace=workspace, as_of=now, stages=STAGES)

    row = raw.base[0]
    assert round(row[COL["days_since_last_order"]]) == 10
    assert row[COL["orders_total"]] == 3
    assert row[COL["orders_90d"]] == 2
    assert row[COL["orders_prev_90d"]] == 1
    assert row[COL["order_trend"]] == 1
    assert row[COL["spend_total"]] == 150.0
    assert row[COL["refunds"]] == 1
    assert row[COL["tickets_30d"]] == 2
    assert row[COL["tickets_90d"]] == 3
    assert round(row[COL["days_since_last_interaction"]]) == 3


def test_extract_raw__events_after_cutoff__ignored(workspace):
    # Given a contact who complained and churned after the cutoff
    now = timezone.now()
    as_of = now - dt.timedelta(days=30)
    contact = _contact(workspace, lifecycle_stage=Contact.Stage.CHURNED)
    factories.OrderFactory(
        workspace=workspace, contact=contact, ordered_at=now - dt.timedelta(days=50)
    )
    factories.OrderFactory(
        workspace=workspace, contact=contact, ordered_at=now - dt.timedelta(days=10)
    )
    factories.InteractionFactory(
        workspace=workspace,
        contact=contact,
        channel=Interaction.Channel.TICKET,
        occurred_at=now - dt.timedelta(days=2),
    )

    # When features are taken as of the cutoff
    raw = extract_raw(workspace=workspace, as_of=as_of, stages=STAGES)

    # Then only what happened before it counts
    row = raw.base[0]
    assert row[COL["orders_total"]] == 1
    assert round(row[COL["days_since_last_order"]]) == 20
    assert row[COL["tickets_90d"]] == 0
    assert row[COL["days_since_last_interaction"]] == 730.0


def test_extract_raw__other_workspace_and_leads__left_out(workspace, sandbox):
    mine = _contact(workspace)
    _contact(workspace, lifecycle_stage=Contact.Stage.LEAD)
    other = _contact(sandbox)
    factories.OrderFactory(workspace=sandbox, contact=other)

    raw = extract_raw(workspace=workspace, as_of=timezone.now(), stages=STAGES)

    assert raw.contact_ids == [mine.pk]
    assert raw.base[0, COL["orders_total"]] == 0


def test_feature_spec__attributes__numeric_imputed_categories_capped_labels_dropped(
    workspace, settings
):
    settings.AI_PREDICTION_MAX_CATEGORIES = 2
    rows = [
        {"seats": "10", "plan": "gold", "churn_flag": "yes", "email": "a@x"},
        {"seats": 30, "plan": "gold", "churn_flag": "no", "email": "b@x"},
        {"plan": "silver", "email": "c@x"},
        {"seats": 20, "plan": "bronze", "email": "d@x"},
        {"seats": 5, "plan": "tin", "email": "e@x"},
        {"seats": 40, "plan": "gold", "email": "f@x"},
        {"seats": 50, "plan": "bronze", "email": "g@x"},
        {"seats": 60, "email": "h@x"},
    ]
    for attributes in rows:
        _contact(workspace, attributes=attributes, region="EMEA", segment="SMB")
    raw = extract_raw(workspace=workspace, as_of=timezone.now(), stages=STAGES)

    spec = FeatureSpec.fit(raw)
    matrix = spec.transform(raw)

    extra = spec.names[len(BASE_FEATURES) :]
    assert extra == [
        "attr:seats",
        "attr:seats missing",
        "attr:plan=bronze",
        "attr:plan=gold",
        f"attr:plan={OTHER}",
    ]
    assert spec.excluded == {
        "churn_flag": "names the label",
        "email": "an identifier or free text (too many distinct values)",
    }
    seats = matrix[:, len(BASE_FEATURES)]
    assert seats.tolist() == [10.0, 30.0, 30.0, 20.0, 5.0, 40.0, 50.0, 60.0]
    assert matrix[:, len(BASE_FEATURES) + 1].tolist() == [0, 0, 1, 0, 0, 0, 0, 0]
    plan = matrix[:, len(BASE_FEATURES) + 2 :]
    assert plan.tolist() == [
        [0, 1, 0],
        [0, 1, 0],
        [0, 0, 1],
        [1, 0, 0],
        [0, 0, 1],
        [0, 1, 0],
        [1, 0, 0],
        [0, 0, 0],
    ]
    assert matrix.shape == (8, len(spec.names))
    assert np.isfinite(matrix).all()


@pytest.mark.parametrize(
    "value",
    [
        "2026-03-01 09:30:00.250000",  # SQLite: an aggregate of a datetime column
        dt.datetime(2026, 3, 1, 9, 30, 0, 250000),  # SQLite: a datetime column
        dt.datetime(2026, 3, 1, 10, 30, 0, 250000, tzinfo=dt.timezone(dt.timedelta(hours=1))),
    ],
)
def test_as_datetime__each_driver_form__same_aware_instant(value):
    expected = dt.datetime(2026, 3, 1, 9, 30, 0, 250000, tzinfo=dt.UTC)

    parsed = as_datetime(value)

    assert parsed == expected
    assert parsed.tzinfo is not None
    assert as_datetime(None) is None
