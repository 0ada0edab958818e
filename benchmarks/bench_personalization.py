"""Personalization benchmark: tailored messages built per second against a plain render.

    .venv/bin/python -m benchmarks.bench_personalization [contacts]

Default: 10,000 contacts, each with orders, inbound interactions with stored
tones and a stored prediction. Figures, each against the same count of plain
template renders measured in the same run (``str.format`` and Django's
``Template``, over contact rows already in memory):

* a full build (facts loaded chunk by chunk in a fixed number of queries,
  composition, bulk upsert of the messages) with personalization, prediction
  and sentiment on;
* the same build with the capability off (a plain mail merge through the same
  pipeline);
* loading facts and composing without writing.
"""

from __future__ import annotations

import datetime as dt
import random
import sys

from benchmarks.harness import best_of, line, report, section, setup_django

SEED = 23
BODY = "Hi {first_name},\n\nWe have news for {company}.\n\nBest regards"


def seed(count: int):
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from ai_features.capabilities.prediction.models import ContactScore, ModelVersion
    from ai_features.capabilities.sentiment.models import InteractionSentiment
    from crmcore.models import Account, Contact, Interaction, Order, OrderLine, Product
    from crmcore.workspaces import production_workspace

    rng = random.Random(SEED)
    now = timezone.now()
    ws = production_workspace()
    user = get_user_model().objects.create_user("bench", password="x")
    products = Product.objects.bulk_create(
        [Product(workspace=ws, sku=f"P{i}", name=f"Product {i}") for i in range(8)]
    )
    accounts = Account.objects.bulk_create(
        [Account(workspace=ws, name=f"Account {i}") for i in range(count // 10 + 1)]
    )
    contacts = Contact.objects.bulk_create(
        [
            Contact(
                workspace=ws,
                first_name=f"First{i}",
                last_name=f"Last{i}",
                email=f"c{i}@example.com",
                account=accounts[i // 10],
                lifecycle_stage="customer",
                segment=rng.choice(["SMB", "Enterprise"]),
                region=rng.choice(["EMEA", "AMER"]),
            )
            for i in range(count)
        ],
        batch_size=2000,
    )
    orders = Order.objects.bulk_create(
        [
            Order(workspace=ws, contact=c, ordered_at=now - dt.timedelta(days=rng.randint(1, 300)))
            for c in contacts
            for _ in range(2)
        ],
        batch_size=2000,
    )
    OrderLine.objects.bulk_create(
        [OrderLine(workspace=ws, order=o, product=rng.choice(products)) for o in orders],
        batch_size=2000,
    )
    channels = ["email", "call", "chat", "ticket"]
    interactions = Interaction.objects.bulk_create(
        [
            Interaction(
                workspace=ws,
                contact=c,
                channel=rng.choice(channels),
                direction="in",
                subject=f"Question {k}",
                body="text",
                occurred_at=now - dt.timedelta(days=rng.randint(1, 90), hours=rng.randint(0, 23)),
            )
            for c in contacts
            for k in range(4)
        ],
        batch_size=2000,
    )
    tones = ["positive", "neutral", "negative", "frustrated"]
    InteractionSentiment.objects.bulk_create(
        [
            InteractionSentiment(
                workspace=ws,
                interaction=i,
                contact_id=i.contact_id,
                occurred_at=i.occurred_at,
                content_hash="x",
                polarity=0.0,
                subjectivity=0.5,
                tone=rng.choice(tones),
            )
            for i in interactions
        ],
        batch_size=2000,
    )
    version = ModelVersion.objects.create(
        workspace=ws, number=1, status="published", is_live=True, as_of=now
    )
    ContactScore.objects.bulk_create(
        [
            ContactScore(
                workspace=ws,
                contact=c,
                model_version=version,
                probability=0.4,
                log_odds=0.0,
                band="medium",
                next_products=[{"id": products[0].pk, "name": products[0].name, "score": 0.5}],
            )
            for c in contacts
        ],
        batch_size=2000,
    )
    return ws, user


def set_flags(on: bool) -> None:
    from waffle import get_waffle_flag_model

    flag_model = get_waffle_flag_model()
    for name in ("ai_personalization", "ai_prediction", "ai_sentiment"):
        flag, _ = flag_model.objects.get_or_create(name=name)
        flag.everyone = on
        flag.save()
        flag.flush()


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    setup_django()
    from django.template import Context, Template

    from ai_features.capabilities.personalization.facts import access_for, contact_rows
    from ai_features.capabilities.personalization.selectors import audience, compose_for
    from ai_features.capabilities.personalization.services import campaign_messages_build
    from crmcore.models import Campaign

    section(f"Personalization ({count:,} contacts)")
    ws, user = seed(count)
    campaign = Campaign.objects.create(
        workspace=ws,
        name="Bench",
        goal="win_back",
        audience={"lifecycle_stage": "customer"},
        subject_template="{first_name}, we miss you",
        body_template=BODY,
    )
    ids = list(
        audience(
            workspace=ws, spec=campaign.audience, access=access_for(user=user, workspace=ws)
        ).contact_ids
    )
    rows = list(contact_rows(workspace=ws, contact_ids=ids).values())
    django_template = Template(
        "Hi {{ first_name }},\n\nWe have news for {{ company }}.\n\nBest regards"
    )

    def plain_format():
        for r in rows:
            BODY.format(first_name=r.first_name, company=r.company)

    def plain_django():
        for r in rows:
            django_template.render(Context({"first_name": r.first_name, "company": r.company}))

    fmt = best_of(plain_format)
    tpl = best_of(plain_django)

    set_flags(True)
    access = access_for(user=user, workspace=ws)
    assert access.personalization and access.prediction and access.sentiment
    built = best_of(lambda: campaign_messages_build(campaign=campaign, user=user), repeat=3)
    personalized = campaign.personalized_messages.filter(personalized=True).count()
    assert personalized == count, personalized

    def compose_only():
        for start in range(0, len(ids), 1000):
            compose_for(
                workspace=ws,
                campaign=campaign,
                contact_ids=ids[start : start + 1000],
                access=access,
            )

    composed = best_of(compose_only, repeat=3)

    set_flags(False)
    plain_build = best_of(lambda: campaign_messages_build(campaign=campaign, user=user), repeat=3)
    assert not campaign.personalized_messages.filter(personalized=True).exists()

    line(f"personalized build of {count:,} messages: {built:.2f} s")
    report(
        "personalized build", rate=(count, built), baseline=("str.format", count, fmt), unit="msg"
    )
    report(
        "personalized build",
        rate=(count, built),
        baseline=("Django Template", count, tpl),
        unit="msg",
    )
    report(
        "facts + compose (no write)",
        rate=(count, composed),
        baseline=("str.format", count, fmt),
        unit="msg",
    )
    report(
        "plain mail-merge build (flag off)",
        rate=(count, plain_build),
        baseline=("str.format", count, fmt),
        unit="msg",
    )


if __name__ == "__main__":
    main()
