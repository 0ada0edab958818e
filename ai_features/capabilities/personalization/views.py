"""The campaign builder, under /campaigns/builder/.

Every signed-in user has it: where personalization is off for them (or the
kill switch is on) it is a plain mail merge with no AI fields; where it is on,
each message is tailored and lists the facts it used. The suggested-reply
decision only exists where the capability is on (403 with the reason otherwise).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from ai_features.capabilities.personalization import selectors, services
from ai_features.capabilities.personalization.conf import app_settings
from ai_features.capabilities.personalization.facts import CAPABILITY, access_for
from ai_features.capabilities.personalization.forms import (
    CampaignBuilderForm,
    MessageEditForm,
    ReplyDecisionForm,
)
from ai_features.surfaces import Audience, CapabilityPageMixin
from crmcore import placeholders


def _errors(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return " ".join(f"{', '.join(v)}" for v in exc.message_dict.values())
    return " ".join(exc.messages)


class BuilderMixin(CapabilityPageMixin):
    """The campaign builder: a plain mail merge where personalization is off for the user."""

    capability = CAPABILITY
    capability_audience = Audience.SIGNED_IN

    def access(self):
        if not hasattr(self, "_access"):
            self._access = access_for(user=self.request.user, workspace=self.request.workspace)
        return self._access

    def campaign(self):
        return selectors.campaign_get(workspace=self.request.workspace, pk=self.kwargs["pk"])

    def form_for(self, campaign=None, data=None) -> CampaignBuilderForm:
        access = self.access()
        return CampaignBuilderForm(
            data,
            initial=CampaignBuilderForm.initial_for(campaign),
            choices=selectors.audience_choices(workspace=self.request.workspace),
            with_churn_band=access.personalization and access.prediction,
        )

    def base_context(self) -> dict:
        access = self.access()
        return {
            "access": access,
            "merge_fields": placeholders.visible_fields(self.request),
        }

    def save(self, form, campaign=None):
        try:
            return services.campaign_builder_save(
                workspace=self.request.workspace,
                user=self.request.user,
                campaign=campaign,
                name=form.cleaned_data["name"],
                goal=form.cleaned_data["goal"],
                audience=form.audience(campaign.audience if campaign else None),
                subject_template=form.cleaned_data["subject_template"],
                body_template=form.cleaned_data["body_template"],
            )
        except (ValidationError, services.CampaignError) as exc:
            text = _errors(exc) if isinstance(exc, ValidationError) else str(exc)
            form.add_error(None, text)
            return None


class CampaignBuilderListView(BuilderMixin, TemplateView):
    template_name = "personalization/campaign_list.html"

    def get_context_data(self, **kwargs):
        campaigns = selectors.campaign_list(workspace=self.request.workspace)
        page = Paginator(campaigns, 50).get_page(self.request.GET.get("page"))
        return super().get_context_data(page=page, **self.base_context(), **kwargs)


class CampaignBuilderCreateView(BuilderMixin, View):
    template_name = "personalization/campaign_new.html"

    def get(self, request):
        return render(request, self.template_name, {"form": self.form_for(), **self.base_context()})

    def post(self, request):
        form = self.form_for(data=request.POST)
        if form.is_valid():
            campaign = self.save(form)
            if campaign is not None:
                messages.success(request, "Campaign saved. Check the preview, then build it.")
                return redirect("personalization:campaign-builder", pk=campaign.pk)
        return render(
            request, self.template_name, {"form": form, **self.base_context()}, status=400
        )


class CampaignBuilderView(BuilderMixin, View):
    """Edit the campaign, preview a sample, build, approve and send."""

    template_name = "personalization/campaign_builder.html"

    def context(self, campaign, form) -> dict:
        workspace = self.request.workspace
        editable = campaign.status in ("draft", "approved")
        return {
            "campaign": campaign,
            "form": form,
            # A campaign that is sending or sent shows what was stored, never a new rendering.
            "preview": selectors.campaign_preview(
                workspace=workspace, campaign=campaign, access=self.access()
            )
            if editable
            else None,
            "counts": selectors.campaign_message_counts(workspace=workspace, campaign=campaign),
            "jobs": selectors.campaign_jobs(workspace=workspace, campaign=campaign),
            "results": None
            if editable
            else selectors.campaign_results(workspace=workspace, campaign=campaign),
            "editable": editable,
            **self.base_context(),
        }

    def get(self, request, pk: int):
        campaign = self.campaign()
        return render(request, self.template_name, self.context(campaign, self.form_for(campaign)))

    def post(self, request, pk: int):
        campaign = self.campaign()
        form = self.form_for(campaign, data=request.POST)
        if form.is_valid() and self.save(form, campaign) is not None:
            messages.success(request, "Campaign saved.")
            return redirect("personalization:campaign-builder", pk=campaign.pk)
        return render(request, self.template_name, self.context(campaign, form), status=400)


class CampaignStepView(BuilderMixin, View):
    """Build or approve (POST only); sending goes through the confirmation page."""

    step = ""

    def post(self, request, pk: int):
        campaign = self.campaign()
        try:
            if self.step == "build":
                services.campaign_build_queue(campaign=campaign, user=request.user)
                messages.success(request, "Building the messages.")
            else:
                services.campaign_approve(campaign=campaign, user=request.user)
                messages.success(
                    request, "Campaign approved. Check what sending will do, then send."
                )
        except services.CampaignError as exc:
            messages.error(request, str(exc))
        return redirect("personalization:campaign-builder", pk=campaign.pk)


class CampaignSendView(BuilderMixin, View):
    """The confirmation page: exactly what sending will do; POST sends (in the background)."""

    template_name = "personalization/campaign_send.html"

    def context(self, campaign) -> dict:
        return {
            "campaign": campaign,
            "plan": selectors.send_plan(workspace=self.request.workspace, campaign=campaign),
            **self.base_context(),
        }

    def get(self, request, pk: int):
        campaign = self.campaign()
        if campaign.status != "approved":
            messages.error(request, "Only an approved campaign can be sent.")
            return redirect("personalization:campaign-builder", pk=campaign.pk)
        return render(request, self.template_name, self.context(campaign))

    def post(self, request, pk: int):
        campaign = self.campaign()
        try:
            expected = int(request.POST.get("expected", ""))
        except ValueError:
            return render(
                request, self.template_name, self.context(campaign) | {"error": True}, status=400
            )
        try:
            done = services.campaign_send_start(
                campaign=campaign, user=request.user, expected=expected
            )
        except services.CampaignError as exc:
            messages.error(request, str(exc))
            if campaign.status == "approved":
                return redirect("personalization:campaign-send", pk=campaign.pk)
        else:
            verb = "Recording" if request.workspace.is_sandbox else "Sending"
            messages.success(
                request,
                f"{verb} {done.queued} email{'s' if done.queued != 1 else ''}"
                f"{' (sandbox: nothing leaves it)' if request.workspace.is_sandbox else ''}; "
                f"{done.skipped} skipped.",
            )
        return redirect("personalization:campaign-builder", pk=campaign.pk)


class MessageTestSendView(BuilderMixin, View):
    """Send one message to the signed-in user's own address (POST only)."""

    def post(self, request, pk: int, message_pk: int):
        message = selectors.campaign_message_get(
            workspace=request.workspace, campaign=self.campaign(), pk=message_pk
        )
        try:
            address = services.message_test_send(message=message, user=request.user)
        except services.CampaignError as exc:
            messages.error(request, str(exc))
        else:
            where = " (recorded: sandbox)" if request.workspace.is_sandbox else ""
            messages.success(
                request,
                f"Test of the message to {message.contact.full_name} sent to {address}{where}.",
            )
        return redirect("personalization:message-edit", pk=pk, message_pk=message.pk)


