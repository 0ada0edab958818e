"""Writes of the personalization capability: save, build, edit, approve and send
campaigns; decide on suggested replies. Keyword-only and typed; the chunk
writes are atomic, a whole build or send runs chunk by chunk."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ai_features.capabilities.personalization import selectors
from ai_features.capabilities.personalization.builder import Composed, TemplateError, template_check
from ai_features.capabilities.personalization.conf import app_settings
from ai_features.capabilities.personalization.facts import CAPABILITY, Access, access_for
from ai_features.capabilities.personalization.models import CampaignMessage, SuggestedReply
from ai_features.metrics import metric_record
from ai_features.scheduling import job_queue
from crmcore import marketing, outbound
from crmcore import services as crm
from crmcore.events import emit_many_on_commit
from crmcore.models import Campaign, Contact, Interaction, Workspace
from crmcore.placeholders import message_problems

MESSAGE_SENT_EVENT = "campaign.message_sent"
AUDIENCE_CHOICES = {
    "lifecycle_stage": set(Contact.Stage.values),
    "churn_band": {"low", "medium", "high"},
}


class CampaignError(ValueError):
    """A campaign step that cannot be taken now (nothing built, already sent, ...)."""


def audience_clean(*, workspace: Workspace, audience: dict[str, Any]) -> dict[str, Any]:
    """Keep the known, non-empty filters; ids must be of this workspace."""
    unknown = set(audience) - set(selectors.AUDIENCE_KEYS)
    if unknown:
        raise ValidationError({"audience": f"Unknown filter(s): {', '.join(sorted(unknown))}."})
    clean: dict[str, Any] = {}
    for key, value in audience.items():
        if value in (None, "", []):
            continue
        if key == "contacts":
            clean[key] = _picked_clean(workspace, value)
            continue
        if key in AUDIENCE_CHOICES and value not in AUDIENCE_CHOICES[key]:
            raise ValidationError({"audience": f"{key}: {value!r} is not a valid choice."})
        if key in ("team", "product"):
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise ValidationError({"audience": f"{key}: an id is expected."}) from None
        clean[key] = value if key in ("team", "product") else str(value)
    choices = selectors.audience_choices(workspace=workspace)
    if "team" in clean and clean["team"] not in {pk for pk, _ in choices["teams"]}:
        raise ValidationError({"audience": "team: no such team in this workspace."})
    if "product" in clean and clean["product"] not in {pk for pk, _ in choices["products"]}:
        raise ValidationError({"audience": "product: no such product in this workspace."})
    return clean


def _picked_clean(workspace: Workspace, value: Any) -> list[int]:
    """Hand-picked contacts: a list of ids of this workspace's contacts."""
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise ValidationError({"audience": "contacts: a list of contact ids is expected."})
    if len(value) > crm.CAMPAIGN_PICKED_MAX:
        raise ValidationError(
            {"audience": f"contacts: at most {crm.CAMPAIGN_PICKED_MAX:,} hand-picked contacts."}
        )
    ids = sorted(set(value))
    known = set(
        Contact.objects.in_workspace(workspace)
        .filter(pk__in=[v for v in ids if 0 < v < 2**63])
        .values_list("pk", flat=True)
    )
    if len(known) != len(ids):
        raise ValidationError({"audience": "contacts: no such contact in this workspace."})
    return ids


