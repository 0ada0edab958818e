"""HTML pages of the sentiment capability, under /ai/sentiment/.

Every page asks the gate; where the capability is off for the user the page
does not exist for them (404), like an object of another workspace.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import TemplateView

from ai_features import gate
from ai_features.capabilities.sentiment import selectors, services
from ai_features.capabilities.sentiment.analysis import TONES
from ai_features.capabilities.sentiment.conf import app_settings


class SentimentGateMixin(LoginRequiredMixin):
    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not gate.is_enabled(
            "sentiment", request.user, request.workspace
        ):
            raise Http404("Sentiment is not enabled for you.")
        return super().dispatch(request, *args, **kwargs)


def _back(request, fallback: str) -> HttpResponseRedirect:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return HttpResponseRedirect(target)
    return redirect(fallback)


class SentimentAlertListView(SentimentGateMixin, TemplateView):
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


class SentimentAlertAcknowledgeView(SentimentGateMixin, View):
    def post(self, request, pk: int):
        alert = selectors.alert_get(workspace=request.workspace, alert_id=pk)
        services.sentiment_alert_acknowledge(alert=alert, user=request.user)
        messages.success(request, "Alert acknowledged.")
        return _back(request, "sentiment:alert-list")


class ToneCorrectionCreateView(SentimentGateMixin, View):
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


class SentimentModelCardView(SentimentGateMixin, TemplateView):
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


class SentimentJobStartView(SentimentGateMixin, View):
    """Admins start a batch analysis or a training run from the model card."""

    def post(self, request):
        if not request.user.is_staff:
            raise PermissionDenied("Only admins start sentiment jobs.")
        from ai_features.capabilities.sentiment.tasks import (
            analyze_workspace_task,
            train_model_task,
        )

        if request.POST.get("job") == "train":
            outcome = train_model_task.delay(request.workspace.pk)
            messages.success(request, "Training started.")
        else:
            outcome = analyze_workspace_task.delay(
                request.workspace.pk, request.POST.get("all") == "1"
            )
            messages.success(request, "Analysis started.")
        del outcome
        return redirect("sentiment:model-card")