class CampaignMessageListView(BuilderMixin, TemplateView):
    template_name = "personalization/message_list.html"

    def get_context_data(self, **kwargs):
        campaign = self.campaign()
        items = selectors.campaign_messages(workspace=self.request.workspace, campaign=campaign)
        page = Paginator(items, app_settings.MESSAGES_PER_PAGE).get_page(
            self.request.GET.get("page")
        )
        counts = selectors.campaign_message_counts(
            workspace=self.request.workspace, campaign=campaign
        )
        return super().get_context_data(
            campaign=campaign, page=page, failing=counts["failing"], counts=counts, **kwargs
        )


class CampaignMessageEditView(BuilderMixin, View):
    template_name = "personalization/message_edit.html"

    def message(self):
        return selectors.campaign_message_get(
            workspace=self.request.workspace, campaign=self.campaign(), pk=self.kwargs["message_pk"]
        )

    def get(self, request, pk: int, message_pk: int):
        message = self.message()
        form = MessageEditForm(initial={"subject": message.subject, "body": message.body})
        return render(
            request, self.template_name, {"message": message, "form": form, **self.base_context()}
        )

    def post(self, request, pk: int, message_pk: int):
        message = self.message()
        form = MessageEditForm(request.POST)
        if form.is_valid():
            try:
                services.campaign_message_edit(
                    message=message,
                    user=request.user,
                    subject=form.cleaned_data["subject"],
                    body=form.cleaned_data["body"],
                )
            except (ValidationError, services.CampaignError) as exc:
                form.add_error(None, _errors(exc) if isinstance(exc, ValidationError) else str(exc))
            else:
                messages.success(request, "Message saved.")
                return redirect("personalization:message-list", pk=pk)
        return render(request, self.template_name, {"message": message, "form": form}, status=400)


class SuggestedReplyDecideView(CapabilityPageMixin, View):
    """Send, save as draft or dismiss the suggested reply (the panel posts here)."""

    capability = CAPABILITY

    def post(self, request, pk: int):
        workspace = request.workspace
        interaction = selectors.interaction_get(workspace=workspace, pk=pk)
        form = ReplyDecisionForm(request.POST)
        target = reverse("contact-detail", args=[interaction.contact_id])
        if not form.is_valid():
            messages.error(request, "Choose send, save as draft or dismiss.")
            return redirect(target)
        suggestion = selectors.suggested_reply(
            workspace=workspace,
            interaction=interaction,
            user=request.user,
            access=access_for(user=request.user, workspace=workspace),
        )
        try:
            services.suggested_reply_decide(
                workspace=workspace,
                user=request.user,
                interaction=interaction,
                suggestion=suggestion,
                action=form.cleaned_data["action"],
                body=form.cleaned_data["body"],
            )
        except (ValidationError, services.CampaignError) as exc:
            messages.error(request, _errors(exc) if isinstance(exc, ValidationError) else str(exc))
        else:
            contact = interaction.contact
            sent = (
                f"Reply recorded for {contact.email} (sandbox: not sent), logged as an email."
                if workspace.is_sandbox
                else f"Reply emailed to {contact.email} and logged as an email."
            )
            done = {
                "send": sent,
                "accepted": sent,
                "edited": sent,
                "draft": "Reply saved as a draft: nothing was sent.",
                "dismissed": "Suggestion dismissed.",
            }
            messages.success(request, done[form.cleaned_data["action"]])
        return redirect(target)
