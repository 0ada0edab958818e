"""A person's rights: a copy of everything stored about them, and erasure.

The JSON copy is for whoever may see the contact; erasure is for admins and
asks for confirmation, saying what goes.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views import View

from crmcore import selectors, services
from crmcore.web.users import StaffRequiredMixin
from crmcore.web.views import contact_or_404


class ContactPersonalDataView(LoginRequiredMixin, View):
    def get(self, request, pk):
        contact = contact_or_404(request, pk)
        data = selectors.contact_personal_data(contact)
        response = HttpResponse(
            json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False),
            content_type="application/json; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="contact-{contact.pk}.json"'
        return response


class ContactEraseView(StaffRequiredMixin, View):
    denied_reason = "Only administrators can erase a person."

    def get(self, request, pk):
        contact = contact_or_404(request, pk)
        return render(
            request,
            "crmcore/erase_confirm.html",
            {"contact": contact, "impact": selectors.delete_impact([contact]).sentences()},
        )

    def post(self, request, pk):
        contact = contact_or_404(request, pk)
        entry = services.contact_erase(contact=contact, actor=request.user)
        messages.success(
            request, f"Erased: contact #{entry.object_id} and everything derived from them."
        )
        return HttpResponseRedirect(reverse("contact-list"))
