"""Forms of the CRM pages."""

from __future__ import annotations

import datetime as dt
import json

from django import forms
from django.urls import reverse
from django.utils import timezone

from crmcore import placeholders
from crmcore.models import Account, Campaign, Contact, Deal, Interaction


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


# --------------------------------------------------------------------------- writes
#
# The forms below validate what a user typed and hand plain values to
# ``crmcore.services``; they never save a model themselves. Foreign-key
# choices are querysets of the active workspace given by the view (from
# selectors), so a primary key of another workspace is "not one of the
# available choices".


def person_label(user) -> str:
    return user.get_full_name() or user.get_username()


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return person_label(obj)


class ContactChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.full_name} ({obj.email})" if obj.email else obj.full_name


def _render_attribute(value) -> str:
    if isinstance(value, str) and "\n" not in value:
        return value
    return json.dumps(value, ensure_ascii=False)


def attributes_to_text(attributes: dict) -> str:
    """Custom attributes as ``key = value`` lines, sorted by key."""
    return "\n".join(
        f"{key} = {_render_attribute(value)}" for key, value in sorted(attributes.items())
    )


def attributes_from_text(text: str, previous: dict) -> dict:
    """Parse ``key = value`` lines back into a dict.

    A line left as it was keeps its value exactly (numbers, lists, ...). A
    changed value of an attribute that was not a string is read as JSON when
    it is JSON (``12``, ``true``), otherwise as text; new attributes are text.
    """
    attributes: dict = {}
    errors = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        # Lines are written "key = value"; a key may itself hold a bare "=".
        key, separator, value = line.partition(" = " if " = " in line else "=")
        key, value = key.strip(), value.strip()
        if not separator or not key:
            errors.append(f"Line {number}: write it as “key = value”.")
        elif key in attributes:
            errors.append(f"Line {number}: “{key}” is given twice.")
        elif key in previous and value == _render_attribute(previous[key]).strip():
            attributes[key] = previous[key]
        elif key in previous and not isinstance(previous[key], str):
            try:
                attributes[key] = json.loads(value)
            except ValueError:
                attributes[key] = value
        else:
            attributes[key] = value
    if errors:
        raise forms.ValidationError(errors)
    return attributes


class ContactForm(forms.Form):
    """Create or edit a contact (``contact_create`` / ``contact_update``)."""

    first_name = forms.CharField(max_length=100)
    last_name = forms.CharField(max_length=100, required=False)
    email = forms.EmailField(required=False)
    phone = forms.CharField(max_length=40, required=False)
    account = forms.ModelChoiceField(queryset=None, required=False, empty_label="No account")
    lifecycle_stage = forms.ChoiceField(
        label="Lifecycle stage", choices=Contact.Stage.choices, initial=Contact.Stage.LEAD
    )
    team = forms.ModelChoiceField(queryset=None, required=False, empty_label="No team")
    owner = PersonChoiceField(queryset=None, required=False, empty_label="No owner")
    region = forms.CharField(
        max_length=50, required=False, widget=forms.TextInput(attrs={"list": "region-values"})
    )
    segment = forms.CharField(
        max_length=50, required=False, widget=forms.TextInput(attrs={"list": "segment-values"})
    )
    attributes = forms.CharField(
        label="Custom attributes",
        required=False,
        widget=forms.Textarea(attrs={"rows": 5, "class": "mono"}),
        help_text="One per line, as “key = value”. Remove a line to remove the attribute.",
    )
    marketing_opt_out = forms.BooleanField(
        label="Opted out of marketing email",
        required=False,
        help_text="Campaign emails are never sent to this contact.",
    )
    do_not_profile = forms.BooleanField(
        label="Do not profile",
        required=False,
        help_text="The person objects to profiling: no AI scoring, sentiment or personalization.",
    )

    FIELDS = (
        "first_name",
        "last_name",
        "email",
        "phone",
        "account",
        "lifecycle_stage",
        "team",
        "owner",
        "region",
        "segment",
        "attributes",
        "marketing_opt_out",
        "do_not_profile",
    )

    def __init__(self, *args, accounts, teams, owners, previous_attributes=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = accounts
        self.fields["team"].queryset = teams
        self.fields["owner"].queryset = owners
        self.previous_attributes = dict(previous_attributes or {})

    @staticmethod
    def initial_for(contact: Contact) -> dict:
        return {
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "email": contact.email,
            "phone": contact.phone,
            "account": contact.account_id,
            "lifecycle_stage": contact.lifecycle_stage,
            "team": contact.team_id,
            "owner": contact.owner_id,
            "region": contact.region,
            "segment": contact.segment,
            "attributes": attributes_to_text(contact.attributes or {}),
            "marketing_opt_out": contact.marketing_opt_out,
            "do_not_profile": contact.do_not_profile,
        }

    def clean_attributes(self) -> dict:
        return attributes_from_text(self.cleaned_data["attributes"], self.previous_attributes)

    def service_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.FIELDS}


