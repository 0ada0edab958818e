"""Admin: the capability flags and the kill switch (every edit audited), the
read-only audit log, pilot-metric events and job runs."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from waffle import get_waffle_switch_model
from waffle.admin import FlagAdmin as WaffleFlagAdmin
from waffle.admin import SwitchAdmin as WaffleSwitchAdmin

from ai_features.gate import KILL_SWITCH
from ai_features.models import Flag, JobRun, RolloutAuditEntry, SuggestionEvent
from ai_features.registry import registry
from ai_features.services import audit_entry_create, flag_state, kill_switch_state, phase_of

Switch = get_waffle_switch_model()

REASON_HELP = "Why this change? Written to the rollout audit log."


def _capability_key(flag_name: str) -> str:
    return next((c.key for c in registry if c.flag_name == flag_name), "")


def _flag_audit(request, flag, before, after, *, action, reason="") -> None:
    audit_entry_create(
        actor=request.user,
        source=RolloutAuditEntry.Source.ADMIN,
        action=action,
        capability=_capability_key(flag.name),
        target=flag.name,
        before={"phase": phase_of(before), **before} if before.get("exists", True) else before,
        after={"phase": phase_of(after), **after} if after.get("exists", True) else after,
        reason=reason,
    )


class AuditedFlagForm(forms.ModelForm):
    audit_reason = forms.CharField(
        label="Reason",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=REASON_HELP,
    )

    class Meta:
        model = Flag
        fields = (
            "name",
            "everyone",
            "percent",
            "testing",
            "superusers",
            "staff",
            "authenticated",
            "languages",
            "rollout",
            "note",
            "groups",
            "users",
            "teams",
            "requires_training",
        )


@admin.action(description="Enable selected flags for everyone", permissions=("change",))
def enable_for_all(modeladmin, request, queryset):
    for flag in queryset:
        modeladmin.audited_update(request, flag, everyone=True)


@admin.action(description="Disable selected flags for everyone", permissions=("change",))
def disable_for_all(modeladmin, request, queryset):
    for flag in queryset:
        modeladmin.audited_update(request, flag, everyone=False)


@admin.register(Flag)
class FlagAdmin(WaffleFlagAdmin):
    """waffle's flag admin for ai_features.Flag, with teams, training and the audit."""

    form = AuditedFlagForm
    actions = [enable_for_all, disable_for_all]
    list_display = ("name", "note", "everyone", "percent", "requires_training", "modified")
    list_filter = ("everyone", "requires_training")
    filter_horizontal = ("teams", "groups")

    def audited_update(self, request, flag, **changes) -> None:
        before = flag_state(flag)
        for name, value in changes.items():
            setattr(flag, name, value)
        flag.save()
        _flag_audit(
            request, flag, before, flag_state(flag), action=RolloutAuditEntry.Action.FLAG_EDIT
        )

    def save_model(self, request, obj, form, change) -> None:
        previous = Flag.objects.filter(pk=obj.pk).first() if change else None
        request._ai_flag_before = flag_state(previous)
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        flag = form.instance
        flag.flush()
        _flag_audit(
            request,
            flag,
            getattr(request, "_ai_flag_before", {"exists": False}),
            flag_state(flag),
            action=RolloutAuditEntry.Action.FLAG_EDIT,
            reason=form.cleaned_data.get("audit_reason", ""),
        )

    def delete_model(self, request, obj) -> None:
        before = flag_state(obj)
        super().delete_model(request, obj)
        _flag_audit(
            request, obj, before, {"exists": False}, action=RolloutAuditEntry.Action.FLAG_DELETE
        )


class AuditedSwitchForm(forms.ModelForm):
    audit_reason = forms.CharField(
        label="Reason",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=REASON_HELP,
    )

    class Meta:
        model = Switch
        fields = ("name", "active", "note")


def _switch_audit(request, before, switch, reason="") -> None:
    if switch.name != KILL_SWITCH and before.get("name", switch.name) != KILL_SWITCH:
        return
    audit_entry_create(
        actor=request.user,
        source=RolloutAuditEntry.Source.ADMIN,
        action=RolloutAuditEntry.Action.KILL_SWITCH,
        target=KILL_SWITCH,
        before={k: v for k, v in before.items() if k != "name"},
        after=kill_switch_state(switch if switch.pk else None),
        reason=reason,
    )


def _switch_before(switch) -> dict:
    previous = Switch.objects.filter(pk=switch.pk).first() if switch.pk else None
    return {**kill_switch_state(previous), "name": previous.name if previous else switch.name}


@admin.action(description="Enable selected switches", permissions=("change",))
def enable_switches(modeladmin, request, queryset):
    for switch in queryset:
        before = _switch_before(switch)
        switch.active = True
        switch.save()
        _switch_audit(request, before, switch)


@admin.action(description="Disable selected switches", permissions=("change",))
def disable_switches(modeladmin, request, queryset):
    for switch in queryset:
        before = _switch_before(switch)
        switch.active = False
        switch.save()
        _switch_audit(request, before, switch)


class SwitchAdmin(WaffleSwitchAdmin):
    """waffle's switch admin; changes of the AI kill switch are audited."""

    form = AuditedSwitchForm
    actions = [enable_switches, disable_switches]

    def save_model(self, request, obj, form, change) -> None:
        before = _switch_before(obj) if change else {"active": False, "exists": False}
        super().save_model(request, obj, form, change)
        _switch_audit(request, before, obj, form.cleaned_data.get("audit_reason", ""))

    def delete_model(self, request, obj) -> None:
        before = _switch_before(obj)
        super().delete_model(request, obj)
        obj.pk = None
        _switch_audit(request, before, obj)


if admin.site.is_registered(Switch):
    admin.site.unregister(Switch)
admin.site.register(Switch, SwitchAdmin)


@admin.register(RolloutAuditEntry)
class RolloutAuditEntryAdmin(admin.ModelAdmin):
    """Read-only: nobody adds, changes or deletes audit entries."""

    list_display = (
        "created_at",
        "actor_username",
        "source",
        "action",
        "capability",
        "target",
        "reason",
    )
    list_filter = ("source", "action", "capability")
    search_fields = ("actor_username", "reason", "target")
    readonly_fields = [f.name for f in RolloutAuditEntry._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SuggestionEvent)
class SuggestionEventAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "capability",
        "action",
        "user",
        "team",
        "object_type",
        "object_id",
    )
    list_filter = ("capability", "action")
    list_select_related = ("user", "team")
    raw_id_fields = ("user", "team", "workspace")


@admin.register(JobRun)
class JobRunAdmin(admin.ModelAdmin):
    list_display = ("name", "capability", "status", "done", "total", "started_at", "finished_at")
    list_filter = ("capability", "status")
    raw_id_fields = ("workspace",)
