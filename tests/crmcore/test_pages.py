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


@pytest.fixture
def core_only(monkeypatch):
    """Pin crmcore's own query counts: no panels or nav items from other apps."""
    monkeypatch.setattr(extensions.contact_panels, "_items", {})
    monkeypatch.setattr(extensions.nav_items, "_items", {})


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
    logged_in_client, workspace, core_only, django_assert_num_queries
):
    for _ in range(12):
        contact = factories.ContactFactory(workspace=workspace)
        factories.InteractionFactory(workspace=workspace, contact=contact)
        factories.DealFactory(workspace=workspace, contact=contact)
    # stage counts, open deals by stage, interactions in 30 days, recent interactions
    with django_assert_num_queries(REQUEST_QUERIES + 4):
        response = logged_in_client.get(reverse("dashboard"))
    assert response.status_code == 200
    assert len(response.context["recent_interactions"]) == 10