def local_now_minute() -> dt.datetime:
    return timezone.localtime().replace(second=0, microsecond=0)


class InteractionForm(forms.Form):
    """Log an interaction on a contact (``interaction_create``)."""

    channel = forms.ChoiceField(choices=Interaction.Channel.choices, initial="call")
    direction = forms.ChoiceField(choices=Interaction.Direction.choices, initial="out")
    subject = forms.CharField(max_length=250, required=False)
    body = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    occurred_at = forms.DateTimeField(
        label="When",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Leave as it is for now.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("occurred_at", local_now_minute())

    def clean(self):
        data = super().clean()
        if not (data.get("subject") or "").strip() and not (data.get("body") or "").strip():
            self.add_error("subject", "Give the interaction a subject or a body.")
        return data

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "channel": data["channel"],
            "direction": data["direction"],
            "subject": data["subject"].strip(),
            "body": data["body"].strip(),
            "occurred_at": data["occurred_at"],
        }


class DealForm(forms.Form):
    """Create a deal (``deal_create``)."""

    name = forms.CharField(max_length=200)
    contact = ContactChoiceField(queryset=None, required=False, empty_label="No contact")
    account = forms.ModelChoiceField(
        queryset=None,
        required=False,
        empty_label="No account",
        help_text="Left empty, the deal takes the contact's account.",
    )
    stage = forms.ChoiceField(choices=Deal.Stage.choices, initial=Deal.Stage.LEAD)
    amount = forms.DecimalField(max_digits=12, decimal_places=2, min_value=0, initial=0)
    discount_percent = forms.DecimalField(
        label="Discount (%)",
        max_digits=5,
        decimal_places=2,
        min_value=0,
        max_value=100,
        initial=0,
        required=False,
    )
    expected_close = forms.DateField(
        label="Expected close",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    owner = PersonChoiceField(queryset=None, required=False, empty_label="No owner")

    def __init__(self, *args, contacts, accounts, owners, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = contacts
        self.fields["account"].queryset = accounts
        self.fields["owner"].queryset = owners

    def service_kwargs(self) -> dict:
        data = dict(self.cleaned_data)
        if data["account"] is None and data["contact"] is not None:
            data["account"] = data["contact"].account
        if data.get("discount_percent") is None:
            data["discount_percent"] = 0
        return data


class DealStageForm(forms.Form):
    """Move a deal to another stage (``deal_stage_change``)."""

    stage = forms.ChoiceField(choices=Deal.Stage.choices)
    next = forms.CharField(required=False)


class AccountForm(forms.Form):
    """Create or edit an account (``account_create`` / ``account_update``)."""

    name = forms.CharField(max_length=200)
    domain = forms.CharField(
        max_length=200, required=False, widget=forms.TextInput(attrs={"placeholder": "acme.com"})
    )
    industry = forms.CharField(max_length=100, required=False)
    region = forms.CharField(
        max_length=50, required=False, widget=forms.TextInput(attrs={"list": "region-values"})
    )

    @staticmethod
    def initial_for(account: Account) -> dict:
        return {name: getattr(account, name) for name in ("name", "domain", "industry", "region")}


def template_check(value: str, *, subject: bool = False) -> str:
    """The placeholder language's rules (``crmcore.placeholders``), as a form error."""
    return placeholders.validate_template(value, subject=subject)


class CampaignForm(forms.Form):
    """Create or edit a plain campaign (``campaign_create`` / ``campaign_update``).

    The audience is a filter on contacts; only the four plain filters are
    edited here, any other filter already set on the campaign is kept.
    """

    AUDIENCE_FIELDS = ("lifecycle_stage", "region", "segment", "team")
    EDITABLE_STATUSES = (Campaign.Status.DRAFT, Campaign.Status.APPROVED)

    name = forms.CharField(max_length=200)
    goal = forms.ChoiceField(choices=Campaign.Goal.choices, initial=Campaign.Goal.CHECK_IN)
    lifecycle_stage = forms.ChoiceField(
        label="Lifecycle stage", required=False, choices=[("", "Any stage"), *Contact.Stage.choices]
    )
    region = forms.CharField(
        max_length=50,
        required=False,
        widget=forms.TextInput(attrs={"list": "region-values", "placeholder": "Any region"}),
    )
    segment = forms.CharField(
        max_length=50,
        required=False,
        widget=forms.TextInput(attrs={"list": "segment-values", "placeholder": "Any segment"}),
    )
    team = forms.ModelChoiceField(queryset=None, required=False, empty_label="Any team")
    subject_template = forms.CharField(
        label="Subject",
        required=False,
    )
    body_template = forms.CharField(label="Body", widget=forms.Textarea(attrs={"rows": 8}))

    def __init__(self, *args, teams, campaign: Campaign | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams
        check_url = reverse("campaign-template-check")
        for name in ("subject_template", "body_template"):
            self.fields[name].widget.attrs["data-template-check"] = check_url
        self.campaign = campaign

    @classmethod
    def initial_for(cls, campaign: Campaign) -> dict:
        audience = campaign.audience or {}
        return {
            "name": campaign.name,
            "goal": campaign.goal,
            "subject_template": campaign.subject_template,
            "body_template": campaign.body_template,
            **{key: audience.get(key, "") for key in cls.AUDIENCE_FIELDS},
        }

    def clean_subject_template(self) -> str:
        return template_check(self.cleaned_data["subject_template"], subject=True)

    def clean_body_template(self) -> str:
        return template_check(self.cleaned_data["body_template"])

    def clean(self):
        data = super().clean()
        if self.campaign is not None and self.campaign.status not in self.EDITABLE_STATUSES:
            raise forms.ValidationError(
                f"A {self.campaign.get_status_display().lower()} campaign cannot be changed."
            )
        return data

    def audience(self) -> dict:
        previous = (self.campaign.audience or {}) if self.campaign is not None else {}
        audience = {k: v for k, v in previous.items() if k not in self.AUDIENCE_FIELDS}
        data = self.cleaned_data
        for key in ("lifecycle_stage", "region", "segment"):
            if data[key].strip():
                audience[key] = data[key].strip()
        if data["team"] is not None:
            audience["team"] = data["team"].pk
        return audience

    def service_data(self) -> dict:
        data = {
            "name": self.cleaned_data["name"],
            "goal": self.cleaned_data["goal"],
            "audience": self.audience(),
            "subject_template": self.cleaned_data["subject_template"],
            "body_template": self.cleaned_data["body_template"],
        }
        return data


class UserInviteForm(forms.Form):
    """Invite a user: they get an email with a link to set their password."""

    username = forms.RegexField(
        regex=r"^[\w.@+-]+\Z",
        max_length=150,
        error_messages={"invalid": "Letters, digits and @ . + - _ only."},
    )
    email = forms.EmailField(help_text="The invitation with the set-password link goes here.")
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    teams = forms.ModelMultipleChoiceField(
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave empty for a trainee who only practises in their sandbox.",
    )
    is_staff = forms.BooleanField(
        label="Administrator", required=False, help_text="Can invite users and run the rollout."
    )

    def __init__(self, *args, teams, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["teams"].queryset = teams


class TaskForm(forms.Form):
    """A task by hand: from the task page, a contact, a deal or a timeline entry."""

    title = forms.CharField(max_length=250)
    due_date = forms.DateField(
        label="Due", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    contact = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)
    deal = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)
    interaction = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)
    next = forms.CharField(required=False, widget=forms.HiddenInput, max_length=500)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("due_date", timezone.localdate())
