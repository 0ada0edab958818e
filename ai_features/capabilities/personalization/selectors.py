"""Reads of the personalization capability. Every read takes the workspace explicitly."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from ai_features.capabilities.personalization.builder import Composed, compose, compose_reply
from ai_features.capabilities.personalization.conf import app_settings
from ai_features.capabilities.personalization.facts import (
    Access,
    contact_rows,
    facts_load,
)
from ai_features.capabilities.personalization.models import CampaignMessage, SuggestedReply
from ai_features.models import JobRun
from crmcore.models import Campaign, Contact, Interaction, Order, Product, Team, Workspace

AUDIENCE_KEYS = ("lifecycle_stage", "segment", "region", "team", "churn_band", "product")


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
    filter is not applied and listed as ignored.
    """
    contacts = Contact.objects.in_workspace(workspace)
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
        if access.personalization and access.prediction:
            from ai_features.capabilities.prediction.models import ContactScore

            contacts = contacts.filter(
                pk__in=ContactScore.objects.filter(
                    workspace=workspace, band=spec["churn_band"]
                ).values("contact_id")
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
    return (
        Interaction.objects.in_workspace(workspace)
        .filter(contact_id=contact_id, direction=Interaction.Direction.INBOUND)
        .exclude(channel=Interaction.Channel.NOTE)
        .order_by("-occurred_at", "-id")
        .first()
    )


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
