"""The import page's form."""

from __future__ import annotations

from django import forms

from crmcore import json_limits
from crmcore.integrations import importer, selectors, services
from crmcore.integrations.models import ImportKind


class ImportForm(forms.Form):
    """Kind, file and mapping. Without a mapping the file goes to the mapping screen.

    ``staged`` is a file this session uploaded before (the form shown again
    with an error keeps it, so the user does not choose it again).
    """

    kind = forms.ChoiceField(choices=ImportKind.choices)
    file = forms.FileField(label="CSV file", required=False)
    staged = forms.CharField(required=False, widget=forms.HiddenInput)
    saved_mapping = forms.ModelChoiceField(
        queryset=None,
        required=False,
        empty_label="— none: map the columns on the next screen —",
    )
    mapping = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "cols": 60, "spellcheck": "false"}),
        label="Or paste a mapping (JSON)",
        help_text='Optional. {"columns": {"CSV column": "field"}, "unmapped": "attributes"}',
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

    def __init__(self, *args, workspace, staged_file=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["saved_mapping"].queryset = selectors.import_mapping_list(workspace=workspace)
        self.staged_file = staged_file

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload:
            if self.staged_file is None:
                raise forms.ValidationError("Choose a CSV file.")
            return None
        try:
            services.import_upload_check(upload)
        except importer.ImportInputError as exc:
            raise forms.ValidationError(str(exc)) from None
        return upload

    def clean(self):
        data = super().clean()
        saved, pasted = data.get("saved_mapping"), (data.get("mapping") or "").strip()
        if saved and pasted:
            raise forms.ValidationError("Choose a saved mapping or paste one, not both.")
        kind = data.get("kind")
        if not saved and not pasted:
            data["mapping_data"] = None  # the columns are mapped on the next screen
            return data
        if saved is not None:
            if kind and saved.kind != kind:
                raise forms.ValidationError(f"The mapping {saved.name!r} is for {saved.kind}.")
            data["mapping_data"] = saved.mapping
        else:
            try:
                data["mapping_data"] = json_limits.loads(pasted)
            except ValueError as exc:
                raise forms.ValidationError(f"The mapping is not valid JSON: {exc}") from None
        if kind:
            try:
                importer.parse_mapping(data["mapping_data"], spec=importer.kind_spec(kind))
            except importer.ImportInputError as exc:
                raise forms.ValidationError(str(exc)) from None
        return data


LEAVE_OUT = ""
AS_ATTRIBUTE = "attributes"
TYPE_CHOICES = [
    ("", "as the values suggest"),
    ("date", "date"),
    ("number", "number"),
    ("boolean", "yes/no"),
    ("category", "category"),
    ("text", "free text"),
]


def field_label(name: str) -> str:
    return name.replace("_", " ").capitalize()


class ImportMappingScreenForm(forms.Form):
    """The mapping screen: a field, and for attributes a type and unit, per column."""

    date_order = forms.ChoiceField(
        choices=[("dmy", "day first (31/12/2024)"), ("mdy", "month first (12/31/2024)")],
        initial="dmy",
        required=False,
        label="Dates are written",
    )
    save_as = forms.CharField(
        required=False, max_length=120, strip=True, label="Save this mapping as (optional)"
    )
    dry_run = forms.BooleanField(required=False, label="Dry run (check and count only)")

    def __init__(self, *args, spec, preview, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.spec = spec
        self.preview = preview
        targets = [(LEAVE_OUT, "— leave out —")]
        targets += [(name, field_label(name)) for name in spec.fields]
        if spec.attributes:
            targets.append((AS_ATTRIBUTE, "Attribute"))
        for column in preview.columns:
            suggested = column.suggested
            if suggested.startswith("attributes."):
                suggested = AS_ATTRIBUTE
            self.fields[f"col_{column.index}"] = forms.ChoiceField(
                choices=targets, required=False, initial=suggested, label=column.header
            )
            if spec.attributes:
                self.fields[f"type_{column.index}"] = forms.ChoiceField(
                    choices=TYPE_CHOICES, required=False, initial="", label="Type"
                )
                self.fields[f"unit_{column.index}"] = forms.CharField(
                    required=False, max_length=20, strip=True, label="Unit"
                )

    def rows(self):
        """(column preview, field, type field, unit field) for the template."""
        for column in self.preview.columns:
            i = column.index
            yield (
                column,
                self[f"col_{i}"],
                self[f"type_{i}"] if f"type_{i}" in self.fields else None,
                self[f"unit_{i}"] if f"unit_{i}" in self.fields else None,
            )

    def clean(self):
        data = super().clean()
        columns: dict[str, str] = {}
        types: dict[str, str] = {}
        units: dict[str, str] = {}
        for column in self.preview.columns:
            i = column.index
            target = data.get(f"col_{i}") or LEAVE_OUT
            if target == LEAVE_OUT or not column.header:
                continue
            if target == AS_ATTRIBUTE:
                target = f"attributes.{column.header}"
                kind = data.get(f"type_{i}") or ""
                if kind:
                    types[target] = kind
                unit = data.get(f"unit_{i}") or ""
                if unit:
                    if kind != "number":
                        self.add_error(f"unit_{i}", "A unit needs the type number.")
                        continue
                    units[target] = unit
            columns[column.header] = target
        mapping: dict = {"columns": columns, "date_order": data.get("date_order") or "dmy"}
        if types:
            mapping["types"] = types
        if units:
            mapping["units"] = units
        if not self.preview.file_format.delimiter_detected:
            mapping["delimiter"] = self.preview.file_format.delimiter
        if not columns:
            raise forms.ValidationError("Map at least one column.")
        try:
            importer.parse_mapping(mapping, spec=self.spec)
        except importer.ImportInputError as exc:
            raise forms.ValidationError(str(exc)) from None
        data["mapping_data"] = mapping
        return data
