"""The import page: upload a file, choose a kind and a mapping, see the result."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from crmcore.integrations import api, importer, selectors, services, staging
from crmcore.integrations.conf import app_settings
from crmcore.integrations.forms import ImportForm, ImportMappingScreenForm
from crmcore.integrations.importing import preview as importer_preview
from crmcore.integrations.models import ImportKind
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
        staged = staging.staged_file(request, request.POST.get("staged", ""))
        form = ImportForm(
            request.POST, request.FILES, workspace=request.workspace, staged_file=staged
        )
        valid = form.is_valid()
        upload = form.cleaned_data.get("file") if hasattr(form, "cleaned_data") else None
        if upload:
            # Kept for the next step, or for the form shown again with an error.
            staged = staging.stage_upload(request, upload)
        if not valid:
            return self._render(request, self._keeping(form, request, staged), status=400)
        data = form.cleaned_data
        assert staged is not None  # the form needs a file or a staged one
        if data["mapping_data"] is None:
            url = reverse("integrations:import-map", args=[staged.token])
            return redirect(f"{url}?kind={data['kind']}")
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
                upload=staged.as_upload(),
                mapping=data["mapping_data"],
                dry_run=data["dry_run"],
                notify_subscribers=not data["quiet"],
                user=request.user,
            )
        except importer.ImportInputError as exc:
            form.add_error(None, str(exc))
            return self._render(request, self._keeping(form, request, staged), status=400)
        messages.success(request, f"Import #{run.pk} started.")
        return redirect("integrations:import-detail", pk=run.pk)

    def _keeping(self, form, request, staged):
        """The form shown again with its errors, holding on to the file already chosen."""
        if staged is None:
            return form
        data = request.POST.copy()
        data["staged"] = staged.token
        kept = ImportForm(data, workspace=request.workspace, staged_file=staged)
        kept.is_valid()
        for error in form.non_field_errors():
            if error not in kept.non_field_errors():
                kept.add_error(None, error)
        return kept

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


class ImportMapView(LoginRequiredMixin, View):
    """The mapping screen: each column's field and type, a preview, then a dry run or import."""

    template_name = "integrations/import_map.html"

    def get(self, request, token: str):
        staged, spec, preview, refused = self._load(request, token)
        if refused:
            return self._render(request, staged, spec, None, None, status=400, refused=refused)
        form = ImportMappingScreenForm(spec=spec, preview=preview)
        return self._render(request, staged, spec, preview, form)

    def post(self, request, token: str):
        staged, spec, preview, refused = self._load(request, token)
        if refused:
            return self._render(request, staged, spec, None, None, status=400, refused=refused)
        form = ImportMappingScreenForm(request.POST, spec=spec, preview=preview)
        if not form.is_valid():
            return self._render(request, staged, spec, preview, form, status=400)
        mapping = form.cleaned_data["mapping_data"]
        action = request.POST.get("action", "preview")
        if action not in ("import", "dry_run"):
            try:
                stored = importer_preview.stored_preview(
                    staged.source(), spec=spec, mapping=mapping
                )
            except importer.ImportInputError as exc:
                form.add_error(None, str(exc))
                return self._render(request, staged, spec, preview, form, status=400)
            return self._render(request, staged, spec, preview, form, stored=stored)
        try:
            if form.cleaned_data["save_as"]:
                services.import_mapping_save(
                    workspace=request.workspace,
                    name=form.cleaned_data["save_as"],
                    kind=spec.kind,
                    mapping=mapping,
                    user=request.user,
                )
            run = services.import_run_create(
                workspace=request.workspace,
                kind=spec.kind,
                upload=staged.as_upload(),
                mapping=mapping,
                dry_run=action == "dry_run",
                user=request.user,
            )
        except importer.ImportInputError as exc:
            form.add_error(None, str(exc))
            return self._render(request, staged, spec, preview, form, status=400)
        label = "Dry run" if run.dry_run else "Import"
        messages.success(request, f"{label} #{run.pk} started.")
        return redirect("integrations:import-detail", pk=run.pk)

    def _staged(self, request, token: str):
        staged = staging.staged_file(request, token)
        if staged is None:
            raise Http404("This upload has expired; choose the file again.")
        kind = request.GET.get("kind") or request.POST.get("kind") or ImportKind.CONTACTS
        try:
            spec = importer.kind_spec(kind)
        except importer.ImportInputError:
            raise Http404("No such kind of import") from None
        return staged, spec

    def _load(self, request, token: str):
        """The staged file, the kind, the file's preview, and why the file is refused ("")."""
        staged, spec = self._staged(request, token)
        try:
            return staged, spec, importer_preview.file_preview(staged.source(), spec=spec), ""
        except importer.ImportInputError as exc:
            return staged, spec, None, str(exc)

    def _render(self, request, staged, spec, preview, form, *, status=200, stored=None, refused=""):
        context = {
            "staged": staged,
            "spec": spec,
            "kinds": ImportKind.choices,
            "preview": preview,
            "form": form,
            "stored": stored,
            "refused": refused,
            "headers": [c.header for c in preview.columns] if preview else [],
        }
        return render(request, self.template_name, context, status=status)
