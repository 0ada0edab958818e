"""Pages: model versions, model cards, bias audits, and feedback from the contact panel.

Every page asks the gate; one off for the user answers 403 with a plain reason.
Retraining, publishing (rollback), bias audits and sensitive attributes are for staff.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from ai_features.capabilities.prediction import access, selectors, services
from ai_features.capabilities.prediction.charts import coefficient_chart, reliability_chart


class PredictionGateMixin(LoginRequiredMixin):
    staff_only = False

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not access.is_enabled(request.user, request.workspace):
            raise PermissionDenied("Prediction is not enabled for you.")
        if self.staff_only and not request.user.is_staff:
            raise PermissionDenied("Only admins can do this.")
        return super().dispatch(request, *args, **kwargs)


class ModelVersionListView(PredictionGateMixin, TemplateView):
    template_name = "prediction/model_list.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            versions=list(selectors.model_version_list(workspace=self.request.workspace)),
            **kwargs,
        )


class ModelVersionDetailView(PredictionGateMixin, TemplateView):
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
            **kwargs,
        )


class ModelVersionPublishView(PredictionGateMixin, View):
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


class ModelRetrainView(PredictionGateMixin, View):
    staff_only = True

    def post(self, request):
        from ai_features.capabilities.prediction.tasks import retrain_and_score_task

        workspace_id, user_id = request.workspace.pk, request.user.pk
        transaction.on_commit(
            lambda: retrain_and_score_task.delay(workspace_id=workspace_id, user_id=user_id)
        )
        messages.success(request, "Retraining queued; the new version appears here when done.")
        return redirect("prediction:model-list")


class BiasAuditView(PredictionGateMixin, TemplateView):
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


class ContactFeedbackView(PredictionGateMixin, View):
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
            messages.success(request, "Thanks, noted.")
        return redirect(reverse("contact-detail", args=[contact.pk]))
