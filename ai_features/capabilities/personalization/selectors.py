"""Reads of the personalization capability. Every read takes the workspace explicitly."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.cache import cache
from django.db import models
from django.db.models import (
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models import Value as V
from django.http import Http404

from ai_features.capabilities.personalization.builder import Composed, compose, compose_reply
from ai_features.capabilities.personalization.conf import app_settings
from ai_features.capabilities.personalization.facts import (
    Access,
    contact_rows,
    facts_load,
)
from ai_features.capabilities.personalization.models import CampaignMessage, SuggestedReply
from ai_features.facades import facade_for
from ai_features.models import JobRun
from crmcore.models import Campaign, Contact, Interaction, Order, Product, Team, Workspace

AUDIENCE_KEYS = (
    "lifecycle_stage",
    "segment",
    "region",
    "team",
    "churn_band",
    "product",
    "contacts",
)


def campaign_get(*, workspace: Workspace, pk: int) -> Campaign:
    """A campaign of this workspace, or 404 (also one of another workspace)."""
    campaign = Campaign.objects.in_workspace(workspace).filter(pk=pk).first()
    if campaign is None:
        raise Http404("No such campaign")
    return campaign


def campaign_list(*, workspace: Workspace) -> QuerySet[Campaign]:
    # A grouped query ignores Meta.ordering: the pages need it stated.
    return (
        Campaign.objects.in_workspace(workspace)
        .annotate(message_count=Count("personalized_messages"))
        .order_by("-created_at", "-id")
    )


@dataclass(frozen=True)
class Audience:
    contact_ids: QuerySet
    #: Filters of the campaign that could not be applied, with the reason.
    ignored: tuple[str, ...] = ()


def audience(*, workspace: Workspace, spec: dict, access: Access) -> Audience:
    """The contact ids a campaign's audience filter selects, by id (a lazy queryset).

    The churn-risk band needs prediction: where it is off for the user the
    filter is not applied and listed as ignored. Contacts added by hand
    (``contacts``, ids) are in the audience besides those the filters select;
    with no filter, they are the whole audience.
    """
    contacts = Contact.objects.in_workspace(workspace)
    picked = [int(pk) for pk in spec.get("contacts") or () if str(pk).isdigit()]
    filtered = any(spec.get(key) for key in AUDIENCE_KEYS if key != "contacts")
    ignored: list[str] = []
    for key in ("lifecycle_stage", "segment", "region"):
        if spec.get(key):
            contacts = contacts.filter(**{key: spec[key]})
    if spec.get("team"):
        contacts = contacts.filter(team_id=spec["team"])
    if spec.get("product"):
        contacts = contacts.filter(
            pk__in=Order.objects.filter(
                workspace=workspace,
                status__in=[Order.Status.PAID, Order.Status.PLACED],
                lines__product_id=spec["product"],
            ).values("contact_id")
        )
    if spec.get("churn_band"):
        prediction = facade_for("prediction", workspace=workspace)
        if access.personalization and access.prediction and prediction.available:
            contacts = contacts.filter(
                pk__in=prediction.contact_ids_in_band(
                    workspace_id=workspace.pk, band=spec["churn_band"]
                )
            )
        else:
            ignored.append(
                "Churn-risk band: not used — "
                + (
                    "Prediction is not enabled for you"
                    if access.personalization
                    else "Personalization is not enabled for you"
                )
            )
    if picked:
        by_hand = Contact.objects.in_workspace(workspace).filter(pk__in=picked)
        contacts = (contacts | by_hand) if filtered else by_hand
    return Audience(
        contact_ids=contacts.order_by("pk").values_list("pk", flat=True), ignored=tuple(ignored)
    )


def compose_for(
    *, workspace: Workspace, campaign: Campaign, contact_ids: list[int], access: Access
) -> list[Composed]:
    """Messages of a chunk of contacts: a fixed number of queries for the whole chunk."""
    rows = contact_rows(workspace=workspace, contact_ids=contact_ids)
    facts = facts_load(workspace=workspace, contact_ids=list(rows), access=access)
    return [
        compose(
            goal=campaign.goal,
            subject_template=campaign.subject_template,
            body_template=campaign.body_template,
            contact=rows[pk],
            facts=facts.get(pk),
            access=access,
        )
        for pk in contact_ids
        if pk in rows
    ]


@dataclass(frozen=True)
class Preview:
    messages: list[Composed]
    audience_size: int
    ignored: tuple[str, ...]


def campaign_preview(
    *, workspace: Workspace, campaign: Campaign, access: Access, limit: int | None = None
) -> Preview:
    """A sample of the campaign's messages, composed now and not stored."""
    limit = limit or app_settings.PREVIEW_SIZE
    selected = audience(workspace=workspace, spec=campaign.audience, access=access)
    ids = list(selected.contact_ids[:limit])
    return Preview(
        messages=compose_for(
            workspace=workspace, campaign=campaign, contact_ids=ids, access=access
        ),
        audience_size=selected.contact_ids.count(),
        ignored=selected.ignored,
    )


