"""/api/v1/rollout/: the AI rollout for staff (list, set a phase, the kill switch).

Registered through crmcore.extensions.api_routes. Every change needs a reason
and is written to the audit log; non-staff callers get 403.
"""

from __future__ import annotations

from decimal import Decimal

from django.urls import path
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from ai_features import selectors, services
from ai_features.models import RolloutAuditEntry
from ai_features.permissions import IsStaff
from ai_features.registry import registry


class PhaseSetSerializer(serializers.Serializer):
    phase = serializers.ChoiceField(choices=services.PHASES, required=False)
    percent = serializers.DecimalField(
        max_digits=3,
        decimal_places=1,
        min_value=Decimal("0.1"),
        max_value=Decimal("99.9"),
        required=False,
    )
    teams = serializers.ListField(child=serializers.CharField(), required=False)
    users = serializers.ListField(child=serializers.CharField(), required=False)
    reason = serializers.CharField()

    def validate(self, attrs):
        if "phase" not in attrs and "percent" not in attrs:
            raise serializers.ValidationError("Give a phase or a percent.")
        return attrs


class KillSwitchSerializer(serializers.Serializer):
    active = serializers.BooleanField()
    reason = serializers.CharField()


class _StaffApi(APIView):
    permission_classes = [IsAuthenticated, IsStaff]


def _overview_data() -> dict:
    overview = selectors.rollout_overview()
    return {
        "kill_switch": overview.kill_switch,
        "capabilities": [c.as_dict() for c in overview.capabilities],
    }


class RolloutListApi(_StaffApi):
    @extend_schema(
        summary="Every AI capability: phase, audience, pilot metrics, readiness",
        responses=inline_serializer(
            "RolloutOverview",
            {"kill_switch": serializers.BooleanField(), "capabilities": serializers.ListField()},
        ),
    )
    def get(self, request):
        return Response(_overview_data())


class RolloutPhaseSetApi(_StaffApi):
    @extend_schema(
        summary="Set a capability's phase, percent, pilot teams or users (reason required)",
        request=PhaseSetSerializer,
        responses=inline_serializer("RolloutCapability", {"key": serializers.CharField()}),
    )
    def post(self, request, key: str):
        if key not in registry:
            return Response({"detail": f"Unknown capability {key!r}."}, status=404)
        serializer = PhaseSetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            services.rollout_set_phase(
                capability=key,
                phase=data.get("phase"),
                percent=data.get("percent"),
                teams=data.get("teams"),
                users=data.get("users"),
                actor=request.user,
                reason=data["reason"],
                source=RolloutAuditEntry.Source.API,
            )
        except services.RolloutError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(selectors.capability_status(key=key))


class KillSwitchSetApi(_StaffApi):
    @extend_schema(
        summary="Pull or release the kill switch (every AI capability off)",
        request=KillSwitchSerializer,
        responses=inline_serializer("KillSwitch", {"kill_switch": serializers.BooleanField()}),
    )
    def post(self, request):
        serializer = KillSwitchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            services.rollout_kill_switch_set(
                active=serializer.validated_data["active"],
                actor=request.user,
                reason=serializer.validated_data["reason"],
                source=RolloutAuditEntry.Source.API,
            )
        except services.RolloutError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response({"kill_switch": selectors.kill_switch_is_on()})


urlpatterns = [
    path("", RolloutListApi.as_view(), name="rollout-list"),
    path("kill-switch/", KillSwitchSetApi.as_view(), name="rollout-kill-switch"),
    path("<str:key>/", RolloutPhaseSetApi.as_view(), name="rollout-phase-set"),
]
