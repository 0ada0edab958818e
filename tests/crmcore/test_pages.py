"""The CRM's HTML pages: dashboard, contact list, account, pipeline, campaigns, layout."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from crmcore import extensions, factories
from crmcore.extensions import NavItem
from crmcore.models import Contact, Deal

# A logged-in page request costs three queries before the page's own: the
# session, the user and the active workspace.
REQUEST_QUERIES = 3


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


# Login and layout -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("dashboard", {}),
        ("contact-list", {}),
        ("contact-detail", {"pk": 1}),
        ("account-detail", {"pk": 1}),
        ("deal-pipeline", {}),
        ("campaign-list", {}),
    ],
)
def test_pages__anonymous__redirect_to_login(client, db, name, kwargs):
    url = reverse(name, kwargs=kwargs)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_login__valid_credentials__redirects_to_dashboard(client, db):
    factories.UserFactory(username="ada", password="correct-horse-battery")
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert "Log in to PilotCRM" in _text(page)

    response = client.post(
        reverse("login"), {"username": "ada", "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")


def test_login__wrong_password__shows_error(client, db):
    factories.UserFactory(username="ada", password="correct-horse-battery")
    response = client.post(reverse("login"), {"username": "ada", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in _text(response)


def test_logout__post__logs_out_and_redirects_to_login(logged_in_client):
    response = logged_in_client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert logged_in_client.get(reverse("dashboard")).status_code == 302


def test_base__user__shows_brand_nav_name_and_logout_form(client, db, core_only):
    user = factories.UserFactory(username="ada", first_name="Ada", last_name="Lovelace")
    client.force_login(user)
    html = _text(client.get(reverse("dashboard")))
    assert '<a class="brand" href="/">PilotCRM</a>' in html
    for label, url in [
        ("Dashboard", "/"),
        ("Contacts", "/contacts/"),
        ("Deals", "/deals/"),
        ("Campaigns", "/campaigns/"),
    ]:
        assert f'href="{url}"' in html
        assert f">{label}</a>" in html
    assert '<span class="user-name">Ada Lovelace</span>' in html
    assert f'<form method="post" action="{reverse("logout")}">' in html
    assert ">Admin</a>" not in html
    assert "sandbox-banner" not in html


def test_base__staff__shows_admin_link(staff_client, core_only):
    html = _text(staff_client.get(reverse("dashboard")))
    assert f'<a href="{reverse("admin:index")}">Admin</a>' in html


def test_base__extension_nav_items__shown_when_visible(logged_in_client, core_only):
    shown = NavItem(key="shown", label="Shown page", url_name="campaign-list")
    hidden = NavItem(
        key="hidden", label="Hidden page", url_name="deal-pipeline", visible=lambda r: False
    )
    extensions.nav_items.register(shown)
    extensions.nav_items.register(hidden)
    html = _text(logged_in_client.get(reverse("dashboard")))
    assert '<a href="/campaigns/" data-nav="shown">Shown page</a>' in html
    assert "Hidden page" not in html


def test_base__sandbox_workspace__shows_banner_on_every_page(client, db, core_only):
    from crmcore.workspaces import SESSION_KEY

    sandbox = factories.SandboxWorkspaceFactory()
    client.force_login(sandbox.owner)
    session = client.session
    session[SESSION_KEY] = sandbox.pk
    session.save()
    for name in ["dashboard", "contact-list", "deal-pipeline", "campaign-list"]:
        html = _text(client.get(reverse(name)))
        assert "<strong>SANDBOX</strong> — practice data, nothing here reaches customers" in html
        assert '<body class="is-sandbox">' in html


# Dashboard ------------------------------------------------------------------


def test_dashboard__data__shows_counts_recent_interactions_and_chart(
    logged_in_client, workspace, sandbox, core_only
):
    now = timezone.now()
    lead = factories.ContactFactory(
        workspace=workspace, first_name="Lena", lifecycle_stage=Contact.Stage.LEAD
    )
    factories.ContactFactory.create_batch(2, workspace=workspace)
    factories.InteractionFactory(
        workspace=workspace, contact=lead, subject="Pricing question", occurred_at=now
    )
    factories.InteractionFactory(
        workspace=workspace, contact=lead, occurred_at=now - dt.timedelta(days=45)
    )
    factories.DealFactory(
        workspace=workspace, contact=lead, stage=Deal.Stage.PROPOSAL, amount=Decimal("12500")
    )
    factories.DealFactory(
        workspace=workspace, contact=lead, stage=Deal.Stage.LEAD, amount=Decimal("500")
    )
    factories.DealFactory(
        workspace=workspace, contact=lead, stage=Deal.Stage.WON, amount=Decimal("99999")
    )
    factories.ContactFactory.create_batch(4, workspace=sandbox)
    factories.InteractionFactory(workspace=sandbox, subject="Sandbox only")

    response = logged_in_client.get(reverse("dashboard"))

    assert response.status_code == 200
    html = _text(response)
    assert '<span class="stat-value" data-testid="contact-count">3</span>' in html
    assert "<li><span>Lead</span> <strong>1</strong></li>" in html
    assert "<li><span>Customer</span> <strong>2</strong></li>" in html
    assert '<span class="stat-value" data-testid="open-deal-count">2</span>' in html
    assert '<strong data-testid="open-deal-value">13,000</strong>' in html
    assert 'data-testid="recent-interaction-count">1</span>' in html
    assert "Pricing question" in html
    assert "Sandbox only" not in html
    assert '<svg class="chart" role="img"' in html
    assert ">12,500 · 1 deal</text>" in html
    assert ">500 · 1 deal</text>" in html
    assert ">0 · 0 deals</text>" in html


def test_dashboard__query_count__fixed(
    logged_in_client, workspace, user, core_only, django_assert_num_queries
):
    for _ in range(12):
        contact = factories.ContactFactory(workspace=workspace)
        factories.InteractionFactory(workspace=workspace, contact=contact)
        factories.DealFactory(workspace=workspace, contact=contact)
        factories.TaskFactory(workspace=workspace, owner=user, contact=contact)
    # stage counts, open deals by stage, interactions in 30 days, recent
    # interactions, my open tasks (with their contacts and deals)
    with django_assert_num_queries(REQUEST_QUERIES + 5):
        response = logged_in_client.get(reverse("dashboard"))
    assert response.status_code == 200
    assert len(response.context["recent_interactions"]) == 10
    # The counts come from the cache for a while: only the recent interactions and
    # the user's own open tasks are read.
    with django_assert_num_queries(REQUEST_QUERIES + 2):
        response = logged_in_client.get(reverse("dashboard"))
    assert response.context["summary"].contact_count == 12


def test_dashboard__counts_cached_briefly__new_contact_counted_once_they_expire(
    logged_in_client, workspace, core_only, settings
):
    from django.core.cache import cache

    from crmcore.selectors import DASHBOARD_SUMMARY_KEY

    factories.ContactFactory(workspace=workspace)
    assert logged_in_client.get(reverse("dashboard")).context["summary"].contact_count == 1
    factories.ContactFactory(workspace=workspace)
    assert logged_in_client.get(reverse("dashboard")).context["summary"].contact_count == 1

    cache.delete(DASHBOARD_SUMMARY_KEY.format(workspace_id=workspace.pk))  # as if expired
    assert logged_in_client.get(reverse("dashboard")).context["summary"].contact_count == 2

    settings.CRMCORE_DASHBOARD_CACHE_SECONDS = 0
    factories.ContactFactory(workspace=workspace)
    assert logged_in_client.get(reverse("dashboard")).context["summary"].contact_count == 3


# Contact list ---------------------------------------------------------------


def _names(response) -> list[str]:
    return [contact.full_name for contact in response.context["page"].object_list]


def test_contact_list__search__matches_name_email_and_company(logged_in_client, workspace):
    acme = factories.AccountFactory(workspace=workspace, name="Acme Rockets")
    factories.ContactFactory(
        workspace=workspace, first_name="Ada", last_name="Lovelace", account=None
    )
    factories.ContactFactory(
        workspace=workspace,
        first_name="Grace",
        last_name="Hopper",
        email="grace@navy.example",
        account=None,
    )
    factories.ContactFactory(
        workspace=workspace, first_name="Alan", last_name="Turing", account=acme
    )
    url = reverse("contact-list")

    assert _names(logged_in_client.get(url, {"q": "lovelace"})) == ["Ada Lovelace"]
    assert _names(logged_in_client.get(url, {"q": "ada LOVELACE"})) == ["Ada Lovelace"]
    assert _names(logged_in_client.get(url, {"q": "navy.example"})) == ["Grace Hopper"]
    assert _names(logged_in_client.get(url, {"q": "rockets"})) == ["Alan Turing"]
    assert _names(logged_in_client.get(url, {"q": "alan acme"})) == ["Alan Turing"]
    assert _names(logged_in_client.get(url, {"q": "nobody"})) == []
    assert "No contacts match." in _text(logged_in_client.get(url, {"q": "nobody"}))


def test_contact_list__filters__stage_team_and_owner(logged_in_client, workspace, user, team):
    other_owner = factories.UserFactory(username="other")
    factories.ContactFactory(
        workspace=workspace,
        first_name="Lead",
        last_name="Mine",
        owner=user,
        team=team,
        lifecycle_stage=Contact.Stage.LEAD,
    )
    factories.ContactFactory(
        workspace=workspace,
        first_name="Customer",
        last_name="Mine",
        owner=user,
        lifecycle_stage=Contact.Stage.CUSTOMER,
    )
    factories.ContactFactory(
        workspace=workspace,
        first_name="Lead",
        last_name="Theirs",
        owner=other_owner,
        lifecycle_stage=Contact.Stage.LEAD,
    )
    url = reverse("contact-list")

    assert _names(logged_in_client.get(url, {"stage": "lead"})) == ["Lead Mine", "Lead Theirs"]
    assert _names(logged_in_client.get(url, {"team": team.pk})) == ["Lead Mine"]
    assert _names(logged_in_client.get(url, {"owner": user.pk})) == ["Customer Mine", "Lead Mine"]
    assert _names(logged_in_client.get(url, {"owner": other_owner.pk, "stage": "lead"})) == [
        "Lead Theirs"
    ]
    html = _text(logged_in_client.get(url))
    assert f'<option value="{team.pk}">EMEA Sales</option>' in html
    assert f'<option value="{other_owner.pk}">{other_owner.get_full_name()}</option>' in html


def test_contact_list__other_workspace__not_listed(logged_in_client, workspace, sandbox):
    factories.ContactFactory(workspace=workspace, first_name="Real", last_name="Person")
    factories.ContactFactory(workspace=sandbox, first_name="Fake", last_name="Person")
    response = logged_in_client.get(reverse("contact-list"), {"q": "person"})
    assert _names(response) == ["Real Person"]


def test_contact_list__60_contacts__paginates_by_50(logged_in_client, workspace):
    for n in range(60):
        factories.ContactFactory(workspace=workspace, first_name="Pat", last_name=f"N{n:02d}")
    url = reverse("contact-list")

    first = logged_in_client.get(url, {"q": "pat"})
    second = logged_in_client.get(url, {"q": "pat", "page": 2})

    assert len(first.context["page"].object_list) == 50
    assert _names(second) == [f"Pat N{n}" for n in range(50, 60)]
    assert 'href="?q=pat&amp;page=2" rel="next"' in first.content.decode()
    assert 'rel="next"' not in second.content.decode()
    assert 'href="?q=pat&amp;page=1" rel="prev"' in second.content.decode()
    assert "Page 2" in _text(second)


@pytest.mark.parametrize(("raw", "shown"), [("x", 1), ("-3", 1), ("0", 1), ("99", 99)])
def test_contact_list__odd_page_numbers__first_page_or_empty(
    logged_in_client, workspace, raw, shown
):
    factories.ContactFactory(workspace=workspace, first_name="Pat")

    response = logged_in_client.get(reverse("contact-list"), {"page": raw})

    assert (response.status_code, response.context["page"].number) == (200, shown)
    assert len(response.context["page"].object_list) == (1 if shown == 1 else 0)


@pytest.mark.parametrize(
    ("filters", "queries"),
    [({}, 6), ({"q": "a", "stage": "customer"}, 7), ({"q": "ann AN"}, 8)],
)
def test_contact_list__50_contacts__fixed_query_count(
    logged_in_client, workspace, user, team, core_only, django_assert_num_queries, filters, queries
):
    for _ in range(50):
        factories.ContactFactory(workspace=workspace, first_name="Ann", owner=user, team=team)
    # teams, owners, the accounts matching each word, page (no count of the whole
    # list), the user's saved filters, the open campaigns and the workspace's
    # users (the bulk bar's choices)
    with django_assert_num_queries(REQUEST_QUERIES + queries):
        response = logged_in_client.get(reverse("contact-list"), filters)
    assert len(response.context["page"].object_list) == 50


# Account detail -------------------------------------------------------------


def test_account_detail__account__shows_contacts_and_deals(logged_in_client, workspace):
    acme = factories.AccountFactory(workspace=workspace, name="Acme Rockets", industry="Retail")
    ada = factories.ContactFactory(workspace=workspace, first_name="Ada", account=acme)
    factories.ContactFactory(workspace=workspace, first_name="Elsewhere")
    factories.DealFactory(
        workspace=workspace, contact=ada, account=acme, name="Rocket fuel", amount=Decimal("4200")
    )

    response = logged_in_client.get(reverse("account-detail", args=[acme.pk]))

    assert response.status_code == 200
    assert [c.first_name for c in response.context["contacts"]] == ["Ada"]
    assert [d.name for d in response.context["deals"]] == ["Rocket fuel"]
    html = _text(response)
    assert "<h1>Acme Rockets</h1>" in html
    assert '<td class="num">4,200</td>' in html


def test_account_detail__other_workspace__404(logged_in_client, sandbox):
    account = factories.AccountFactory(workspace=sandbox)
    assert logged_in_client.get(reverse("account-detail", args=[account.pk])).status_code == 404


def test_account_detail__query_count__fixed(
    logged_in_client, workspace, core_only, django_assert_num_queries
):
    account = factories.AccountFactory(workspace=workspace)
    for _ in range(10):
        contact = factories.ContactFactory(workspace=workspace, account=account)
        factories.DealFactory(workspace=workspace, contact=contact, account=account)
    # account, contacts, deals
    with django_assert_num_queries(REQUEST_QUERIES + 3):
        response = logged_in_client.get(reverse("account-detail", args=[account.pk]))
    assert len(response.context["deals"]) == 10


# Deal pipeline --------------------------------------------------------------


def test_deal_pipeline__deals__a_column_per_stage_with_sums(logged_in_client, workspace, sandbox):
    contact = factories.ContactFactory(workspace=workspace)
    factories.DealFactory(
        workspace=workspace, contact=contact, name="Small", stage="proposal", amount=1000
    )
    factories.DealFactory(
        workspace=workspace, contact=contact, name="Big", stage="proposal", amount=9000
    )
    factories.DealFactory(workspace=workspace, contact=contact, name="Done", stage="won", amount=5)
    factories.DealFactory(workspace=sandbox, stage="proposal", amount=777)

    response = logged_in_client.get(reverse("deal-pipeline"))

    columns = {column.stage: column for column in response.context["columns"]}
    assert list(columns) == ["lead", "qualified", "proposal", "negotiation", "won", "lost"]
    assert [d.name for d in columns["proposal"].deals] == ["Big", "Small"]
    assert (columns["proposal"].count, columns["proposal"].total) == (2, Decimal("10000"))
    assert (columns["won"].count, columns["won"].total) == (1, Decimal("5"))
    assert (columns["lead"].count, columns["lead"].deals) == (0, [])
    assert '<strong class="sum">10,000</strong>' in _text(response)


@pytest.mark.parametrize("per_stage", [1, 4])
def test_deal_pipeline__query_count__fixed(
    logged_in_client, workspace, core_only, django_assert_num_queries, per_stage
):
    for stage in Deal.Stage.values:
        factories.DealFactory.create_batch(per_stage, workspace=workspace, stage=stage)
    # totals per stage, the top ids of every stage, the cards shown
    with django_assert_num_queries(REQUEST_QUERIES + 3):
        response = logged_in_client.get(reverse("deal-pipeline"))
    assert sum(len(column.deals) for column in response.context["columns"]) == 6 * per_stage


# Campaigns ------------------------------------------------------------------


def test_campaign_list__campaigns__lists_workspace_campaigns(
    logged_in_client, workspace, sandbox, user
):
    factories.CampaignFactory(workspace=workspace, name="Spring check-in", created_by=user)
    factories.CampaignFactory(workspace=sandbox, name="Practice run")

    response = logged_in_client.get(reverse("campaign-list"))

    assert [c.name for c in response.context["page"].object_list] == ["Spring check-in"]
    html = _text(response)
    assert "<strong>Spring check-in</strong>" in html
    assert "Practice run" not in html


def test_campaign_list__query_count__fixed(
    logged_in_client, workspace, user, core_only, django_assert_num_queries
):
    factories.CampaignFactory.create_batch(20, workspace=workspace, created_by=user)
    # count, page
    with django_assert_num_queries(REQUEST_QUERIES + 2):
        response = logged_in_client.get(reverse("campaign-list"))
    assert len(response.context["page"].object_list) == 20
