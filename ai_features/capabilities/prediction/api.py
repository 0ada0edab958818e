"""REST API of the prediction capability, under /api/v1/prediction/.

Every view uses CapabilityPermission (403 with a plain reason when the
capability is off for the caller); retraining, publishing and bias audits are
for admins (staff) as well.
"""

from __future__ import annotations

from typing import Any

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAdminUser, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from ai_features.capabilities.prediction import selectors
from ai_features.capabilities.prediction.deal_selectors import (
    deal_prediction,
    deal_scores_for,
    forecast,
)
from ai_features.capabilities.prediction.explain import feature_label
from ai_features.capabilities.prediction.services import (
    model_version_publish,
    suggestion_feedback_record,
)
from ai_features.permissions import CapabilityPermission
from ai_features.scheduling import job_queue


class PredictionApi(APIView):
    capability = "prediction"
    permission_classes = [IsAuthenticated, CapabilityPermission]


class PredictionAdminApi(PredictionApi):
    permission_classes = [IsAuthenticated, CapabilityPermission, IsAdminUser]


def version_summary(version) -> dict[str, Any]:
    return {
        "id": version.pk,
        "number": version.number,
        "status": version.status,
        "is_live": version.is_live,
        "trained_at": version.trained_at.isoformat(),
        "as_of": version.as_of.isoformat(),
        "auc": version.metrics.get("auc"),
        "notes": version.notes,
    }


def version_card(version) -> dict[str, Any]:
    return {
        **version_summary(version),
        "data_window": {
            "start": version.data_start.isoformat() if version.data_start else None,
            "end": version.data_end.isoformat() if version.data_end else None,
        },
        "features": [
            {"name": feature_label(name), "key": name, "coefficient": coef}
            for name, coef in zip(version.feature_names, version.coefficients, strict=False)
        ],
        "intercept": version.intercept,
        "metrics": version.metrics,
    }


class ContactPredictionApi(PredictionApi):
    @extend_schema(
        responses=OpenApiTypes.OBJECT,
        summary=(
            "Churn risk, its factors, next needs (every contact), next products and next "
            "action of a contact"
        ),
    )
    def get(self, request, pk: int):
        contact = selectors.contact_get(workspace=request.workspace, pk=pk)
        prediction = selectors.contact_prediction(workspace=request.workspace, contact=contact)
        needs = selectors.contact_next_needs(workspace=request.workspace, contact=contact)
        return Response(
            {
                **prediction.as_dict(),
                "next_needs": [
                    {key: need[key] for key in ("product_id", "product", "kind", "reason")}
                    for need in needs
                ],
            }
        )


class FeedbackSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["product", "action"])
    action = serializers.ChoiceField(choices=["accepted", "dismissed"])
    item = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ContactFeedbackApi(PredictionApi):
    @extend_schema(
        request=FeedbackSerializer,
        responses={201: OpenApiTypes.OBJECT},
        summary="Accept or dismiss a next product or next action",
    )
    def post(self, request, pk: int):
        contact = selectors.contact_get(workspace=request.workspace, pk=pk)
        serializer = FeedbackSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        event = suggestion_feedback_record(
            user=request.user,
            workspace=request.workspace,
            contact=contact,
            **serializer.validated_data,
        )
        return Response({"id": event.pk, "action": event.action}, status=status.HTTP_201_CREATED)


class ModelVersionListApi(PredictionApi):
    @extend_schema(
        operation_id="prediction_models_list",
        responses=OpenApiTypes.OBJECT,
        summary="The workspace's churn model versions",
    )
    def get(self, request):
        versions = selectors.model_version_list(workspace=request.workspace)
        return Response({"results": [version_summary(v) for v in versions]})


class ModelVersionCardApi(PredictionApi):
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="A model version's card")
    def get(self, request, pk: int):
        version = selectors.model_version_get(workspace=request.workspace, pk=pk)
        return Response(version_card(version))


class ModelVersionPublishApi(PredictionAdminApi):
    @extend_schema(request=None, responses=OpenApiTypes.OBJECT, summary="Make a version live")
    def post(self, request, pk: int):
        version = selectors.model_version_get(workspace=request.workspace, pk=pk)
        try:
            model_version_publish(version=version, user=request.user)
        except ValueError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(version_summary(version))


