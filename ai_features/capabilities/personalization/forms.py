"""Forms of the campaign builder and the suggested-reply panel."""

from __future__ import annotations

from django import forms
from django.urls import reverse

from crmcore import placeholders
from crmcore.models import Campaign, Contact

DEFAULT_BODY = "Hi {first_name},\n\nWe would love to hear how things are going.\n\nBest regards"


class CampaignBuilderForm(forms.Form):
    name = forms.CharField(max_length=200)
    goal = forms.ChoiceField(choices=Campaign.Goal.choices)
    lifecycle_stage = forms.ChoiceField(
        label="Stage", choices=[("", "Any stage"), *Contact.Stage.choices], required=False
    )
    segment = forms.ChoiceField(required=False)
    region = forms.ChoiceField(required=False)
    team = forms.TypedChoiceField(coerce=int, empty_value=None, required=False)
    product = forms.TypedChoiceField(
        label="Product owned", coerce=int, empty_value=None, required=False
    )
    churn_band = forms.ChoiceField(
        label="Churn-risk band",
        choices=[("", "Any risk"), ("high", "High"), ("medium", "Medium"), ("low", "Low")],
        required=False,
    )
    subject_template = forms.CharField(required=False)
    body_template = forms.CharField(widget=forms.Textarea(attrs={"rows": 8}))

    AUDIENCE_FIELDS = ("lifecycle_stage", "segment", "region", "team", "product", "churn_band")

    def __init__(self, *args, choices: dict, with_churn_band: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["segment"].choices = [("", "Any segment")] + [
            (s, s) for s in choices["segments"]
        ]
        self.fields["region"].choices = [("", "Any region")] + [(r, r) for r in choices["regions"]]
        self.fields["team"].choices = [("", "Any team"), *choices["teams"]]
        self.fields["product"].choices = [("", "Any product"), *choices["products"]]
        if not with_churn_band:
            del self.fields["churn_band"]
        check_url = reverse("campaign-template-check")
        for name in ("subject_template", "body_template"):
            self.fields[name].widget.attrs["data-template-check"] = check_url

    @classmethod
    def initial_for(cls, campaign: Campaign | None) -> dict:
        if campaign is None:
            return {"goal": Campaign.Goal.CHECK_IN, "body_template": DEFAULT_BODY}
        return {
            "name": campaign.name,
            "goal": campaign.goal,
            "subject_template": campaign.subject_template,
            "body_template": campaign.body_template,
            **{k: campaign.audience.get(k, "") for k in cls.AUDIENCE_FIELDS},
        }

    def clean_subject_template(self) -> str:
        return placeholders.validate_template(self.cleaned_data["subject_template"], subject=True)

    def clean_body_template(self) -> str:
        return placeholders.validate_template(self.cleaned_data["body_template"])

    def audience(self, previous: dict | None = None) -> dict:
        data = {k: self.cleaned_data.get(k) for k in self.AUDIENCE_FIELDS if k in self.fields}
        if "churn_band" not in self.fields and previous and previous.get("churn_band"):
            # Kept as it was for those who cannot see it (prediction off).
            data["churn_band"] = previous["churn_band"]
        if previous and previous.get("contacts"):
            # Added by hand from the contact list: kept as they are.
            data["contacts"] = previous["contacts"]
        return {k: v for k, v in data.items() if v not in (None, "")}


class MessageEditForm(forms.Form):
    subject = forms.CharField(max_length=250, required=False)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 10}))


class ReplyDecisionForm(forms.Form):
    action = forms.ChoiceField(
        choices=[
            ("send", "Send reply by email"),
            ("accepted", "Send as suggested"),
            ("edited", "Send edited"),
            ("draft", "Save as draft"),
            ("dismissed", "Dismiss"),
        ]
    )
    body = forms.CharField(widget=forms.Textarea, required=False)
