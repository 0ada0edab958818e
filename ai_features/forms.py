from __future__ import annotations

from decimal import Decimal

from django import forms

from ai_features.registry import registry
from ai_features.services import PHASES


def _names(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


class PhaseForm(forms.Form):
    capability = forms.ChoiceField(choices=())
    phase = forms.ChoiceField(choices=[(p, p.capitalize()) for p in PHASES])
    percent = forms.DecimalField(
        required=False,
        min_value=Decimal("0.1"),
        max_value=Decimal("99.9"),
        decimal_places=1,
        max_digits=3,
    )
    teams = forms.CharField(required=False, help_text="Team names, comma-separated.")
    users = forms.CharField(required=False, help_text="Usernames, comma-separated.")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["capability"].choices = [(c.key, c.title) for c in registry]

    def clean_teams(self) -> list[str] | None:
        return _names(self.cleaned_data["teams"]) or None

    def clean_users(self) -> list[str] | None:
        return _names(self.cleaned_data["users"]) or None


class KillSwitchForm(forms.Form):
    active = forms.TypedChoiceField(
        choices=[("on", "On"), ("off", "Off")], coerce=lambda v: v == "on"
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
