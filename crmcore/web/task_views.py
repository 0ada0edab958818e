"""Tasks: "My tasks" (overdue, today, upcoming), made by hand or from a timeline entry."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import TemplateView

from crmcore import selectors, services
from crmcore.models import Task
from crmcore.web.forms import TaskForm


def _next_url(request, raw: str) -> str:
    if raw and url_has_allowed_host_and_scheme(raw, allowed_hosts={request.get_host()}):
        return raw
    return reverse("task-list")


class TaskListView(LoginRequiredMixin, TemplateView):
    template_name = "crmcore/task_list.html"

    def get_context_data(self, **kwargs):
        request: Any = self.request
        return super().get_context_data(
            tasks=selectors.tasks_open_for(workspace=request.workspace, user=request.user),
            form=TaskForm(),
            **kwargs,
        )


class TaskCreateView(LoginRequiredMixin, View):
    def get(self, request):
        """The form, filled from a timeline entry (``?interaction=``) or a contact or deal."""
        initial: dict[str, Any] = {}
        interaction = contact = deal = None
        for name in ("interaction", "contact", "deal"):
            raw = request.GET.get(name, "")
            if raw and not raw.isdigit():
                raise Http404(f"No such {name}")
        if request.GET.get("interaction"):
            interaction = selectors.interaction_get(
                workspace=request.workspace, pk=int(request.GET["interaction"])
            )
            if interaction is None:
                raise Http404("No such interaction")
            contact = interaction.contact
            initial["title"] = (
                f"Follow up: {interaction.subject or interaction.get_channel_display()}"
            )
        elif request.GET.get("contact"):
            contact = selectors.contact_get(
                workspace=request.workspace, pk=int(request.GET["contact"])
            )
            if contact is None:
                raise Http404("No such contact")
        elif request.GET.get("deal"):
            deal = selectors.deal_get(workspace=request.workspace, pk=int(request.GET["deal"]))
            if deal is None:
                raise Http404("No such deal")
        initial |= {
            "interaction": interaction.pk if interaction else None,
            "contact": contact.pk if contact else None,
            "deal": deal.pk if deal else None,
            "next": request.GET.get("next", ""),
        }
        return render(
            request,
            "crmcore/task_form.html",
            {
                "form": TaskForm(initial=initial),
                "contact": contact,
                "deal": deal,
                "interaction": interaction,
            },
        )

    def post(self, request):
        form = TaskForm(request.POST)
        related: dict[str, Any] = {}
        if form.is_valid():
            getters = {
                "contact": selectors.contact_get,
                "deal": selectors.deal_get,
                "interaction": selectors.interaction_get,
            }
            for name, getter in getters.items():
                pk = form.cleaned_data[name]
                related[name] = getter(workspace=request.workspace, pk=pk) if pk else None
                if pk and related[name] is None:
                    form.add_error(None, f"That {name} does not exist in this workspace.")
        if not form.is_valid():
            return render(request, "crmcore/task_form.html", {"form": form, **related}, status=400)
        interaction = related["interaction"]
        task = services.task_create(
            workspace=request.workspace,
            owner=request.user,
            title=form.cleaned_data["title"],
            due_date=form.cleaned_data["due_date"],
            contact=related["contact"] or (interaction.contact if interaction else None),
            deal=related["deal"],
            interaction=interaction,
            source=Task.Source.TIMELINE if interaction else Task.Source.MANUAL,
        )
        messages.success(request, f"Task “{task.title}” added, due {task.due_date:%-d %b %Y}.")
        return HttpResponseRedirect(_next_url(request, form.cleaned_data["next"]))


class TaskDoneView(LoginRequiredMixin, View):
    """Tick a task done (or ``done=0``: open it again). Only its owner, or an admin."""

    def post(self, request, pk):
        task = selectors.task_get(workspace=request.workspace, pk=pk)
        if task is None:
            raise Http404("No such task")
        if task.owner_id != request.user.pk and not request.user.is_staff:
            raise PermissionDenied("Only the person the task is for can tick it off.")
        done = request.POST.get("done", "1") != "0"
        services.task_set_done(task=task, done=done)
        messages.success(request, f"“{task.title}” {'done' if done else 'open again'}.")
        return HttpResponseRedirect(_next_url(request, request.POST.get("next", "")))