def campaign_messages(*, workspace: Workspace, campaign: Campaign) -> QuerySet[CampaignMessage]:
    return CampaignMessage.objects.filter(workspace=workspace, campaign=campaign).select_related(
        "contact"
    )


def campaign_message_get(*, workspace: Workspace, campaign: Campaign, pk: int) -> CampaignMessage:
    message = campaign_messages(workspace=workspace, campaign=campaign).filter(pk=pk).first()
    if message is None:
        raise Http404("No such message")
    return message


def campaign_message_counts(*, workspace: Workspace, campaign: Campaign) -> dict[str, int]:
    rows = list(
        CampaignMessage.objects.filter(workspace=workspace, campaign=campaign)
        .values("status")
        .annotate(n=Count("id"), failing=Count("id", filter=~Q(problems="")))
        .values_list("status", "n", "failing")
    )
    counts = dict.fromkeys(CampaignMessage.Status.values, 0)
    counts.update({status: n for status, n, _ in rows})
    counts["total"] = sum(counts[s] for s in CampaignMessage.Status.values)
    #: Messages that left (sent, or recorded from a sandbox).
    counts["delivered"] = counts["sent"] + counts["recorded"]
    #: Draft messages that fail the checks of a finished message (they cannot be sent).
    counts["failing"] = sum(f for status, _, f in rows if status == CampaignMessage.Status.DRAFT)
    return counts


def job_name(kind: str, campaign_id: int) -> str:
    return f"{kind}_campaign:{campaign_id}"


def campaign_jobs(*, workspace: Workspace, campaign: Campaign, limit: int = 5) -> list[JobRun]:
    return list(
        JobRun.objects.filter(
            workspace=workspace,
            capability="personalization",
            name__in=[job_name("build", campaign.pk), job_name("send", campaign.pk)],
        )[:limit]
    )


def audience_choices(*, workspace: Workspace) -> dict[str, list]:
    """Teams, products, segments and regions of the workspace, for the audience form."""
    contacts = Contact.objects.in_workspace(workspace)
    return {
        "teams": list(Team.objects.in_workspace(workspace).values_list("pk", "name")),
        "products": list(Product.objects.in_workspace(workspace).values_list("pk", "name")),
        "segments": list(
            contacts.exclude(segment="")
            .order_by("segment")
            .values_list("segment", flat=True)
            .distinct()
        ),
        "regions": list(
            contacts.exclude(region="")
            .order_by("region")
            .values_list("region", flat=True)
            .distinct()
        ),
    }


# -- suggested replies ---------------------------------------------------------


def interaction_get(*, workspace: Workspace, pk: int) -> Interaction:
    """An interaction of this workspace with its contact, or 404."""
    interaction = (
        Interaction.objects.in_workspace(workspace).select_related("contact").filter(pk=pk).first()
    )
    if interaction is None:
        raise Http404("No such interaction")
    return interaction


def latest_inbound(*, workspace: Workspace, contact_id: int) -> Interaction | None:
    """The contact's latest inbound interaction (notes aside), with ``answered_at``: when the
    first outbound interaction after it happened (None: it is still open). One query."""
    later_out = (
        Interaction.objects.filter(
            workspace=workspace,
            contact_id=contact_id,
            direction=Interaction.Direction.OUTBOUND,
            occurred_at__gt=OuterRef("occurred_at"),
        )
        .exclude(channel=Interaction.Channel.NOTE)
        .order_by("occurred_at")
        .values("occurred_at")[:1]
    )
    return (
        Interaction.objects.in_workspace(workspace)
        .filter(contact_id=contact_id, direction=Interaction.Direction.INBOUND)
        .exclude(channel=Interaction.Channel.NOTE)
        .annotate(answered_at=Subquery(later_out))
        .order_by("-occurred_at", "-id")
        .first()
    )


def open_inbound(*, workspace: Workspace, contact_id: int) -> tuple[Interaction | None, bool]:
    """(the latest inbound interaction, whether it still waits for a reply).

    Open: no outbound interaction after it. When the latest is answered, every
    earlier one is too: nothing is open.
    """
    latest = latest_inbound(workspace=workspace, contact_id=contact_id)
    return latest, latest is not None and getattr(latest, "answered_at", None) is None


def suggested_reply_decision(*, user, interaction: Interaction) -> SuggestedReply | None:
    return SuggestedReply.objects.filter(interaction=interaction, user=user).first()


def suggested_reply(
    *, workspace: Workspace, interaction: Interaction, user, access: Access
) -> Composed:
    """The reply suggested to ``user`` for an inbound interaction.

    Composing reads the contact's facts (six queries); the result is kept
    ``REPLY_CACHE_SECONDS`` for the same message, user and access, so a rep
    going back and forth on a contact page reads it once. A new inbound
    message is a new key; a new order or score shows within that delay.
    """
    seconds = app_settings.REPLY_CACHE_SECONDS
    key = REPLY_CACHE_KEY.format(
        interaction_id=interaction.pk,
        user_id=getattr(user, "pk", None) or 0,
        access=f"{access.personalization:d}{access.prediction:d}{access.sentiment:d}",
    )
    if seconds > 0:
        cached: Composed | None = cache.get(key)
        if cached is not None:
            return cached
    composed = _suggested_reply_composed(
        workspace=workspace, interaction=interaction, user=user, access=access
    )
    if seconds > 0:
        cache.set(key, composed, seconds)
    return composed


