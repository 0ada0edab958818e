"""Every built message is checked before it can be approved; the builder uses the language.

Over a generated data set, every goal and audience gives messages that pass
the checks, and each message lists the fallbacks and left-out sentences it
used, true of its contact. A message that fails is marked with the reasons,
blocks the approval, is counted on the campaign page and is never sent.
"""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from ai_features.capabilities.personalization import services
from ai_features.capabilities.personalization.builder import GOALS
from ai_features.capabilities.personalization.facts import Access, facts_load
from ai_features.capabilities.personalization.models import CampaignMessage
from ai_features.capabilities.personalization.selectors import audience, compose_for
from crmcore import factories
from crmcore.models import Campaign, Contact
from training_sandbox.generator import generate_workspace_data

ALL = Access(personalization=True, prediction=True, sentiment=True)
OFF = Access(personalization=False)
LEFT_OUT = "sentence left out: “Since your last order of {last_purchase}, we have improved a lot.”"
FALLBACK = "fallback “Our Analytics add-on” used"


@pytest.fixture
def demo(workspace):
    generate_workspace_data(workspace=workspace, contacts=240, seed=13)
    return workspace


AUDIENCES = [
    {},
    {"lifecycle_stage": "lead"},
    {"lifecycle_stage": "customer"},
    {"lifecycle_stage": "churned"},
    {"segment": "Enterprise"},
    {"region": "EMEA"},
]


@pytest.mark.parametrize("access", [ALL, OFF], ids=["everything-on", "personalization-off"])
def test_built_messages__generated_data_every_goal_and_audience__all_pass_the_checks(demo, access):
    # Given the seeded campaigns' templates (fallbacks and optional sentences)
    seeded = list(Campaign.objects.in_workspace(demo).order_by("pk"))
    assert len(seeded) == 3
    checked = 0
    for template in seeded:
        for goal in GOALS:
            for spec in AUDIENCES:
                campaign = Campaign(
                    workspace=demo,
                    goal=goal,
                    audience=spec,
                    subject_template=template.subject_template,
                    body_template=template.body_template,
                )
                ids = list(audience(workspace=demo, spec=spec, access=access).contact_ids)
                # When every message of the audience is composed
                messages = compose_for(
                    workspace=demo, campaign=campaign, contact_ids=ids, access=access
                )
                # Then none fails the checks of a finished message
                failing = [(m.contact_id, m.problems) for m in messages if m.problems]
                assert failing == [], (template.name, goal, spec)
                checked += len(messages)
    assert checked > 3 * len(GOALS) * 240


def test_built_messages__generated_data__fallbacks_and_left_out_sentences_true(demo):
    # Given the seeded win-back template and every contact
    template = Campaign.objects.in_workspace(demo).get(name="Win back lapsed customers")
    ids = list(Contact.objects.in_workspace(demo).order_by("pk").values_list("pk", flat=True))
    facts = facts_load(workspace=demo, contact_ids=ids, access=ALL)
    messages = compose_for(workspace=demo, campaign=template, contact_ids=ids, access=ALL)
    assert len(messages) == 240
    left_out = fallback = 0
    for message in messages:
        fact = facts[message.contact_id]
        notes = " ".join(message.unused_lines())
        # Then the sentence is there exactly when the contact has a last purchase
        if fact.last_product:
            assert f"Since your last order of {fact.last_product}, we have" in message.body
            assert LEFT_OUT not in notes
        else:
            assert "Since your last order" not in message.body
            assert LEFT_OUT in notes
            left_out += 1
        # And the fallback stands where there is no next product (or it is held back)
        offered = fact.next_product if not message.apology_first else None
        if offered:
            assert f"{offered} might be a good fit for" in message.body
            assert FALLBACK not in notes
        else:
            assert "Our Analytics add-on might be a good fit for" in message.body
            assert FALLBACK in notes
            fallback += 1
    # (no stored predictions in this data set: every message uses the fallback)
    assert (left_out > 0, fallback) == (True, 240)


# -- a failing message -----------------------------------------------------------


@pytest.fixture
def built(workspace, user, customers):
    campaign = factories.CampaignFactory(
        workspace=workspace,
        created_by=user,
        goal="thank",
        audience={"lifecycle_stage": "customer"},
        subject_template="Thank you, {first_name}",
        body_template="Hi {first_name},\n\nThank you.\n\nBest regards",
    )
    services.campaign_messages_build(campaign=campaign, user=user)
    return campaign


def _spoil(campaign, user) -> CampaignMessage:
    message = CampaignMessage.objects.filter(campaign=campaign).order_by("pk").first()
    services.campaign_message_edit(
        message=message, user=user, subject="Thank you", body="Hi Ada,\n\nsince your order ()."
    )
    message.refresh_from_db()
    return message


