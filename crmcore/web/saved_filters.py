"""Contact list filters a user saves under a name, and deletes.

The saved query keeps only the list's own parameters (search, stage, team,
owner, sort and the app columns' filters), never the page number, so a saved
filter always opens on its first page.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpResponseBadRequest, HttpResponseRedirect
from django.http.request import QueryDict
from django.urls import reverse
from django.utils.http import urlencode
from django.views import View

from crmcore import extensions, services

LIST_PARAMETERS = ("q", "stage", "team", "owner", "sort")


def list_query(request, params: QueryDict) -> str:
    """``params`` as a query string with only the contact list's own parameters,
    empty values dropped, in a fixed order (so one filter is one string)."""
    keys = [*LIST_PARAMETERS, *(c.key for c in extensions.contact_columns_for(request))]
    values = [(key, str(params.get(key, "")).strip()) for key in keys]
    return urlencode([(key, value) for key, value in values if value])


class SavedFilterForm(forms.Form):
    name = forms.CharField(max_length=80)
    query = forms.CharField(max_length=1000)


class SavedFilterCreateView(LoginRequiredMixin, View):
    def post(self, request):
        form = SavedFilterForm(request.POST)
        if not form.is_valid():
            return HttpResponseBadRequest("Give the filter a name (at most 80 characters).")
        query = list_query(request, QueryDict(form.cleaned_data["query"]))
        try:
            saved = services.saved_filter_save(
                workspace=request.workspace,
                owner=request.user,
                name=form.cleaned_data["name"],
                query=query,
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return HttpResponseRedirect(f"{reverse('contact-list')}?{query}")
        messages.success(request, f"Saved the filter “{saved.name}”.")
        return HttpResponseRedirect(f"{reverse('contact-list')}?{saved.query}")


class SavedFilterDeleteView(LoginRequiredMixin, View):
    def post(self, request, pk: int):
        if not services.saved_filter_delete(workspace=request.workspace, owner=request.user, pk=pk):
            return HttpResponseBadRequest("No such saved filter of yours.")
        messages.success(request, "Deleted the saved filter.")
        return HttpResponseRedirect(reverse("contact-list"))
