"""The CRM's write pages: contacts, accounts and campaigns (login, CSRF, workspace, errors)."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from crmcore import factories
from crmcore.models import Account, Campaign, Contact

# session, user, workspace
REQUEST_QUERIES = 3


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def _contact_post(**overrides) -> dict:
    data = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
        "phone": "+44 20 7946 0000",
        "account": "",
        "lifecycle_stage": "lead",
        "team": "",
        "owner": "",
        "region": "EMEA",
        "segment": "Enterprise",
        "attributes": "",
    }
    return data | overrides


# Login and CSRF ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("contact-create", {}),
        ("contact-edit", {"pk": 1}),
        ("interaction-create", {"pk": 1}),
        ("account-create", {}),
        ("account-edit", {"pk": 1}),
        ("deal-create", {}),
        ("deal-detail", {"pk": 1}),
        ("deal-stage", {"pk": 1}),
        ("campaign-create", {}),
        ("campaign-edit", {"pk": 1}),
    ],
)
def test_write_pages__anonymous__redirect_to_login_and_write_nothing(client, db, name, kwargs):
    url = reverse(name, kwargs=kwargs)

    get = client.get(url)
    post = client.post(url, {"name": "x", "first_name": "x", "stage": "won"})

    assert (get.status_code, get["Location"]) == (302, f"{reverse('login')}?next={url}")
    assert (post.status_code, post["Location"]) == (302, f"{reverse('login')}?next={url}")
    assert (Contact.objects.count(), Account.objects.count(), Campaign.objects.count()) == (0, 0, 0)


def test_contact_create__post_without_csrf_token__403_and_nothing_written(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    response = client.post(reverse("contact-create"), _contact_post())

    assert response.status_code == 403
    assert Contact.objects.count() == 0


def test_contact_create__form__carries_csrf_token(logged_in_client):
    html = logged_in_client.get(reverse("contact-create")).content.decode()
    assert 'name="csrfmiddlewaretoken"' in html


# Contacts ---------------------------------------------------------------------


def test_contact_create__get__choices_limited_to_workspace(
    logged_in_client, workspace, sandbox, user, team
):
    mine = factories.AccountFactory(workspace=workspace, name="Acme Rockets")
    theirs = factories.AccountFactory(workspace=sandbox, name="Practice Corp")
    their_team = factories.TeamFactory(workspace=sandbox, name="Practice team")
    colleague = factories.UserFactory(username="col", first_name="Cole", last_name="League")
    team.members.add(colleague)
    factories.TeamFactory(
        workspace=sandbox,
        members=[factories.UserFactory(username="out", first_name="Out", last_name="Sider")],
    )

    response = logged_in_client.get(reverse("contact-create"))

    assert response.status_code == 200
    form = response.context["form"]
    assert list(form.fields["account"].queryset) == [mine]
    assert list(form.fields["team"].queryset) == [team]
    assert sorted(u.username for u in form.fields["owner"].queryset) == ["col", "rep"]
    html = _text(response)
    assert f'<option value="{mine.pk}">Acme Rockets</option>' in html
    assert f'<option value="{team.pk}">EMEA Sales</option>' in html
    assert f'<option value="{colleague.pk}">Cole League</option>' in html
    assert f'<option value="{user.pk}" selected>' in html
    assert theirs.name not in html
    assert their_team.name not in html
    assert "Out Sider" not in html


def test_contact_create__valid__created_redirects_with_message(
    logged_in_client, workspace, user, team
):
    acme = factories.AccountFactory(workspace=workspace)

    response = logged_in_client.post(
        reverse("contact-create"),
        _contact_post(
            account=acme.pk,
            team=team.pk,
            owner=user.pk,
            lifecycle_stage="customer",
            attributes="plan = Pro\n\nfavourite colour = teal ",
        ),
    )

    contact = Contact.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("contact-detail", args=[contact.pk])
    assert _messages(response) == ["Contact Ada Lovelace created."]
    assert (contact.workspace, contact.account, contact.team, contact.owner) == (
        workspace,
        acme,
        team,
        user,
    )
    assert (contact.email, contact.phone, contact.lifecycle_stage) == (
        "ada@example.com",
        "+44 20 7946 0000",
        "customer",
    )
    assert (contact.region, contact.segment) == ("EMEA", "Enterprise")
    assert contact.attributes == {"plan": "Pro", "favourite colour": "teal"}


def test_contact_create__invalid__400_errors_values_kept_nothing_written(logged_in_client, db):
    response = logged_in_client.post(
        reverse("contact-create"),
        _contact_post(
            first_name="",
            email="not-an-email",
            lifecycle_stage="prospect",
            attributes="plan = Pro\njust words\nplan = Team",
        ),
    )

    assert response.status_code == 400
    assert Contact.objects.count() == 0
    errors = response.context["form"].errors
    assert errors["first_name"] == ["This field is required."]
    assert errors["email"] == ["Enter a valid email address."]
    assert errors["lifecycle_stage"] == [
        "Select a valid choice. prospect is not one of the available choices."
    ]
    assert errors["attributes"] == [
        "Line 2: write it as “key = value”.",
        "Line 3: “plan” is given twice.",
    ]
    html = _text(response)
    assert 'value="Lovelace"' in html
    assert 'value="not-an-email"' in html
    assert "plan = Pro\njust words\nplan = Team</textarea>" in response.content.decode()
    assert "Nothing has been saved yet." in html
    assert '<ul class="field-errors" role="alert"><li>This field is required.</li></ul>' in html


@pytest.mark.parametrize("field", ["account", "team", "owner"])
def test_contact_create__choice_of_other_workspace__400_nothing_written(
    logged_in_client, sandbox, field
):
    foreign = {
        "account": lambda: factories.AccountFactory(workspace=sandbox).pk,
        "team": lambda: factories.TeamFactory(workspace=sandbox).pk,
        "owner": lambda: (
            factories.TeamFactory(
                workspace=sandbox, members=[factories.UserFactory(username="outsider")]
            )
            .members.get()
            .pk
        ),
    }[field]()

    response = logged_in_client.post(reverse("contact-create"), _contact_post(**{field: foreign}))

    assert response.status_code == 400
    assert response.context["form"].errors[field] == [
        "Select a valid choice. That choice is not one of the available choices."
    ]
    assert Contact.objects.count() == 0


def test_contact_create__account_in_query__preselected(logged_in_client, workspace):
    acme = factories.AccountFactory(workspace=workspace, name="Acme Rockets")
    response = logged_in_client.get(reverse("contact-create"), {"account": acme.pk})
    assert f'<option value="{acme.pk}" selected>Acme Rockets</option>' in _text(response)


def test_contact_edit__get__form_filled_with_contact(logged_in_client, workspace, user, team):
    contact = factories.ContactFactory(
        workspace=workspace,
        first_name="Ada",
        owner=user,
        team=team,
        attributes={"seats": 12, "plan": "Pro", "tags": ["vip", "beta"]},
    )

    response = logged_in_client.get(reverse("contact-edit", args=[contact.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="Ada"' in html
    assert f'<option value="{team.pk}" selected>EMEA Sales</option>' in html
    assert "plan = Pro\nseats = 12\ntags = [&quot;vip&quot;, &quot;beta&quot;]</textarea>" in html


def test_contact_edit__valid__updated_attribute_types_kept(staff_client, workspace):
    # Someone else's contact: an administrator edits it (a rep edits their own).
    other_owner = factories.UserFactory(username="former")
    contact = factories.ContactFactory(
        workspace=workspace,
        first_name="Ada",
        last_name="Lovelace",
        owner=other_owner,
        attributes={"seats": 12, "plan": "Pro", "tags": ["vip"], "trial": True, "gone": "x"},
    )

    response = staff_client.post(
        reverse("contact-edit", args=[contact.pk]),
        _contact_post(
            first_name="Augusta",
            account="",
            owner=other_owner.pk,
            lifecycle_stage="churned",
            attributes='plan = Pro\nseats = 15\ntags = ["vip"]\ntrial = maybe\nnew key = 7',
        ),
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("contact-detail", args=[contact.pk])
    assert _messages(response) == ["Contact Augusta Lovelace saved."]
    contact.refresh_from_db()
    assert (contact.first_name, contact.account, contact.lifecycle_stage) == (
        "Augusta",
        None,
        "churned",
    )
    assert contact.owner == other_owner
    assert contact.attributes == {
        "plan": "Pro",
        "seats": 15,
        "tags": ["vip"],
        "trial": "maybe",
        "new key": "7",
    }


def test_contact_edit__attribute_with_equals_signs__round_trips(logged_in_client, workspace):
    contact = factories.ContactFactory(
        workspace=workspace, attributes={"a=b": "x", "formula": "y = 2x", "note": "two\nlines"}
    )
    url = reverse("contact-edit", args=[contact.pk])
    text = logged_in_client.get(url).context["form"]["attributes"].value()

    response = logged_in_client.post(url, _contact_post(attributes=text + "\nplain=1"))

    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.attributes == {
        "a=b": "x",
        "formula": "y = 2x",
        "note": "two\nlines",
        "plain": "1",
    }


def test_contact_edit__invalid__400_and_contact_unchanged(logged_in_client, workspace):
    contact = factories.ContactFactory(workspace=workspace, first_name="Ada", email="a@x.example")

    response = logged_in_client.post(
        reverse("contact-edit", args=[contact.pk]),
        _contact_post(first_name="Changed", email="broken@"),
    )

    assert response.status_code == 400
    assert 'value="Changed"' in response.content.decode()
    contact.refresh_from_db()
    assert (contact.first_name, contact.email) == ("Ada", "a@x.example")


def test_contact_edit__other_workspace__404_and_unchanged(logged_in_client, sandbox):
    theirs = factories.ContactFactory(workspace=sandbox, first_name="Fake")
    url = reverse("contact-edit", args=[theirs.pk])

    assert logged_in_client.get(url).status_code == 404
    assert logged_in_client.post(url, _contact_post(first_name="Hacked")).status_code == 404
    theirs.refresh_from_db()
    assert theirs.first_name == "Fake"


def test_contact_edit__account_of_other_workspace__400_and_unchanged(
    logged_in_client, workspace, sandbox
):
    contact = factories.ContactFactory(workspace=workspace)
    original_account = contact.account
    theirs = factories.AccountFactory(workspace=sandbox)

    response = logged_in_client.post(
        reverse("contact-edit", args=[contact.pk]), _contact_post(account=theirs.pk)
    )

    assert response.status_code == 400
    contact.refresh_from_db()
    assert contact.account == original_account


def test_contact_forms__query_count__fixed(
    logged_in_client, workspace, user, team, core_only, django_assert_num_queries
):
    for _ in range(15):
        factories.ContactFactory(workspace=workspace, owner=user, team=team)
    contact = factories.ContactFactory(workspace=workspace, owner=user, team=team)

    # region and segment values, accounts, teams, owners
    with django_assert_num_queries(REQUEST_QUERIES + 4):
        response = logged_in_client.get(reverse("contact-create"))
    assert response.status_code == 200
    # + the contact
    with django_assert_num_queries(REQUEST_QUERIES + 5):
        response = logged_in_client.get(reverse("contact-edit", args=[contact.pk]))
    assert response.status_code == 200


def test_contact_pages__links__to_new_and_edit(logged_in_client, workspace):
    contact = factories.ContactFactory(workspace=workspace)

    listing = _text(logged_in_client.get(reverse("contact-list")))
    detail = _text(logged_in_client.get(reverse("contact-detail", args=[contact.pk])))

    assert f'href="{reverse("contact-create")}"' in listing
    assert f'href="{reverse("account-create")}"' in listing
    assert f'href="{reverse("contact-edit", args=[contact.pk])}"' in detail
    assert f'href="{reverse("deal-create")}?contact={contact.pk}"' in detail


# Accounts ---------------------------------------------------------------------


def test_account_create__valid__created_and_redirected(logged_in_client, workspace):
    response = logged_in_client.post(
        reverse("account-create"),
        {"name": "Acme Rockets", "domain": "acme.example", "industry": "Space", "region": "EMEA"},
    )

    account = Account.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("account-detail", args=[account.pk])
    assert _messages(response) == ["Account Acme Rockets created."]
    assert (account.workspace, account.name, account.domain, account.industry, account.region) == (
        workspace,
        "Acme Rockets",
        "acme.example",
        "Space",
        "EMEA",
    )


def test_account_create__invalid__400_values_kept_nothing_written(logged_in_client, db):
    response = logged_in_client.post(
        reverse("account-create"), {"name": "", "domain": "acme.example", "region": "x" * 51}
    )

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "name": ["This field is required."],
        "region": ["Ensure this value has at most 50 characters (it has 51)."],
    }
    assert 'value="acme.example"' in response.content.decode()
    assert Account.objects.count() == 0


def test_account_edit__valid__updated(logged_in_client, workspace):
    account = factories.AccountFactory(workspace=workspace, name="Acme", industry="Retail")

    get = logged_in_client.get(reverse("account-edit", args=[account.pk]))
    response = logged_in_client.post(
        reverse("account-edit", args=[account.pk]),
        {"name": "Acme Rockets", "domain": "", "industry": "Space", "region": "APAC"},
    )

    assert 'value="Acme"' in get.content.decode()
    assert response.status_code == 302
    assert _messages(response) == ["Account Acme Rockets saved."]
    account.refresh_from_db()
    assert (account.name, account.domain, account.industry, account.region) == (
        "Acme Rockets",
        "",
        "Space",
        "APAC",
    )


def test_account_edit__other_workspace__404_and_unchanged(logged_in_client, sandbox):
    theirs = factories.AccountFactory(workspace=sandbox, name="Practice Corp")
    url = reverse("account-edit", args=[theirs.pk])

    assert logged_in_client.get(url).status_code == 404
    assert logged_in_client.post(url, {"name": "Hacked"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "Practice Corp"


def test_account_forms__query_count__fixed(
    logged_in_client, workspace, core_only, django_assert_num_queries
):
    factories.ContactFactory.create_batch(10, workspace=workspace)
    account = factories.AccountFactory(workspace=workspace)

    # region values
    with django_assert_num_queries(REQUEST_QUERIES + 1):
        assert logged_in_client.get(reverse("account-create")).status_code == 200
    # + the account
    with django_assert_num_queries(REQUEST_QUERIES + 2):
        assert logged_in_client.get(reverse("account-edit", args=[account.pk])).status_code == 200


# Campaigns --------------------------------------------------------------------


def _campaign_post(**overrides) -> dict:
    data = {
        "name": "Spring check-in",
        "goal": "check_in",
        "lifecycle_stage": "customer",
        "region": "EMEA",
        "segment": "",
        "team": "",
        "subject_template": "Hello {first_name}",
        "body_template": "Hi {first_name}, how is {company|your team} doing?",
    }
    return data | overrides


def test_campaign_create__valid__draft_with_audience(logged_in_client, workspace, user, team):
    response = logged_in_client.post(reverse("campaign-create"), _campaign_post(team=team.pk))

    campaign = Campaign.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("campaign-list")
    assert _messages(response) == ["Campaign Spring check-in created as a draft."]
    assert (campaign.workspace, campaign.status, campaign.created_by) == (workspace, "draft", user)
    assert campaign.audience == {"lifecycle_stage": "customer", "region": "EMEA", "team": team.pk}
    assert (campaign.subject_template, campaign.body_template) == (
        "Hello {first_name}",
        "Hi {first_name}, how is {company|your team} doing?",
    )


def test_campaign_create__invalid__400_errors_nothing_written(logged_in_client, sandbox):
    their_team = factories.TeamFactory(workspace=sandbox)

    response = logged_in_client.post(
        reverse("campaign-create"),
        _campaign_post(
            name="",
            team=their_team.pk,
            subject_template="Hello {first_name",
            body_template="Hi {first_name!r}",
        ),
    )

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "name": ["This field is required."],
        "team": ["Select a valid choice. That choice is not one of the available choices."],
        "subject_template": [
            "Line 1, column 7: This placeholder is not closed: end it with } on the same line, "
            "or write {{ for a brace."
        ],
        "body_template": [
            "Line 1, column 4: “first_name!r” is not a placeholder name: names are letters, "
            "digits and underscores, such as {first_name}."
        ],
    }
    assert "Hi {first_name!r}</textarea>" in response.content.decode()
    assert Campaign.objects.count() == 0


def test_campaign_edit__valid__plain_filters_replaced_other_filters_kept(
    logged_in_client, workspace, team
):
    campaign = factories.CampaignFactory(
        workspace=workspace,
        name="Old",
        audience={"lifecycle_stage": "lead", "segment": "SMB", "product": 7, "churn_band": "high"},
    )

    get = logged_in_client.get(reverse("campaign-edit", args=[campaign.pk]))
    response = logged_in_client.post(
        reverse("campaign-edit", args=[campaign.pk]),
        _campaign_post(name="New", lifecycle_stage="", region="", team=team.pk, goal="thank"),
    )

    assert "Also filtered on churn band, product (set elsewhere, kept as they are)." in _text(get)
    assert response.status_code == 302
    assert _messages(response) == ["Campaign New saved."]
    campaign.refresh_from_db()
    assert (campaign.name, campaign.goal, campaign.status) == ("New", "thank", "draft")
    assert campaign.audience == {"product": 7, "churn_band": "high", "team": team.pk}


def test_campaign_edit__approved_and_changed__back_to_draft(logged_in_client, workspace):
    campaign = factories.CampaignFactory(workspace=workspace, status=Campaign.Status.APPROVED)
    unchanged = factories.CampaignFactory(
        workspace=workspace,
        status=Campaign.Status.APPROVED,
        name="Same",
        audience={"lifecycle_stage": "customer", "region": "EMEA"},
        subject_template="Hello {first_name}",
        body_template="Hi {first_name}, how is {company|your team} doing?",
    )

    logged_in_client.post(reverse("campaign-edit", args=[campaign.pk]), _campaign_post())
    logged_in_client.post(
        reverse("campaign-edit", args=[unchanged.pk]), _campaign_post(name="Same")
    )

    campaign.refresh_from_db()
    unchanged.refresh_from_db()
    assert (campaign.name, campaign.status) == ("Spring check-in", "draft")
    assert unchanged.status == "approved"


def test_campaign_edit__sent__locked_400_and_unchanged(logged_in_client, workspace):
    campaign = factories.CampaignFactory(
        workspace=workspace, name="Winter sale", status=Campaign.Status.SENT
    )
    url = reverse("campaign-edit", args=[campaign.pk])

    get = logged_in_client.get(url)
    post = logged_in_client.post(url, _campaign_post(name="Changed"))

    assert "A sent campaign cannot be changed." in _text(get)
    assert '<button type="submit" class="button" disabled>' in _text(get)
    assert post.status_code == 400
    assert post.context["form"].non_field_errors() == ["A sent campaign cannot be changed."]
    campaign.refresh_from_db()
    assert campaign.name == "Winter sale"


def test_campaign_edit__other_workspace__404_and_unchanged(logged_in_client, sandbox):
    theirs = factories.CampaignFactory(workspace=sandbox, name="Practice run")
    url = reverse("campaign-edit", args=[theirs.pk])

    assert logged_in_client.get(url).status_code == 404
    assert logged_in_client.post(url, _campaign_post()).status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "Practice run"


def test_campaign_list__campaigns__links_to_new_and_edit(logged_in_client, workspace):
    campaign = factories.CampaignFactory(workspace=workspace)
    html = _text(logged_in_client.get(reverse("campaign-list")))
    assert f'href="{reverse("campaign-create")}"' in html
    assert f'href="{reverse("campaign-edit", args=[campaign.pk])}"' in html


def test_campaign_forms__query_count__fixed(
    logged_in_client, workspace, team, core_only, django_assert_num_queries
):
    factories.ContactFactory.create_batch(10, workspace=workspace)
    campaign = factories.CampaignFactory(workspace=workspace)

    # teams, region and segment values
    with django_assert_num_queries(REQUEST_QUERIES + 2):
        assert logged_in_client.get(reverse("campaign-create")).status_code == 200
    # + the campaign
    with django_assert_num_queries(REQUEST_QUERIES + 3):
        assert logged_in_client.get(reverse("campaign-edit", args=[campaign.pk])).status_code == 200


# Service errors on forms ------------------------------------------------------


def test_add_service_errors__keyed_by_field__under_field_or_with_its_name(db):
    from django.core.exceptions import ValidationError

    from crmcore.web.form_views import add_service_errors
    from crmcore.web.forms import AccountForm

    form = AccountForm({"name": "Acme"})
    assert form.is_valid()

    add_service_errors(
        form,
        ValidationError({"name": "Taken.", "external_id": "Account 9 does not exist."}),
    )

    assert form.errors == {
        "name": ["Taken."],
        "__all__": ["external_id: Account 9 does not exist."],
    }


def test_add_service_errors__plain_message__non_field_error(db):
    from django.core.exceptions import ValidationError

    from crmcore.web.form_views import add_service_errors
    from crmcore.web.forms import AccountForm

    form = AccountForm({"name": "Acme"})
    assert form.is_valid()

    add_service_errors(form, ValidationError("The account is locked."))

    assert form.non_field_errors() == ["The account is locked."]
