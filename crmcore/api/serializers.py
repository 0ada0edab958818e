"""Serializers of the CRM API: field shapes and input validation only.

Writes go through ``crmcore.services`` (the viewsets call them with the
validated data). Foreign keys in input are looked up inside the request's
workspace only, so an id from another workspace fails validation with the
field named ("Invalid pk ... object does not exist.").

Contacts and interactions carry extra read-only fields from
``crmcore.extensions.providers_for(...)``: computed in bulk once per page
(once for a single object) and left out of an item when the provider returns
nothing for it.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.plumbing import force_instance
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from crmcore import extensions, json_limits, placeholders, services
from crmcore.models import (
    Account,
    Campaign,
    Contact,
    Deal,
    Interaction,
    Order,
    OrderLine,
    Product,
    Task,
    Team,
)

logger = logging.getLogger(__name__)


class WorkspaceRelatedField(serializers.PrimaryKeyRelatedField):
    """A primary key looked up in ``request.workspace`` only."""

    def get_queryset(self):
        queryset = super().get_queryset()
        request = self.context.get("request")
        if request is None:
            return queryset.none()
        return queryset.in_workspace(request.workspace)


@extend_schema_field({"type": "object", "additionalProperties": {}})
class JSONObjectField(serializers.JSONField):
    """A JSON object, bounded in keys, size and depth (``crmcore.json_limits``)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["validators"] = [*kwargs.get("validators", ()), json_limits.validate_json_object]
        super().__init__(**kwargs)


def _user_field(**kwargs: Any) -> serializers.PrimaryKeyRelatedField:
    return serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.filter(is_active=True), **kwargs
    )


# --------------------------------------------------------------------------- field providers


def provided_fields(
    model_label: str, request: Any, objects: list[models.Model]
) -> dict[int, dict[str, Any]]:
    """Ask every provider registered for ``model_label`` once for ``objects``."""
    result: dict[int, dict[str, Any]] = {}
    if request is None or not objects:
        return result
    for provider in extensions.providers_for(model_label):
        try:
            values = provider.provide(request, objects) or {}
        except Exception:  # one broken provider must not take the API down
            logger.exception("API field provider %r failed", provider.key)
            continue
        for pk, fields in values.items():
            if fields:
                result.setdefault(pk, {}).update(fields)
    return result


class ProvidedFieldsListSerializer(serializers.ListSerializer):
    """Computes the provided fields for the whole page in one call per provider."""

    def to_representation(self, data):
        objects = list(data.all() if isinstance(data, models.manager.BaseManager) else data)
        self.child.provided = provided_fields(
            self.child.provider_model_label, self.context.get("request"), objects
        )
        try:
            return [self.child.to_representation(obj) for obj in objects]
        finally:
            self.child.provided = None


class ProvidedFieldsMixin:
    """Adds the provider fields of ``provider_model_label`` to each item."""

    provider_model_label: str = ""
    provided: dict[int, dict[str, Any]] | None = None

    def to_representation(self, instance):
        representation = super().to_representation(instance)
        provided = self.provided
        if provided is None:
            provided = provided_fields(
                self.provider_model_label, self.context.get("request"), [instance]
            )
        representation.update(provided.get(instance.pk, {}))
        return representation


class ProvidedFieldsSchema(OpenApiSerializerExtension):
    """Documents the provider fields (optional, read-only) in the OpenAPI schema."""

    target_class = ProvidedFieldsMixin
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        if direction == "response":
            target = force_instance(self.target)
            for provider in extensions.providers_for(target.provider_model_label):
                for name, description in provider.schema.items():
                    schema["properties"][name] = {"readOnly": True, "description": description}
        return schema


# --------------------------------------------------------------------------- resources


class TeamSerializer(serializers.ModelSerializer):
    members = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Team
        fields = ["id", "name", "members"]


class AccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = Account
        fields = [
            "id",
            "name",
            "domain",
            "industry",
            "region",
            "external_id",
            "created_at",
            "updated_at",
        ]


class ContactSerializer(ProvidedFieldsMixin, serializers.ModelSerializer):
    provider_model_label = "crmcore.contact"

    account = WorkspaceRelatedField(queryset=Account.objects.all(), allow_null=True, required=False)
    team = WorkspaceRelatedField(queryset=Team.objects.all(), allow_null=True, required=False)
    owner = _user_field(allow_null=True, required=False)
    full_name = serializers.CharField(read_only=True)
    attributes = JSONObjectField(required=False)

    class Meta:
        model = Contact
        list_serializer_class = ProvidedFieldsListSerializer
        fields = [
            "id",
            "first_name",
            "last_name",
            "full_name",
            "email",
            "phone",
            "account",
            "owner",
            "team",
            "lifecycle_stage",
            "region",
            "segment",
            "external_id",
            "attributes",
            "marketing_opt_out",
            "do_not_profile",
            "created_at",
            "updated_at",
        ]