class ModelRetrainApi(PredictionAdminApi):
    @extend_schema(
        request=None,
        responses={202: OpenApiTypes.OBJECT},
        summary="Retrain and rescore the workspace",
    )
    def post(self, request):
        decision = job_queue(
            "prediction", "retrain_and_score", workspace=request.workspace, user_id=request.user.pk
        )
        if not decision:
            return Response({"detail": decision.reason}, status=status.HTTP_409_CONFLICT)
        return Response({"status": "queued"}, status=status.HTTP_202_ACCEPTED)


class BiasAuditApi(PredictionAdminApi):
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="The latest bias audit of a version")
    def get(self, request, pk: int):
        version = selectors.model_version_get(workspace=request.workspace, pk=pk)
        audit = selectors.bias_audit_latest(version=version)
        if audit is None:
            return Response({"version": version.number, "audit": None})
        return Response(
            {
                "version": version.number,
                "audit": {
                    "created_at": audit.created_at.isoformat(),
                    "threshold": audit.threshold,
                    "groups": audit.groups,
                    "warnings": audit.warnings,
                },
            }
        )


class DealPredictionApi(PredictionApi):
    @extend_schema(
        responses=OpenApiTypes.OBJECT,
        summary="A deal's chance to win and the factors behind it",
    )
    def get(self, request, pk: int):
        deal = selectors.deal_get(workspace=request.workspace, pk=pk)
        prediction = deal_prediction(workspace=request.workspace, deal=deal)
        if not prediction.available:
            return Response({"deal": deal.pk, "win_probability": None, "reason": prediction.reason})
        return Response(
            {
                "deal": deal.pk,
                "win_probability": round(prediction.probability, 4),
                "model_version": prediction.version,
                "scored_at": prediction.scored_at.isoformat() if prediction.scored_at else None,
                "explanation": prediction.explanation.as_dict() if prediction.explanation else None,
            }
        )


class ForecastApi(PredictionApi):
    @extend_schema(
        responses=OpenApiTypes.OBJECT,
        summary="Expected revenue of open deals by close month and stage, with calibration",
    )
    def get(self, request):
        result = forecast(workspace=request.workspace)

        def rows(items):
            return [
                {
                    "label": r.label,
                    "deals": r.deals,
                    "pipeline": str(r.pipeline),
                    "expected": round(r.expected, 2),
                }
                for r in items
            ]

        return Response(
            {
                "expected_total": round(result.expected_total, 2),
                "pipeline_total": str(result.pipeline_total),
                "unscored_open_deals": result.unscored,
                "by_month": rows(result.by_month),
                "by_stage": rows(result.by_stage),
                "calibration": result.calibration,
                "holdout_reliability": result.holdout_reliability,
                "model_version": result.version,
            }
        )


urlpatterns = [
    path("deals/<int:pk>/", DealPredictionApi.as_view(), name="prediction-deal"),
    path("forecast/", ForecastApi.as_view(), name="prediction-forecast"),
    path("contacts/<int:pk>/", ContactPredictionApi.as_view(), name="prediction-contact"),
    path(
        "contacts/<int:pk>/feedback/",
        ContactFeedbackApi.as_view(),
        name="prediction-contact-feedback",
    ),
    path("models/", ModelVersionListApi.as_view(), name="prediction-model-list"),
    path("models/retrain/", ModelRetrainApi.as_view(), name="prediction-model-retrain"),
    path("models/<int:pk>/", ModelVersionCardApi.as_view(), name="prediction-model-card"),
    path(
        "models/<int:pk>/publish/",
        ModelVersionPublishApi.as_view(),
        name="prediction-model-publish",
    ),
    path("models/<int:pk>/bias/", BiasAuditApi.as_view(), name="prediction-bias-audit"),
]


def provide_contact_fields(request, objects: list) -> dict[int, dict[str, Any]]:
    """``churn_risk`` and ``churn_band`` on API contacts, in one query (the gate is in front)."""
    scores = selectors.contact_scores_for(
        workspace=request.workspace, contact_ids=[o.pk for o in objects]
    )
    fields: dict[int, dict[str, Any]] = {}
    for obj in objects:
        score = scores.get(obj.pk)
        fields[obj.pk] = {
            "churn_risk": round(score.probability, 4) if score else None,
            "churn_band": score.band if score else None,
        }
    return fields


def provide_deal_fields(request, objects: list) -> dict[int, dict[str, Any]]:
    """``win_probability`` on API deals (open ones that are scored), in one query."""
    scores = deal_scores_for(
        workspace=request.workspace, deal_ids=[o.pk for o in objects if o.is_open]
    )
    return {
        obj.pk: {
            "win_probability": round(scores[obj.pk].probability, 4) if obj.pk in scores else None
        }
        for obj in objects
    }
