"""The rollout dashboard and the audit log (staff only)."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, UserPassesTestMixin
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.views import View
from django.views.generic import TemplateView

from ai_features import impact, plans, selectors, services
from ai_features.evidence import evidence_all
from ai_features.forms import (
    KillSwitchForm,
    PhaseForm,
    PlanActionForm,
    PlanCreateForm,
    PlanMilestonesForm,
)
from ai_features.models import ReleasePlan, RolloutAuditEntry
from ai_features.registry import registry
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


class ConfirmStepMixin:
    """A change is shown with its impact first; it is made once the admin confirms."""

    def _confirm(self, request, sentence: str, title: str):
        """The same page with the impact and a Confirm button (nothing changed yet)."""
        fields = [
            (name, value)
            for name, value in request.POST.items()
            if name not in ("csrfmiddlewaretoken", "confirmed")
        ]
        confirm = {"impact": sentence, "title": title, "fields": fields}
        return self.render_to_response(self.get_context_data(confirm=confirm))  # type: ignore[attr-defined]


class RolloutDashboardView(StaffRequiredMixin, ConfirmStepMixin, TemplateView):
    template_name = "ai_features/rollout_dashboard.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["overview"] = selectors.rollout_overview()
        context["recent_audit"] = list(selectors.audit_entry_list(limit=10))
        context.setdefault("phase_form", PhaseForm())
        context.setdefault("kill_form", KillSwitchForm())
        context["plans"] = {p.capability: p for p in ReleasePlan.objects.all()}
        return context

    def post(self, request, *args, **kwargs):
        if "kill" in request.POST:
            form = KillSwitchForm(request.POST)
            if form.is_valid() and not form.cleaned_data["confirmed"]:
                active = form.cleaned_data["active"]
                title = "Pull the kill switch?" if active else "Release the kill switch?"
                return self._confirm(request, impact.kill_switch_impact(active=active), title)
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
            if not data["confirmed"]:
                sentence = impact.phase_impact(
                    capability=data["capability"],
                    phase=data["phase"],
                    percent=data["percent"] if data["phase"] == "percentage" else None,
                    teams=data["teams"],
                    users=data["users"],
                )
                where = {
                    "off": "off",
                    "pilot": "its pilot teams and users",
                    "percentage": f"{data['percent']}% of users",
                    "everyone": "everyone",
                }[data["phase"]]
                title = registry.get(data["capability"]).title
                return self._confirm(request, sentence, f"Set {title} to {where}?")
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


class ReleasePlanView(StaffRequiredMixin, ConfirmStepMixin, TemplateView):
    """A capability's release plan: its timeline, evidence, steps and controls."""

    template_name = "ai_features/release_plan.html"

    def dispatch(self, request, *args, **kwargs):
        if kwargs["key"] not in registry:
            raise Http404("No such capability.")
        self.capability = registry.get(kwargs["key"])
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        key = self.capability.key
        plan = (
            ReleasePlan.objects.filter(capability=key)
            .prefetch_related("milestones", "owners")
            .first()
        )
        context["capability"] = self.capability
        context["plan"] = plan
        context["evidence"] = evidence_all()[key]
        if plan is not None:
            milestones = list(plan.milestones.all())
            context["timeline"] = [
                {
                    "milestone": m,
                    "state": (
                        "done"
                        if i < plan.current or plan.status == ReleasePlan.Status.DONE
                        else "current"
                        if i == plan.current
                        else "upcoming"
                    ),
                }
                for i, m in enumerate(milestones)
            ]
            context["steps"] = list(plan.steps.all()[:50])
            context.setdefault(
                "milestones_form",
                PlanMilestonesForm(initial={"milestones": plans.milestones_text(plan)}),
            )
            context.setdefault("action_form", PlanActionForm())
        else:
            context.setdefault("create_form", PlanCreateForm())
        return context

    def post(self, request, *args, **kwargs):
        key = self.capability.key
        plan = ReleasePlan.objects.filter(capability=key).first()
        if "create" in request.POST and plan is None:
            return self._create(request)
        if plan is None:
            raise Http404("This capability has no release plan.")
        if "milestones_edit" in request.POST:
            form = PlanMilestonesForm(request.POST)
            if form.is_valid():
                try:
                    parsed = plans.milestones_parse(form.cleaned_data["milestones"])
                    plans.plan_milestones_set(
                        plan=plan,
                        actor=request.user,
                        reason=form.cleaned_data["reason"],
                        milestones=parsed,
                    )
                except services.RolloutError as exc:
                    form.add_error("milestones", str(exc))
                else:
                    messages.success(request, "Milestones saved.")
                    return redirect("ai:rollout-plan", key=key)
            return self.render_to_response(self.get_context_data(milestones_form=form), status=400)
        form = PlanActionForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            milestones = list(plan.milestones.all())
            if (
                data["action"] == "skip"
                and not data["confirmed"]
                and plan.current + 1 < len(milestones)
            ):
                nxt = milestones[plan.current + 1]
                sentence = impact.phase_impact(
                    capability=key,
                    phase=_phase(nxt.percent),
                    percent=nxt.percent if _phase(nxt.percent) == "percentage" else None,
                    teams=plan.pilot_teams if nxt.percent is None else None,
                )
                return self._confirm(request, sentence, f"Skip to {nxt.name}?")
            action = {
                "pause": plans.plan_pause,
                "resume": plans.plan_resume,
                "skip": plans.plan_skip,
            }[data["action"]]
            try:
                action(plan=plan, actor=request.user, reason=data["reason"])
            except services.RolloutError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"Plan: {data['action']} done.")
                return redirect("ai:rollout-plan", key=key)
        return self.render_to_response(self.get_context_data(action_form=form), status=400)

    def _create(self, request):
        key = self.capability.key
        form = PlanCreateForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                parsed = plans.milestones_parse(data["milestones"])
                if not data["confirmed"]:
                    first = parsed[0][0]
                    sentence = impact.phase_impact(
                        capability=key,
                        phase=_phase(first),
                        percent=first if _phase(first) == "percentage" else None,
                        teams=data["pilot_teams"] if first is None else None,
                    )
                    return self._confirm(request, sentence, "Start this release plan?")
                share = data["min_trained_share"]
                plans.plan_create(
                    capability=key,
                    actor=request.user,
                    reason=data["reason"],
                    pilot_teams=data["pilot_teams"],
                    milestones=parsed,
                    min_trained_share=share / 100 if share is not None else None,
                )
            except services.RolloutError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, "Release plan started.")
                return redirect("ai:rollout-plan", key=key)
        return self.render_to_response(self.get_context_data(create_form=form), status=400)


def _phase(percent) -> str:
    if percent is None:
        return "pilot"
    return "everyone" if percent >= 100 else "percentage"
