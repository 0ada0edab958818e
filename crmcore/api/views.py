"""Viewsets of the CRM API under /api/v1/.

Thin: querysets are scoped to ``request.workspace`` (another workspace's row
answers 404), the serializers validate, and every write is one call to a
service of ``crmcore.services``. A ``ValidationError`` raised by a service
becomes a JSON 400 naming the fields.

Every list is paginated and can be sorted newest first (``?ordering=-id``,
and ``?ordering=-created_at`` where the model has it); ids are stable, so a
poller can remember the highest id or timestamp it has seen.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import serializers, viewsets
from rest_framework.filters import OrderingFilter

from crmcore import services
from crmcore.api import filters
from crmcore.api import serializers as api
from crmcore.api.permissions import InRequestWorkspace
from crmcore.models import (
    Account,
    Campaign,
    Contact,
    Deal,
    Interaction,
    Order,
    Product,
    Task,
    Team,
    Workspace,
)


@contextmanager
def service_errors() -> Iterator[None]:
    """Turn a service's Django ValidationError into a DRF 400 keyed by field."""
    try:
        yield
    except DjangoValidationError as exc:
        if hasattr(exc, "error_dict"):
            raise serializers.ValidationError(exc.message_dict) from exc
        raise serializers.ValidationError({"non_field_errors": exc.messages}) from exc


class WorkspaceModelViewSet(viewsets.ModelViewSet):
    """A model's rows in the request's workspace."""

    permission_classes = [InRequestWorkspace]
    select_related: tuple[str, ...] = ()
    prefetch_related: tuple[str, ...] = ()

    @property
    def workspace(self) -> Workspace:
        return self.request.workspace

    def get_queryset(self) -> models.QuerySet:
        queryset = self.queryset.all()
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return queryset.none()
        queryset = queryset.in_workspace(self.workspace)
        if self.select_related:
            queryset = queryset.select_related(*self.select_related)
        if self.prefetch_related:
            queryset = queryset.prefetch_related(*self.prefetch_related)
        return queryset


class TeamViewSet(viewsets.ReadOnlyModelViewSet):
    """Teams of the workspace, with their members' user ids (read-only)."""

    queryset = Team.objects.all()
    serializer_class = api.TeamSerializer
    permission_classes = [InRequestWorkspace]
    filterset_class = filters.TeamFilter
    search_fields = ["name"]
    ordering_fields = ["id", "name"]

    def get_queryset(self) -> models.QuerySet:
        if getattr(self, "swagger_fake_view", False):
            return Team.objects.none()
        return Team.objects.in_workspace(self.request.workspace).prefetch_related("members")


class AccountViewSet(WorkspaceModelViewSet):
    queryset = Account.objects.all()
    serializer_class = api.AccountSerializer
    filterset_class = filters.AccountFilter
    search_fields = ["name", "domain", "external_id"]
    ordering_fields = ["id", "name", "created_at", "updated_at"]

    def perform_create(self, serializer: api.AccountSerializer) -> None:
        with service_errors():
            serializer.instance = services.account_create(
                workspace=self.workspace, **serializer.validated_data
            )

    def perform_update(self, serializer: api.AccountSerializer) -> None:
        with service_errors():
            services.account_update(account=serializer.instance, data=serializer.validated_data)

    def perform_destroy(self, instance: Account) -> None:
        services.account_delete(account=instance, actor=self.request.user)


class ContactViewSet(WorkspaceModelViewSet):
    queryset = Contact.objects.all()
    serializer_class = api.ContactSerializer
    filterset_class = filters.ContactFilter
    filter_backends = [
        DjangoFilterBackend,
        filters.ContactSearchFilter,
        OrderingFilter,
    ]
    # What ?search= looks in (crmcore.selectors.contact_search; the schema lists them).
    search_fields = ["first_name", "last_name", "email", "phone", "external_id", "account__name"]
    ordering_fields = ["id", "last_name", "first_name", "email", "created_at", "updated_at"]

    def perform_create(self, serializer: api.ContactSerializer) -> None:
        with service_errors():
            serializer.instance = services.contact_create(
                workspace=self.workspace, **serializer.validated_data
            )

    def perform_update(self, serializer: api.ContactSerializer) -> None:
        with service_errors():
            services.contact_update(contact=serializer.instance, data=serializer.validated_data)

    def perform_destroy(self, instance: Contact) -> None:
        services.contact_delete(contact=instance, actor=self.request.user)


class InteractionViewSet(WorkspaceModelViewSet):
    """Interactions; the author of a new one is the caller."""

    queryset = Interaction.objects.all()
    serializer_class = api.InteractionSerializer
    filterset_class = filters.InteractionFilter
    search_fields = ["subject", "body"]
    ordering_fields = ["id", "occurred_at", "created_at", "updated_at"]

    def perform_create(self, serializer: api.InteractionSerializer) -> None:
        with service_errors():
            serializer.instance = services.interaction_create(
                workspace=self.workspace, author=self.request.user, **serializer.validated_data
            )

    def perform_update(self, serializer: api.InteractionSerializer) -> None:
        with service_errors():
            services.interaction_update(
                interaction=serializer.instance, data=serializer.validated_data
            )

    def perform_destroy(self, instance: Interaction) -> None:
        services.interaction_delete(interaction=instance, actor=self.request.user)


