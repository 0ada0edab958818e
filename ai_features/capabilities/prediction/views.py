"""Pages: model versions, model cards, bias audits, and feedback from the contact panel.

Every page asks the gate (``CapabilityPageMixin``); one off for the user answers 403 with a
plain reason. Governance pages are open to staff whatever their own pilot membership.
Retraining, publishing (rollback), bias audits and sensitive attributes are for staff.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from ai_features.capabilities.prediction import deal_selectors, selectors, services
from ai_features.capabilities.prediction.charts import coefficient_chart, reliability_chart
from ai_features.scheduling import job_queue
from ai_features.surfaces import Audience, CapabilityPageMixin


class PredictionPage(CapabilityPageMixin):
    capability = "prediction"


class GovernancePage(PredictionPage):
    """Model versions, cards and bias audits: staff audit them whatever their pilot."""

    capability_audience = Audience.GOVERNANCE


class ModelVersionListView(GovernancePage, TemplateView):
    template_name = "prediction/model_list.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            versions=list(selectors.model_version_list(workspace=self.request.workspace)),
            **kwargs,
        )


class ModelVersionDetailView(GovernancePage, TemplateView):
    template_name = "prediction/model_card.html"

    def get_context_data(self, **kwargs):
        version = selectors.model_version_get(workspace=self.request.workspace, pk=kwargs["pk"])
        metrics = version.metrics
        return super().get_context_data(
            version=version,
            metrics=metrics,
            reliability=metrics.get("reliability", []),
            reliability_svg=reliability_chart(metrics.get("reliability", [])),
            coefficient_svg=coefficient_chart(version.feature_names, version.coefficients),
            audit=selectors.bias_audit_latest(version=version),
            drift_features=sorted(
                ((version.drift or {}).get("features") or {}).items(), key=lambda kv: -kv[1]
            ),
            **kwargs,
        )


class ModelVersionPublishView(GovernancePage, View):
    staff_only = True

    def post(self, request, pk: int):
        version = selectors.model_version_get(workspace=request.workspace, pk=pk)
        try:
            services.model_version_publish(version=version, user=request.user)
        except ValueError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Version {version.number} is live again.")
        return redirect("prediction:model-list")


class ModelRetrainView(GovernancePage, View):
    staff_only = True

    def post(self, request):
        decision = job_queue(
            "prediction", "retrain_and_score", workspace=request.workspace, user_id=request.user.pk
        )
        if decision:
            messages.success(request, "Retraining queued; the new version appears here when done.")
        else:
            messages.error(request, decision.reason)
        return redirect("prediction:model-list")


class BiasAuditView(GovernancePage, TemplateView):
    staff_only = True
    template_name = "prediction/bias_audit.html"

    def get_context_data(self, **kwargs):
        workspace = self.request.workspace
        version = selectors.model_version_get(workspace=workspace, pk=kwargs["pk"])
        return super().get_context_data(
            version=version,
            audit=selectors.bias_audit_latest(version=version),
            sensitive=selectors.sensitive_attribute_names(workspace=workspace),
            **kwargs,
        )

    def post(self, request, pk: int):
        version = selectors.model_version_get(workspace=request.workspace, pk=pk)
        try:
            services.sensitive_attribute_set(
                workspace=request.workspace,
                name=request.POST.get("name", ""),
                sensitive=request.POST.get("sensitive", "1") == "1",
            )
        except ValueError as exc:
            messages.error(request, str(exc))
        else:
            services.bias_audit_run(version=version)
        return redirect("prediction:bias-audit", pk=version.pk)


class ForecastView(PredictionPage, TemplateView):
    """Expected revenue by close month and stage, and how right past chances were
    (for the pipeline's managers, where prediction is on for them)."""

    template_name = "prediction/forecast.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            forecast=deal_selectors.forecast(workspace=self.request.workspace), **kwargs
        )


class DealTableView(PredictionPage, TemplateView):
    """Open deals with their chance to win, sortable by each column."""

    template_name = "prediction/deal_table.html"
    limit = 100

    def get_context_data(self, **kwargs):
        sort = self.request.GET.get("sort", "win")
        if sort not in deal_selectors.DEAL_TABLE_SORTS:
            sort = "win"
        return super().get_context_data(
            rows=deal_selectors.open_deal_table(
                workspace=self.request.workspace, sort=sort, limit=self.limit
            ),
            sort=sort,
            limit=self.limit,
            **kwargs,
        )


class ContactFeedbackView(PredictionPage, View):
    def post(self, request, pk: int):
        contact = selectors.contact_get(workspace=request.workspace, pk=pk)
        try:
            services.suggestion_feedback_record(
                user=request.user,
                workspace=request.workspace,
                contact=contact,
                kind=request.POST.get("kind", ""),
                action=request.POST.get("action", ""),
                item=request.POST.get("item", ""),
                reason=request.POST.get("reason", ""),
            )
        except ValueError as exc:
            messages.error(request, str(exc))
        else:
            if request.POST.get("kind") == "action" and request.POST.get("action") == "accepted":
                messages.success(
                    request, "Added to your tasks for today, with the reason. See My tasks."
                )
            else:
                messages.success(request, "Thanks, noted.")
        return redirect(reverse("contact-detail", args=[contact.pk]))
