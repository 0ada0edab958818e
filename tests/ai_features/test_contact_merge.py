"""Merging two contacts moves the AI apps' rows about them too, found through
``services_merge.contact_relations`` (hidden relations too); where an app allows
one row per contact, the merged-away contact's colliding row is dropped and the
kept contact's stays."""

from __future__ import annotations

import pytest
from django.utils import timezone

from ai_features.capabilities.personalization.models import CampaignMessage
from ai_features.capabilities.prediction.models import ContactNextNeeds, ContactScore
from ai_features.capabilities.sentiment.models import InteractionSentiment, SentimentAlert
from crmcore import factories, services_merge
from crmcore.models import AuditEntry, Contact
from tests.ai_features.personalization.helpers import score_of, tone_of

pytestmark = pytest.mark.django_db


def test_contact_relations__hidden_ai_relations__included():
    relations = {
        f"{r.related_model._meta.label}.{r.field.name}" for r in services_merge.contact_relations()
    }
    assert {
        "ai_sentiment.InteractionSentiment.contact",
        "ai_personalization.CampaignMessage.contact",
        "ai_personalization.SuggestedReply.contact",
        "ai_prediction.ContactScore.contact",
    } <= relations


def _alert(contact, **fields) -> SentimentAlert:
    return SentimentAlert.objects.create(
        workspace=contact.workspace,
        contact=contact,
        baseline_polarity=0.4,
        recent_polarity=-0.3,
        recent_count=3,
        baseline_count=10,
        **fields,
    )


def _message(campaign, contact) -> CampaignMessage:
    return CampaignMessage.objects.create(
        workspace=contact.workspace, campaign=campaign, contact=contact, subject="Hi"
    )


@pytest.fixture
def two(workspace):
    keep = factories.ContactFactory(workspace=workspace, phone="555 000 111")
    other = factories.ContactFactory(workspace=workspace, phone="555-000-111")
    return keep, other


def test_merge__one_score_per_contact__other_score_dropped_kept_score_stays(workspace, two):
    keep, other = two
    kept_score = score_of(keep, band="high", next_product="A", probability=0.9)
    score_of(other, band="low", next_product="B", probability=0.1)

    entry = services_merge.contact_merge(keep=keep, other=other)

    assert list(ContactScore.objects.all()) == [kept_score]
    assert list(ContactNextNeeds.objects.values_list("contact_id", flat=True)) == [keep.pk]
    assert entry.details["deleted"] == {"contact score": 1, "contact next needs": 1}
    assert "dropped 1 contact score, 1 contact next needs" in entry.summary


def test_merge__only_the_other_has_a_score__it_moves(workspace, two):
    keep, other = two
    score = score_of(other, band="low", next_product="B")
    services_merge.contact_merge(keep=keep, other=other)
    score.refresh_from_db()
    assert score.contact_id == keep.pk


def test_merge__sentiment_of_moved_interactions__follows(workspace, two):
    keep, other = two
    interaction = factories.InteractionFactory(workspace=workspace, contact=other)
    tone_of(interaction, "negative", -0.5)
    services_merge.contact_merge(keep=keep, other=other)
    sentiment = InteractionSentiment.objects.get()
    assert (sentiment.contact_id, sentiment.interaction.contact_id) == (keep.pk, keep.pk)


def test_merge__open_alert_on_both__other_open_dropped_acknowledged_moves(workspace, two):
    keep, other = two
    kept_open = _alert(keep)
    _alert(other)
    acknowledged = _alert(other, acknowledged_at=timezone.now())

    services_merge.contact_merge(keep=keep, other=other)

    assert set(SentimentAlert.objects.values_list("pk", "contact_id")) == {
        (kept_open.pk, keep.pk),
        (acknowledged.pk, keep.pk),
    }


def test_merge__message_per_campaign_and_contact__collisions_only_dropped(workspace, two):
    keep, other = two
    both = factories.CampaignFactory(workspace=workspace, name="Both")
    only_other = factories.CampaignFactory(workspace=workspace, name="Other only")
    kept_message = _message(both, keep)
    _message(both, other)
    moved = _message(only_other, other)

    services_merge.contact_merge(keep=keep, other=other)

    assert set(CampaignMessage.objects.values_list("pk", "contact_id")) == {
        (kept_message.pk, keep.pk),
        (moved.pk, keep.pk),
    }
    assert not Contact.objects.filter(pk=other.pk).exists()
    assert AuditEntry.objects.get().details["moved"] == {"campaign message": 1}
