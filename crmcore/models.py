"""The CRM domain. Every record belongs to a Workspace.

A workspace is either the production one or a trainee's private sandbox; all
reads and writes go through workspace-scoped selectors and services
(``crmcore.selectors`` / ``crmcore.services``), which take the workspace
explicitly.
"""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone


class Workspace(models.Model):
    class Kind(models.TextChoices):
        PRODUCTION = "production", "Production"
        SANDBOX = "sandbox", "Sandbox"

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.PRODUCTION)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sandbox_workspaces",
        help_text="The trainee who owns a sandbox; empty for production.",
    )
    seed = models.IntegerField(null=True, blank=True, help_text="Generator seed of a sandbox.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner"],
                condition=Q(kind="sandbox"),
                name="one_sandbox_per_owner",
            ),
            models.CheckConstraint(
                condition=Q(kind="production", owner__isnull=True)
                | Q(kind="sandbox", owner__isnull=False),
                name="sandbox_has_owner",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_sandbox(self) -> bool:
        return self.kind == self.Kind.SANDBOX


class WorkspaceQuerySet(models.QuerySet):
    def in_workspace(self, workspace: Workspace | int) -> WorkspaceQuerySet:
        workspace_id = workspace if isinstance(workspace, int) else workspace.pk
        return self.filter(workspace_id=workspace_id)


class WorkspaceScoped(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        abstract = True


class Team(WorkspaceScoped):
    name = models.CharField(max_length=120)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="crm_teams", blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="team_name_per_workspace")
        ]

    def __str__(self) -> str:
        return self.name


class Account(WorkspaceScoped):
    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=200, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=50, blank=True)
    external_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [
            models.Index(fields=["workspace", "name"], name="account_ws_name"),
            models.Index(fields=["workspace", "external_id"], name="account_ws_extid"),
            # API lists, newest first by cursor (crmcore.api.pagination).
            models.Index(fields=["workspace", "-created_at", "-id"], name="account_ws_newest"),
        ]

    def __str__(self) -> str:
        return self.name


class Contact(WorkspaceScoped):
    class Stage(models.TextChoices):
        LEAD = "lead", "Lead"
        CUSTOMER = "customer", "Customer"
        CHURNED = "churned", "Churned"

    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_contacts",
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts"
    )
    lifecycle_stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.LEAD)
    region = models.CharField(max_length=50, blank=True)
    segment = models.CharField(max_length=50, blank=True)
    external_id = models.CharField(max_length=100, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    #: They asked for no marketing email: campaigns never send to them.
    marketing_opt_out = models.BooleanField(
        "Opted out of marketing email",
        default=False,
        help_text="Campaign emails are never sent to this contact.",
    )
    do_not_profile = models.BooleanField(
        default=False,
        help_text=(
            "The person objects to profiling: no AI scoring, sentiment or "
            "personalization about them (every capability and job honours it)."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        indexes = [
            models.Index(fields=["workspace", "last_name", "first_name"], name="contact_ws_name"),
            models.Index(fields=["workspace", "email"], name="contact_ws_email"),
            models.Index(fields=["workspace", "external_id"], name="contact_ws_extid"),
            models.Index(fields=["workspace", "lifecycle_stage"], name="contact_ws_stage"),
            models.Index(fields=["workspace", "-created_at"], name="contact_ws_created"),
            models.Index(fields=["workspace", "team"], name="contact_ws_team"),
            models.Index(fields=["workspace", "owner"], name="contact_ws_owner"),
        ]
        constraints = [
            # One contact per email in a workspace, whatever its case; contacts
            # without an email are not concerned.
            models.UniqueConstraint(
                "workspace",
                Lower("email"),
                condition=~Q(email=""),
                name="contact_email_ci_per_workspace",
                violation_error_message=(
                    "A contact with this email already exists in this workspace."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Product(WorkspaceScoped):
    sku = models.CharField(max_length=50)
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=100, blank=True)
    price = models.DecimalField(max_digits=12, decimal_places=2, default=0)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "sku"], name="product_sku_per_workspace")
        ]

    def __str__(self) -> str:
        return self.name


class Order(WorkspaceScoped):
    class Status(models.TextChoices):
        PLACED = "placed", "Placed"
        PAID = "paid", "Paid"
        REFUNDED = "refunded", "Refunded"
        CANCELLED = "cancelled", "Cancelled"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="orders")
    ordered_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PAID)
    total = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    external_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-ordered_at", "-id"]
        indexes = [
            models.Index(fields=["workspace", "contact", "-ordered_at"], name="order_ws_contact"),
            models.Index(fields=["workspace", "-ordered_at"], name="order_ws_date"),
            models.Index(fields=["workspace", "-created_at", "-id"], name="order_ws_newest"),
        ]

    def __str__(self) -> str:
        return f"Order #{self.pk}"