def test_message_edit__fails_the_checks__marked_with_the_reasons(built, user):
    message = _spoil(built, user)
    assert message.problem_list == [
        "Body: empty brackets or quotes: “…,  since your order ().”.",
        "Body: a sentence starts in lower case: “Hi Ada,  since your order ().”.",
    ]


def test_campaign_approve__a_message_fails__refused_until_fixed(built, user):
    message = _spoil(built, user)
    with pytest.raises(services.CampaignError) as caught:
        services.campaign_approve(campaign=built, user=user)
    assert str(caught.value) == (
        "1 message(s) fail the checks: edit them or the template, then approve."
    )
    services.campaign_message_edit(
        message=message, user=user, subject="Thank you", body="Hi Ada,\n\nThank you."
    )
    assert services.campaign_approve(campaign=built, user=user).status == "approved"


def test_campaign_send__message_failing_the_checks__skipped_with_reason_not_sent(built, user):
    # Given an approved campaign with a message stored failing (built before the checks)
    services.campaign_approve(campaign=built, user=user)
    failing = CampaignMessage.objects.filter(campaign=built).order_by("pk").first()
    CampaignMessage.objects.filter(pk=failing.pk).update(problems="Body: a doubled space.")
    # When it is sent
    result = services.campaign_send(campaign=built, user=user)
    # Then that message is skipped with the reason and the other one is sent
    failing.refresh_from_db()
    assert (failing.status, failing.skip_reason) == (
        "skipped",
        "Fails the checks: Body: a doubled space.",
    )
    assert (result.sent, result.skipped) == (1, 1)
    assert [m.to for m in mail.outbox] == [
        [m.contact.email] for m in CampaignMessage.objects.filter(campaign=built, status="sent")
    ]


def test_builder_page__a_message_fails__counted_and_no_approve_button(
    logged_in_client, built, user
):
    _spoil(built, user)
    html = logged_in_client.get(
        reverse("personalization:campaign-builder", args=[built.pk])
    ).content.decode()
    assert 'data-testid="failing-count">1 message fails the checks' in html
    assert reverse("personalization:campaign-approve", args=[built.pk]) not in html
    listing = logged_in_client.get(
        reverse("personalization:message-list", args=[built.pk])
    ).content.decode()
    assert 'data-testid="failing-count">1 fails the checks and cannot be sent' in listing
    assert "<li>Body: empty brackets or quotes: “…,  since your order ().”.</li>" in listing


# -- the builder pages -----------------------------------------------------------


@pytest.mark.parametrize("state", ["off", "on", "kill_switch"])
@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("{first_name!r:>99999999}", "“first_name!r:&gt;99999999” is not a placeholder name"),
        ("Hi {", "Line 1, column 4: This placeholder is not closed"),
        ("{0.__class__}", "Line 1, column 1: “0.__class__” is not a placeholder name"),
        ("Hi {next_product}", "Line 1, column 4: {next_product} (next product) is empty"),
    ],
)
def test_builder_new__hostile_template__400_with_position(
    logged_in_client, enable_capability, request, state, body, problem
):
    if state != "off":
        enable_capability("personalization")
    if state == "kill_switch":
        request.getfixturevalue("kill_switch")
    response = logged_in_client.post(
        reverse("personalization:campaign-new"),
        {"name": "X", "goal": "thank", "subject_template": "Hi", "body_template": body},
    )
    assert response.status_code == 400
    assert problem in response.content.decode()
    assert not Campaign.objects.filter(name="X").exists()


def test_builder_page__template_saved_before_the_rules__preview_names_the_problem(
    logged_in_client, workspace, customers
):
    campaign = factories.CampaignFactory(workspace=workspace, body_template="Hi {0.__class__}")
    response = logged_in_client.get(reverse("personalization:campaign-builder", args=[campaign.pk]))
    assert response.status_code == 200
    assert (
        "<li>Body template: Line 1, column 4: “0.__class__” is not a placeholder name"
        in response.content.decode()
    )


@pytest.mark.parametrize(("state", "listed"), [("off", False), ("on", True), ("kill", False)])
def test_builder_page__syntax_documented__ai_fields_listed_where_on(
    logged_in_client, enable_capability, request, campaign, state, listed
):
    if state != "off":
        enable_capability("personalization")
    if state == "kill":
        request.getfixturevalue("kill_switch")
    html = logged_in_client.get(
        reverse("personalization:campaign-builder", args=[campaign.pk])
    ).content.decode()
    assert 'data-testid="placeholder-help"' in html
    assert f'data-template-check="{reverse("campaign-template-check")}"' in html
    row = (
        '<tr data-field="next_product"><td><code>{next_product}</code></td>'
        "<td>The product they most likely need next (from Prediction).</td>"
        "<td>may be empty</td></tr>"
    )
    assert (row in html) is listed
    assert '<tr data-field="first_name"><td><code>{first_name}</code></td>' in html
