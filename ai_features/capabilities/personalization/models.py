"""The personalization capability's data (app label ``ai_personalization``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class CampaignMessage(models.Model):
    """One contact's message of a campaign, with the personal facts it used."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        RECORDED = "recorded", "Recorded (sandbox, not sent)"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    workspace = models.ForeignKey("crmcore.Workspace", on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(
        "crmcore.Campaign", on_delete=models.CASCADE, related_name="personalized_messages"
    )
    contact = models.ForeignKey("crmcore.Contact", on_delete=models.CASCADE, related_name="+")
    subject = models.CharField(max_length=250, blank=True)
    body = models.TextField(blank=True)
    #: [{"key", "label", "text"}]: the personal facts the message used.
    facts = models.JSONField(default=list, blank=True)
    #: [{"key", "label", "reason"}]: what it could not use, and why.
    unused = models.JSONField(default=list, blank=True)
    personalized = models.BooleanField(default=False)
    channel = models.CharField(max_length=20, blank=True, help_text="Channel they answer most.")
    best_hour = models.PositiveSmallIntegerField(null=True, blank=True)
    apology_first = models.BooleanField(default=False)
    edited = models.BooleanField(default=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    #: Why it was skipped or failed.
    skip_reason = models.CharField(max_length=200, blank=True)
    #: The send run that claimed it (a message is claimed once, before its email goes out).
    claim = models.CharField(max_length=32, blank=True, db_index=True)
    #: When the email backend reported it opened (see the README: "Campaign results").
    opened_at = models.DateTimeField(null=True, blank=True)
    #: When the results job counted the contact's reply / unsubscribe (pilot metrics, once).
    replied_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    #: Why the message may not be sent, one reason a line (empty: it passed the checks).
    problems = models.TextField(blank=True)
    interaction = models.ForeignKey(
        "crmcore.Interaction", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    built_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "contact"], name="campaign_message_per_contact"
            )
        ]
        indexes = [
            models.Index(fields=["workspace", "campaign", "status"], name="campmsg_ws_status"),
        ]

    def __str__(self) -> str:
        return f"{self.subject or 'Message'} (contact {self.contact_id})"

    @property
    def problem_list(self) -> list[str]:
        return self.problems.splitlines()


class SuggestedReply(models.Model):
    """A reply suggested to a rep for an inbound interaction, and what they did with it."""

    class Status(models.TextChoices):
        ACCEPTED = "accepted", "Sent as suggested"
        EDITED = "edited", "Sent after editing"
        DRAFT = "draft", "Saved as draft"
        DISMISSED = "dismissed", "Dismissed"

    workspace = models.ForeignKey("crmcore.Workspace", on_delete=models.CASCADE, related_name="+")
    interaction = models.ForeignKey(
        "crmcore.Interaction", on_delete=models.CASCADE, related_name="suggested_replies"
    )
    contact = models.ForeignKey("crmcore.Contact", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    suggested_body = models.TextField()
    final_body = models.TextField(blank=True)
    facts = models.JSONField(default=list, blank=True)
    unused = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices)
    reply = models.ForeignKey(
        "crmcore.Interaction",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The outbound email interaction logged when the reply was sent.",
    )
    updated_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["interaction", "user"], name="suggested_reply_per_interaction_user"
            )
        ]

    def __str__(self) -> str:
        return f"Reply to interaction {self.interaction_id}: {self.status}"