class OrderLine(WorkspaceScoped):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines")
    quantity = models.PositiveIntegerField(default=1)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2, default=0)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} x product {self.product_id}"


class Interaction(WorkspaceScoped):
    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        CALL = "call", "Call"
        MEETING = "meeting", "Meeting"
        CHAT = "chat", "Chat"
        TICKET = "ticket", "Ticket"
        NOTE = "note", "Note"

    class Direction(models.TextChoices):
        INBOUND = "in", "Inbound"
        OUTBOUND = "out", "Outbound"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="interactions")
    channel = models.CharField(max_length=20, choices=Channel.choices)
    direction = models.CharField(max_length=3, choices=Direction.choices, default=Direction.INBOUND)
    subject = models.CharField(max_length=250, blank=True)
    body = models.TextField(blank=True)
    occurred_at = models.DateTimeField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="authored_interactions",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(
                fields=["workspace", "contact", "-occurred_at"], name="interaction_ws_contact"
            ),
            models.Index(fields=["workspace", "-occurred_at"], name="interaction_ws_date"),
            models.Index(fields=["workspace", "-created_at", "-id"], name="interaction_ws_newest"),
        ]

    def __str__(self) -> str:
        return self.subject or f"{self.get_channel_display()} #{self.pk}"


class Deal(WorkspaceScoped):
    class Stage(models.TextChoices):
        LEAD = "lead", "Lead"
        QUALIFIED = "qualified", "Qualified"
        PROPOSAL = "proposal", "Proposal"
        NEGOTIATION = "negotiation", "Negotiation"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    OPEN_STAGES = (Stage.LEAD, Stage.QUALIFIED, Stage.PROPOSAL, Stage.NEGOTIATION)

    name = models.CharField(max_length=200)
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="deals"
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="deals"
    )
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.LEAD)
    amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    discount_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Discount granted on the list price, in percent (0-100).",
    )
    expected_close = models.DateField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_deals",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The pipeline's largest deals of a stage, and the totals per stage.
            models.Index(
                fields=["workspace", "stage", "-amount", "-id"], name="deal_ws_stage_amount"
            ),
            models.Index(fields=["workspace", "contact"], name="deal_ws_contact"),
            models.Index(fields=["workspace", "-created_at", "-id"], name="deal_ws_newest"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_open(self) -> bool:
        return self.stage in self.OPEN_STAGES


class DealStageChange(WorkspaceScoped):
    """One move of a deal into a stage (``from_stage`` is empty for its creation).

    Written by ``services.deal_create`` and ``services.deal_stage_change``; the
    deal's stage history, read as of any moment (how long it sat in a stage,
    whether it went backwards).
    """

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.CharField(max_length=20, blank=True, choices=Deal.Stage.choices)
    to_stage = models.CharField(max_length=20, choices=Deal.Stage.choices)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["changed_at", "id"]
        indexes = [
            models.Index(
                fields=["workspace", "deal", "changed_at"], name="deal_stage_change_ws_deal"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.deal_id}: {self.from_stage or '-'} -> {self.to_stage}"


class Campaign(WorkspaceScoped):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        APPROVED = "approved", "Approved"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        ARCHIVED = "archived", "Archived"

    class Goal(models.TextChoices):
        WIN_BACK = "win_back", "Win back"
        CROSS_SELL = "cross_sell", "Cross-sell"
        THANK = "thank", "Thank"
        CHECK_IN = "check_in", "Check in"

    name = models.CharField(max_length=200)
    goal = models.CharField(max_length=20, choices=Goal.choices, default=Goal.CHECK_IN)
    audience = models.JSONField(
        default=dict,
        blank=True,
        help_text='Filter on contacts, e.g. {"lifecycle_stage": "customer"}.',
    )
    subject_template = models.CharField(max_length=250, blank=True)
    body_template = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="created_campaigns",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "status"], name="campaign_ws_status")]

    def __str__(self) -> str:
        return self.name