def _templates_check(subject_template: str, body_template: str) -> None:
    errors = {}
    for name, template in (
        ("subject_template", subject_template),
        ("body_template", body_template),
    ):
        try:
            template_check(template)
        except TemplateError as exc:
            errors[name] = str(exc)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def campaign_builder_save(
    *,
    workspace: Workspace,
    user,
    name: str,
    goal: str,
    audience: dict[str, Any],
    subject_template: str,
    body_template: str,
    campaign: Campaign | None = None,
) -> Campaign:
    """Create or change a campaign in the builder; a changed approved campaign is a draft again."""
    _templates_check(subject_template, body_template)
    audience = audience_clean(workspace=workspace, audience=audience)
    if campaign is None:
        return crm.campaign_create(
            workspace=workspace,
            name=name,
            goal=goal,
            audience=audience,
            subject_template=subject_template,
            body_template=body_template,
            created_by=user,
        )
    if campaign.status not in (Campaign.Status.DRAFT, Campaign.Status.APPROVED):
        raise CampaignError(
            f"A {campaign.get_status_display().lower()} campaign cannot be changed."
        )
    data = {
        "name": name,
        "goal": goal,
        "audience": audience,
        "subject_template": subject_template,
        "body_template": body_template,
    }
    changed = any(getattr(campaign, k) != v for k, v in data.items())
    if changed and campaign.status == Campaign.Status.APPROVED:
        data["status"] = Campaign.Status.DRAFT
    return crm.campaign_update(campaign=campaign, data=data)


@dataclass
class BuildResult:
    total: int = 0
    built: int = 0
    personalized: int = 0
    kept: int = 0
    removed: int = 0


def _chunks(ids: list[int], size: int):
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


@transaction.atomic
def campaign_messages_write(
    *, campaign: Campaign, contact_ids: list[int], access: Access
) -> BuildResult:
    """Build and store the messages of one chunk of contacts (a fixed number of queries).

    Messages a user edited, and messages already sent, are kept as they are.
    """
    if not contact_ids:
        return BuildResult()
    workspace = campaign.workspace
    composed = selectors.compose_for(
        workspace=workspace, campaign=campaign, contact_ids=contact_ids, access=access
    )
    keep = set(
        CampaignMessage.objects.filter(
            campaign=campaign, contact_id__gte=min(contact_ids), contact_id__lte=max(contact_ids)
        )
        .filter(Q(edited=True) | ~Q(status=CampaignMessage.Status.DRAFT))
        .values_list("contact_id", flat=True)
    ) & set(contact_ids)
    now = timezone.now()
    rows = [
        CampaignMessage(
            workspace_id=workspace.pk,
            campaign_id=campaign.pk,
            contact_id=c.contact_id,
            subject=c.subject[:250],
            body=c.body,
            facts=c.facts,
            unused=c.unused,
            personalized=c.personalized,
            channel=c.channel,
            best_hour=c.best_hour,
            apology_first=c.apology_first,
            problems="\n".join(c.problems),
            built_at=now,
        )
        for c in composed
        if c.contact_id not in keep
    ]
    CampaignMessage.objects.bulk_create(
        rows,
        batch_size=500,
        update_conflicts=True,
        unique_fields=["campaign", "contact"],
        update_fields=[
            "subject",
            "body",
            "facts",
            "unused",
            "personalized",
            "channel",
            "best_hour",
            "apology_first",
            "problems",
            "built_at",
        ],
    )
    return BuildResult(
        total=len(contact_ids),
        built=len(rows),
        personalized=sum(1 for r in rows if r.personalized),
        kept=len(keep),
    )


