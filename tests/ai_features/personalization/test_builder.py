"""Facts and composition: each message uses its own contact's true facts."""

from __future__ import annotations

import pytest

from ai_features.capabilities.personalization.builder import TemplateError, template_check
from ai_features.capabilities.personalization.facts import (
    Access,
    access_for,
    contact_rows,
    facts_load,
)
from ai_features.capabilities.personalization.selectors import compose_for
from ai_features.gate import kill_switch_active
from crmcore import factories
from tests.ai_features.personalization.helpers import inbound, order_of, score_of, tone_of

ALL = Access(personalization=True, prediction=True, sentiment=True)


def _by_name(messages, ada, ben):
    found = {m.contact_id: m for m in messages}
    return found[ada.pk], found[ben.pk]


def test_compose__two_contacts_everything_on__facts_differ_and_are_true(
    workspace, campaign, customers
):
    ada, ben = customers
    # When both are composed for a win-back campaign with every capability on
    ada_msg, ben_msg = _by_name(
        compose_for(
            workspace=workspace, campaign=campaign, contact_ids=[ada.pk, ben.pk], access=ALL
        ),
        ada,
        ben,
    )
    # Then each lists its own facts, and they differ
    assert ada_msg.fact_lines() == [
        "Recent tone: frustrated in their ticket 3 days ago (“Export broken”)"
        " — help and apology first",
        "Last order: Analytics Pro, 64 days ago",
        "Answers most by: Email (2 of 3 inbound)",
        "Best time to reach: 09:00 to 10:00 (2 of 3 inbound)",
    ]
    assert ada_msg.unused_lines() == [
        "Next product: not used — held back: help comes first after a complaint"
    ]
    assert ben_msg.fact_lines() == [
        "Recent tone: positive (latest inbound message) — usual wording",
        "Last order: Starter, 10 days ago",
        "Next product: Analytics Pro (from Prediction — "
        "bought next by customers with the same purchases)",
        "Answers most by: Call (3 of 3 inbound)",
        "Best time to reach: 14:00 to 15:00 (3 of 3 inbound)",
    ]
    assert ben_msg.unused_lines() == []
    company = ada.account.name
    assert ada_msg.subject == "Ada, we miss you"
    assert ada_msg.body == (
        "Hi Ada,\n\n"
        "I'm sorry about the trouble in your ticket 3 days ago (“Export broken”). Before anything "
        "else: reply to this message and we will put it right first. It has been a while since "
        "your order of Analytics Pro 64 days ago, and we would love to welcome you back.\n\n"
        f"We have news for {company}.\n\nBest regards"
    )
    assert ada_msg.apology_first is True
    assert (ada_msg.channel, ada_msg.best_hour) == ("email", 9)
    assert ben_msg.body.split("\n\n")[1] == (
        "It has been a while since your order of Starter 10 days ago, and we would love to "
        "welcome you back. Analytics Pro could be a good next step for you. If it suits you "
        "better, we can call you around 14:00."
    )
    assert (ben_msg.apology_first, ben_msg.channel, ben_msg.best_hour) == (False, "call", 14)


def test_compose__prediction_off__next_product_listed_as_not_used(workspace, campaign, customers):
    ada, ben = customers
    access = Access(personalization=True, prediction=False, sentiment=True)
    _, ben_msg = _by_name(
        compose_for(
            workspace=workspace, campaign=campaign, contact_ids=[ada.pk, ben.pk], access=access
        ),
        ada,
        ben,
    )
    assert "Next product: not used — Prediction is not enabled for you" in ben_msg.unused_lines()
    assert "Analytics Pro could be" not in ben_msg.body
    assert not any(line.startswith("Next product:") for line in ben_msg.fact_lines())


