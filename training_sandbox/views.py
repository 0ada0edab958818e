"""Pages of the training sandbox. Thin: each calls one service or a few selectors.

A trainee creates, enters, leaves, resets and deletes only their own sandbox;
staff see everyone's progress and can reset or delete any sandbox.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, UserPassesTestMixin
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from ai_features.preparation import preparation_status
from ai_features.registry import registry
from crmcore.workspaces import workspace_enter, workspace_leave
from training_sandbox import selectors, services
from training_sandbox.forms import SandboxCreateForm
from training_sandbox.lessons import get_lesson


def _error_text(exc: ValidationError) -> str:
    return " ".join(exc.messages)


class SandboxHomeView(LoginRequiredMixin, TemplateView):
    template_name = "training_sandbox/home.html"

    def get_context_data(self, **kwargs):
        sandbox = selectors.sandbox_for(user=self.request.user)
        return super().get_context_data(
            sandbox=sandbox,
            summary=selectors.sandbox_summary(workspace=sandbox) if sandbox else None,
            ai_status=preparation_status(workspace=sandbox) if sandbox else None,
            form=kwargs.pop("form", None) or SandboxCreateForm(),
            inside=self.request.workspace.is_sandbox,
            **kwargs,
        )


class SandboxCreateView(LoginRequiredMixin, View):
    def post(self, request):
        form = SandboxCreateForm(request.POST)
        if not form.is_valid():
            page = SandboxHomeView()
            page.setup(request)
            return page.render_to_response(page.get_context_data(form=form))
        try:
            sandbox = services.sandbox_create(
                user=request.user,
                contacts=form.cleaned_data["contacts"],
                seed=form.cleaned_data["seed"],
            )
        except ValidationError as exc:
            messages.error(request, _error_text(exc))
            return redirect("sandbox:home")
        workspace_enter(request=request, workspace=sandbox)
        messages.success(request, f"Your sandbox is ready (seed {sandbox.seed}). You are in it.")
        return redirect("sandbox:lesson-list")


class SandboxEnterView(LoginRequiredMixin, TemplateView):
    """GET asks (a header link), POST enters the user's own sandbox."""

    template_name = "training_sandbox/enter.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            sandbox=selectors.sandbox_for(user=self.request.user),
            form=SandboxCreateForm(),
            **kwargs,
        )

    def post(self, request):
        sandbox = selectors.sandbox_for(user=request.user)
        if sandbox is None:
            return redirect("sandbox:home")
        workspace_enter(request=request, workspace=sandbox)
        messages.success(request, "You are in your sandbox: practice data only.")
        return redirect("dashboard")


class SandboxLeaveView(LoginRequiredMixin, TemplateView):
    """GET asks (a header link), POST goes back to production."""

    template_name = "training_sandbox/leave.html"

    def post(self, request):
        workspace_leave(request=request)
        messages.success(request, "You left the sandbox: this is real data again.")
        return redirect("dashboard")


class _OwnSandboxMixin(LoginRequiredMixin):
    def own_sandbox(self):
        sandbox = selectors.sandbox_for(user=self.request.user)
        if sandbox is None:
            raise Http404("You have no sandbox")
        return sandbox


class SandboxResetView(_OwnSandboxMixin, View):
    def post(self, request):
        sandbox = services.sandbox_reset(workspace=self.own_sandbox())
        messages.success(
            request, f"Your sandbox is back to its seeded state (seed {sandbox.seed})."
        )
        return redirect("sandbox:home")


class SandboxDeleteView(_OwnSandboxMixin, View):
    def post(self, request):
        services.sandbox_delete(workspace=self.own_sandbox())
        workspace_leave(request=request)
        messages.success(request, "Your sandbox and everything in it are deleted.")
        return redirect("sandbox:home")


class WouldHaveSentView(_OwnSandboxMixin, TemplateView):
    template_name = "training_sandbox/would_have_sent.html"

    def get_context_data(self, **kwargs):
        sandbox = self.own_sandbox()
        return super().get_context_data(
            sandbox=sandbox, items=selectors.would_have_sent(workspace=sandbox), **kwargs
        )


# -- lessons ------------------------------------------------------------------


class LessonListView(LoginRequiredMixin, TemplateView):
    template_name = "training_sandbox/lesson_list.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            statuses=selectors.lesson_statuses(user=self.request.user),
            sandbox=selectors.sandbox_for(user=self.request.user),
            **kwargs,
        )


class _LessonMixin(LoginRequiredMixin):
    def lesson(self):
        lesson = get_lesson(self.kwargs["slug"])
        if lesson is None:
            raise Http404("No such lesson")
        return lesson


