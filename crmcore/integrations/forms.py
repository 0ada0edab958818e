"""The import page's form."""

from __future__ import annotations

import json

from django import forms

from crmcore.integrations import importer, selectors, services
from crmcore.integrations.models import ImportKind


class ImportForm(forms.Form):
    kind = forms.ChoiceField(choices=ImportKind.choices)
    file = forms.FileField(label="CSV file")
    saved_mapping = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="— paste a mapping below —"
    )
    mapping = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "cols": 60, "spellcheck": "false"}),
        help_text='{"columns": {"CSV column": "field"}, "unmapped": "attributes"}',
    )
    save_as = forms.CharField(
        required=False, max_length=120, label="Save the pasted mapping as", strip=True
    )
    dry_run = forms.BooleanField(required=False, label="Dry run (check and count only)")
    quiet = forms.BooleanField(
        required=False,
        label="Do not notify subscribers",
        help_text="Webhooks hear nothing of these records; their analysis still runs.",
    )

    def __init__(self, *args, workspace, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["saved_mapping"].queryset = selectors.import_mapping_list(workspace=workspace)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        try:
            services.import_upload_check(upload)
        except importer.ImportInputError as exc:
            raise forms.ValidationError(str(exc)) from None
        return upload

    def clean(self):
        data = super().clean()
        saved, pasted = data.get("saved_mapping"), (data.get("mapping") or "").strip()
        if bool(saved) == bool(pasted):
            raise forms.ValidationError("Choose a saved mapping or paste one (not both).")
        kind = data.get("kind")
        if saved is not None:
            if kind and saved.kind != kind:
                raise forms.ValidationError(f"The mapping {saved.name!r} is for {saved.kind}.")
            data["mapping_data"] = saved.mapping
        else:
            try:
                data["mapping_data"] = json.loads(pasted)
            except ValueError as exc:
                raise forms.ValidationError(f"The mapping is not valid JSON: {exc}") from None
        if kind:
            try:
                importer.parse_mapping(data["mapping_data"], spec=importer.kind_spec(kind))
            except importer.ImportInputError as exc:
                raise forms.ValidationError(str(exc)) from None
        return data
