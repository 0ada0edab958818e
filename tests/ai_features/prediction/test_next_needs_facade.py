"""PredictionFacade.next_needs: the products each contact likely needs next, with the reason."""

from __future__ import annotations

import inspect

from ai_features.capabilities.prediction.facade import NextNeed, PredictionFacade
from ai_features.capabilities.prediction.models import ContactScore
from crmcore import factories
from tests.ai_features.personalization.helpers import score_of


def test_next_needs__signature_is_the_agreed_one():
    signature = inspect.signature(PredictionFacade.next_needs)
    assert list(signature.parameters) == ["self", "workspace_id", "contact_ids"]
    assert all(
        p.kind is inspect.Parameter.KEYWORD_ONLY
        for name, p in signature.parameters.items()
        if name != "self"
    )


def test_next_needs__stored_recommendations__in_order_with_kind_and_reason(
    workspace, django_assert_num_queries
):
    ada, ben, cy = (factories.ContactFactory(workspace=workspace) for _ in range(3))
    score_of(ada, band="high", next_product="Data Connector")
    ContactScore.objects.filter(contact=ada).update(
        next_products=[
            {"id": 1, "name": "Data Connector", "score": 0.61},
            {"id": 2, "name": "Starter", "score": 0.004},
            {"id": 3, "name": "", "score": 0.5},
        ]
    )
    score_of(ben, band="low", next_product="Analytics Pro")
    ContactScore.objects.filter(contact=ben).update(next_products=[])

    with django_assert_num_queries(1):
        needs = PredictionFacade().next_needs(
            workspace_id=workspace.pk, contact_ids=[ada.pk, ben.pk, cy.pk]
        )

    assert needs == {
        ada.pk: (
            NextNeed(
                "Data Connector", "bought next by customers with the same purchases", "sequence"
            ),
            NextNeed("Starter", "one of the most bought products", "popular"),
        )
    }


def test_next_needs__other_workspace_and_no_ids__nothing(workspace):
    other = factories.WorkspaceFactory()
    stranger = factories.ContactFactory(workspace=other)
    score_of(stranger, band="low", next_product="Analytics Pro")
    facade = PredictionFacade()
    assert facade.next_needs(workspace_id=workspace.pk, contact_ids=[stranger.pk]) == {}
    assert facade.next_needs(workspace_id=workspace.pk, contact_ids=[]) == {}
