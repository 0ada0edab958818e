"""REST API of the personalization capability, under /api/v1/ai/personalization/.

Every view uses CapabilityPermission: where personalization is off for the
caller (or the kill switch is on) it answers 403 with a plain reason. The
mail merge without AI stays on the campaign builder page.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.urls import path, reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from ai_features.capabilities.personalization import selectors, services
from ai_features.capabilities.personalization.conf import app_settings
from ai_features.capabilities.personalization.facts import access_for
from ai_features.capabilities.personalization.models import CampaignMessage
from ai_features.permissions import CapabilityPermission

PREVIEW_MAX = 20


class PersonalizationApi(APIView):
    capability = "personalization"
    permission_classes = [IsAuthenticated, CapabilityPermission]

    def campaign(self, request, pk: int):
        return selectors.campaign_get(workspace=request.workspace, pk=pk)

    def access(self, request):
        return access_for(user=request.user, workspace=request.workspace)


def _error(exc: Exception) -> Response:
    if isinstance(exc, ValidationError):
        detail: Any = exc.message_dict if hasattr(exc, "message_dict") else exc.messages
    else:
        detail = str(exc)
    return Response({"detail": detail}, status=status.HTTP_400_BAD_REQUEST)


def message_data(message) -> dict[str, Any]:
    return {
        "id": message.pk,
        "contact": message.contact_id,
        "contact_name": message.contact.full_name,
        "subject": message.subject,
        "body": message.body,
        "personalized": message.personalized,
        "facts": [f"{f['label']}: {f['text']}" for f in message.facts],
        "unused": [f"{u['label']}: not used — {u['reason']}" for u in message.unused],
        "channel": message.channel,
        "best_hour": message.best_hour,
        "apology_first": message.apology_first,
        "edited": message.edited,
        "status": message.status,
        "problems": message.problem_list,
    }


def job_data(job) -> dict[str, Any]:
    return {
        "id": job.pk,
        "name": job.name,
        "status": job.status,
        "done": job.done,
        "total": job.total,
        "message": job.message,
        "result": job.result,
        "started_at": job.started_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


class CampaignPreviewApi(PersonalizationApi):
    @extend_schema(
        parameters=[OpenApiParameter("limit", int, description=f"Sample size (1-{PREVIEW_MAX}).")],
        responses=OpenApiTypes.OBJECT,
        summary="A sample of a campaign's tailored messages with the facts each used",
    )
    def get(self, request, pk: int):
        campaign = self.campaign(request, pk)
        try:
            limit = int(request.query_params.get("limit") or app_settings.PREVIEW_SIZE)
        except ValueError:
            limit = app_settings.PREVIEW_SIZE
        preview = selectors.campaign_preview(
            workspace=request.workspace,
            campaign=campaign,
            access=self.access(request),
            limit=max(1, min(PREVIEW_MAX, limit)),
        )
        return Response(
            {
                "campaign": campaign.pk,
                "audience_size": preview.audience_size,
                "ignored_filters": list(preview.ignored),
                "messages": [m.as_dict() for m in preview.messages],
            }
        )


class CampaignBuildApi(PersonalizationApi):
    @extend_schema(
        request=None,
        responses={202: OpenApiTypes.OBJECT},
        summary="Build every message of the audience as a background job",
    )
    def post(self, request, pk: int):
        campaign = self.campaign(request, pk)
        if campaign.status not in ("draft", "approved"):
            return _error(services.CampaignError(f"A {campaign.status} campaign is not rebuilt."))
        services.campaign_build_queue(campaign=campaign, user=request.user)
        return Response(
            {
                "status": "queued",
                "jobs": reverse("personalization-api-campaign-jobs", args=[campaign.pk]),
            },
            status=status.HTTP_202_ACCEPTED,
        )


class CampaignJobsApi(PersonalizationApi):
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="Build and send jobs with their progress")
    def get(self, request, pk: int):
        campaign = self.campaign(request, pk)
        jobs = selectors.campaign_jobs(workspace=request.workspace, campaign=campaign)
        return Response({"results": [job_data(j) for j in jobs]})


class CampaignMessageListApi(PersonalizationApi):
    @extend_schema(
        parameters=[OpenApiParameter("page", int)],
        responses=OpenApiTypes.OBJECT,
        summary="The built messages of a campaign, a page at a time",
    )
    def get(self, request, pk: int):
        campaign = self.campaign(request, pk)
        items = selectors.campaign_messages(workspace=request.workspace, campaign=campaign)
        page = Paginator(items, app_settings.MESSAGES_PER_PAGE).get_page(
            request.query_params.get("page")
        )
        return Response(
            {
                "count": page.paginator.count,
                "page": page.number,
                "pages": page.paginator.num_pages,
                "results": [message_data(m) for m in page.object_list],
            }
        )


class MessageEditSerializer(serializers.Serializer):
    subject = serializers.CharField(max_length=250, allow_blank=True, default="")
    body = serializers.CharField()


class CampaignMessageApi(PersonalizationApi):
    @extend_schema(
        request=MessageEditSerializer, responses=OpenApiTypes.OBJECT, summary="Edit one message"
    )
    def patch(self, request, pk: int, message_pk: int):
        campaign = self.campaign(request, pk)
        message = selectors.campaign_message_get(
            workspace=request.workspace, campaign=campaign, pk=message_pk
        )
        serializer = MessageEditSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            services.campaign_message_edit(
                message=message, user=request.user, **serializer.validated_data
            )
        except (ValidationError, services.CampaignError) as exc:
            return _error(exc)
        return Response(message_data(message))


class CampaignApproveApi(PersonalizationApi):
    @extend_schema(
        request=None, responses=OpenApiTypes.OBJECT, summary="Approve the built messages"
    )
    def post(self, request, pk: int):
        campaign = self.campaign(request, pk)
        try:
            services.campaign_approve(campaign=campaign, user=request.user)
        except services.CampaignError as exc:
            return _error(exc)
        return Response({"campaign": campaign.pk, "status": campaign.status})


class CampaignSendApi(PersonalizationApi):
    @extend_schema(
        request=None,
        responses={202: OpenApiTypes.OBJECT},
        summary="Send an approved campaign (from a sandbox: recorded, never sent)",
    )
    def post(self, request, pk: int):
        campaign = self.campaign(request, pk)
        try:
            done = services.campaign_send_start(campaign=campaign, user=request.user)
        except services.CampaignError as exc:
            return _error(exc)
        return Response(
            {
                "status": "queued",
                "queued": done.queued,
                "skipped": done.skipped,
                "jobs": reverse("personalization-api-campaign-jobs", args=[campaign.pk]),
            },
            status=status.HTTP_202_ACCEPTED,
        )


class MessageOpenedApi(PersonalizationApi):
    """For the email backend's webhook: a campaign message was opened."""

    @extend_schema(
        request=None,
        responses={200: OpenApiTypes.OBJECT},
        summary="Report a sent campaign message opened (from the email backend's webhook)",
    )
    def post(self, request, pk: int):
        message = CampaignMessage.objects.filter(workspace=request.workspace, pk=pk).first()
        if message is None:
            raise Http404("No such message")
        try:
            first = services.campaign_message_opened(message=message)
        except services.CampaignError as exc:
            return _error(exc)
        return Response({"message": message.pk, "first_open": first})


class ReplyDecisionSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=list(services.REPLY_ACTIONS))
    body = serializers.CharField(required=False, allow_blank=True, default="")


class SuggestedReplyApi(PersonalizationApi):
    def interaction(self, request, pk: int):
        return selectors.interaction_get(workspace=request.workspace, pk=pk)

    @extend_schema(
        responses=OpenApiTypes.OBJECT, summary="The reply suggested for an inbound interaction"
    )
    def get(self, request, pk: int):
        interaction = self.interaction(request, pk)
        if interaction.direction != "in":
            return _error(ValidationError("Replies are suggested for inbound messages only."))
        suggestion = selectors.suggested_reply(
            workspace=request.workspace,
            interaction=interaction,
            user=request.user,
            access=self.access(request),
        )
        decision = selectors.suggested_reply_decision(user=request.user, interaction=interaction)
        return Response(
            {
                "interaction": interaction.pk,
                **suggestion.as_dict(),
                "decision": decision.status if decision else None,
            }
        )

    @extend_schema(
        request=ReplyDecisionSerializer,
        responses={201: OpenApiTypes.OBJECT},
        summary="Send (by email), save as draft or dismiss the suggested reply",
    )
    def post(self, request, pk: int):
        interaction = self.interaction(request, pk)
        serializer = ReplyDecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        suggestion = selectors.suggested_reply(
            workspace=request.workspace,
            interaction=interaction,
            user=request.user,
            access=self.access(request),
        )
        try:
            decision = services.suggested_reply_decide(
                workspace=request.workspace,
                user=request.user,
                interaction=interaction,
                suggestion=suggestion,
                **serializer.validated_data,
            )
        except (ValidationError, services.CampaignError) as exc:
            return _error(exc)
        return Response(
            {
                "id": decision.pk,
                "status": decision.status,
                "reply_interaction": decision.reply_id,
                "body": decision.final_body,
            },
            status=status.HTTP_201_CREATED,
        )


urlpatterns = [
    path(
        "messages/<int:pk>/opened/",
        MessageOpenedApi.as_view(),
        name="personalization-api-message-opened",
    ),
    path(
        "campaigns/<int:pk>/preview/",
        CampaignPreviewApi.as_view(),
        name="personalization-api-campaign-preview",
    ),
    path(
        "campaigns/<int:pk>/build/",
        CampaignBuildApi.as_view(),
        name="personalization-api-campaign-build",
    ),
    path(
        "campaigns/<int:pk>/jobs/",
        CampaignJobsApi.as_view(),
        name="personalization-api-campaign-jobs",
    ),
    path(
        "campaigns/<int:pk>/messages/",
        CampaignMessageListApi.as_view(),
        name="personalization-api-campaign-messages",
    ),
    path(
        "campaigns/<int:pk>/messages/<int:message_pk>/",
        CampaignMessageApi.as_view(),
        name="personalization-api-campaign-message",
    ),
    path(
        "campaigns/<int:pk>/approve/",
        CampaignApproveApi.as_view(),
        name="personalization-api-campaign-approve",
    ),
    path(
        "campaigns/<int:pk>/send/",
        CampaignSendApi.as_view(),
        name="personalization-api-campaign-send",
    ),
    path(
        "interactions/<int:pk>/suggested-reply/",
        SuggestedReplyApi.as_view(),
        name="personalization-api-suggested-reply",
    ),
]
