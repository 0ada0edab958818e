"""django-filter FilterSets of the CRM API.

Foreign keys are filtered by id (``?team=3``) without a lookup query; an id
of another workspace simply matches nothing. Timestamps take ISO 8601
(``?created_after=2026-01-01T00:00:00Z``), so polling integrations can ask for
what is new since their last run.
"""

from __future__ import annotations

import datetime as dt

import django_filters as filters
from django import forms
from django_filters.fields import IsoDateTimeField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import filters as drf_filters
from rest_framework.exceptions import ValidationError

from crmcore import selectors
from crmcore.models import Account, Campaign, Contact, Deal, Interaction, Order, Product, Task, Team

# Ids are 64-bit signed integers (BigAutoField); a larger value is an error, not a 500.
MAX_ID = 2**63 - 1


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 time, turned into UTC.

    PostgreSQL refuses offsets past 15:59 (ISO allows up to 23:59), and a time
    near year 1 or 9999 may not exist in UTC: both are a 400, not a 500.
    """

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None or parsed.tzinfo is None:
            return parsed
        try:
            return parsed.astimezone(dt.UTC)
        except OverflowError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class UtcIsoDateTimeFilter(filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


def _after(field_name: str, help_text: str) -> UtcIsoDateTimeFilter:
    return UtcIsoDateTimeFilter(field_name=field_name, lookup_expr="gte", help_text=help_text)


def _before(field_name: str, help_text: str) -> UtcIsoDateTimeFilter:
    return UtcIsoDateTimeFilter(field_name=field_name, lookup_expr="lt", help_text=help_text)


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(filters.NumberFilter):
    """An integer id, compared without loading the related row."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


def _id(field_name: str, help_text: str) -> IdFilter:
    return IdFilter(field_name=field_name, help_text=help_text)


class SearchFilter(drf_filters.SearchFilter):
    """DRF's ``?search=``, its errors keyed by the parameter like every other 400."""

    def get_search_terms(self, request):
        try:
            return super().get_search_terms(request)
        except ValidationError as exc:
            raise ValidationError({self.search_param: exc.detail}) from None


class ContactSearchFilter(SearchFilter):
    """``?search=`` on contacts through the web search's selector (trigram indexes on PostgreSQL).

    Every term must match the contact's names, email, phone or external id,
    or its account's name (``crmcore.selectors.contact_search``): the same
    rule as DRF's search over those fields, shaped so that each condition is
    answered from an index instead of a scan of every contact.
    """

    def filter_queryset(self, request, queryset, view):
        terms = self.get_search_terms(request)
        if not terms:
            return queryset
        return selectors.contact_search(queryset, workspace=request.workspace, words=terms)


class TeamFilter(filters.FilterSet):
    name = filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Team
        fields = ["name"]


class AccountFilter(filters.FilterSet):
    name = filters.CharFilter(lookup_expr="icontains")
    domain = filters.CharFilter(lookup_expr="iexact")
    created_after = _after("created_at", "Created at or after this time.")
    updated_after = _after("updated_at", "Updated at or after this time.")

    class Meta:
        model = Account
        fields = ["name", "domain", "industry", "region", "external_id"]


class ContactFilter(filters.FilterSet):
    team = _id("team_id", "Team id.")
    owner = _id("owner_id", "Owner (user) id.")
    account = _id("account_id", "Account id.")
    email = filters.CharFilter(lookup_expr="iexact", help_text="Exact email, any case.")
    created_after = _after("created_at", "Created at or after this time.")
    updated_after = _after("updated_at", "Updated at or after this time.")

    class Meta:
        model = Contact
        fields = [
            "lifecycle_stage",
            "team",
            "owner",
            "region",
            "segment",
            "account",
            "email",
            "external_id",
        ]


class InteractionFilter(filters.FilterSet):
    contact = _id("contact_id", "Contact id.")
    author = _id("author_id", "Author (user) id.")
    occurred_after = _after("occurred_at", "Occurred at or after this time.")
    occurred_before = _before("occurred_at", "Occurred before this time.")
    created_after = _after("created_at", "Created at or after this time.")
    updated_after = _after("updated_at", "Updated at or after this time.")

    class Meta:
        model = Interaction
        fields = ["contact", "channel", "direction", "author"]


class DealFilter(filters.FilterSet):
    contact = _id("contact_id", "Contact id.")
    account = _id("account_id", "Account id.")
    owner = _id("owner_id", "Owner (user) id.")
    is_open = filters.BooleanFilter(
        field_name="stage", method="filter_is_open", help_text="Open (true) or closed (false)."
    )
    created_after = _after("created_at", "Created at or after this time.")
    updated_after = _after("updated_at", "Updated at or after this time.")
    closed_after = _after("closed_at", "Won or lost at or after this time.")

    class Meta:
        model = Deal
        fields = ["stage", "contact", "account", "owner"]

    def filter_is_open(self, queryset, name: str, value: bool):
        if value:
            return queryset.filter(stage__in=Deal.OPEN_STAGES)
        return queryset.exclude(stage__in=Deal.OPEN_STAGES)


class ProductFilter(filters.FilterSet):
    class Meta:
        model = Product
        fields = ["sku", "category"]


class OrderFilter(filters.FilterSet):
    contact = _id("contact_id", "Contact id.")
    ordered_after = _after("ordered_at", "Ordered at or after this time.")
    ordered_before = _before("ordered_at", "Ordered before this time.")
    created_after = _after("created_at", "Created at or after this time.")

    class Meta:
        model = Order
        fields = ["contact", "status", "external_id"]


class CampaignFilter(filters.FilterSet):
    created_after = _after("created_at", "Created at or after this time.")
    updated_after = _after("updated_at", "Updated at or after this time.")

    class Meta:
        model = Campaign
        fields = ["status", "goal"]


class TaskFilter(filters.FilterSet):
    contact = _id("contact_id", "Contact id.")
    deal = _id("deal_id", "Deal id.")
    done = filters.BooleanFilter(field_name="done", help_text="Done (true) or open (false).")
    due_before = filters.DateFilter(
        field_name="due_date", lookup_expr="lte", help_text="Due on or before this date."
    )

    class Meta:
        model = Task
        fields: list[str] = []