def test_compose__sentiment_off__no_apology_and_tone_listed_as_not_used(
    workspace, campaign, customers
):
    ada, ben = customers
    access = Access(personalization=True, prediction=True, sentiment=False)
    ada_msg, _ = _by_name(
        compose_for(
            workspace=workspace, campaign=campaign, contact_ids=[ada.pk, ben.pk], access=access
        ),
        ada,
        ben,
    )
    assert ada_msg.apology_first is False
    assert "sorry" not in ada_msg.body
    assert "Recent tone: not used — Sentiment is not enabled for you" in ada_msg.unused_lines()
    assert (
        "Next product: Data Connector (from Prediction — "
        "bought next by customers with the same purchases)" in ada_msg.fact_lines()
    )


def test_compose__personalization_off__plain_mail_merge(workspace, campaign, customers):
    ada, ben = customers
    off = Access(personalization=False)
    ada_msg, ben_msg = _by_name(
        compose_for(
            workspace=workspace, campaign=campaign, contact_ids=[ada.pk, ben.pk], access=off
        ),
        ada,
        ben,
    )
    assert ada_msg.body == f"Hi Ada,\n\nWe have news for {ada.account.name}.\n\nBest regards"
    assert (ada_msg.facts, ada_msg.unused, ada_msg.personalized) == ([], [], False)
    assert ben_msg.subject == "Ben, we miss you"


def test_compose__ai_placeholders_off__fallbacks_used_and_sentences_left_out(workspace, customers):
    ada, _ = customers
    campaign = factories.CampaignFactory(
        workspace=workspace,
        body_template=(
            "Hi {first_name}. [Since your order of {last_purchase}, a lot has changed.] "
            "{next_product|Our Analytics add-on} could help.\n\n[{personal_note}]\n\nBest regards"
        ),
    )
    plain = compose_for(
        workspace=workspace,
        campaign=campaign,
        contact_ids=[ada.pk],
        access=Access(personalization=False),
    )[0]
    assert plain.body == "Hi Ada. Our Analytics add-on could help.\n\nBest regards"
    assert plain.unused_lines() == [
        "Next product: not used — no value; fallback “Our Analytics add-on” used",
        "Last purchase: not used — no value; sentence left out: "
        "“Since your order of {last_purchase}, a lot has changed.”",
        "Personal note: not used — no value; sentence left out: “{personal_note}”",
    ]
    assert plain.problems == ()


def test_compose__placeholders_on__filled_from_facts(workspace, customers):
    _, ben = customers
    campaign = factories.CampaignFactory(
        workspace=workspace,
        goal="thank",
        body_template="{last_purchase}|{next_product}|{best_channel}|{best_time}\n\n{personal_note}",
    )
    msg = compose_for(workspace=workspace, campaign=campaign, contact_ids=[ben.pk], access=ALL)[0]
    assert msg.body == (
        "Starter|Analytics Pro|call|14:00\n\n"
        "Thank you for your order of Starter 10 days ago. "
        "If it suits you better, we can call you around 14:00."
    )


def test_compose__no_history__check_in_lists_what_is_missing(workspace):
    contact = factories.ContactFactory(workspace=workspace, first_name="Cy")
    campaign = factories.CampaignFactory(workspace=workspace, body_template="Hello {first_name}")
    msg = compose_for(workspace=workspace, campaign=campaign, contact_ids=[contact.pk], access=ALL)[
        0
    ]
    assert msg.body == "How are things going?\n\nHello Cy"
    assert msg.fact_lines() == []
    assert msg.unused_lines() == [
        "Last order: not used — no orders yet",
        "Next product: not used — no next need known for this contact yet",
        "Recent tone: not used — no analysed inbound message",
        "Best channel and time: not used — no inbound messages",
    ]


def test_facts__refunded_orders_and_notes__ignored(workspace):
    contact = factories.ContactFactory(workspace=workspace)
    kept = factories.ProductFactory(workspace=workspace, name="Kept")
    refunded = factories.ProductFactory(workspace=workspace, name="Refunded")
    order_of(contact, kept, days_ago=40)
    order_of(contact, refunded, days_ago=5, status="refunded")
    inbound(contact, channel="note", days_ago=1, hour=8)
    facts = facts_load(workspace=workspace, contact_ids=[contact.pk], access=ALL)[contact.pk]
    assert (facts.last_product, facts.last_order_days) == ("Kept", 40)
    assert (facts.last_interaction, facts.best_channel) == (None, None)


