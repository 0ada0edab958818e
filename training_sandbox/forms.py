"""Forms of the sandbox pages."""

from __future__ import annotations

from django import forms

from training_sandbox.conf import app_settings


def size_choices() -> list[tuple[int, str]]:
    default = app_settings.DEFAULT_CONTACTS
    largest = app_settings.WEB_MAX_CONTACTS
    sizes = sorted({default, largest})
    return [(n, f"{n:,} contacts" + (" (standard)" if n == default else "")) for n in sizes]


class SandboxCreateForm(forms.Form):
    contacts = forms.TypedChoiceField(coerce=int, label="Size")
    seed = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=2**31 - 1,
        label="Seed",
        help_text="The same seed gives the same data: share it to compare with a colleague.",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contacts"].choices = size_choices()
        self.fields["contacts"].initial = app_settings.DEFAULT_CONTACTS
        self.fields["seed"].widget.attrs["placeholder"] = str(app_settings.DEFAULT_SEED)
