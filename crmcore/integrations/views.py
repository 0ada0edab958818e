"""The import page: upload a file, choose a kind and a mapping, see the result."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from crmcore.integrations import api, importer, selectors, services
from crmcore.integrations.conf import app_settings
from crmcore.integrations.forms import ImportForm
from crmcore.integrations.uploads import limit_import_uploads

RECENT_RUNS = 10
ERRORS_SHOWN = 50


@method_decorator(csrf_exempt, name="dispatch")  # checked in post, once the limit is in place
class ImportRunCreateView(LoginRequiredMixin, View):
    template_name = "integrations/import_form.html"

    def get(self, request):
        return self._render(request, ImportForm(workspace=request.workspace))

    def post(self, request):
        # The upload limit must be in place before anything reads the body,
        # the CSRF check included (Django's documented pattern).
        limit_import_uploads(request)
        return self._post(request)

    @method_decorator(csrf_protect)
    def _post(self, request):
        form = ImportForm(request.POST, request.FILES, workspace=request.workspace)
        if not form.is_valid():
            return self._render(request, form, status=400)
        data = form.cleaned_data
        try:
            if data["save_as"] and not data["saved_mapping"]:
                services.import_mapping_save(
                    workspace=request.workspace,
                    name=data["save_as"],
                    kind=data["kind"],
                    mapping=data["mapping_data"],
                    user=request.user,
                )
            run = services.import_run_create(
                workspace=request.workspace,
                kind=data["kind"],
                upload=data["file"],
                mapping=data["mapping_data"],
                dry_run=data["dry_run"],
                notify_subscribers=not data["quiet"],
                user=request.user,
            )
        except importer.ImportInputError as exc:
            form.add_error(None, str(exc))
            return self._render(request, form, status=400)
        messages.success(request, f"Import #{run.pk} started.")
        return redirect("integrations:import-detail", pk=run.pk)

    def _render(self, request, form, status=200):
        runs = selectors.import_run_list(workspace=request.workspace)[:RECENT_RUNS]
        context = {
            "form": form,
            "runs": runs,
            "max_upload_bytes": app_settings.IMPORT_MAX_UPLOAD_BYTES,
        }
        return render(request, self.template_name, context, status=status)


class ImportRunDetailView(LoginRequiredMixin, View):
    template_name = "integrations/import_detail.html"

    def get(self, request, pk: int):
        run = selectors.import_run_get(workspace=request.workspace, pk=pk)
        if run is None:
            raise Http404("No such import")
        errors = list(run.row_errors.order_by("line", "id")[:ERRORS_SHOWN])
        return render(
            request,
            self.template_name,
            {
                "run": run,
                "errors": errors,
                "more_errors": run.rejected > len(errors),
                "running": run.status in ("pending", "running"),
            },
        )


class ImportRunErrorsView(LoginRequiredMixin, View):
    def get(self, request, pk: int):
        run = selectors.import_run_get(workspace=request.workspace, pk=pk)
        if run is None:
            raise Http404("No such import")
        return api.error_report_response(run)