class DealViewSet(WorkspaceModelViewSet):
    """Deals; a change of ``stage`` emits ``deal.stage_changed`` and sets ``closed_at``."""

    queryset = Deal.objects.all()
    serializer_class = api.DealSerializer
    filterset_class = filters.DealFilter
    search_fields = ["name"]
    ordering_fields = ["id", "name", "amount", "expected_close", "created_at", "updated_at"]

    def perform_create(self, serializer: api.DealSerializer) -> None:
        with service_errors():
            serializer.instance = services.deal_create(
                workspace=self.workspace, **serializer.validated_data
            )

    def perform_update(self, serializer: api.DealSerializer) -> None:
        with service_errors():
            services.deal_update(deal=serializer.instance, data=serializer.validated_data)

    def perform_destroy(self, instance: Deal) -> None:
        services.deal_delete(deal=instance, actor=self.request.user)


class ProductViewSet(WorkspaceModelViewSet):
    """Products. Newest first is ``?ordering=-id`` (products have no timestamps)."""

    queryset = Product.objects.all()
    serializer_class = api.ProductSerializer
    filterset_class = filters.ProductFilter
    search_fields = ["sku", "name", "category"]
    ordering_fields = ["id", "sku", "name", "price"]

    def perform_create(self, serializer: api.ProductSerializer) -> None:
        with service_errors():
            serializer.instance = services.product_create(
                workspace=self.workspace, **serializer.validated_data
            )

    def perform_update(self, serializer: api.ProductSerializer) -> None:
        with service_errors():
            services.product_update(product=serializer.instance, data=serializer.validated_data)

    def perform_destroy(self, instance: Product) -> None:
        with service_errors():
            services.product_delete(product=instance)


def _line_inputs(lines: list[dict[str, Any]]) -> list[services.OrderLineInput]:
    return [
        services.OrderLineInput(
            product=line["product"],
            quantity=line.get("quantity", 1),
            unit_price=line.get("unit_price"),
        )
        for line in lines
    ]


class OrderViewSet(WorkspaceModelViewSet):
    """Orders with their lines; ``total`` is computed from the lines."""

    queryset = Order.objects.all()
    serializer_class = api.OrderSerializer
    filterset_class = filters.OrderFilter
    prefetch_related = ("lines",)
    search_fields = ["external_id"]
    ordering_fields = ["id", "ordered_at", "total", "created_at"]

    def perform_create(self, serializer: api.OrderSerializer) -> None:
        data = dict(serializer.validated_data)
        lines = _line_inputs(data.pop("lines"))
        with service_errors():
            serializer.instance = services.order_create(
                workspace=self.workspace, lines=lines, **data
            )

    def perform_update(self, serializer: api.OrderSerializer) -> None:
        data = dict(serializer.validated_data)
        lines = data.pop("lines", None)
        with service_errors():
            services.order_update(
                order=serializer.instance,
                data=data,
                lines=None if lines is None else _line_inputs(lines),
            )

    def perform_destroy(self, instance: Order) -> None:
        services.order_delete(order=instance)


class CampaignViewSet(WorkspaceModelViewSet):
    """Campaigns; ``created_by`` is the caller who created it."""

    queryset = Campaign.objects.all()
    serializer_class = api.CampaignSerializer
    filterset_class = filters.CampaignFilter
    search_fields = ["name", "subject_template"]
    ordering_fields = ["id", "name", "created_at", "updated_at"]

    def perform_create(self, serializer: api.CampaignSerializer) -> None:
        with service_errors():
            serializer.instance = services.campaign_create(
                workspace=self.workspace, created_by=self.request.user, **serializer.validated_data
            )

    def perform_update(self, serializer: api.CampaignSerializer) -> None:
        with service_errors():
            services.campaign_update(campaign=serializer.instance, data=serializer.validated_data)

    def perform_destroy(self, instance: Campaign) -> None:
        services.campaign_delete(campaign=instance, actor=self.request.user)


class TaskViewSet(WorkspaceModelViewSet):
    """The caller's own tasks (an admin's too: tasks are personal); ``done`` ticks one off."""

    queryset = Task.objects.all()
    serializer_class = api.TaskSerializer
    filterset_class = filters.TaskFilter
    search_fields = ["title"]
    ordering_fields = ["id", "due_date", "created_at"]

    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(owner_id=self.request.user.pk)

    def perform_create(self, serializer: api.TaskSerializer) -> None:
        data = dict(serializer.validated_data)
        done = data.pop("done", False)
        with service_errors():
            task = services.task_create(workspace=self.workspace, owner=self.request.user, **data)
            if done:
                services.task_set_done(task=task)
        serializer.instance = task

    def perform_update(self, serializer: api.TaskSerializer) -> None:
        data = dict(serializer.validated_data)
        task = serializer.instance
        with service_errors():
            if "done" in data:
                services.task_set_done(task=task, done=data.pop("done"))
            services.task_update(task=task, data=data)

    def perform_destroy(self, instance: Task) -> None:
        services.task_delete(task=instance, actor=self.request.user)
