"""Reads of the prediction capability. Every read takes the workspace explicitly."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from ai_features.capabilities.prediction.explain import Explanation, explanation_from_score
from ai_features.capabilities.prediction.models import (
    BiasAudit,
    ContactNextNeeds,
    ContactScore,
    ModelVersion,
    SensitiveAttribute,
)
from crmcore.models import Contact, Deal, Workspace


def model_version_list(*, workspace: Workspace) -> QuerySet[ModelVersion]:
    return (
        ModelVersion.objects.filter(workspace=workspace)
        .select_related("trained_by")
        .order_by("kind", "-number")
    )


def model_version_get(*, workspace: Workspace, pk: int) -> ModelVersion:
    """The version, or 404 (also for a version of another workspace)."""
    return get_object_or_404(ModelVersion.objects.filter(workspace=workspace), pk=pk)


def model_version_live(
    *, workspace: Workspace, kind: str = ModelVersion.Kind.CHURN
) -> ModelVersion | None:
    return ModelVersion.objects.filter(workspace=workspace, kind=kind, is_live=True).first()


def model_version_latest(
    *, workspace: Workspace, kind: str = ModelVersion.Kind.CHURN
) -> ModelVersion | None:
    return ModelVersion.objects.filter(workspace=workspace, kind=kind).order_by("-number").first()


def _in_ten(rate: float) -> int:
    """A rate as "n in 10": 10 and 0 only when exact (0.96 is 9 in 10, not all)."""
    if rate <= 0.0 or rate >= 1.0:
        return round(10 * rate)
    return min(9, max(1, round(10 * rate)))


def _window(start, end) -> str:
    if start is None or end is None:
        return ""
    if start.year == end.year:
        return f" from {start:%b} to {end:%b %Y}"
    return f" from {start:%b %Y} to {end:%b %Y}"


def model_card_summary(*, version: ModelVersion) -> str:
    """The model card's first sentence, in plain words.

    "Finds 7 in 10 customers who will leave among the 10% it ranks highest
    (3 in 10 leave overall); trained on 4,212 customers from Jan to Nov 2026."
    """
    metrics = version.metrics or {}
    if "precision_top10" not in metrics:
        return version.notes or "This version was not trained."
    if version.kind == ModelVersion.Kind.WIN:
        deals = int(metrics.get("won", 0)) + int(metrics.get("lost", 0))
        top = _in_ten(metrics["precision_top10"])
        baseline = metrics.get("auc_stage_baseline", 0.0)
        compared = "better than" if metrics["auc"] > baseline else "no better than"
        return (
            f"Among the 10% of deals it gives the best chance, {top} in 10 were won "
            f"({_in_ten(metrics.get('base_rate', 0.0))} in 10 overall); ranks deals {compared} "
            f"the stage's own win rate (AUC {metrics['auc']:.2f} against {baseline:.2f}); "
            f"trained on {deals:,} closed deals{_window(version.data_start, version.data_end)}."
        )
    trained = int(metrics.get("churned", 0)) + int(metrics.get("customers", 0))
    return (
        f"Finds {_in_ten(metrics['precision_top10'])} in 10 customers who will leave among "
        f"the 10% it ranks highest ({_in_ten(metrics.get('base_rate', 0.0))} in 10 leave "
        f"overall); trained on {trained:,} customers"
        f"{_window(version.data_start, version.data_end)}."
    )


def contact_get(*, workspace: Workspace, pk: int) -> Contact:
    return get_object_or_404(Contact.objects.in_workspace(workspace), pk=pk)


def deal_get(*, workspace: Workspace, pk: int) -> Deal:
    return get_object_or_404(Deal.objects.in_workspace(workspace), pk=pk)


def sensitive_attribute_names(*, workspace: Workspace) -> list[str]:
    return list(
        SensitiveAttribute.objects.filter(workspace=workspace).values_list("name", flat=True)
    )


def bias_audit_latest(*, version: ModelVersion) -> BiasAudit | None:
    return version.bias_audits.order_by("-created_at", "-id").first()


@dataclass(frozen=True)
class ContactPrediction:
    """What a rep sees for one contact: a score with its reasons, or why there is none."""

    contact_id: int
    available: bool
    reason: str = ""
    probability: float | None = None
    band: str = ""
    explanation: Explanation | None = None
    next_products: tuple[dict[str, Any], ...] = ()
    next_action: dict[str, Any] | None = None
    model_version: int | None = None
    scored_at: Any = None

    def as_dict(self) -> dict[str, Any]:
        if not self.available:
            return {"contact": self.contact_id, "status": "unavailable", "detail": self.reason}
        return {
            "contact": self.contact_id,
            "status": "scored",
            "churn_risk": round(self.probability or 0.0, 4),
            "band": self.band,
            "model_version": self.model_version,
            "scored_at": self.scored_at.isoformat() if self.scored_at else None,
            "explanation": self.explanation.as_dict() if self.explanation else None,
            "next_products": list(self.next_products),
            "next_action": self.next_action,
        }


def _unavailable_reason(*, workspace: Workspace, contact: Contact) -> str:
    live = model_version_live(workspace=workspace)
    if live is None:
        latest = model_version_latest(workspace=workspace)
        if latest is None:
            return "No churn model has been trained for this workspace yet."
        if latest.status == ModelVersion.Status.INSUFFICIENT:
            return latest.notes
        return (
            "No churn model is published yet: the last one did not pass the quality gate "
            f"(AUC {latest.metrics.get('auc', 0):.3f})."
        )
    if contact.lifecycle_stage != Contact.Stage.CUSTOMER:
        return "Churn risk is predicted for current customers only."
    return "This contact has not been scored yet."


def contact_prediction(*, workspace: Workspace, contact: Contact) -> ContactPrediction:
    """The contact's stored score with its explanation (one or two queries)."""
    score = (
        ContactScore.objects.filter(workspace=workspace, contact=contact)
        .select_related("model_version")
        .first()
    )
    if score is None or contact.lifecycle_stage != Contact.Stage.CUSTOMER:
        return ContactPrediction(
            contact_id=contact.pk,
            available=False,
            reason=_unavailable_reason(workspace=workspace, contact=contact),
        )
    version = score.model_version
    return ContactPrediction(
        contact_id=contact.pk,
        available=True,
        probability=score.probability,
        band=score.band,
        explanation=explanation_from_score(
            feature_names=version.feature_names,
            intercept=version.intercept,
            factors=score.factors,
            rest=score.rest,
            log_odds=score.log_odds,
            as_of=score.scored_at,
        ),
        next_products=tuple(score.next_products),
        next_action=score.next_action or None,
        model_version=version.number,
        scored_at=score.scored_at,
    )


def contact_scores_for(*, workspace: Workspace, contact_ids: list[int]) -> dict[int, ContactScore]:
    """Stored scores of a page of contacts, in one query."""
    rows = ContactScore.objects.filter(workspace=workspace, contact_id__in=contact_ids).only(
        "contact_id", "probability", "band"
    )
    return {row.contact_id: row for row in rows}


def contact_next_needs(*, workspace: Workspace, contact: Contact) -> tuple[dict[str, Any], ...]:
    """The contact's stored next needs, best first ({product_id, product, kind, reason,
    score}); empty before the next-needs job has run (one query)."""
    needs = (
        ContactNextNeeds.objects.filter(workspace=workspace, contact=contact)
        .values_list("needs", flat=True)
        .first()
    )
    return tuple(needs or ())