REPLY_CACHE_KEY = "personalization:reply:{interaction_id}:{user_id}:{access}"


def _suggested_reply_composed(
    *, workspace: Workspace, interaction: Interaction, user, access: Access
) -> Composed:
    contact_id = interaction.contact_id
    rows = contact_rows(workspace=workspace, contact_ids=[contact_id])
    facts = facts_load(workspace=workspace, contact_ids=[contact_id], access=access)
    signature = (user.get_full_name() or user.get_username()) if user is not None else ""
    return compose_reply(
        contact=rows[contact_id],
        facts=facts[contact_id],
        access=access,
        inbound=interaction,
        signature=signature,
    )


# -- sending -------------------------------------------------------------------


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


@dataclass(frozen=True)
class SendPlan:
    """What sending a campaign's draft messages will do (the confirmation page)."""

    emails: int
    opted_out: int
    no_email: int
    failing: int

    @property
    def skipped(self) -> int:
        return self.opted_out + self.no_email + self.failing

    @property
    def sentence(self) -> str:
        """E.g. "84 emails to 84 contacts, 3 skipped: 2 opted out of marketing, 1 has no email."""
        head = (
            f"{_plural(self.emails, 'email', 'emails')} to "
            f"{_plural(self.emails, 'contact', 'contacts')}"
        )
        if not self.skipped:
            return f"{head}, none skipped."
        reasons = [
            f"{n} {text}"
            for n, text in (
                (self.opted_out, "opted out of marketing"),
                (self.no_email, "has no email" if self.no_email == 1 else "have no email"),
                (self.failing, "fails the checks" if self.failing == 1 else "fail the checks"),
            )
            if n
        ]
        return f"{head}, {self.skipped} skipped: {', '.join(reasons)}."


def send_plan(*, workspace: Workspace, campaign: Campaign) -> SendPlan:
    """Counts of the draft messages by what sending will do (one query).

    A message is skipped for the first reason that applies: opted out, no
    email, failing the checks (as ``services.skip_reason``).
    """
    opted_out = Q(contact__marketing_opt_out=True)
    no_email = Q(contact__email="") & ~opted_out
    failing = ~Q(problems="") & ~opted_out & ~Q(contact__email="")
    counts = CampaignMessage.objects.filter(
        workspace=workspace, campaign=campaign, status=CampaignMessage.Status.DRAFT
    ).aggregate(
        total=Count("id"),
        opted_out=Count("id", filter=opted_out),
        no_email=Count("id", filter=no_email),
        failing=Count("id", filter=failing),
    )
    skipped = counts["opted_out"] + counts["no_email"] + counts["failing"]
    return SendPlan(
        emails=counts["total"] - skipped,
        opted_out=counts["opted_out"],
        no_email=counts["no_email"],
        failing=counts["failing"],
    )


# -- results -------------------------------------------------------------------


def replied_filter(*, window_days: int) -> Q:
    """Sent messages whose contact wrote to us (inbound, not a note) within the window."""
    window = ExpressionWrapper(
        V(dt.timedelta(days=window_days), output_field=DurationField()),
        output_field=DurationField(),
    )
    replies = (
        Interaction.objects.filter(
            workspace=OuterRef("workspace"),
            contact_id=OuterRef("contact_id"),
            direction=Interaction.Direction.INBOUND,
            occurred_at__gt=OuterRef("sent_at"),
            occurred_at__lte=ExpressionWrapper(
                OuterRef("sent_at") + window, output_field=models.DateTimeField()
            ),
        )
        .exclude(channel=Interaction.Channel.NOTE)
        .values("pk")
    )
    return Q(Exists(replies))


SENT_STATUSES = (CampaignMessage.Status.SENT, CampaignMessage.Status.RECORDED)


@dataclass(frozen=True)
class Results:
    sent: int
    opened: int
    replied: int
    unsubscribed: int
    window_days: int

    def rate(self, n: int) -> str:
        return f"{round(100 * n / self.sent)}%" if self.sent else "—"


def campaign_results(*, workspace: Workspace, campaign: Campaign) -> Results:
    """Sent (or recorded), opened (where the email backend reports it), replied within
    ``REPLY_WINDOW_DAYS`` of the send, and unsubscribed since: one query."""
    days = app_settings.REPLY_WINDOW_DAYS
    sent = Q(status__in=SENT_STATUSES)
    counts = CampaignMessage.objects.filter(workspace=workspace, campaign=campaign).aggregate(
        sent=Count("id", filter=sent),
        opened=Count("id", filter=sent & Q(opened_at__isnull=False)),
        replied=Count("id", filter=sent & replied_filter(window_days=days)),
        unsubscribed=Count("id", filter=sent & Q(contact__marketing_opt_out=True)),
    )
    return Results(window_days=days, **counts)
