"""The one-click unsubscribe page (no login): see :mod:`crmcore.marketing`."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from crmcore import marketing, services


@method_decorator(csrf_exempt, name="dispatch")
class UnsubscribeView(View):
    """GET: one button; POST (the button, or a mail client's one-click): opted out.

    Signed token only, so no CSRF token: a mail client's one-click POST has none.
    A forged, damaged or unknown token is a 404.
    """

    template_name = "crmcore/unsubscribe.html"

    def contact(self, token: str):
        contact = marketing.unsubscribe_contact(token)
        if contact is None:
            raise Http404("This unsubscribe link is not valid.")
        return contact

    def get(self, request, token: str):
        contact = self.contact(token)
        return render(
            request,
            self.template_name,
            {"contact": contact, "done": contact.marketing_opt_out, "token": token},
        )

    def post(self, request, token: str):
        contact = self.contact(token)
        if not contact.marketing_opt_out:
            services.contact_update(contact=contact, data={"marketing_opt_out": True})
        return render(request, self.template_name, {"contact": contact, "done": True})
