"""The CRM's write pages: create and edit contacts, accounts, deals and campaigns.

Thin like the read pages: a form validates what was typed, one service of
``crmcore.services`` writes it (never ``model.save()`` here), choices and
objects come from ``crmcore.selectors`` scoped to ``request.workspace``. An
object of another workspace answers 404; a foreign key pointing into another
workspace is not one of the form's choices. Invalid input re-renders the form
with the user's values and its errors, with status 400.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import FormView, TemplateView

from crmcore import extensions, placeholders, selectors, services
from crmcore.models import Campaign, Deal
from crmcore.web.forms import (
    AccountForm,
    CampaignForm,
    ContactForm,
    DealForm,
    DealStageForm,
    InteractionForm,
)
from crmcore.web.views import contact_detail_context, contact_or_404

INVALID_STATUS = 400


def add_service_errors(form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: under its field when the form has it."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, field_errors in error.error_dict.items():
        if name in form.fields:
            form.add_error(name, field_errors)
        else:
            form.add_error(None, [f"{name}: {message}" for e in field_errors for message in e])


def ensure_may_change(request, obj, *, deleting: bool = False) -> None:
    """403 with the reason unless the user may edit (or delete) ``obj``."""
    allowed = (
        selectors.may_delete(request.user, obj, workspace=request.workspace)
        if deleting
        else selectors.may_change(request.user, obj, workspace=request.workspace)
    )
    if not allowed:
        raise PermissionDenied(selectors.change_refusal(obj, deleting=deleting))


def _safe_next(request, url: str) -> str | None:
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return None


class ServiceFormView(LoginRequiredMixin, FormView):
    """A FormView whose valid form is written through a service.

    Subclasses define ``write(form)`` (calls one service, returns the object)
    and ``success_url_for(obj)``. A ValidationError from the service lands on
    the form (nothing is written: the service's transaction is rolled back)
    and the page is rendered again with status 400, like any invalid form.
    """

    success_message = ""

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=INVALID_STATUS)

    def form_valid(self, form):
        try:
            obj = self.write(form)
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, self.success_message.format(obj=obj))
        return HttpResponseRedirect(self.success_url_for(obj))


def _region_segment_context(workspace) -> dict:
    regions, segments = selectors.contact_region_segment_values(workspace=workspace)
    return {"region_values": regions, "segment_values": segments}


# --------------------------------------------------------------------------- contacts


class ContactFormMixin:
    form_class = ContactForm
    template_name = "crmcore/contact_form.html"
    contact = None

    def get_form_kwargs(self):
        workspace = self.request.workspace
        owner_ids = [self.request.user.pk]
        if self.contact is not None and self.contact.owner_id:
            owner_ids.append(self.contact.owner_id)
        return {
            **super().get_form_kwargs(),
            "accounts": selectors.account_list(workspace=workspace),
            "teams": selectors.team_list(workspace=workspace),
            "owners": selectors.workspace_user_list(
                workspace=workspace, include_ids=tuple(owner_ids)
            ),
            "previous_attributes": self.contact.attributes if self.contact else {},
        }

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            contact=self.contact, **_region_segment_context(self.request.workspace), **kwargs
        )

    def success_url_for(self, contact) -> str:
        return reverse("contact-detail", args=[contact.pk])


class ContactCreateView(ContactFormMixin, ServiceFormView):
    success_message = "Contact {obj.full_name} created."

    def get_initial(self):
        initial = {"owner": self.request.user.pk}
        if self.request.GET.get("account", "").isdigit():
            # Only a default: the account choices are the workspace's own.
            initial["account"] = int(self.request.GET["account"])
        return initial

    def write(self, form):
        return services.contact_create(workspace=self.request.workspace, **form.service_data())


class ContactUpdateView(ContactFormMixin, ServiceFormView):
    success_message = "Contact {obj.full_name} saved."

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.contact = contact_or_404(request, kwargs["pk"])
            ensure_may_change(request, self.contact)
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self):
        return ContactForm.initial_for(self.contact)

    def write(self, form):
        return services.contact_update(contact=self.contact, data=form.service_data())


class InteractionCreateView(LoginRequiredMixin, View):
    """Log an interaction from the contact page; back to the contact on success."""

    def get(self, request, pk):
        return redirect("contact-detail", pk=pk)

    def post(self, request, pk):
        contact = contact_or_404(request, pk)
        form = InteractionForm(request.POST)
        if form.is_valid():
            try:
                services.interaction_create(
                    workspace=request.workspace,
                    contact=contact,
                    author=request.user,
                    **form.service_kwargs(),
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, f"Interaction logged on {contact.full_name}.")
                return redirect("contact-detail", pk=contact.pk)
        return render(
            request,
            "crmcore/contact_detail.html",
            contact_detail_context(request, contact, form),
            status=INVALID_STATUS,
        )


# --------------------------------------------------------------------------- deals


class DealCreateView(ServiceFormView):
    form_class = DealForm
    template_name = "crmcore/deal_form.html"
    success_message = "Deal {obj.name} created."

    def dispatch(self, request, *args, **kwargs):
        self.for_contact = None
        if request.user.is_authenticated and request.GET.get("contact", "").isdigit():
            self.for_contact = contact_or_404(request, int(request.GET["contact"]))
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self):
        initial = {"owner": self.request.user.pk, "stage": Deal.Stage.LEAD, "amount": 0}
        if self.for_contact is not None:
            initial |= {"contact": self.for_contact.pk, "account": self.for_contact.account_id}
        return initial

    def get_form_kwargs(self):
        workspace = self.request.workspace
        return {
            **super().get_form_kwargs(),
            "contacts": selectors.contact_choice_list(workspace=workspace),
            "accounts": selectors.account_list(workspace=workspace),
            "owners": selectors.workspace_user_list(
                workspace=workspace, include_ids=(self.request.user.pk,)
            ),
        }

    def get_context_data(self, **kwargs):
        return super().get_context_data(for_contact=self.for_contact, **kwargs)

    def write(self, form):
        return services.deal_create(workspace=self.request.workspace, **form.service_kwargs())

    def success_url_for(self, deal) -> str:
        return reverse("deal-detail", args=[deal.pk])


def _deal_or_404(request, pk: int) -> Deal:
    deal = selectors.deal_get(workspace=request.workspace, pk=pk)
    if deal is None:
        raise Http404("No such deal")
    return deal


class DealDetailView(LoginRequiredMixin, TemplateView):
    template_name = "crmcore/deal_detail.html"

    def get_context_data(self, **kwargs):
        deal = _deal_or_404(self.request, kwargs["pk"])
        return super().get_context_data(
            deal=deal,
            stage_form=DealStageForm(initial={"stage": deal.stage}),
            panels=extensions.rendered_panels(extensions.deal_panels, self.request, deal),
            **kwargs,
        )


class DealStageView(LoginRequiredMixin, View):
    """Move a deal to another stage, from the pipeline card or the deal page."""

    def get(self, request, pk):
        return redirect("deal-detail", pk=pk)

    def post(self, request, pk):
        deal = _deal_or_404(request, pk)
        form = DealStageForm(request.POST)
        if form.is_valid():
            previous = deal.get_stage_display()
            try:
                services.deal_stage_change(deal=deal, stage=form.cleaned_data["stage"])
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                if deal.get_stage_display() == previous:
                    messages.info(request, f"{deal.name} is already in {previous}.")
                else:
                    messages.success(
                        request, f"{deal.name} moved from {previous} to {deal.get_stage_display()}."
                    )
                next_url = _safe_next(request, form.cleaned_data["next"])
                return redirect(next_url or reverse("deal-detail", args=[deal.pk]))
        return render(
            request,
            "crmcore/deal_detail.html",
            {"deal": deal, "stage_form": form},
            status=INVALID_STATUS,
        )


# --------------------------------------------------------------------------- accounts


class AccountFormMixin:
    template_name = "crmcore/account_form.html"
    account = None

    def get_context_data(self, **kwargs):
        regions = selectors.contact_region_segment_values(workspace=self.request.workspace)[0]
        return super().get_context_data(account=self.account, region_values=regions, **kwargs)

    def success_url_for(self, account) -> str:
        return reverse("account-detail", args=[account.pk])


class AccountCreateView(AccountFormMixin, ServiceFormView):
    form_class = AccountForm
    success_message = "Account {obj.name} created."

    def write(self, form):
        return services.account_create(workspace=self.request.workspace, **form.cleaned_data)


class AccountUpdateView(AccountFormMixin, ServiceFormView):
    form_class = AccountForm
    success_message = "Account {obj.name} saved."

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.account = selectors.account_get(workspace=request.workspace, pk=kwargs["pk"])
            if self.account is None:
                raise Http404("No such account")
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self):
        return AccountForm.initial_for(self.account)

    def write(self, form):
        return services.account_update(account=self.account, data=form.cleaned_data)


# --------------------------------------------------------------------------- campaigns


class CampaignFormMixin:
    form_class = CampaignForm
    template_name = "crmcore/campaign_form.html"
    campaign = None

    def get_form_kwargs(self):
        return {
            **super().get_form_kwargs(),
            "teams": selectors.team_list(workspace=self.request.workspace),
            "campaign": self.campaign,
        }

    def get_context_data(self, **kwargs):
        campaign = self.campaign
        audience = campaign.audience if campaign is not None else {}
        return super().get_context_data(
            campaign=campaign,
            editable=campaign is None or campaign.status in CampaignForm.EDITABLE_STATUSES,
            kept_filters=[
                "contacts added by hand" if key == "contacts" else key.replace("_", " ")
                for key in sorted(audience or {})
                if key not in CampaignForm.AUDIENCE_FIELDS
            ],
            **_region_segment_context(self.request.workspace),
            merge_fields=placeholders.visible_fields(self.request),
            **kwargs,
        )

    def success_url_for(self, campaign) -> str:
        return reverse("campaign-list")


class CampaignCreateView(CampaignFormMixin, ServiceFormView):
    success_message = "Campaign {obj.name} created as a draft."

    def get_initial(self):
        return {"goal": Campaign.Goal.CHECK_IN, "subject_template": "Hello {first_name}"}

    def write(self, form):
        return services.campaign_create(
            workspace=self.request.workspace, created_by=self.request.user, **form.service_data()
        )


class CampaignUpdateView(CampaignFormMixin, ServiceFormView):
    success_message = "Campaign {obj.name} saved."

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.campaign = selectors.campaign_get(workspace=request.workspace, pk=kwargs["pk"])
            if self.campaign is None:
                raise Http404("No such campaign")
            ensure_may_change(request, self.campaign)
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self):
        return CampaignForm.initial_for(self.campaign)

    def write(self, form):
        data = form.service_data()
        changed = any(getattr(self.campaign, name) != value for name, value in data.items())
        if changed and self.campaign.status == Campaign.Status.APPROVED:
            # An approved campaign that changes needs approving again.
            data["status"] = Campaign.Status.DRAFT
        return services.campaign_update(campaign=self.campaign, data=data)
