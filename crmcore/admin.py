"""Django admin for the CRM models.

Rows of every workspace are shown (filter by workspace on the right). Foreign
keys use autocomplete widgets, so a change page never loads a whole table.
Saving a contact, an interaction or a deal goes through ``crmcore.services``,
so the admin emits the same events (``contact.updated``, ``deal.stage_changed``,
...) as the pages and the API; a related row of another workspace is refused
by the form.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.forms.models import BaseInlineFormSet

from crmcore import placeholders, services
from crmcore.models import (
    Account,
    Campaign,
    Contact,
    Deal,
    Interaction,
    Order,
    OrderLine,
    OutboundRecord,
    OutboxEvent,
    Product,
    Team,
    Workspace,
)


class SameWorkspaceForm(forms.ModelForm):
    """Refuses related rows (account, contact, team, ...) of another workspace."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        workspace = cleaned.get("workspace")
        workspace_id = workspace.pk if workspace is not None else self.instance.workspace_id
        if workspace_id is None:
            return cleaned
        for name, value in list(cleaned.items()):
            try:
                field = self._meta.model._meta.get_field(name)
            except FieldDoesNotExist:
                continue
            if (
                isinstance(field, models.ForeignKey)
                and name != "workspace"
                and getattr(value, "workspace_id", workspace_id) != workspace_id
            ):
                self.add_error(name, "This belongs to another workspace.")
        return cleaned


class WorkspaceScopedAdmin(admin.ModelAdmin):
    """A workspace is chosen when a row is added and fixed afterwards."""

    form = SameWorkspaceForm

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "workspace"] if obj is not None else fields


def _changed(form: forms.ModelForm, allowed: frozenset[str]) -> dict[str, Any]:
    return {name: form.cleaned_data[name] for name in form.changed_data if name in allowed}


def _created(form: forms.ModelForm, allowed: frozenset[str]) -> dict[str, Any]:
    return {name: value for name, value in form.cleaned_data.items() if name in allowed}


def _adopt(obj: models.Model, saved: models.Model) -> None:
    """Make the admin's ``obj`` the row a service saved (for logging and redirects)."""
    obj.pk = saved.pk
    obj._state.adding = False
    obj.refresh_from_db()


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "owner", "seed", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name", "owner__username"]
    list_select_related = ["owner"]
    autocomplete_fields = ["owner"]
    readonly_fields = ["created_at"]


@admin.register(Team)
class TeamAdmin(WorkspaceScopedAdmin):
    list_display = ["name", "workspace", "member_count"]
    list_filter = ["workspace"]
    search_fields = ["name"]
    list_select_related = ["workspace"]
    autocomplete_fields = ["workspace", "members"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_member_count=models.Count("members"))

    @admin.display(description="Members", ordering="_member_count")
    def member_count(self, obj: Team) -> int:
        return obj._member_count


@admin.register(Account)
class AccountAdmin(WorkspaceScopedAdmin):
    list_display = ["name", "domain", "industry", "region", "workspace", "created_at"]
    list_filter = ["workspace", "region", "industry"]
    search_fields = ["name", "domain", "external_id"]
    list_select_related = ["workspace"]
    autocomplete_fields = ["workspace"]
    readonly_fields = ["created_at", "updated_at"]


@admin.register(Contact)
class ContactAdmin(WorkspaceScopedAdmin):
    list_display = [
        "full_name",
        "email",
        "account",
        "lifecycle_stage",
        "team",
        "owner",
        "region",
        "workspace",
        "created_at",
    ]
    list_filter = ["workspace", "lifecycle_stage", "region", "segment", "team"]
    search_fields = ["first_name", "last_name", "email", "phone", "external_id", "account__name"]
    list_select_related = ["account", "team", "owner", "workspace"]
    autocomplete_fields = ["workspace", "account", "owner", "team"]
    readonly_fields = ["created_at", "updated_at"]
    date_hierarchy = "created_at"

    def save_model(self, request, obj: Contact, form, change: bool) -> None:
        if change:
            contact = Contact.objects.get(pk=obj.pk)
            services.contact_update(
                contact=contact, data=_changed(form, services.CONTACT_UPDATABLE)
            )
        else:
            contact = services.contact_create(
                workspace=form.cleaned_data["workspace"],
                **_created(form, services.CONTACT_UPDATABLE),
            )
        _adopt(obj, contact)


@admin.register(Product)
class ProductAdmin(WorkspaceScopedAdmin):
    list_display = ["sku", "name", "category", "price", "workspace"]
    list_filter = ["workspace", "category"]
    search_fields = ["sku", "name", "category"]
    list_select_related = ["workspace"]
    autocomplete_fields = ["workspace"]


class OrderLineFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        for form in self.forms:
            product = form.cleaned_data.get("product") if hasattr(form, "cleaned_data") else None
            if product is not None and product.workspace_id != self.instance.workspace_id:
                form.add_error("product", "This belongs to another workspace.")


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    formset = OrderLineFormSet
    fields = ["product", "quantity", "unit_price"]
    autocomplete_fields = ["product"]
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product")


