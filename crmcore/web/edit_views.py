"""Edit and delete what a rep owns: deals (all fields), interactions, and a
confirmed, audited delete for contacts, accounts, deals, interactions and
campaigns.

Who may: admins (staff) everything; a rep what they own and what nobody owns
(``selectors.may_change``); accounts are deleted by admins only. Anyone else
gets the 403 page saying so. A delete is a GET that shows what goes with the
object (``selectors.delete_impact``: its interactions, orders, scores...) and
a POST that deletes it; every delete is written to the audit log.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View

from crmcore import selectors, services
from crmcore.web.form_views import (
    INVALID_STATUS,
    ServiceFormView,
    add_service_errors,
    ensure_may_change,
)
from crmcore.web.forms import DealForm, InteractionForm


def _get(kind: str, request, pk: int):
    getter = {
        "contact": selectors.contact_get,
        "account": selectors.account_get,
        "deal": selectors.deal_get,
        "interaction": selectors.interaction_get,
        "campaign": selectors.campaign_get,
    }[kind]
    obj = getter(workspace=request.workspace, pk=pk)
    if obj is None:
        raise Http404(f"No such {kind}")
    return obj


# --------------------------------------------------------------------------- deals


class DealUpdateView(ServiceFormView):
    form_class = DealForm
    template_name = "crmcore/deal_form.html"
    success_message = "Deal {obj.name} saved."

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.deal = _get("deal", request, kwargs["pk"])
            ensure_may_change(request, self.deal)
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self):
        deal = self.deal
        return {
            "name": deal.name,
            "contact": deal.contact_id,
            "account": deal.account_id,
            "stage": deal.stage,
            "amount": deal.amount,
            "expected_close": deal.expected_close,
            "owner": deal.owner_id,
        }

    def get_form_kwargs(self):
        workspace = self.request.workspace  # type: ignore[attr-defined]
        owners = tuple(pk for pk in (self.request.user.pk, self.deal.owner_id) if pk)
        return {
            **super().get_form_kwargs(),
            "contacts": selectors.contact_choice_list(workspace=workspace),
            "accounts": selectors.account_list(workspace=workspace),
            "owners": selectors.workspace_user_list(workspace=workspace, include_ids=owners),
        }

    def get_context_data(self, **kwargs):
        return super().get_context_data(deal=self.deal, for_contact=None, **kwargs)

    def write(self, form):
        return services.deal_update(deal=self.deal, data=form.service_kwargs())

    def success_url_for(self, deal) -> str:
        return reverse("deal-detail", args=[deal.pk])


# --------------------------------------------------------------------------- interactions


class InteractionUpdateView(LoginRequiredMixin, View):
    template_name = "crmcore/interaction_form.html"

    def setup_interaction(self, request, pk):
        interaction = _get("interaction", request, pk)
        ensure_may_change(request, interaction)
        return interaction

    def get(self, request, pk):
        interaction = self.setup_interaction(request, pk)
        form = InteractionForm(
            initial={
                "channel": interaction.channel,
                "direction": interaction.direction,
                "subject": interaction.subject,
                "body": interaction.body,
                "occurred_at": interaction.occurred_at,
            }
        )
        return render(request, self.template_name, {"form": form, "interaction": interaction})

    def post(self, request, pk):
        interaction = self.setup_interaction(request, pk)
        form = InteractionForm(request.POST)
        if form.is_valid():
            data = form.service_kwargs()
            if data["occurred_at"] is None:
                data.pop("occurred_at")
            try:
                services.interaction_update(interaction=interaction, data=data)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, "Interaction saved.")
                return redirect("contact-detail", pk=interaction.contact_id)
        return render(
            request,
            self.template_name,
            {"form": form, "interaction": interaction},
            status=INVALID_STATUS,
        )


# --------------------------------------------------------------------------- delete


DELETE_SERVICES = {
    "contact": lambda obj, actor: services.contact_delete(contact=obj, actor=actor),
    "account": lambda obj, actor: services.account_delete(account=obj, actor=actor),
    "deal": lambda obj, actor: services.deal_delete(deal=obj, actor=actor),
    "interaction": lambda obj, actor: services.interaction_delete(interaction=obj, actor=actor),
    "campaign": lambda obj, actor: services.campaign_delete(campaign=obj, actor=actor),
}


def _after_delete_url(kind: str, obj) -> str:
    if kind == "interaction":
        return reverse("contact-detail", args=[obj.contact_id])
    return reverse(
        {
            "contact": "contact-list",
            "account": "contact-list",
            "deal": "deal-pipeline",
            "campaign": "campaign-list",
        }[kind]
    )


def _cancel_url(kind: str, obj) -> str:
    if kind == "interaction":
        return reverse("contact-detail", args=[obj.contact_id])
    if kind == "campaign":
        return reverse("campaign-edit", args=[obj.pk])
    return reverse(f"{kind}-detail", args=[obj.pk])


class DeleteView(LoginRequiredMixin, View):
    """``/<kind>s/<pk>/delete/``: confirm (GET) then delete (POST)."""

    kind = ""

    def get(self, request, pk):
        obj = _get(self.kind, request, pk)
        ensure_may_change(request, obj, deleting=True)
        return render(
            request,
            "crmcore/delete_confirm.html",
            {
                "object": obj,
                "kind": self.kind,
                "impact": selectors.delete_impact([obj]).sentences(),
                "cancel_url": _cancel_url(self.kind, obj),
            },
        )

    def post(self, request, pk):
        obj = _get(self.kind, request, pk)
        ensure_may_change(request, obj, deleting=True)
        label = str(obj)
        url = _after_delete_url(self.kind, obj)
        DELETE_SERVICES[self.kind](obj, request.user)
        messages.success(request, f"Deleted {self.kind} “{label}”.")
        return HttpResponseRedirect(url)


def delete_view(kind: str):
    return DeleteView.as_view(kind=kind)
