"""API of the integrations: REST hooks, CSV imports, streamed exports.

* ``/api/v1/hooks/``: subscribe (``POST {"event", "target_url"}``; the
  signing secret is returned once), list the caller's hooks, unsubscribe
  (``DELETE /api/v1/hooks/<id>/``), and each hook's delivery log.
* ``/api/v1/imports/``: upload a CSV with a kind and a mapping (or a saved
  mapping's name); the run's counts, and its rejected rows as CSV.
* ``/api/v1/exports/contacts.csv`` and ``.jsonl``: every contact of the
  workspace with the fields API providers give the caller, streamed.
"""

from __future__ import annotations

import csv
import io

from django.http import StreamingHttpResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from crmcore import events
from crmcore.api.permissions import InRequestWorkspace
from crmcore.integrations import exports, importer, selectors, services
from crmcore.integrations.models import ImportKind, ImportRun, WebhookDelivery, WebhookEndpoint
from crmcore.integrations.uploads import limit_import_uploads

# Hooks -----------------------------------------------------------------------


class WebhookEndpointSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "event",
            "target_url",
            "is_active",
            "disabled_reason",
            "consecutive_failures",
            "created_at",
        ]
        read_only_fields = ["is_active", "disabled_reason", "consecutive_failures", "created_at"]

    def validate_event(self, value: str) -> str:
        if value not in events.registered_events():
            raise serializers.ValidationError(
                f"Unknown event; one of: {', '.join(events.registered_events())}"
            )
        return value


class WebhookSubscriptionSerializer(WebhookEndpointSerializer):
    """The subscription as created: the only time its signing secret is shown."""

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = [*WebhookEndpointSerializer.Meta.read_only_fields, "secret"]


class WebhookDeliverySerializer(serializers.ModelSerializer):
    next_retry_at = serializers.DateTimeField(
        source="next_attempt_at",
        read_only=True,
        allow_null=True,
        help_text="When the next attempt is due; null once the delivery is final.",
    )

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "message_id",
            "event",
            "status",
            "attempts",
            "last_status_code",
            "last_error",
            "response_excerpt",
            "next_retry_at",
            "created_at",
            "delivered_at",
        ]
        read_only_fields = fields


class WebhookSubscriptionViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """REST hooks: one event delivered to one URL, signed per Standard Webhooks."""

    permission_classes = [InRequestWorkspace]
    serializer_class = WebhookEndpointSerializer
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI generator
            return WebhookEndpoint.objects.none()
        return selectors.webhook_endpoint_list(
            workspace=self.request.workspace, owner=self.request.user
        )

    def get_serializer_class(self):
        if self.action == "create":
            return WebhookSubscriptionSerializer
        if self.action == "deliveries":
            return WebhookDeliverySerializer
        return WebhookEndpointSerializer

    @extend_schema(summary="Subscribe a URL to an event", tags=["hooks"])
    def create(self, request, *args, **kwargs):
        serializer = WebhookEndpointSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            endpoint = services.webhook_subscribe(
                workspace=request.workspace,
                owner=request.user,
                event=serializer.validated_data["event"],
                target_url=serializer.validated_data["target_url"],
            )
        except services.HookError as exc:
            raise serializers.ValidationError({"target_url": [str(exc)]}) from None
        return Response(
            WebhookSubscriptionSerializer(endpoint).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(summary="The caller's hooks, newest first", tags=["hooks"])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(summary="One hook", tags=["hooks"])
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(summary="Unsubscribe", tags=["hooks"])
    def destroy(self, request, *args, **kwargs):
        return super().destroy(request, *args, **kwargs)

    def perform_destroy(self, instance: WebhookEndpoint) -> None:
        services.webhook_unsubscribe(endpoint=instance)

    @extend_schema(
        summary="The hook's delivery log, newest first",
        tags=["hooks"],
        responses=WebhookDeliverySerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        endpoint = self.get_object()
        page = self.paginate_queryset(selectors.webhook_delivery_list(endpoint=endpoint))
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)


# Imports ---------------------------------------------------------------------


class ImportRunSerializer(serializers.ModelSerializer):
    progress_percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = ImportRun
        fields = [
            "id",
            "kind",
            "file_name",
            "dry_run",
            "notify_subscribers",
            "status",
            "error",
            "encoding",
            "delimiter",
            "delimiter_detected",
            "total_rows",
            "processed_rows",
            "progress_percent",
            "created",
            "updated",
            "unchanged",
            "rejected",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields


class ImportRunCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ImportKind.choices)
    file = serializers.FileField()
    mapping = serializers.CharField(required=False, help_text="The mapping as JSON text.")
    mapping_name = serializers.CharField(required=False, help_text="A saved mapping's name.")
    dry_run = serializers.BooleanField(required=False, default=False)
    notify_subscribers = serializers.BooleanField(
        required=False,
        default=True,
        help_text="False: webhooks hear nothing of the imported records (analysis still runs).",
    )

    def validate_file(self, upload):
        try:
            services.import_upload_check(upload)
        except importer.ImportInputError as exc:
            raise serializers.ValidationError(str(exc)) from None
        return upload

    def validate(self, attrs):
        if bool(attrs.get("mapping")) == bool(attrs.get("mapping_name")):
            raise serializers.ValidationError("Give either mapping or mapping_name")
        return attrs


class ImportRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """CSV imports of accounts, contacts, interactions and orders."""

    permission_classes = [InRequestWorkspace]
    serializer_class = ImportRunSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    filter_backends: list = []

    def initialize_request(self, request, *args, **kwargs):
        if request.method == "POST":
            limit_import_uploads(request)  # before anything reads the body
        return super().initialize_request(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI generator
            return ImportRun.objects.none()
        return selectors.import_run_list(workspace=self.request.workspace)

    @extend_schema(
        summary="Import a CSV file",
        tags=["imports"],
        request={"multipart/form-data": ImportRunCreateSerializer},
        responses={201: ImportRunSerializer},
    )
    def create(self, request, *args, **kwargs):
        form = ImportRunCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        mapping = data.get("mapping")
        if data.get("mapping_name"):
            saved = selectors.import_mapping_get(
                workspace=request.workspace, name=data["mapping_name"]
            )
            if saved is None:
                raise serializers.ValidationError({"mapping_name": ["No mapping with this name"]})
            mapping = saved.mapping
        try:
            run = services.import_run_create(
                workspace=request.workspace,
                kind=data["kind"],
                upload=data["file"],
                mapping=mapping,
                dry_run=data["dry_run"],
                notify_subscribers=data["notify_subscribers"],
                user=request.user,
            )
        except importer.ImportInputError as exc:
            raise serializers.ValidationError({"mapping": [str(exc)]}) from None
        run.refresh_from_db()
        return Response(ImportRunSerializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Import runs, newest first", tags=["imports"])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(summary="One import run and its counts", tags=["imports"])
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        summary="The rejected rows as CSV (line, reason)",
        tags=["imports"],
        responses={(200, "text/csv"): OpenApiTypes.STR},
    )
    @action(detail=True, methods=["get"], url_path="errors")
    def errors(self, request, pk=None):
        return error_report_response(self.get_object())


def error_report_response(run: ImportRun) -> StreamingHttpResponse:
    def rows():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["line", "reason"])
        for error in selectors.import_row_errors(run=run):
            writer.writerow([error.line, error.reason])
            if buffer.tell() > 16_384:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{run.pk}-errors.csv"'
    return response


# Exports ---------------------------------------------------------------------


class _ContactExportApi(APIView):
    permission_classes = [InRequestWorkspace]
    export_format = "csv"

    def get(self, request):
        stream, content_type = exports.FORMATS[self.export_format]
        workspace = request.workspace
        response = StreamingHttpResponse(
            stream(request=request, workspace=workspace), content_type=content_type
        )
        response["Content-Disposition"] = f'attachment; filename="contacts.{self.export_format}"'
        return response


class ContactExportCsvApi(_ContactExportApi):
    export_format = "csv"

    @extend_schema(
        summary="Every contact as CSV, with the AI fields the caller may see",
        operation_id="v1_exports_contacts_csv",
        tags=["exports"],
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR)},
    )
    def get(self, request):
        return super().get(request)


class ContactExportJsonlApi(_ContactExportApi):
    export_format = "jsonl"

    @extend_schema(
        summary="Every contact as JSON Lines, with the AI fields the caller may see",
        operation_id="v1_exports_contacts_jsonl",
        tags=["exports"],
        responses={(200, "application/x-ndjson"): OpenApiResponse(OpenApiTypes.STR)},
    )
    def get(self, request):
        return super().get(request)


export_urlpatterns = [
    path("contacts.csv", ContactExportCsvApi.as_view(), name="export-contacts-csv"),
    path("contacts.jsonl", ContactExportJsonlApi.as_view(), name="export-contacts-jsonl"),
]