def campaign_messages_build(
    *,
    campaign: Campaign,
    user,
    chunk_size: int | None = None,
    on_chunk: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> BuildResult:
    """Build the message of every contact in the audience, chunk by chunk (idempotent).

    Personalized where the capability is on for ``user``, a plain mail merge
    where it is off. Draft messages of contacts no longer in the audience are
    removed. A campaign that was approved is a draft again.
    """
    if campaign.status not in (Campaign.Status.DRAFT, Campaign.Status.APPROVED):
        raise CampaignError(f"A {campaign.get_status_display().lower()} campaign is not rebuilt.")
    workspace = campaign.workspace
    access = access_for(user=user, workspace=workspace)
    selected = selectors.audience(workspace=workspace, spec=campaign.audience, access=access)
    ids = list(selected.contact_ids)
    if on_total is not None:
        on_total(len(ids))
    result = BuildResult()
    for chunk in _chunks(ids, chunk_size or app_settings.CHUNK_SIZE):
        part = campaign_messages_write(campaign=campaign, contact_ids=chunk, access=access)
        result.total += part.total
        result.built += part.built
        result.personalized += part.personalized
        result.kept += part.kept
        if on_chunk is not None:
            on_chunk(part.total)
    result.removed, _ = (
        CampaignMessage.objects.filter(campaign=campaign, status=CampaignMessage.Status.DRAFT)
        .exclude(contact_id__in=selected.contact_ids)
        .delete()
    )
    if campaign.status == Campaign.Status.APPROVED:
        crm.campaign_update(campaign=campaign, data={"status": Campaign.Status.DRAFT})
    return result


def campaign_build_queue(*, campaign: Campaign, user) -> None:
    """Build the messages in the background, after the current transaction commits."""
    job_queue(
        CAPABILITY,
        "build_campaign",
        workspace=campaign.workspace,
        campaign_id=campaign.pk,
        user_id=user.pk if user is not None else None,
    )


def _metric(*, action: str, user, workspace: Workspace, obj, detail: dict[str, Any]) -> None:
    metric_record(
        capability=CAPABILITY, action=action, user=user, workspace=workspace, obj=obj, detail=detail
    )


@transaction.atomic
def campaign_message_edit(
    *, message: CampaignMessage, user, subject: str, body: str
) -> CampaignMessage:
    """A user's edit of one message; a personalized one counts as corrected in the pilot metrics."""
    if message.status != CampaignMessage.Status.DRAFT:
        raise CampaignError("A sent message cannot be edited.")
    if not body.strip():
        raise ValidationError({"body": "A message needs a body."})
    message.subject, message.body, message.edited = subject[:250], body, True
    message.problems = "\n".join(message_problems(subject=message.subject, body=body))
    message.save(update_fields=["subject", "body", "edited", "problems"])
    campaign = message.campaign
    if campaign.status == Campaign.Status.APPROVED:
        crm.campaign_update(campaign=campaign, data={"status": Campaign.Status.DRAFT})
    if message.personalized:
        _metric(
            action="corrected",
            user=user,
            workspace=message.workspace,
            obj=message,
            detail={"kind": "campaign_message", "campaign_id": message.campaign_id},
        )
    return message


@transaction.atomic
def campaign_approve(*, campaign: Campaign, user) -> Campaign:
    """Approve the built messages for sending."""
    if campaign.status != Campaign.Status.DRAFT:
        raise CampaignError(f"Only a draft can be approved; this one is {campaign.status}.")
    counts = selectors.campaign_message_counts(workspace=campaign.workspace, campaign=campaign)
    if not counts["draft"]:
        raise CampaignError("Build the messages before approving the campaign.")
    if counts["failing"]:
        raise CampaignError(
            f"{counts['failing']} message(s) fail the checks: edit them or the template, "
            "then approve."
        )
    personalized = CampaignMessage.objects.filter(campaign=campaign, personalized=True).count()
    crm.campaign_update(campaign=campaign, data={"status": Campaign.Status.APPROVED})
    if personalized:
        _metric(
            action="accepted",
            user=user,
            workspace=campaign.workspace,
            obj=campaign,
            detail={"kind": "campaign", "messages": counts["draft"], "personalized": personalized},
        )
    return campaign


@dataclass
class SendResult:
    sent: int = 0
    recorded: int = 0
    skipped: int = 0
    failed: int = 0

    @property
    def done(self) -> int:
        return self.sent + self.recorded + self.skipped + self.failed


def _event_payload(message: CampaignMessage, campaign: Campaign) -> dict[str, Any]:
    return {
        "campaign_id": campaign.pk,
        "message_id": message.pk,
        "contact_id": message.contact_id,
        "interaction_id": message.interaction_id,
        "to": message.contact.email,
        "subject": message.subject,
        "personalized": message.personalized,
        "facts": [f"{f['label']}: {f['text']}" for f in message.facts],
        "sent_at": message.sent_at.isoformat() if message.sent_at else None,
    }


#: Why a message is not sent, checked in this order (the confirmation page counts them).
SKIP_OPTED_OUT = "Opted out of marketing email."
SKIP_NO_EMAIL = "No email address."
SKIP_CHECKS = "Fails the checks: "
INTERRUPTED = (
    "Interrupted while sending (the job stopped): not sent again, so that no one gets it "
    "twice. Check with the contact before sending it another way."
)


def skip_reason(message: CampaignMessage) -> str:
    """Why a draft message will not be sent ("" when it will)."""
    if message.contact.marketing_opt_out:
        return SKIP_OPTED_OUT
    if not message.contact.email:
        return SKIP_NO_EMAIL
    if message.problems:
        return f"{SKIP_CHECKS}{' '.join(message.problems.split())}"[:200]
    return ""


@transaction.atomic
def campaign_send_start(
    *, campaign: Campaign, user, expected: int | None = None, queue: bool = True
) -> SendPlanDone:
    """Queue an approved campaign's messages: each is queued, or skipped with its reason.

    ``expected`` is the number of emails the confirmation page showed: when the
    messages changed since, nothing is queued (CampaignError). Then the send
    job runs (``campaign_send_queue``).
    """
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status != Campaign.Status.APPROVED:
        raise CampaignError(
            "Approve the campaign before sending it."
            if campaign.status == Campaign.Status.DRAFT
            else f"This campaign is {campaign.get_status_display().lower()} already."
        )
    plan = selectors.send_plan(workspace=campaign.workspace, campaign=campaign)
    if expected is not None and expected != plan.emails:
        raise CampaignError(
            f"The messages changed since you confirmed: {plan.sentence} Check and confirm again."
        )
    drafts = list(
        CampaignMessage.objects.filter(campaign=campaign, status=CampaignMessage.Status.DRAFT)
        .select_related("contact")
        .only("pk", "problems", "contact__email", "contact__marketing_opt_out")
    )
    for message in drafts:
        reason = skip_reason(message)
        message.status = CampaignMessage.Status.SKIPPED if reason else CampaignMessage.Status.QUEUED
        message.skip_reason = reason
    CampaignMessage.objects.bulk_update(drafts, ["status", "skip_reason"], batch_size=500)
    crm.campaign_update(campaign=campaign, data={"status": Campaign.Status.SENDING})
    if queue:
        campaign_send_queue(campaign=campaign, user=user)
    return SendPlanDone(queued=plan.emails, skipped=plan.skipped)


@dataclass(frozen=True)
class SendPlanDone:
    queued: int
    skipped: int


def _claim(*, campaign: Campaign, limit: int) -> tuple[str, list[CampaignMessage]]:
    """Claim up to ``limit`` queued messages for this run (committed before anything is sent).

    A message is claimed once: ``queued`` becomes ``sending`` with this run's
    claim, in one update that only takes messages still queued.
    """
    claim = uuid.uuid4().hex
    with transaction.atomic():
        ids = list(
            CampaignMessage.objects.select_for_update(skip_locked=True)
            .filter(campaign=campaign, status=CampaignMessage.Status.QUEUED)
            .order_by("id")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            CampaignMessage.objects.filter(pk__in=ids, status=CampaignMessage.Status.QUEUED).update(
                status=CampaignMessage.Status.SENDING, claim=claim
            )
    messages = list(
        CampaignMessage.objects.filter(campaign=campaign, claim=claim)
        .select_related("contact")
        .order_by("id")
    )
    return claim, messages


def _interrupted_fail(*, campaign: Campaign) -> int:
    """Messages a stopped run had claimed: failed, never sent again (it may have sent them)."""
    return CampaignMessage.objects.filter(
        campaign=campaign, status=CampaignMessage.Status.SENDING
    ).update(status=CampaignMessage.Status.FAILED, skip_reason=INTERRUPTED[:200])


def campaign_messages_send_chunk(*, campaign: Campaign, user, limit: int) -> SendResult:
    """Claim and send up to ``limit`` queued messages of a campaign.

    Each message is claimed (committed) before its email goes out, so a run
    started again after a crash never sends it a second time. The emails go
    through ``crmcore.outbound`` (from a sandbox: recorded as would-have-sent),
    with a ``List-Unsubscribe`` header and an unsubscribe line; each sent
    message becomes an outbound email interaction and a
    ``campaign.message_sent`` event, written in bulk.
    """
    workspace = campaign.workspace
    claim, messages = _claim(campaign=campaign, limit=limit)
    result = SendResult()
    if not messages:
        return result
    mails: list[outbound.Email] = []
    for message in messages:
        ids = {"workspace_id": workspace.pk, "contact_id": message.contact_id}
        # What is stored is exactly what is sent, unsubscribe line included.
        message.body = f"{message.body}\n\n--\n{marketing.unsubscribe_footer(**ids)}"
        mails.append(
            outbound.Email(
                to=(message.contact.email,),
                subject=message.subject,
                body=message.body,
                payload={"campaign_id": campaign.pk, "message_id": message.pk},
                headers=marketing.unsubscribe_headers(**ids),
            )
        )
    try:
        outbound.emails_send(workspace=workspace, emails=mails, source=f"campaign {campaign.pk}")
    except Exception as exc:  # the mail server refused: the reason goes on each message
        reason = f"The mail server refused: {exc}"[:200]
        result.failed = CampaignMessage.objects.filter(claim=claim).update(
            status=CampaignMessage.Status.FAILED, skip_reason=reason
        )
        return result
    now = timezone.now()
    with transaction.atomic():
        interactions = crm.interactions_create_many(
            workspace=workspace,
            items=[
                crm.InteractionInput(
                    contact=message.contact,
                    channel=Interaction.Channel.EMAIL,
                    direction=Interaction.Direction.OUTBOUND,
                    subject=message.subject,
                    body=message.body,
                    occurred_at=now,
                    author=user,
                )
                for message in messages
            ],
        )
        status = (
            CampaignMessage.Status.RECORDED if workspace.is_sandbox else CampaignMessage.Status.SENT
        )
        for message, interaction in zip(messages, interactions, strict=True):
            message.interaction, message.sent_at, message.status = interaction, now, status
        CampaignMessage.objects.bulk_update(
            messages, ["status", "interaction", "sent_at", "body"], batch_size=500
        )
        emit_many_on_commit(
            workspace=workspace,
            events=[(MESSAGE_SENT_EVENT, _event_payload(m, campaign)) for m in messages],
        )
    if workspace.is_sandbox:
        result.recorded = len(messages)
    else:
        result.sent = len(messages)
    return result


def campaign_send(
    *,
    campaign: Campaign,
    user,
    chunk_size: int | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> SendResult:
    """Send a campaign's queued messages chunk by chunk (the send job).

    An approved campaign is queued first (``campaign_send_start``). Started
    again after a crash it fails what the stopped run had claimed (never sent
    twice) and goes on with the rest.
    """
    if campaign.status == Campaign.Status.APPROVED:
        campaign_send_start(campaign=campaign, user=user, queue=False)
        campaign.refresh_from_db()
    if campaign.status == Campaign.Status.SENT:
        return SendResult()  # delivered again after it finished: nothing left to send
    if campaign.status != Campaign.Status.SENDING:
        raise CampaignError("Approve the campaign before sending it.")
    size = chunk_size or app_settings.SEND_CHUNK_SIZE
    result = SendResult(failed=_interrupted_fail(campaign=campaign))
    while True:
        part = campaign_messages_send_chunk(campaign=campaign, user=user, limit=size)
        if not part.done:
            break
        result.sent += part.sent
        result.recorded += part.recorded
        result.failed += part.failed
        if on_chunk is not None:
            on_chunk(part.done)
    result.skipped = CampaignMessage.objects.filter(
        campaign=campaign, status=CampaignMessage.Status.SKIPPED
    ).count()
    crm.campaign_update(campaign=campaign, data={"status": Campaign.Status.SENT})
    return result


def campaign_send_queue(*, campaign: Campaign, user) -> None:
    """Run the send job after the current transaction commits (in-process without a broker)."""
    job_queue(
        CAPABILITY,
        "send_campaign",
        workspace=campaign.workspace,
        campaign_id=campaign.pk,
        user_id=user.pk if user is not None else None,
    )


def message_test_send(*, message: CampaignMessage, user) -> str:
    """Send one message to the signed-in user's own address, marked as a test; returns it.

    The contact's unsubscribe link is not put in a test (the rep would
    unsubscribe the contact by trying it): a placeholder line stands for it.
    """
    address = (getattr(user, "email", "") or "").strip()
    if not address:
        raise CampaignError("Your account has no email address: add one to receive test sends.")
    body = (
        f"{message.body}\n\n--\nTo stop receiving these emails, unsubscribe here: "
        "(the contact's own unsubscribe link)"
    )
    outbound.email_send(
        workspace=message.workspace,
        to=[address],
        subject=f"[Test] {message.subject}"[:250],
        body=body,
        source=f"campaign {message.campaign_id} test",
    )
    return address


# -- suggested replies ---------------------------------------------------------

#: What a rep can do with a suggested reply. "accepted" and "edited" are sends too
#: (the suggestion as it is, or the body given); kept for API clients.
REPLY_ACTIONS = ("send", "accepted", "edited", "draft", "dismissed")
_SEND_ACTIONS = ("send", "accepted", "edited")


@transaction.atomic
def suggested_reply_decide(
    *,
    workspace: Workspace,
    user,
    interaction: Interaction,
    suggestion: Composed,
    action: str,
    body: str = "",
) -> SuggestedReply:
    """Send, save as draft or dismiss the reply suggested for an inbound interaction.

    Sending emails the reply to the contact through ``crmcore.outbound`` (from
    a sandbox: recorded) and logs it as an outbound **email** interaction; it
    counts as ``accepted`` when sent as suggested, ``edited`` when changed
    first (pilot metrics, as is ``dismissed``). A draft keeps the text for later
    (the panel shows it again) and sends nothing.
    """
    if action not in REPLY_ACTIONS:
        raise ValidationError({"action": f"Unknown action {action!r}."})
    if interaction.direction != Interaction.Direction.INBOUND:
        raise ValidationError({"interaction": "Replies are suggested for inbound messages only."})
    decision = (
        SuggestedReply.objects.select_for_update()
        .filter(interaction=interaction, user=user)
        .first()
    )
    if decision is not None and decision.status != SuggestedReply.Status.DRAFT:
        raise CampaignError("You have already decided on this suggestion.")
    final = suggestion.body if action == "accepted" else body.strip()
    if action in ("send", "edited", "draft") and not final:
        raise ValidationError({"body": "Write the reply first."})
    contact = interaction.contact
    reply = None
    if action in _SEND_ACTIONS:
        if not contact.email:
            raise ValidationError(
                {"body": f"{contact.full_name} has no email address: save the reply as a draft."}
            )
        status = (
            SuggestedReply.Status.ACCEPTED
            if final == suggestion.body.strip()
            else SuggestedReply.Status.EDITED
        )
        subject = suggestion.subject[:250]
        reply = crm.interaction_create(
            workspace=workspace,
            contact=contact,
            channel=Interaction.Channel.EMAIL,
            direction=Interaction.Direction.OUTBOUND,
            subject=subject,
            body=final,
            author=user,
        )
        outbound.email_send(
            workspace=workspace,
            to=[contact.email],
            subject=subject,
            body=final,
            source=f"reply to interaction {interaction.pk}",
        )
    elif action == "draft":
        status = SuggestedReply.Status.DRAFT
    else:
        status, final = SuggestedReply.Status.DISMISSED, ""
    if decision is None:
        decision = SuggestedReply(
            workspace=workspace, interaction=interaction, contact=contact, user=user
        )
    decision.suggested_body = suggestion.body
    decision.final_body = final
    decision.facts, decision.unused = suggestion.facts, suggestion.unused
    decision.status, decision.reply, decision.updated_at = status, reply, timezone.now()
    decision.save()
    if status != SuggestedReply.Status.DRAFT:
        _metric(
            action=status,
            user=user,
            workspace=workspace,
            obj=interaction,
            detail={"kind": "suggested_reply", "facts": suggestion.fact_lines()},
        )
    return decision


def suggested_reply_shown(*, workspace: Workspace, user, interaction: Interaction) -> None:
    _metric(
        action="shown",
        user=user,
        workspace=workspace,
        obj=interaction,
        detail={"kind": "suggested_reply"},
    )


# -- results ---------------------------------------------------------------------


@transaction.atomic
def campaign_message_opened(*, message: CampaignMessage, at=None) -> bool:
    """The email backend reports the message opened (its webhook calls the API endpoint).

    The first report sets ``opened_at`` and counts in the pilot metrics as the
    customer having been shown the message; later ones change nothing.
    Returns whether this report was the first.
    """
    if message.status not in selectors.SENT_STATUSES:
        raise CampaignError("Only a sent message can be opened.")
    first = bool(
        CampaignMessage.objects.filter(pk=message.pk, opened_at__isnull=True).update(
            opened_at=at or timezone.now()
        )
    )
    if first:
        _metric(
            action="shown",
            user=None,
            workspace=message.workspace,
            obj=message,
            detail={"kind": "campaign_opened", "campaign_id": message.campaign_id},
        )
    return first


@dataclass
class ResultsRecorded:
    replied: int = 0
    unsubscribed: int = 0


def campaign_results_record(*, workspace: Workspace) -> ResultsRecorded:
    """Count each sent message's reply and unsubscribe once in the pilot metrics.

    A reply (an inbound interaction within ``REPLY_WINDOW_DAYS`` of the send)
    is the customer accepting the message; an unsubscribe, dismissing it. The
    message is marked (``replied_at``, ``unsubscribed_at``) so a later run does
    not count it again. Run daily by the capability's schedule.
    """
    now = timezone.now()
    sent = CampaignMessage.objects.filter(workspace=workspace, status__in=selectors.SENT_STATUSES)
    replied = list(
        sent.filter(replied_at__isnull=True)
        .filter(selectors.replied_filter(window_days=app_settings.REPLY_WINDOW_DAYS))
        .only("pk", "campaign_id", "workspace_id")
    )
    unsubscribed = list(
        sent.filter(unsubscribed_at__isnull=True, contact__marketing_opt_out=True).only(
            "pk", "campaign_id", "workspace_id"
        )
    )
    with transaction.atomic():
        CampaignMessage.objects.filter(pk__in=[m.pk for m in replied]).update(replied_at=now)
        CampaignMessage.objects.filter(pk__in=[m.pk for m in unsubscribed]).update(
            unsubscribed_at=now
        )
        for action, kind, rows in (
            ("accepted", "campaign_replied", replied),
            ("dismissed", "campaign_unsubscribed", unsubscribed),
        ):
            for message in rows:
                _metric(
                    action=action,
                    user=None,
                    workspace=workspace,
                    obj=message,
                    detail={"kind": kind, "campaign_id": message.campaign_id},
                )
    return ResultsRecorded(replied=len(replied), unsubscribed=len(unsubscribed))
