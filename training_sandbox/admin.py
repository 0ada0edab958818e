from django.contrib import admin, messages

from training_sandbox import services
from training_sandbox.models import LessonProgress, Sandbox, SandboxEvent


@admin.register(Sandbox)
class SandboxAdmin(admin.ModelAdmin):
    list_display = ("workspace", "owner", "seed", "contacts", "created_at", "reset_at")
    list_select_related = ("workspace", "workspace__owner")
    search_fields = ("workspace__name", "workspace__owner__username")
    readonly_fields = ("workspace", "contacts", "created_at", "reset_at", "generation_seconds")
    actions = ("reset_sandboxes", "delete_sandboxes")

    @admin.display(description="Owner")
    def owner(self, obj: Sandbox):
        return obj.workspace.owner

    @admin.display(description="Seed")
    def seed(self, obj: Sandbox):
        return obj.workspace.seed

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deleting goes through the action below, which removes every row of the sandbox.
        return False

    @admin.action(description="Reset to the seeded state")
    def reset_sandboxes(self, request, queryset):
        for row in queryset.select_related("workspace"):
            services.sandbox_reset(workspace=row.workspace)
        self.message_user(request, f"Reset {queryset.count()} sandbox(es).", messages.SUCCESS)

    @admin.action(description="Delete the sandbox and every row in it")
    def delete_sandboxes(self, request, queryset):
        rows = list(queryset.select_related("workspace"))
        for row in rows:
            services.sandbox_delete(workspace=row.workspace)
        self.message_user(request, f"Deleted {len(rows)} sandbox(es).", messages.SUCCESS)


@admin.register(LessonProgress)
class LessonProgressAdmin(admin.ModelAdmin):
    list_display = ("user", "lesson", "started_at", "checked_at", "passed_at")
    list_filter = ("lesson", ("passed_at", admin.EmptyFieldListFilter))
    list_select_related = ("user",)
    search_fields = ("user__username", "lesson")
    readonly_fields = ("workspace", "started_at", "checked_at", "missing")


@admin.register(SandboxEvent)
class SandboxEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "workspace", "name")
    list_filter = ("name",)
    list_select_related = ("workspace",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
