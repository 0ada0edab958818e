"""Integration records: saved import mappings, import runs, webhook endpoints.

They belong to the ``crmcore`` app (``crmcore.models`` imports them) and, like
every CRM record, to a workspace.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from crmcore.models import WorkspaceScoped

__all__ = [
    "ContactAttributeType",
    "ImportMapping",
    "ImportRowError",
    "ImportRun",
    "WebhookDelivery",
    "WebhookEndpoint",
]

#: How an import file was read, in words (the encodings and delimiters the importer knows).
ENCODING_LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with a byte order mark",
    "utf-16": "UTF-16",
    "cp1252": "Windows-1252",
}
DELIMITER_LABELS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}


class ImportKind(models.TextChoices):
    ACCOUNTS = "accounts", "Accounts"
    CONTACTS = "contacts", "Contacts"
    INTERACTIONS = "interactions", "Interactions"
    ORDERS = "orders", "Orders"
    ORDER_LINES = "order_lines", "Order lines"


class ImportMapping(WorkspaceScoped):
    """A column mapping saved under a name, reused for later imports."""

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=ImportKind.choices)
    mapping = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "crmcore"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "name"], name="import_mapping_name_per_workspace"
            )
        ]

    def __str__(self) -> str:
        return self.name


class ImportRun(WorkspaceScoped):
    """One import of one file: its progress and its counts."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        INTERRUPTED = "interrupted", "Interrupted"

    kind = models.CharField(max_length=20, choices=ImportKind.choices)
    file = models.FileField(upload_to="imports/%Y/%m/", blank=True)
    file_name = models.CharField(max_length=255, blank=True)
    mapping = models.JSONField(default=dict)
    dry_run = models.BooleanField(default=False)
    notify_subscribers = models.BooleanField(
        default=True,
        help_text="Off: the imported records' events reach no webhook (analysis still runs).",
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True, help_text="Why the whole file was refused.")
    encoding = models.CharField(
        max_length=20, blank=True, help_text="The file's encoding, as detected (a codec name)."
    )
    delimiter = models.CharField(max_length=1, blank=True)
    delimiter_detected = models.BooleanField(
        default=True, help_text="False when the mapping named the delimiter."
    )
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Written with every chunk; a running import whose heartbeat stopped is
    # interrupted and run again by the reaper (services.import_runs_reap).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # The file an import read in place (manage.py import_csv), to run it again.
    source_path = models.CharField(max_length=1000, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        app_label = "crmcore"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["workspace", "-created_at"], name="import_run_ws_created"),
            models.Index(fields=["status", "heartbeat_at"], name="import_run_status_heartbeat"),
        ]

    def __str__(self) -> str:
        return f"Import #{self.pk} ({self.kind})"

    @property
    def encoding_label(self) -> str:
        return ENCODING_LABELS.get(self.encoding, self.encoding)

    @property
    def delimiter_label(self) -> str:
        return DELIMITER_LABELS.get(self.delimiter, repr(self.delimiter)) if self.delimiter else ""

    @property
    def progress_percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status == self.Status.DONE else 0
        return min(100, round(100 * self.processed_rows / self.total_rows))


class ImportRowError(models.Model):
    """A rejected row: its line number in the file (the header is line 1) and why."""

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="row_errors")
    line = models.PositiveIntegerField()
    reason = models.CharField(max_length=500)

    class Meta:
        app_label = "crmcore"
        ordering = ["run", "line", "id"]

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class ContactAttributeType(WorkspaceScoped):
    """The type of an imported contact attribute: set in a mapping, or inferred on import."""

    class Type(models.TextChoices):
        DATE = "date", "Date"
        NUMBER = "number", "Number"
        BOOLEAN = "boolean", "Yes/no"
        CATEGORY = "category", "Category"
        TEXT = "text", "Free text"

    key = models.CharField(max_length=200)
    type = models.CharField(max_length=20, choices=Type.choices)
    unit = models.CharField(max_length=20, blank=True, help_text="months, USD, GB, ...")
    declared = models.BooleanField(
        default=False, help_text="Set in a mapping (else inferred from the values)."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "crmcore"
        ordering = ["key"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "key"], name="contact_attribute_type_per_workspace"
            )
        ]

    def __str__(self) -> str:
        return f"{self.key}: {self.type}"


class WebhookEndpoint(WorkspaceScoped):
    """A REST-hook subscription: one event delivered to one URL, signed with its secret."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    event = models.CharField(max_length=100)
    target_url = models.URLField(max_length=1000)
    secret = models.CharField(max_length=100)
    is_active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=250, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "crmcore"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["workspace", "event", "is_active"], name="webhook_ws_event"),
        ]

    def __str__(self) -> str:
        return f"{self.event} -> {self.target_url}"


class WebhookDelivery(models.Model):
    """One message to one endpoint, with its attempts (the endpoint's delivery log)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RETRYING = "retrying", "Retrying"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        WOULD_SEND = "would_send", "Would have sent (sandbox)"
        CANCELLED = "cancelled", "Cancelled"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    message_id = models.CharField(max_length=64, unique=True)
    event = models.CharField(max_length=100)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)
    outbox_event = models.ForeignKey(
        "crmcore.OutboxEvent",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
        help_text="The event this message carries (cleared when old events are pruned).",
    )
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="When the next attempt is due (none once final)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "crmcore"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_endpoint"),
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["outbox_event", "endpoint"], name="webhook_delivery_once_per_event"
            )
        ]

    def __str__(self) -> str:
        return f"{self.message_id} ({self.status})"
