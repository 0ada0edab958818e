"""Bulk actions on the contact list: the selected contacts, one action.

The list's checkboxes post ``ids`` (at most ``BULK_MAX``) and an ``action``.
Only the contacts the user may change count (``selectors.may_change``: their
own, unowned ones; admins all); the others are left alone and the page says
how many. A delete is confirmed first, with what goes with the contacts, and
audited as one entry.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.views import View

from crmcore import selectors, services
from crmcore.models import Campaign, Contact

BULK_MAX = 500


class BulkForm(forms.Form):
    ids: forms.TypedMultipleChoiceField = forms.TypedMultipleChoiceField(coerce=int)
    action = forms.ChoiceField(
        choices=[
            ("assign_owner", "Assign to owner"),
            ("assign_team", "Move to team"),
            ("add_to_campaign", "Add to campaign"),
            ("export", "Export as CSV"),
            ("delete", "Delete"),
        ]
    )
    confirm = forms.BooleanField(required=False)
    owner = forms.IntegerField(required=False, min_value=1)
    team = forms.IntegerField(required=False, min_value=1)
    campaign = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Any number is a choice; the workspace and permissions filter them.
        raw = self.data.getlist("ids") if hasattr(self.data, "getlist") else []
        ids_field = self.fields["ids"]
        assert isinstance(ids_field, forms.TypedMultipleChoiceField)
        ids_field.choices = [(v, v) for v in raw if str(v).isdigit()]

    def clean_ids(self):
        ids = self.cleaned_data["ids"]
        if len(ids) > BULK_MAX:
            raise forms.ValidationError(f"Select at most {BULK_MAX} contacts at a time.")
        return ids


class ContactBulkView(LoginRequiredMixin, View):
    def post(self, request):
        form = BulkForm(request.POST)
        if not form.is_valid():
            errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
            return HttpResponseBadRequest(f"Bulk action refused: {errors}")
        ids = form.cleaned_data["ids"]
        action = form.cleaned_data["action"]
        if action == "export":
            query = urlencode([("ids", pk) for pk in ids])
            return HttpResponseRedirect(f"{reverse('contact-export')}?{query}")
        selected = list(
            Contact.objects.in_workspace(request.workspace)
            .select_related("owner")
            .filter(pk__in=ids)
        )
        allowed = [
            c
            for c in selected
            if selectors.may_change(request.user, c, workspace=request.workspace)
        ]
        skipped = len(selected) - len(allowed)
        back = request.POST.get("next") or ""
        back = back if back.startswith("/contacts/") else reverse("contact-list")
        if action in ("assign_owner", "assign_team"):
            return self.assign(request, form, action, allowed, skipped, back)
        if action == "add_to_campaign":
            # Adding a person to a mailing changes nothing of theirs: every
            # selected contact of the workspace counts, not only the user's own.
            return self.add_to_campaign(request, form, selected, back)
        if not form.cleaned_data["confirm"]:
            return render(
                request,
                "crmcore/bulk_delete_confirm.html",
                {
                    "contacts": allowed,
                    "skipped": skipped,
                    "impact": selectors.delete_impact(allowed).sentences(),
                    "next": back,
                },
            )
        deleted = services.objects_delete(
            workspace=request.workspace, actor=request.user, objects=allowed
        )
        text = f"Deleted {deleted} contact{'s' if deleted != 1 else ''}."
        if skipped:
            text += f" {skipped} left alone: only their owner or an administrator can delete them."
        messages.success(request, text)
        return HttpResponseRedirect(back)

    def add_to_campaign(self, request, form, contacts, back):
        pk = form.cleaned_data["campaign"]
        campaign = (
            Campaign.objects.in_workspace(request.workspace).filter(pk=pk).first() if pk else None
        )
        if campaign is None:
            return HttpResponseBadRequest(
                "Bulk action refused: choose a campaign of this workspace."
            )
        try:
            added = services.campaign_contacts_add(
                workspace=request.workspace,
                actor=request.user,
                campaign=campaign,
                contacts=contacts,
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return HttpResponseRedirect(back)
        already = len(contacts) - added
        text = f"Added {added} contact{'s' if added != 1 else ''} to the campaign {campaign.name}."
        if already:
            text += f" {already} {'was' if already == 1 else 'were'} in it already."
        messages.success(request, text)
        return HttpResponseRedirect(back)

    def assign(self, request, form, action, contacts, skipped, back):
        workspace = request.workspace
        target: Any
        if action == "assign_owner":
            pk = form.cleaned_data["owner"]
            target = (
                selectors.workspace_user_list(workspace=workspace, include_ids=(request.user.pk,))
                .filter(pk=pk)
                .first()
                if pk
                else None
            )
            field, label = "owner", "owner"
        else:
            pk = form.cleaned_data["team"]
            target = selectors.team_list(workspace=workspace).filter(pk=pk).first() if pk else None
            field, label = "team", "team"
        if target is None:
            return HttpResponseBadRequest(
                f"Bulk action refused: choose a {label} of this workspace."
            )
        changed = services.contacts_assign(
            workspace=workspace, actor=request.user, contacts=contacts, **{field: target}
        )
        name = (
            (target.get_full_name() or target.get_username()) if field == "owner" else str(target)
        )
        text = f"{changed} contact{'s' if changed != 1 else ''} now with {label} {name}."
        if skipped:
            text += f" {skipped} left alone: only their owner or an administrator can change them."
        messages.success(request, text)
        return HttpResponseRedirect(back)
