"""REST API of the sentiment capability, under /api/v1/ai/sentiment/.

Every view asks the gate through CapabilityPermission (403 with a plain reason
when the capability is off for the caller); the API fields on interactions
and contacts ask it in their provider.
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from ai_features.capabilities.sentiment import selectors, services
from ai_features.capabilities.sentiment.analysis import TONES
from ai_features.capabilities.sentiment.conf import app_settings
from ai_features.permissions import CapabilityPermission
from crmcore.extensions import ApiFieldProvider


class AnalyzeInputSerializer(serializers.Serializer):
    text = serializers.CharField(allow_blank=False, trim_whitespace=False)

    def validate_text(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("This field may not be blank.")
        limit = app_settings.API_MAX_TEXT_LENGTH
        if len(value) > limit:
            raise serializers.ValidationError(
                f"Ensure this field has no more than {limit} characters."
            )
        return value


class AnalyzeOutputSerializer(serializers.Serializer):
    polarity = serializers.FloatField()
    subjectivity = serializers.FloatField()
    tone = serializers.ChoiceField(choices=TONES)
    explanation = serializers.ListField(child=serializers.DictField())


class SentimentAnalyzeApi(APIView):
    """Analyse a text: polarity, subjectivity, tone and the words that moved them."""

    permission_classes = [IsAuthenticated, CapabilityPermission]
    capability = "sentiment"

    @extend_schema(request=AnalyzeInputSerializer, responses=AnalyzeOutputSerializer)
    def post(self, request):
        serializer = AnalyzeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.sentiment_analyze_text(
            text=serializer.validated_data["text"], workspace=request.workspace
        )
        return Response(result.as_dict())


class ToneCorrectionInputSerializer(serializers.Serializer):
    tone = serializers.ChoiceField(choices=TONES)


class ToneCorrectionCreateApi(APIView):
    """Correct (or confirm) the tone of an interaction of the caller's workspace."""

    permission_classes = [IsAuthenticated, CapabilityPermission]
    capability = "sentiment"

    @extend_schema(
        request=ToneCorrectionInputSerializer,
        responses={
            201: inline_serializer(
                "ToneCorrection",
                {
                    "interaction": serializers.IntegerField(),
                    "from_tone": serializers.CharField(),
                    "to_tone": serializers.CharField(),
                    "corrected_by": serializers.CharField(),
                    "created_at": serializers.DateTimeField(),
                },
            )
        },
    )
    def post(self, request, interaction_id: int):
        interaction = selectors.interaction_get(
            workspace=request.workspace, interaction_id=interaction_id
        )
        serializer = ToneCorrectionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        correction = services.tone_correction_create(
            workspace=request.workspace,
            interaction=interaction,
            to_tone=serializer.validated_data["tone"],
            user=request.user,
        )
        return Response(
            {
                "interaction": interaction.pk,
                "from_tone": correction.from_tone,
                "to_tone": correction.to_tone,
                "corrected_by": request.user.get_username(),
                "created_at": correction.created_at,
            },
            status=status.HTTP_201_CREATED,
        )


urlpatterns = [
    path("analyze", SentimentAnalyzeApi.as_view(), name="sentiment-analyze"),
    path(
        "interactions/<int:interaction_id>/correction",
        ToneCorrectionCreateApi.as_view(),
        name="sentiment-correction",
    ),
]


def provide_interaction_fields(request, objects) -> dict[int, dict]:
    """Sentiment fields of a page of interactions (the registry puts the gate in front)."""
    return selectors.interaction_fields(
        workspace=request.workspace, interaction_ids=[obj.pk for obj in objects]
    )


def provide_contact_fields(request, objects) -> dict[int, dict]:
    """Sentiment fields of a page of contacts (the registry puts the gate in front)."""
    return selectors.contact_fields(
        workspace=request.workspace, contact_ids=[obj.pk for obj in objects]
    )


INTERACTION_FIELDS = ApiFieldProvider(
    key="sentiment.interaction",
    model_label="crmcore.interaction",
    provide=provide_interaction_fields,
    schema={
        "sentiment_polarity": "Polarity of the text, -1 (negative) to 1 (positive).",
        "sentiment_subjectivity": "Subjectivity of the text, 0 (factual) to 1 (opinion).",
        "sentiment_tone": "positive, neutral, negative, frustrated or urgent.",
    },
)
CONTACT_FIELDS = ApiFieldProvider(
    key="sentiment.contact",
    model_label="crmcore.contact",
    provide=provide_contact_fields,
    schema={
        "sentiment_tone": "Tone of the contact's latest analysed interaction.",
        "sentiment_mean_polarity": "Mean polarity of the contact's analysed interactions.",
        "sentiment_alert": "Whether the contact's recent tone fell below their baseline.",
    },
)
