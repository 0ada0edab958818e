"""Outbound effects: the one place that sends email and webhooks.

Every sender (campaigns, replies, webhook deliveries, anything an app adds)
calls these functions. From a production workspace they send; from a
sandbox workspace nothing leaves: each email or webhook is recorded as an
``OutboundRecord`` ("would have sent"), which the trainee sees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.mail import EmailMessage, get_connection
from django.db import transaction

from crmcore.integrations import webhooks
from crmcore.models import OutboundRecord, Workspace


@dataclass(frozen=True)
class Email:
    """One email to one or more addresses."""

    to: tuple[str, ...]
    subject: str
    body: str
    #: Kept on the sandbox's record only (what a trainee would have sent).
    payload: dict[str, Any] | None = None
    #: Extra headers (e.g. ``List-Unsubscribe``); a sandbox keeps them in the payload.
    headers: dict[str, str] | None = None


@dataclass(frozen=True)
class EmailOutcome:
    sent: int
    recorded: int


@transaction.atomic
def emails_send(*, workspace: Workspace, emails: Sequence[Email], source: str = "") -> EmailOutcome:
    """Send emails from ``workspace`` over one connection; from a sandbox, record them.

    A sandbox gets one ``OutboundRecord`` per address (one insert for all).
    """
    if workspace.is_sandbox:
        records = OutboundRecord.objects.bulk_create(
            [
                OutboundRecord(
                    workspace=workspace,
                    kind=OutboundRecord.Kind.EMAIL,
                    recipient=address[:1000],
                    subject=email.subject[:250],
                    body=email.body,
                    payload={
                        **(email.payload or {}),
                        **({"headers": email.headers} if email.headers else {}),
                    },
                    source=source[:100],
                )
                for email in emails
                for address in email.to
            ]
        )
        return EmailOutcome(sent=0, recorded=len(records))
    messages = [
        EmailMessage(email.subject, email.body, None, list(email.to), headers=email.headers)
        for email in emails
        if email.to
    ]
    sent = get_connection().send_messages(messages) if messages else 0
    return EmailOutcome(sent=sent or 0, recorded=0)


def email_send(
    *, workspace: Workspace, to: Sequence[str], subject: str, body: str, source: str = ""
) -> EmailOutcome:
    """Send one email from ``workspace``; from a sandbox it is recorded, never sent."""
    return emails_send(
        workspace=workspace,
        emails=[Email(to=tuple(to), subject=subject, body=body)],
        source=source,
    )


@dataclass(frozen=True)
class WebhookOutcome:
    #: True when nothing was sent because the workspace is a sandbox.
    recorded: bool
    #: The HTTP outcome when it was sent.
    result: webhooks.SendResult | None = None


def webhook_send(
    *,
    workspace: Workspace,
    url: str,
    secret: str,
    message_id: str,
    timestamp: int,
    event: str,
    body: bytes,
    payload: dict[str, Any],
    source: str = "webhook",
) -> WebhookOutcome:
    """POST one signed webhook message; from a sandbox, record it instead.

    Never raises for network or HTTP errors (see ``webhooks.send``). Call it
    outside any transaction: the request may take the whole timeout.
    """
    if workspace.is_sandbox:
        OutboundRecord.objects.create(
            workspace=workspace,
            kind=OutboundRecord.Kind.WEBHOOK,
            recipient=url[:1000],
            subject=event[:250],
            body=body.decode("utf-8", "replace"),
            payload=payload,
            source=source[:100],
        )
        return WebhookOutcome(recorded=True)
    result = webhooks.send(
        url=url, secret=secret, message_id=message_id, timestamp=timestamp, body=body
    )
    return WebhookOutcome(recorded=False, result=result)