@admin.register(Order)
class OrderAdmin(WorkspaceScopedAdmin):
    list_display = ["__str__", "contact", "ordered_at", "status", "total", "workspace"]
    list_filter = ["workspace", "status"]
    search_fields = ["external_id", "contact__first_name", "contact__last_name", "contact__email"]
    list_select_related = ["contact", "workspace"]
    autocomplete_fields = ["workspace", "contact"]
    readonly_fields = ["total", "created_at"]
    date_hierarchy = "ordered_at"
    inlines = [OrderLineInline]

    def save_formset(self, request, form, formset, change: bool) -> None:
        """Lines belong to the order's workspace; the total follows the lines."""
        order = form.instance
        lines = formset.save(commit=False)
        for line in lines:
            line.workspace_id = order.workspace_id
        OrderLine.objects.bulk_create([line for line in lines if line.pk is None])
        OrderLine.objects.bulk_update(
            [line for line in lines if line.pk is not None], ["product", "quantity", "unit_price"]
        )
        for line in formset.deleted_objects:
            line.delete()
        total = sum(
            (line.quantity * line.unit_price for line in order.lines.all()),
            start=Decimal("0.00"),
        )
        Order.objects.filter(pk=order.pk).update(total=total)


@admin.register(Interaction)
class InteractionAdmin(WorkspaceScopedAdmin):
    list_display = ["__str__", "contact", "channel", "direction", "occurred_at", "workspace"]
    list_filter = ["workspace", "channel", "direction"]
    search_fields = ["subject", "body", "contact__first_name", "contact__last_name"]
    list_select_related = ["contact", "workspace"]
    autocomplete_fields = ["workspace", "contact", "author"]
    readonly_fields = ["created_at", "updated_at"]
    date_hierarchy = "occurred_at"

    def save_model(self, request, obj: Interaction, form, change: bool) -> None:
        if change:
            interaction = Interaction.objects.get(pk=obj.pk)
            services.interaction_update(
                interaction=interaction, data=_changed(form, services.INTERACTION_UPDATABLE)
            )
        else:
            interaction = services.interaction_create(
                workspace=form.cleaned_data["workspace"],
                **_created(form, services.INTERACTION_UPDATABLE),
            )
        _adopt(obj, interaction)


@admin.register(Deal)
class DealAdmin(WorkspaceScopedAdmin):
    list_display = ["name", "stage", "amount", "contact", "account", "owner", "workspace"]
    list_filter = ["workspace", "stage"]
    search_fields = ["name", "account__name", "contact__last_name", "contact__email"]
    list_select_related = ["contact", "account", "owner", "workspace"]
    autocomplete_fields = ["workspace", "account", "contact", "owner"]
    readonly_fields = ["created_at", "updated_at", "closed_at"]
    date_hierarchy = "created_at"

    def save_model(self, request, obj: Deal, form, change: bool) -> None:
        if change:
            deal = Deal.objects.get(pk=obj.pk)
            services.deal_update(deal=deal, data=_changed(form, services.DEAL_UPDATABLE))
        else:
            deal = services.deal_create(
                workspace=form.cleaned_data["workspace"],
                **_created(form, services.DEAL_UPDATABLE),
            )
        _adopt(obj, deal)


class CampaignAdminForm(SameWorkspaceForm):
    """The placeholder language's rules, as the web form and the API apply them."""

    def clean_subject_template(self) -> str:
        return placeholders.validate_template(self.cleaned_data["subject_template"], subject=True)

    def clean_body_template(self) -> str:
        return placeholders.validate_template(self.cleaned_data["body_template"])


@admin.register(Campaign)
class CampaignAdmin(WorkspaceScopedAdmin):
    form = CampaignAdminForm
    list_display = ["name", "goal", "status", "created_by", "workspace", "created_at"]
    list_filter = ["workspace", "status", "goal"]
    search_fields = ["name", "subject_template"]
    list_select_related = ["created_by", "workspace"]
    autocomplete_fields = ["workspace", "created_by"]
    readonly_fields = ["created_at", "updated_at"]

    def save_model(self, request, obj: Campaign, form, change: bool) -> None:
        if change:
            campaign = Campaign.objects.get(pk=obj.pk)
            services.campaign_update(
                campaign=campaign, data=_changed(form, services.CAMPAIGN_UPDATABLE)
            )
        else:
            campaign = services.campaign_create(
                workspace=form.cleaned_data["workspace"],
                created_by=form.cleaned_data.get("created_by"),
                **_created(form, services.CAMPAIGN_UPDATABLE),
            )
        _adopt(obj, campaign)


class _ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(OutboxEvent)
class OutboxEventAdmin(_ReadOnlyAdmin):
    list_display = ["id", "name", "workspace", "notify_subscribers", "created_at", "dispatched_at"]
    list_filter = ["name", "notify_subscribers", ("dispatched_at", admin.EmptyFieldListFilter)]
    list_select_related = ["workspace"]


@admin.register(OutboundRecord)
class OutboundRecordAdmin(_ReadOnlyAdmin):
    """What sandboxes would have sent (emails, webhooks): recorded, never sent."""

    list_display = ["created_at", "workspace", "kind", "recipient", "subject", "source"]
    list_filter = ["kind"]
    list_select_related = ["workspace"]
    search_fields = ["recipient", "subject"]
