"""Forms of the CRM pages."""

from __future__ import annotations

from django import forms

from crmcore.models import Contact


class ContactFilterForm(forms.Form):
    """Search and filters of the contact list (GET).

    The team and owner choices are given by the view (from selectors), so the
    form runs no query of its own, whatever it validates.
    """

    q = forms.CharField(
        required=False,
        max_length=200,
        label="Search",
        widget=forms.TextInput(
            attrs={"placeholder": "Name, email or company", "type": "search", "autofocus": True}
        ),
    )
    stage = forms.ChoiceField(
        required=False, choices=[("", "All stages"), *Contact.Stage.choices], label="Stage"
    )
    team = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Team")
    owner = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Owner")

    def __init__(self, *args, teams=(), owners=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = [("", "All teams")] + [(t.pk, t.name) for t in teams]
        self.fields["owner"].choices = [("", "All owners")] + [
            (u.pk, u.get_full_name() or u.get_username()) for u in owners
        ]

    def filters(self) -> dict:
        """Keyword arguments for ``selectors.contact_list`` (empty when invalid)."""
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        return {
            "q": data["q"].strip(),
            "stage": data["stage"],
            "team_id": data["team"],
            "owner_id": data["owner"],
        }
