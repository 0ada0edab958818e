from __future__ import annotations

from decimal import Decimal

from django import forms

from ai_features.registry import registry
from ai_features.services import PHASES


def _names(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


class ConfirmMixin(forms.Form):
    """Set once the admin has seen the change's impact and confirms it."""

    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)


class PhaseForm(ConfirmMixin):
    """No choice is preset: the admin picks the capability and the phase."""

    capability = forms.ChoiceField(choices=())
    phase = forms.ChoiceField(
        choices=[("", "Choose a phase…"), *[(p, p.capitalize()) for p in PHASES]]
    )
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
        self.fields["capability"].choices = [
            ("", "Choose a capability…"),
            *[(c.key, c.title) for c in registry],
        ]

    def clean_teams(self) -> list[str] | None:
        return _names(self.cleaned_data["teams"]) or None

    def clean_users(self) -> list[str] | None:
        return _names(self.cleaned_data["users"]) or None


class KillSwitchForm(ConfirmMixin):
    """Nothing preset: the admin picks on or off."""

    active = forms.TypedChoiceField(
        choices=[("", "Choose…"), ("on", "On (stop all AI)"), ("off", "Off")],
        coerce=lambda v: v == "on",
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


class PlanActionForm(ConfirmMixin):
    action = forms.ChoiceField(choices=[("pause", "Pause"), ("resume", "Resume"), ("skip", "Skip")])
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


class PlanCreateForm(ConfirmMixin):
    pilot_teams = forms.CharField(help_text="Production team names, comma-separated.")
    milestones = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        initial="pilot 7\n10% 7\n25% 7\n50% 7\neveryone",
        help_text="One milestone a line: pilot, a percentage or everyone, then its minimum days.",
        max_length=2000,
    )
    min_trained_share = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=100,
        label="Target users who passed the lesson (%)",
        help_text="Held at a milestone until this share passed the lesson; empty: no requirement.",
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))

    def clean_pilot_teams(self) -> list[str]:
        return _names(self.cleaned_data["pilot_teams"])


class PlanMilestonesForm(forms.Form):
    milestones = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), max_length=2000)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