class Task(WorkspaceScoped):
    """Something a rep has to do by a date, about a contact or a deal.

    Made by hand, from a timeline entry (``interaction``), or by accepting a
    next best action (``source`` says which; ``reason`` keeps why).
    """

    class Source(models.TextChoices):
        MANUAL = "manual", "By hand"
        TIMELINE = "timeline", "From the timeline"
        NEXT_BEST_ACTION = "next_best_action", "Next best action"

    title = models.CharField(max_length=250)
    due_date = models.DateField()
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="crm_tasks"
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="tasks"
    )
    deal = models.ForeignKey(
        Deal, null=True, blank=True, on_delete=models.CASCADE, related_name="tasks"
    )
    interaction = models.ForeignKey(
        Interaction, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    source = models.CharField(max_length=30, choices=Source.choices, default=Source.MANUAL)
    reason = models.CharField(max_length=500, blank=True)
    done = models.BooleanField(default=False)
    done_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_date", "id"]
        indexes = [
            models.Index(
                fields=["workspace", "owner", "done", "due_date"], name="task_ws_owner_due"
            ),
            models.Index(fields=["workspace", "-created_at", "-id"], name="task_ws_newest"),
        ]

    def __str__(self) -> str:
        return self.title


class SavedFilter(WorkspaceScoped):
    """A contact list filter a user saved under a name ("My Berlin leads").

    ``query`` is the list's query string (``stage=lead&q=berlin``) with only the
    list's own parameters kept; saving a name again replaces its query.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="crm_saved_filters"
    )
    name = models.CharField(max_length=80)
    query = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "owner", "name"], name="saved_filter_owner_name"
            )
        ]

    def __str__(self) -> str:
        return self.name


class AuditEntry(WorkspaceScoped):
    """Who changed what, when: deletions, merges, erasures and bulk changes.

    ``summary`` is a sentence for people; ``details`` holds ids and counts.
    An erasure's entry keeps no personal data of the person erased (only
    their former id and what was removed, counted).
    """

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="crm_audit_entries",
    )
    action = models.CharField(max_length=40)
    object_type = models.CharField(max_length=40)
    object_id = models.BigIntegerField(null=True, blank=True)
    summary = models.CharField(max_length=500)
    details = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="audit_ws_created")]

    def __str__(self) -> str:
        return self.summary


class OutboxEvent(models.Model):
    """A domain event, written in the same transaction as the change it reports.

    The transactional outbox: an event exists exactly when its change was
    committed. A delivery worker (a Celery task, or ``manage.py
    deliver_webhooks`` in the embedded set-up) fans it out to the webhook
    endpoints subscribed at that time and marks it ``dispatched_at``; an
    event written with ``notify_subscribers`` off (an import told not to
    notify) reaches the in-process listeners only.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    payload = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    notify_subscribers = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["id"],
                condition=Q(dispatched_at__isnull=True),
                name="outbox_event_pending",
            ),
            models.Index(fields=["dispatched_at"], name="outbox_event_dispatched"),
        ]

    def __str__(self) -> str:
        return f"{self.name} #{self.pk}"


class OutboundRecord(WorkspaceScoped):
    """An email or webhook a sandbox workspace would have sent: recorded, never sent.

    Written by ``crmcore.outbound`` for every sender; the training sandbox
    shows them to the trainee ("would have sent").
    """

    class Kind(models.TextChoices):
        EMAIL = "email", "Email"
        WEBHOOK = "webhook", "Webhook"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    recipient = models.CharField(max_length=1000, help_text="Email address or URL.")
    subject = models.CharField(max_length=250, blank=True)
    body = models.TextField(blank=True)
    payload = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    source = models.CharField(max_length=100, blank=True, help_text="What produced it.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["workspace", "-created_at"], name="outbound_record_ws_created")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.recipient}"
