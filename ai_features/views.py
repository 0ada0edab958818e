"""The rollout dashboard and the audit log (staff only)."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, UserPassesTestMixin
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views import View
from django.views.generic import TemplateView

from ai_features import selectors, services
from ai_features.forms import KillSwitchForm, PhaseForm
from ai_features.models import RolloutAuditEntry
from crmcore.csv_safety import csv_writer


class StaffRequiredMixin(LoginRequiredMixin, UserPassesTestMixin):
    """Anonymous users go to the login page; signed-in non-staff get a 403."""

    raise_exception = False

    def test_func(self) -> bool:
        return self.request.user.is_staff

    def handle_no_permission(self):
        if self.request.user.is_authenticated:
            self.raise_exception = True
        return super().handle_no_permission()


class RolloutDashboardView(StaffRequiredMixin, TemplateView):
    template_name = "ai_features/rollout_dashboard.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["overview"] = selectors.rollout_overview()
        context["recent_audit"] = list(selectors.audit_entry_list(limit=10))
        context.setdefault("phase_form", PhaseForm())
        context.setdefault("kill_form", KillSwitchForm())
        return context

    def post(self, request, *args, **kwargs):
        if "kill" in request.POST:
            form = KillSwitchForm(request.POST)
            if form.is_valid():
                services.rollout_kill_switch_set(
                    active=form.cleaned_data["active"],
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                    source=RolloutAuditEntry.Source.DASHBOARD,
                )
                state = "on: every AI capability is off" if form.cleaned_data["active"] else "off"
                messages.success(request, f"Kill switch {state}.")
                return redirect("ai:rollout-dashboard")
            return self.render_to_response(self.get_context_data(kill_form=form), status=400)
        form = PhaseForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.rollout_set_phase(
                    capability=data["capability"],
                    phase=data["phase"],
                    percent=data["percent"] if data["phase"] == "percentage" else None,
                    teams=data["teams"],
                    users=data["users"],
                    actor=request.user,
                    reason=data["reason"],
                    source=RolloutAuditEntry.Source.DASHBOARD,
                )
            except services.RolloutError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"{data['capability']}: phase {data['phase']}.")
                return redirect("ai:rollout-dashboard")
        return self.render_to_response(self.get_context_data(phase_form=form), status=400)


class AuditLogView(StaffRequiredMixin, TemplateView):
    template_name = "ai_features/audit_log.html"
    limit = 500

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        capability = self.request.GET.get("capability") or None
        context["capability"] = capability
        context["entries"] = list(
            selectors.audit_entry_list(capability=capability, limit=self.limit)
        )
        return context


class AuditLogCsvView(StaffRequiredMixin, View):
    COLUMNS = [
        "created_at",
        "actor",
        "source",
        "action",
        "capability",
        "target",
        "reason",
        "before",
        "after",
    ]

    def get(self, request, *args, **kwargs):
        response = HttpResponse(content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="ai-rollout-audit.csv"'
        writer = csv_writer(response)
        writer.writerow(self.COLUMNS)
        capability = request.GET.get("capability") or None
        for e in selectors.audit_entry_list(capability=capability).iterator():
            writer.writerow(
                [
                    e.created_at.isoformat(),
                    e.actor_username,
                    e.source,
                    e.action,
                    e.capability,
                    e.target,
                    e.reason,
                    json.dumps(e.before, sort_keys=True),
                    json.dumps(e.after, sort_keys=True),
                ]
            )
        return response