def test_facts__other_workspace_rows__not_used(workspace, sandbox):
    contact = factories.ContactFactory(workspace=workspace)
    stranger = factories.ContactFactory(workspace=sandbox)
    product = factories.ProductFactory(workspace=sandbox)
    order_of(stranger, product, days_ago=3)
    facts = facts_load(workspace=workspace, contact_ids=[contact.pk, stranger.pk], access=ALL)
    assert facts[contact.pk].last_product is None
    assert facts[stranger.pk].last_product is None


@pytest.mark.parametrize("size", [1, 25])
def test_facts_load__any_chunk_size__five_queries(workspace, django_assert_num_queries, size):
    product = factories.ProductFactory(workspace=workspace)
    ids = []
    for k in range(size):
        contact = factories.ContactFactory(workspace=workspace)
        order_of(contact, product, days_ago=k + 1)
        tone_of(inbound(contact, channel="chat", days_ago=1, hour=10), "neutral")
        score_of(contact, band="low", next_product="X")
        ids.append(contact.pk)
    assert kill_switch_active() is False  # the facades ask it; warm, it costs no query
    with django_assert_num_queries(5):
        facts = facts_load(workspace=workspace, contact_ids=ids, access=ALL)
    assert len(facts) == size
    assert {f.recent_tone for f in facts.values()} == {"neutral"}


def test_facts_load__personalization_off__no_query(workspace, django_assert_num_queries):
    contact = factories.ContactFactory(workspace=workspace)
    with django_assert_num_queries(0):
        assert (
            facts_load(
                workspace=workspace, contact_ids=[contact.pk], access=Access(personalization=False)
            )
            == {}
        )


def test_access_for__kill_switch__everything_off(
    workspace, user, enable_capability, kill_switch_on
):
    enable_capability("personalization")
    enable_capability("prediction")
    assert access_for(user=user, workspace=workspace) == Access(personalization=False)


def test_access_for__personalization_and_prediction_on__sentiment_off(
    workspace, user, enable_capability
):
    enable_capability("personalization")
    enable_capability("prediction")
    assert access_for(user=user, workspace=workspace) == Access(
        personalization=True, prediction=True, sentiment=False
    )


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("Hi {name}", "Line 1, column 4: Unknown placeholder {name}: did you mean {last_name}?"),
        (
            "Hi {first_name.upper}",
            "Line 1, column 4: “first_name.upper” is not a placeholder name: names are letters, "
            "digits and underscores, such as {first_name}.",
        ),
        (
            "Hi\n  {0}",
            "Line 2, column 3: “0” is not a placeholder name: names are letters, "
            "digits and underscores, such as {first_name}.",
        ),
    ],
)
def test_template_check__unknown_placeholder__raises_with_position(template, message):
    with pytest.raises(TemplateError) as caught:
        template_check(template)
    assert str(caught.value) == message


def test_template_check__unclosed_brace__raises_with_position():
    with pytest.raises(TemplateError) as caught:
        template_check("Hi {first_name")
    assert (caught.value.line, caught.value.column) == (1, 4)
    assert caught.value.message == (
        "This placeholder is not closed: end it with } on the same line, or write {{ for a brace."
    )


def test_facts__contact_between_chunk_ids__not_loaded(workspace):
    first, middle, last = (factories.ContactFactory(workspace=workspace) for _ in range(3))
    product = factories.ProductFactory(workspace=workspace)
    order_of(middle, product, days_ago=1)
    assert set(contact_rows(workspace=workspace, contact_ids=[first.pk, last.pk])) == {
        first.pk,
        last.pk,
    }
    facts = facts_load(workspace=workspace, contact_ids=[first.pk, last.pk], access=ALL)
    assert set(facts) == {first.pk, last.pk}
    assert contact_rows(workspace=workspace, contact_ids=[]) == {}


def test_compose_for__empty_audience__no_messages(workspace, campaign):
    assert compose_for(workspace=workspace, campaign=campaign, contact_ids=[], access=ALL) == []
