"""Duplicates: the suggested pairs of a workspace, and the screen that merges a pair.

The list is read by ``crmcore.selectors_duplicates`` and the merge written by
``crmcore.services_merge``. Like the other pages: a contact of another
workspace answers 404; merging needs the right to edit the kept contact and
to delete the other (``selectors.may_change`` / ``may_delete``, the pages' one
rule: admins, a rep for what they own or what nobody owns, anything in one's
own training sandbox), otherwise 403 with the reason. A contact merged with
itself is a bad request (400).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import BadRequest, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from crmcore import selectors, selectors_duplicates, services_merge
from crmcore.models import Contact
from crmcore.web.form_views import INVALID_STATUS, add_service_errors, ensure_may_change
from crmcore.web.paging import WindowPage, page_number

DUPLICATES_PER_PAGE = 25

FIELD_LABELS = {
    "first_name": "First name",
    "last_name": "Last name",
    "email": "Email",
    "phone": "Phone",
    "account": "Company",
    "owner": "Owner",
    "team": "Team",
    "lifecycle_stage": "Stage",
    "region": "Region",
    "segment": "Segment",
    "external_id": "External id",
}


class ContactDuplicatesView(LoginRequiredMixin, TemplateView):
    template_name = "crmcore/contact_duplicates.html"

    def get_context_data(self, **kwargs):
        request: Any = self.request  # the workspace middleware adds ``workspace``
        number = page_number(request.GET.get("page"))
        pairs, has_next = selectors_duplicates.contact_duplicates_slice(
            workspace=request.workspace,
            offset=(number - 1) * DUPLICATES_PER_PAGE,
            limit=DUPLICATES_PER_PAGE,
        )
        user, workspace = request.user, request.workspace
        rows = [
            {
                "pair": pair,
                "contacts": (pair.first, pair.second),
                "can_merge": selectors.may_change(user, pair.first, workspace=workspace)
                and selectors.may_delete(user, pair.second, workspace=workspace),
            }
            for pair in pairs
        ]
        page = WindowPage(object_list=rows, number=number, has_next=has_next)
        return super().get_context_data(page=page, **kwargs)


def _display(contact: Contact, name: str) -> str:
    if name == "account":
        return contact.account.name if contact.account else ""
    if name == "owner":
        owner = contact.owner
        return (owner.get_full_name() or owner.get_username()) if owner else ""
    if name == "team":
        return contact.team.name if contact.team else ""
    if name == "lifecycle_stage":
        return contact.get_lifecycle_stage_display()
    return str(getattr(contact, name) or "")


@dataclass(frozen=True)
class MergeRow:
    name: str
    label: str
    keep_value: str
    other_value: str

    @property
    def same(self) -> bool:
        return self.keep_value == self.other_value


def merge_rows(keep: Contact, other: Contact) -> list[MergeRow]:
    rows = [
        MergeRow(name, FIELD_LABELS[name], _display(keep, name), _display(other, name))
        for name, _attr in services_merge.MERGE_FIELDS
    ]
    keep_attrs, other_attrs = keep.attributes or {}, other.attributes or {}
    for key in sorted(set(keep_attrs) | set(other_attrs)):
        rows.append(
            MergeRow(
                services_merge.ATTRIBUTE_PREFIX + key,
                key.replace("_", " ").capitalize(),
                "" if keep_attrs.get(key) is None else str(keep_attrs[key]),
                "" if other_attrs.get(key) is None else str(other_attrs[key]),
            )
        )
    return rows


def _field_label(name: str) -> str:
    if name.startswith(services_merge.ATTRIBUTE_PREFIX):
        return name.removeprefix(services_merge.ATTRIBUTE_PREFIX)
    return FIELD_LABELS.get(name, name).lower()


def merge_message(entry, *, other_name: str, keep_name: str) -> str:
    """What a merge did, from its audit entry: the sentence shown after it."""
    details = entry.details
    kept_id, merged_id = details["kept_id"], details["merged_id"]
    taken = [_field_label(name) for name, pk in details["fields"].items() if pk == merged_id]
    moved = details.get("moved") or {}
    parts = [f"Merged “{other_name}” (#{merged_id}) into “{keep_name}” (#{kept_id})."]
    if taken:
        parts.append(f"Taken from #{merged_id}: {', '.join(taken)}.")
    parts.append(
        "Moved to it: " + ", ".join(f"{n} {label}" for label, n in moved.items()) + "."
        if moved
        else "Nothing else was attached to it."
    )
    return " ".join(parts)


class ContactMergeForm(forms.Form):
    """A keep/other choice for each field whose values differ, and a confirmation."""

    confirm = forms.BooleanField(
        required=True,
        error_messages={"required": "Tick the box to confirm the merge."},
    )

    def __init__(self, *args: Any, rows: list[MergeRow], defaults: dict[str, str], **kwargs: Any):
        super().__init__(*args, **kwargs)
        for row in rows:
            if not row.same:
                self.fields[row.name] = forms.ChoiceField(
                    choices=[(services_merge.KEEP, "keep"), (services_merge.OTHER, "other")],
                    initial=defaults[row.name],
                    label=row.label,
                    required=False,  # not sent: the default choice
                )

    def choices(self) -> dict[str, str]:
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if name != "confirm" and value  # empty: the service's default
        }


class ContactMergeView(LoginRequiredMixin, View):
    """``/contacts/<pk>/merge/<other_pk>/``: keep ``pk``, fold ``other_pk`` into it."""

    template_name = "crmcore/contact_merge.html"

    def pair(self, request, pk: int, other_pk: int) -> tuple[Contact, Contact]:
        if pk == other_pk:
            raise BadRequest("A contact cannot be merged with itself.")
        pair = selectors_duplicates.contact_pair_get(
            workspace=request.workspace, keep_pk=pk, other_pk=other_pk
        )
        if pair is None:
            raise Http404("No such contact")
        keep, other = pair
        ensure_may_change(request, keep)
        ensure_may_change(request, other, deleting=True)
        return keep, other

    def render_form(self, request, keep, other, form, rows, status=200):
        values = {
            row.name: (form[row.name].value() if row.name in form.fields else None) for row in rows
        }
        return render(
            request,
            self.template_name,
            {
                "keep": keep,
                "other": other,
                "form": form,
                "rows": [(row, values[row.name], form.errors.get(row.name)) for row in rows],
                "reasons": selectors_duplicates.contact_duplicate_reasons(first=keep, second=other),
                "privacy": [
                    (
                        "Opted out of marketing email",
                        keep.marketing_opt_out or other.marketing_opt_out,
                    ),
                    ("Objects to profiling", keep.do_not_profile or other.do_not_profile),
                ],
            },
            status=status,
        )

    def get(self, request, pk: int, other_pk: int):
        keep, other = self.pair(request, pk, other_pk)
        rows = merge_rows(keep, other)
        form = ContactMergeForm(rows=rows, defaults=services_merge.merge_defaults(keep, other))
        return self.render_form(request, keep, other, form, rows)

    def post(self, request, pk: int, other_pk: int):
        keep, other = self.pair(request, pk, other_pk)
        rows = merge_rows(keep, other)
        defaults = services_merge.merge_defaults(keep, other)
        form = ContactMergeForm(request.POST, rows=rows, defaults=defaults)
        if form.is_valid():
            other_name = other.full_name
            try:
                entry = services_merge.contact_merge(
                    keep=keep, other=other, choices=form.choices(), actor=request.user
                )
            except ValidationError as error:
                add_service_errors(form, error)
                keep, other = self.pair(request, pk, other_pk)  # as stored, not as half-merged
            else:
                messages.success(
                    request, merge_message(entry, other_name=other_name, keep_name=keep.full_name)
                )
                return HttpResponseRedirect(reverse("contact-detail", args=[keep.pk]))
        return self.render_form(request, keep, other, form, rows, status=INVALID_STATUS)