class LessonDetailView(_LessonMixin, TemplateView):
    template_name = "training_sandbox/lesson_detail.html"

    def get_context_data(self, **kwargs):
        lesson = self.lesson()
        progress = selectors.lesson_progress_get(user=self.request.user, lesson=lesson.slug)
        missing = {m["step"]: m["missing"] for m in (progress.missing if progress else [])}
        checked = progress is not None and progress.checked_at is not None
        steps = [
            {
                "step": step,
                "missing": missing.get(step.key, ""),
                "done": checked and step.key not in missing,
            }
            for step in lesson.steps
        ]
        answers = (progress.answers if progress else None) or {}
        questions = [
            {
                "question": question,
                "choices": [
                    {"index": i, "text": text, "chosen": answers.get(question.key) == i}
                    for i, text in enumerate(question.choices)
                ],
                "answered": question.key in answers,
                "right": question.is_right(answers.get(question.key)),
            }
            for question in lesson.questions
        ]
        sandbox = selectors.sandbox_for(user=self.request.user)
        # A capability's lesson needs the sandbox's AI: say so while it is prepared.
        ai_status = preparation_status(workspace=sandbox) if sandbox and lesson.capability else None
        return super().get_context_data(
            lesson=lesson,
            progress=progress,
            steps=steps,
            questions=questions,
            sandbox=sandbox,
            ai_status=ai_status,
            **kwargs,
        )


class LessonStartView(_LessonMixin, View):
    def post(self, request, slug):
        lesson = self.lesson()
        sandbox = selectors.sandbox_for(user=request.user)
        if sandbox is None:
            messages.error(request, "Create your sandbox first.")
            return redirect("sandbox:home")
        services.lesson_start(user=request.user, lesson=lesson.slug, workspace=sandbox)
        if not request.workspace.is_sandbox:
            workspace_enter(request=request, workspace=sandbox)
        messages.success(
            request, f"Lesson started: {lesson.title}. Work in your sandbox, then Check."
        )
        return HttpResponseRedirect(reverse("sandbox:lesson-detail", args=[lesson.slug]))


class LessonCheckView(_LessonMixin, View):
    def post(self, request, slug):
        lesson = self.lesson()
        sandbox = selectors.sandbox_for(user=request.user)
        if sandbox is None:
            messages.error(request, "Create your sandbox first.")
            return redirect("sandbox:home")
        outcome = services.lesson_check(user=request.user, lesson=lesson.slug, workspace=sandbox)
        if outcome.passed:
            messages.success(request, f"Passed: {lesson.title}.")
        else:
            messages.warning(request, "Not yet: " + " ".join(m["missing"] for m in outcome.missing))
        return HttpResponseRedirect(reverse("sandbox:lesson-detail", args=[lesson.slug]))


class LessonAnswerView(_LessonMixin, View):
    """The lesson's knowledge check: record the chosen answers, then check the lesson."""

    def post(self, request, slug):
        lesson = self.lesson()
        sandbox = selectors.sandbox_for(user=request.user)
        if sandbox is None:
            messages.error(request, "Create your sandbox first.")
            return redirect("sandbox:home")
        answers = {q.key: request.POST[q.key] for q in lesson.questions if q.key in request.POST}
        try:
            outcome = services.lesson_answer(
                user=request.user, lesson=lesson.slug, workspace=sandbox, answers=answers
            )
        except ValidationError as exc:
            messages.error(request, _error_text(exc))
            return HttpResponseRedirect(reverse("sandbox:lesson-detail", args=[lesson.slug]))
        if outcome.passed:
            messages.success(request, f"Passed: {lesson.title}.")
        elif outcome.questions_missing:
            messages.warning(request, "Not all answers are right yet: read the explanations below.")
        else:
            messages.success(
                request,
                "Every answer is right. Not yet passed: "
                + " ".join(m["missing"] for m in outcome.missing),
            )
        return HttpResponseRedirect(reverse("sandbox:lesson-detail", args=[lesson.slug]))


class NoticeDismissView(LoginRequiredMixin, View):
    """ "Got it" on a dashboard notice: hide it for good, back to the dashboard."""

    def post(self, request, capabilities):
        keys = capabilities.split(",")
        if len(keys) > len(registry) or any(key not in registry for key in keys):
            raise Http404("No such capability")
        for key in keys:
            services.notice_dismiss(user=request.user, capability=key)
        return redirect("dashboard")


# -- staff --------------------------------------------------------------------


class _StaffMixin(LoginRequiredMixin, UserPassesTestMixin):
    raise_exception = True

    def test_func(self) -> bool:
        return self.request.user.is_staff

    def sandbox(self):
        sandbox = selectors.sandbox_get(pk=self.kwargs["pk"])
        if sandbox is None:
            raise Http404("No such sandbox")
        return sandbox


class ProgressView(_StaffMixin, TemplateView):
    template_name = "training_sandbox/progress.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(overview=selectors.progress_overview(), **kwargs)


class StaffSandboxResetView(_StaffMixin, View):
    def post(self, request, pk):
        sandbox = services.sandbox_reset(workspace=self.sandbox())
        messages.success(request, f"{sandbox.name} is back to its seeded state.")
        return redirect("sandbox:progress")


class StaffSandboxDeleteView(_StaffMixin, View):
    def post(self, request, pk):
        sandbox = self.sandbox()
        name = sandbox.name
        services.sandbox_delete(workspace=sandbox)
        messages.success(request, f"{name} is deleted.")
        return redirect("sandbox:progress")
