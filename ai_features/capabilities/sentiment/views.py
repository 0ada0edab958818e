"""HTML pages of the sentiment capability, under /ai/sentiment/.

Every page asks the gate (``CapabilityPageMixin``): where the capability is off
for the user it answers 403 with the plain reason.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import TemplateView

from ai_features.capabilities.sentiment import selectors, services
from ai_features.capabilities.sentiment.analysis import TONES
from ai_features.capabilities.sentiment.conf import app_settings
from ai_features.scheduling import job_queue
from ai_features.surfaces import Audience, CapabilityPageMixin


class SentimentPage(CapabilityPageMixin):
    capability = "sentiment"


def _back(request, fallback: str) -> HttpResponseRedirect:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return HttpResponseRedirect(target)
    return redirect(fallback)


class SentimentAlertListView(SentimentPage, TemplateView):
    template_name = "sentiment/alert_list.html"

    def get_context_data(self, **kwargs):
        show_all = self.request.GET.get("all") == "1"
        return super().get_context_data(
            alerts=selectors.alert_list(
                workspace=self.request.workspace, include_acknowledged=show_all
            ),
            show_all=show_all,
            threshold=app_settings.ALERT_DROP_THRESHOLD,
            recent_window=app_settings.ALERT_RECENT_WINDOW,
            **kwargs,
        )


class SentimentAlertAcknowledgeView(SentimentPage, View):
    def post(self, request, pk: int):
        alert = selectors.alert_get(workspace=request.workspace, alert_id=pk)
        services.sentiment_alert_acknowledge(alert=alert, user=request.user)
        messages.success(request, "Alert acknowledged.")
        return _back(request, "sentiment:alert-list")


class ToneCorrectionCreateView(SentimentPage, View):
    """The correction form on the contact panel posts here."""

    def post(self, request, pk: int):
        interaction = selectors.interaction_get(workspace=request.workspace, interaction_id=pk)
        tone = request.POST.get("tone", "")
        if tone not in TONES:
            messages.error(request, "Choose one of the tones.")
        else:
            services.tone_correction_create(
                workspace=request.workspace,
                interaction=interaction,
                to_tone=tone,
                user=request.user,
            )
            messages.success(request, f"Tone set to {tone}. Thank you: the model learns from it.")
        return _back(request, reverse("contact-detail", args=[interaction.contact_id]))


class SentimentModelCardView(SentimentPage, TemplateView):
    capability_audience = Audience.GOVERNANCE

    template_name = "sentiment/model_card.html"

    def get_context_data(self, **kwargs):
        workspace = self.request.workspace
        return super().get_context_data(
            models=selectors.model_list(workspace=workspace),
            corrections=selectors.correction_list(workspace=workspace),
            correction_count=selectors.correction_count(workspace=workspace),
            min_corrections=app_settings.MIN_CORRECTIONS,
            job_runs=selectors.job_run_list(workspace=workspace),
            **kwargs,
        )


class SentimentJobStartView(SentimentPage, View):
    """Admins start a batch analysis or a training run from the model card."""

    capability_audience = Audience.GOVERNANCE
    staff_only = True

    def post(self, request):
        if request.POST.get("job") == "train":
            decision = job_queue("sentiment", "train", workspace=request.workspace)
            started = "Training started."
        else:
            decision = job_queue(
                "sentiment",
                "analyze",
                workspace=request.workspace,
                reanalyze=request.POST.get("all") == "1",
            )
            started = "Analysis started."
        if decision:
            messages.success(request, started)
        else:
            messages.error(request, decision.reason)
        return redirect("sentiment:model-card")
