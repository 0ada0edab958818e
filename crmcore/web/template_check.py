"""The server-side check of campaign templates that the pages call as the author types."""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, JsonResponse
from django.views import View

from crmcore import placeholders

FIELDS = {"subject_template": True, "body_template": False}


class CampaignTemplateCheckView(LoginRequiredMixin, View):
    """POST ``subject_template`` and/or ``body_template``; answers each one's problems.

    ``{"body_template": {"ok": false, "problems": [{"line", "column", "message",
    "text"}]}}``: the same rules as saving (``crmcore.placeholders``), so what
    is shown while typing is what blocks saving.
    """

    def post(self, request: HttpRequest) -> JsonResponse:
        answer = {}
        for name, subject in FIELDS.items():
            if name in request.POST:
                problems = placeholders.template_problems(request.POST[name], subject=subject)
                answer[name] = {"ok": not problems, "problems": [p.as_dict() for p in problems]}
        return JsonResponse(answer)
