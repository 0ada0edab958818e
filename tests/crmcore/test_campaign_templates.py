"""Campaign templates are checked the same way by the API, the pages, the admin and the services.

Hostile templates get a 400 (or a form error) naming the line and column of
the problem: never a 500, never a large output.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from crmcore import factories, services
from crmcore.models import Campaign

HOSTILE = [
    (
        "{first_name:>1000000}",
        "Line 1, column 1: “first_name:>1000000” is not a placeholder name: names are letters, "
        "digits and underscores, such as {first_name}.",
    ),
    (
        "{first_name!r:>99999999}",
        "Line 1, column 1: “first_name!r:>99999999” is not a placeholder name: names are "
        "letters, digits and underscores, such as {first_name}.",
    ),
    (
        "Hi {",
        "Line 1, column 4: This placeholder is not closed: end it with } on the same line, or "
        "write {{ for a brace.",
    ),
    (
        "{0.__class__}",
        "Line 1, column 1: “0.__class__” is not a placeholder name: names are letters, digits "
        "and underscores, such as {first_name}.",
    ),
    (
        "Hi\n" + "[{first_name} " * 500,
        "Line 2, column 15: Optional sentences do not nest: close the one opened at line 2, "
        "column 1 first, or write [[ for a bracket.",
    ),
    (
        "{first_name}" * 100_000,
        "Line 1, column 10001: The template is 1,200,000 characters long; the limit is 10,000.",
    ),
    (
        "Hi {company}",
        "Line 1, column 4: {company} (company) is empty for some contacts: give it a fallback, "
        "as in {company|your words}, or put it in an optional sentence in [ ].",
    ),
]


@pytest.mark.parametrize(("body", "problem"), HOSTILE)
def test_campaign_api_create__hostile_body__400_with_position(api_client, workspace, body, problem):
    response = api_client.post(
        "/api/v1/campaigns/",
        {"name": "Spring", "subject_template": "Hi {first_name}", "body_template": body},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"body_template": [problem]}
    assert not Campaign.objects.exists()


def test_campaign_api_update__hostile_subject__400_and_unchanged(api_client, workspace):
    campaign = factories.CampaignFactory(workspace=workspace)
    response = api_client.patch(
        f"/api/v1/campaigns/{campaign.pk}/", {"subject_template": "Hi {"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "subject_template": [
            "Line 1, column 4: This placeholder is not closed: end it with } on the same line, "
            "or write {{ for a brace."
        ]
    }
    campaign.refresh_from_db()
    assert campaign.subject_template == "Hello {first_name}"


def test_campaign_api_create__fallback_and_optional_sentence__201(api_client, workspace):
    body = "Hi {first_name}, [we miss {company}.] {company|Your team} is welcome back."
    response = api_client.post(
        "/api/v1/campaigns/",
        {"name": "Back", "subject_template": "Hi {first_name}", "body_template": body},
        format="json",
    )
    assert response.status_code == 201
    assert Campaign.objects.get().body_template == body


@pytest.mark.parametrize(("body", "problem"), HOSTILE)
def test_campaign_page_create__hostile_body__400_form_error(
    logged_in_client, workspace, body, problem
):
    response = logged_in_client.post(
        reverse("campaign-create"),
        {
            "name": "Spring",
            "goal": "check_in",
            "subject_template": "Hi {first_name}",
            "body_template": body,
        },
    )
    assert response.status_code == 400
    assert response.context["form"].errors == {"body_template": [problem]}
    # the page gives back what was typed, nothing rendered from it
    assert len(response.content) < len(body) + 100_000
    assert not Campaign.objects.exists()


@pytest.mark.parametrize(("body", "problem"), HOSTILE[:4])
def test_campaign_admin_add__hostile_body__form_error_nothing_saved(
    staff_client, workspace, body, problem
):
    response = staff_client.post(
        reverse("admin:crmcore_campaign_add"),
        {
            "workspace": workspace.pk,
            "name": "Spring",
            "goal": "check_in",
            "audience": "{}",
            "subject_template": "Hi {first_name}",
            "body_template": body,
            "status": "draft",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"body_template": [problem]}
    assert not Campaign.objects.exists()


def test_campaign_admin_add__valid__saved_through_the_service(staff_client, workspace):
    response = staff_client.post(
        reverse("admin:crmcore_campaign_add"),
        {
            "workspace": workspace.pk,
            "name": "Spring",
            "goal": "check_in",
            "audience": "{}",
            "subject_template": "Hi {first_name}",
            "body_template": "Hello {first_name|there}.",
            "status": "draft",
        },
    )
    assert response.status_code == 302
    assert Campaign.objects.get().body_template == "Hello {first_name|there}."


def test_campaign_create_service__hostile_body__validation_error(db):
    with pytest.raises(ValidationError) as caught:
        services.campaign_create(
            workspace=factories.WorkspaceFactory(), name="x", body_template="{0.__class__}"
        )
    assert list(caught.value.message_dict) == ["body_template"]


def test_campaign_update_service__template_saved_before_the_rules__status_still_changes(
    workspace,
):
    # Given a campaign whose template predates the rules ({company} without a fallback)
    campaign = factories.CampaignFactory(workspace=workspace, body_template="Hi {company}")
    # When only its status changes, Then it is saved; a change of the template is checked
    services.campaign_update(campaign=campaign, data={"status": Campaign.Status.APPROVED})
    assert Campaign.objects.get().status == "approved"
    with pytest.raises(ValidationError):
        services.campaign_update(campaign=campaign, data={"body_template": "Hi {company} !"})


# -- the check shown as the author types ------------------------------------------


def test_template_check_endpoint__problems__listed_with_positions(logged_in_client):
    response = logged_in_client.post(
        reverse("campaign-template-check"),
        {"subject_template": "Hi {first_name}", "body_template": "Hi\n  {frist_name}"},
    )
    assert response.status_code == 200
    assert response.json() == {
        "subject_template": {"ok": True, "problems": []},
        "body_template": {
            "ok": False,
            "problems": [
                {
                    "line": 2,
                    "column": 3,
                    "message": "Unknown placeholder {frist_name}: did you mean {first_name}?",
                    "text": "Line 2, column 3: Unknown placeholder {frist_name}: did you mean "
                    "{first_name}?",
                }
            ],
        },
    }


def test_template_check_endpoint__one_megabyte__answered_small(logged_in_client):
    response = logged_in_client.post(
        reverse("campaign-template-check"), {"body_template": "{" * 1_000_000}
    )
    assert response.status_code == 200
    assert response.json()["body_template"]["problems"][0]["text"] == (
        "Line 1, column 10001: The template is 1,000,000 characters long; the limit is 10,000."
    )
    assert len(response.content) < 1_000


def test_template_check_endpoint__anonymous__redirected_to_login(client):
    response = client.post(reverse("campaign-template-check"), {"body_template": "Hi"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_campaign_page__new__documents_the_syntax_and_wires_the_check(logged_in_client, core_only):
    html = logged_in_client.get(reverse("campaign-create")).content.decode()
    check_url = reverse("campaign-template-check")
    assert f'data-template-check="{check_url}"' in html
    assert 'src="/static/crmcore/template_check.js"' in html
    assert "<code>{next_product|our Analytics add-on}</code>" in html
    assert '<tr data-field="company"><td><code>{company}</code></td>' in html
    assert "<td>Their account&#x27;s name.</td><td>may be empty</td>" in html