class InteractionSerializer(ProvidedFieldsMixin, serializers.ModelSerializer):
    provider_model_label = "crmcore.interaction"

    contact = WorkspaceRelatedField(queryset=Contact.objects.all())
    occurred_at = serializers.DateTimeField(
        required=False, help_text="When it happened; defaults to now."
    )

    class Meta:
        model = Interaction
        list_serializer_class = ProvidedFieldsListSerializer
        fields = [
            "id",
            "contact",
            "channel",
            "direction",
            "subject",
            "body",
            "occurred_at",
            "author",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["author"]


class DealSerializer(ProvidedFieldsMixin, serializers.ModelSerializer):
    provider_model_label = "crmcore.deal"

    account = WorkspaceRelatedField(queryset=Account.objects.all(), allow_null=True, required=False)
    contact = WorkspaceRelatedField(queryset=Contact.objects.all(), allow_null=True, required=False)
    owner = _user_field(allow_null=True, required=False)
    is_open = serializers.BooleanField(read_only=True)

    class Meta:
        model = Deal
        fields = [
            "id",
            "name",
            "account",
            "contact",
            "stage",
            "amount",
            "discount_percent",
            "expected_close",
            "owner",
            "is_open",
            "created_at",
            "updated_at",
            "closed_at",
        ]
        read_only_fields = ["closed_at"]
        list_serializer_class = ProvidedFieldsListSerializer


class TaskSerializer(serializers.ModelSerializer):
    contact = WorkspaceRelatedField(queryset=Contact.objects.all(), allow_null=True, required=False)
    deal = WorkspaceRelatedField(queryset=Deal.objects.all(), allow_null=True, required=False)
    owner = serializers.PrimaryKeyRelatedField(
        read_only=True, help_text="The caller, for a new task."
    )

    class Meta:
        model = Task
        fields = [
            "id",
            "title",
            "due_date",
            "owner",
            "contact",
            "deal",
            "source",
            "reason",
            "done",
            "done_at",
            "created_at",
        ]
        read_only_fields = ["source", "reason", "done_at", "created_at"]


class ProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["id", "sku", "name", "category", "price"]


class OrderLineSerializer(serializers.ModelSerializer):
    product = WorkspaceRelatedField(queryset=Product.objects.all())
    quantity = serializers.IntegerField(
        min_value=1, max_value=services.ORDER_LINE_MAX_QUANTITY, default=1
    )
    unit_price = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        required=False,
        help_text="Defaults to the product's price.",
    )

    class Meta:
        model = OrderLine
        fields = ["id", "product", "quantity", "unit_price"]


class OrderSerializer(serializers.ModelSerializer):
    contact = WorkspaceRelatedField(queryset=Contact.objects.all())
    ordered_at = serializers.DateTimeField(required=False, help_text="Defaults to now.")
    lines = OrderLineSerializer(
        many=True, help_text="On update, when given, the lines replace the old ones."
    )

    class Meta:
        model = Order
        fields = [
            "id",
            "contact",
            "ordered_at",
            "status",
            "total",
            "external_id",
            "lines",
            "created_at",
        ]
        read_only_fields = ["total"]

    def validate_lines(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not value:
            raise serializers.ValidationError("An order needs at least one line.")
        return value


class CampaignSerializer(serializers.ModelSerializer):
    audience = JSONObjectField(
        required=False, help_text='Filter on contacts, e.g. {"lifecycle_stage": "customer"}.'
    )

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "goal",
            "audience",
            "subject_template",
            "body_template",
            "status",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_by"]
        extra_kwargs = {
            "subject_template": {"help_text": placeholders.SYNTAX_SUMMARY},
            "body_template": {"help_text": placeholders.SYNTAX_SUMMARY},
        }

    def validate_subject_template(self, value: str) -> str:
        return self._template(value, subject=True)

    def validate_body_template(self, value: str) -> str:
        return self._template(value, subject=False)

    @staticmethod
    def _template(value: str, *, subject: bool) -> str:
        """The placeholder language's rules, as the web form and the admin apply them.

        Each problem names its line and column: ``Line 1, column 4: ...``.
        """
        problems = placeholders.template_problems(value, subject=subject)
        if problems:
            raise serializers.ValidationError([str(p) for p in problems])
        return value


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True)
