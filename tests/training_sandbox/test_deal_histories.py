"""Generator deal histories: stage histories that hold together, outcomes that
follow the documented patterns (engagement, stalls, discounts), same seed same data."""

import datetime as dt
import itertools
from collections import defaultdict

import numpy as np
import pytest

from crmcore import factories, services
from crmcore.models import Deal, DealStageChange, Interaction
from training_sandbox.generator import generate_workspace_data
from training_sandbox.generator.deals import PATH

NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def _histories(workspace):
    moves = defaultdict(list)
    for deal_id, from_stage, to_stage, at in (
        DealStageChange.objects.filter(workspace=workspace)
        .order_by("deal_id", "changed_at", "pk")
        .values_list("deal_id", "from_stage", "to_stage", "changed_at")
    ):
        moves[deal_id].append((from_stage, to_stage, at))
    return moves


@pytest.fixture
def generated(workspace):
    generate_workspace_data(workspace=workspace, contacts=300, seed=21, now=NOW)
    return workspace


@pytest.mark.django_db
def test_deal_histories__every_deal__history_is_chronological_and_ends_in_its_stage(generated):
    deals = {d.pk: d for d in Deal.objects.filter(workspace=generated)}
    moves = _histories(generated)
    assert len(deals) > 250 and set(moves) == set(deals)
    assert sum(len(moves[pk]) == 5 for pk in deals) > 30  # lead .. negotiation, won
    for pk, deal in deals.items():
        history = moves[pk]
        assert history[0][0] == ""  # the creation
        assert history[-1][1] == deal.stage
        assert history[0][2] >= deal.created_at - dt.timedelta(seconds=1)
        for (_, to_stage, _), (from_stage, _, _) in itertools.pairwise(history):
            assert from_stage == to_stage  # each move starts where the last one ended
        if deal.stage in (Deal.Stage.WON, Deal.Stage.LOST):
            assert deal.closed_at is not None and deal.closed_at <= NOW
            assert abs((history[-1][2] - deal.closed_at).total_seconds()) < 1
        else:
            assert deal.closed_at is None
        # Won deals of deals.py went through every open stage in order (the
        # generator's older deals, backdated, only open as a lead and close).
        if deal.stage == Deal.Stage.WON and len(history) > 2:
            assert [to for _, to, _ in history] == [*PATH, Deal.Stage.WON]


@pytest.mark.django_db
def test_deal_histories__planted_patterns__engagement_and_discounts_separate_won_from_lost(
    generated,
):
    closed = list(
        Deal.objects.filter(
            workspace=generated, stage__in=(Deal.Stage.WON, Deal.Stage.LOST)
        ).values("pk", "stage", "contact_id", "created_at", "closed_at", "discount_percent")
    )
    touches = defaultdict(list)
    for contact_id, at in Interaction.objects.filter(workspace=generated).values_list(
        "contact_id", "occurred_at"
    ):
        touches[contact_id].append(at)

    def rate(d):  # interactions per 30 days while the deal was open
        days = max(1.0, (d["closed_at"] - d["created_at"]).total_seconds() / 86400)
        n = sum(d["created_at"] <= t < d["closed_at"] for t in touches[d["contact_id"]])
        return 30 * n / days

    won = [d for d in closed if d["stage"] == Deal.Stage.WON]
    lost = [d for d in closed if d["stage"] == Deal.Stage.LOST]
    assert len(won) > 40 and len(lost) > 40
    assert np.mean([rate(d) for d in won]) > 1.3 * np.mean([rate(d) for d in lost])
    deep = [float(d["discount_percent"]) >= 15 for d in closed]
    won_flags = [d["stage"] == Deal.Stage.WON for d in closed]
    deep_won = np.mean([w for w, k in zip(won_flags, deep, strict=True) if k])
    other_won = np.mean([w for w, k in zip(won_flags, deep, strict=True) if not k])
    assert deep_won < other_won


@pytest.mark.django_db
def test_deal_histories__same_seed__same_deals(workspace):
    other = factories.WorkspaceFactory()
    for ws in (workspace, other):
        generate_workspace_data(workspace=ws, contacts=60, seed=4, now=NOW)

    def summary(ws):
        return list(
            Deal.objects.filter(workspace=ws)
            .order_by("pk")
            .values_list("name", "stage", "amount", "discount_percent", "created_at")
        )

    assert summary(workspace) == summary(other)


@pytest.mark.django_db
def test_deal_services__create_and_move__write_the_stage_history(workspace):
    deal = services.deal_create(workspace=workspace, name="Pilot", stage=Deal.Stage.LEAD)
    services.deal_stage_change(deal=deal, stage=Deal.Stage.PROPOSAL)
    services.deal_stage_change(deal=deal, stage=Deal.Stage.PROPOSAL)  # no move, no row
    services.deal_stage_change(deal=deal, stage=Deal.Stage.WON)
    assert list(
        DealStageChange.objects.filter(deal=deal)
        .order_by("changed_at", "pk")
        .values_list("from_stage", "to_stage")
    ) == [("", "lead"), ("lead", "proposal"), ("proposal", "won")]
