import datetime as dt
import itertools
from collections import Counter, defaultdict

import numpy as np
import pytest
from django.db import connection
from django.db.models import Min
from django.test.utils import CaptureQueriesContext

from crmcore import factories
from crmcore.db import insert_instances
from crmcore.models import (
    Account,
    Campaign,
    Contact,
    Deal,
    Interaction,
    Order,
    OrderLine,
    Product,
    Team,
)
from training_sandbox import generator
from training_sandbox.generator import (
    catalogue,
    clear_workspace_data,
    generate_workspace_data,
    writer,
)

NOW = dt.datetime(2026, 6, 1, 9, 30, tzinfo=dt.UTC)
NEGATIVE = ("frustrated", "broken", "refund", "disappointed", "terrible", "annoying", "worst")


def _fingerprint(workspace):
    contacts = list(
        Contact.objects.in_workspace(workspace)
        .order_by("external_id")
        .values_list("external_id", "first_name", "last_name", "email", "lifecycle_stage")
    )
    orders = Counter(
        Order.objects.in_workspace(workspace).values_list("contact__external_id", flat=True)
    )
    texts = sorted(
        Interaction.objects.in_workspace(workspace).values_list(
            "contact__external_id", "channel", "subject", "body", "occurred_at"
        )
    )
    return contacts, orders, texts


def test_generate__same_seed_in_two_workspaces__identical_data(workspace, sandbox):
    generate_workspace_data(workspace=workspace, contacts=120, seed=7, now=NOW)
    generate_workspace_data(workspace=sandbox, contacts=120, seed=7, now=NOW)

    assert _fingerprint(workspace) == _fingerprint(sandbox)
    assert len(_fingerprint(workspace)[2]) > 120


def test_generate__different_seed__different_data(workspace, sandbox):
    generate_workspace_data(workspace=workspace, contacts=120, seed=7, now=NOW)
    generate_workspace_data(workspace=sandbox, contacts=120, seed=8, now=NOW)

    mine, theirs = _fingerprint(workspace), _fingerprint(sandbox)
    assert [c[1:] for c in mine[0]] != [c[1:] for c in theirs[0]]
    assert mine[2] != theirs[2]


def test_generate__summary__matches_the_rows_written(workspace):
    summary = generate_workspace_data(workspace=workspace, contacts=150, seed=3, now=NOW)

    assert summary.contacts == Contact.objects.in_workspace(workspace).count() == 150
    assert summary.leads + summary.customers + summary.churned == 150
    assert summary.accounts == Account.objects.in_workspace(workspace).count() == 50
    assert summary.products == Product.objects.in_workspace(workspace).count() == 14
    assert summary.orders == Order.objects.in_workspace(workspace).count()
    assert summary.order_lines == OrderLine.objects.in_workspace(workspace).count()
    assert summary.interactions == Interaction.objects.in_workspace(workspace).count()
    assert summary.deals == Deal.objects.in_workspace(workspace).count()
    assert summary.campaigns == Campaign.objects.in_workspace(workspace).count() == 3
    assert summary.teams == 3
    assert summary.rows == (
        150
        + 50
        + 14
        + summary.orders
        + summary.order_lines
        + summary.interactions
        + summary.deals
        + 3
    )


def test_generate__1000_contacts__churn_and_lead_shares_as_planted(workspace):
    summary = generate_workspace_data(workspace=workspace, contacts=1000, seed=42, now=NOW)

    assert 0.20 <= summary.churned / 1000 <= 0.30
    assert 0.10 <= summary.leads / 1000 <= 0.20
    lead_orders = Counter(
        Order.objects.in_workspace(workspace)
        .filter(contact__lifecycle_stage=Contact.Stage.LEAD)
        .values_list("contact_id", flat=True)
    )
    assert max(lead_orders.values()) == 1
    assert len(lead_orders) < summary.leads * 0.3


def _churn_features(workspace):
    now = NOW
    orders, refunds = defaultdict(list), Counter()
    for contact_id, ordered_at, status in Order.objects.in_workspace(workspace).values_list(
        "contact_id", "ordered_at", "status"
    ):
        orders[contact_id].append((now - ordered_at).days)
        refunds[contact_id] += status == Order.Status.REFUNDED
    tickets, negative = Counter(), Counter()
    for contact_id, channel, body in Interaction.objects.in_workspace(workspace).values_list(
        "contact_id", "channel", "body"
    ):
        tickets[contact_id] += channel == Interaction.Channel.TICKET
        negative[contact_id] += any(word in body.lower() for word in NEGATIVE)
    rows, labels = [], []
    for contact_id, stage in (
        Contact.objects.in_workspace(workspace)
        .exclude(lifecycle_stage=Contact.Stage.LEAD)
        .order_by("pk")
        .values_list("pk", "lifecycle_stage")
    ):
        days = sorted(orders[contact_id], reverse=True)
        gaps = [a - b for a, b in itertools.pairwise(days)] or [0]
        rows.append(
            [
                min(days),
                len(days),
                len(days) / (max(days) + 1),
                np.log((gaps[-1] + 1) / (gaps[0] + 1)),
                refunds[contact_id],
                tickets[contact_id],
                negative[contact_id],
            ]
        )
        labels.append(stage == Contact.Stage.CHURNED)
    return np.array(rows, dtype=float), np.array(labels)


def test_generate__churn__learnable_from_history_but_not_separable(workspace):
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    # Given a generated workspace and features of order and interaction history
    generate_workspace_data(workspace=workspace, contacts=1500, seed=42, now=NOW)
    features, churned = _churn_features(workspace)
    train_x, test_x, train_y, test_y = train_test_split(
        np.log1p(features - features.min(axis=0)),
        churned,
        test_size=0.3,
        random_state=0,
        stratify=churned,
    )

    # When a plain model is fitted on part of the contacts
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(train_x, train_y)
    auc = roc_auc_score(test_y, model.predict_proba(test_x)[:, 1])

    # Then it ranks held-out churned customers well, but not perfectly
    assert 0.8 <= auc < 0.99
    # and recency and negative wording each carry signal on their own
    assert roc_auc_score(churned, features[:, 0]) > 0.75
    assert roc_auc_score(churned, features[:, 6]) > 0.7


def test_generate__product_chains__who_bought_x_buys_the_next_in_chain(workspace):
    generate_workspace_data(workspace=workspace, contacts=800, seed=42, now=NOW)
    sequences = defaultdict(list)
    for contact_id, sku in (
        OrderLine.objects.in_workspace(workspace)
        .exclude(product__sku="ADDON-SEATS")
        .order_by("order__ordered_at", "order_id")
        .values_list("order__contact_id", "product__sku")
    ):
        sequences[contact_id].append(sku)
    following = defaultdict(Counter)
    for skus in sequences.values():
        for current, after in itertools.pairwise(skus):
            if after != current:
                following[current][after] += 1

    for chain in catalogue.CHAINS.values():
        for current, expected in itertools.pairwise(chain):
            assert following[current].most_common(1)[0][0] == expected


def test_generate__wording__follows_each_customers_story(workspace):
    generate_workspace_data(workspace=workspace, contacts=800, seed=42, now=NOW)
    rows = list(
        Interaction.objects.in_workspace(workspace).values_list(
            "contact__lifecycle_stage", "channel", "direction", "body", "author_id"
        )
    )

    def negative_share(stage):
        bodies = [body.lower() for s, _, _, body, _ in rows if s == stage]
        return sum(any(w in body for w in NEGATIVE) for body in bodies) / len(bodies)

    assert negative_share("churned") > 2 * negative_share("customer")
    bodies = " ".join(body.lower() for *_, body, _ in rows)
    for word in ("frustrated", "still broken", "refund", "asap", "urgent", "immediately"):
        assert word in bodies
    for word in ("love", "great", "thanks"):
        assert word in bodies
    assert {channel for _, channel, *_ in rows} == set(Interaction.Channel.values)
    assert {direction for _, _, direction, *_ in rows} == {"in", "out"}
    assert all(author is not None for _, _, d, _, author in rows if d == "out")
    assert all(author is None for _, _, d, _, author in rows if d == "in")


def test_generate__contacts__have_owner_team_region_segment_and_attributes(workspace):
    generate_workspace_data(workspace=workspace, contacts=200, seed=42, now=NOW)
    contacts = list(Contact.objects.in_workspace(workspace).select_related("owner", "team"))

    assert {c.region for c in contacts} == {"EMEA", "AMER", "APAC"}
    assert {c.segment for c in contacts} == {"SMB", "Mid-market", "Enterprise"}
    assert {c.owner.username for c in contacts} == {"alice", "bob", "carol", "dave"}
    assert {c.team.name for c in contacts} == set(catalogue.TEAM_NAMES)
    assert len({c.external_id for c in contacts}) == 200
    assert len({c.email for c in contacts}) == 200
    customers = [c for c in contacts if c.lifecycle_stage != Contact.Stage.LEAD]
    assert all(set(c.attributes) == {"plan", "seats", "nps", "customer_since"} for c in customers)
    assert all(0 <= c.attributes["nps"] <= 10 for c in customers)
    assert {c.attributes["plan"] for c in customers} >= {"starter", "pro"}


def test_generate__teams_and_demo_users__members_as_planned(workspace):
    generate_workspace_data(workspace=workspace, contacts=20, seed=1, now=NOW)

    members = {
        team.name: sorted(u.username for u in team.members.all())
        for team in Team.objects.in_workspace(workspace)
    }
    assert members == {
        "AMER Sales": ["bob"],
        "EMEA Sales": ["alice", "dave"],
        "Support": ["carol", "dave"],
    }
    admin = factories.UserFactory._meta.model.objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser
    assert not admin.has_usable_password()


def test_generate__deals_and_campaigns__every_stage_present(workspace):
    generate_workspace_data(workspace=workspace, contacts=30, seed=5, now=NOW)

    stages = set(Deal.objects.in_workspace(workspace).values_list("stage", flat=True))
    assert stages == set(Deal.Stage.values)
    closed = Deal.objects.in_workspace(workspace).filter(stage__in=["won", "lost"])
    assert not closed.filter(closed_at__isnull=True).exists()
    goals = set(Campaign.objects.in_workspace(workspace).values_list("goal", flat=True))
    assert goals == {"win_back", "cross_sell", "thank"}


def test_generate__workspace_with_contacts__refused_and_unchanged(workspace):
    factories.ContactFactory(workspace=workspace)

    with pytest.raises(ValueError, match="already has contacts"):
        generate_workspace_data(workspace=workspace, contacts=10, seed=1, now=NOW)
    assert Contact.objects.in_workspace(workspace).count() == 1


def test_generate__progress__called_per_chunk_with_contacts_written(workspace, monkeypatch):
    monkeypatch.setattr(generator, "CHUNK_SIZE", 40)
    calls = []

    class Bar:
        def update(self, n):
            calls.append(("bar", n))

    generate_workspace_data(workspace=workspace, contacts=100, seed=1, now=NOW, progress=Bar())
    clear_workspace_data(workspace=workspace)
    generate_workspace_data(
        workspace=workspace, contacts=50, seed=1, now=NOW, progress=lambda n: calls.append(n)
    )

    assert calls == [("bar", 40), ("bar", 40), ("bar", 20), 40, 10]


def test_generate__900_contacts__written_in_a_few_dozen_queries(workspace):
    with CaptureQueriesContext(connection) as queries:
        summary = generate_workspace_data(workspace=workspace, contacts=900, seed=42, now=NOW)

    # About 20,000 rows (deal histories included), in multi-row inserts of up to
    # 1,000 rows: no query per row.
    assert summary.rows > 12_000
    assert len(queries) < 60


def test_generate__after_the_rows__planner_statistics_refreshed(workspace, monkeypatch):
    calls = []
    monkeypatch.setattr(
        generator,
        "planner_statistics_refresh",
        lambda *, models: calls.append(
            (Interaction.objects.in_workspace(workspace).count(), {m.__name__ for m in models})
        ),
    )

    summary = generate_workspace_data(workspace=workspace, contacts=30, seed=7, now=NOW)

    written = {"Account", "Product", "Contact", "Order", "OrderLine", "Interaction", "Deal"}
    assert calls == [(summary.interactions, {*written, "DealStageChange", "Campaign"})]


def test_clear_workspace_data__removes_records__keeps_teams_and_other_workspaces(
    workspace, sandbox
):
    generate_workspace_data(workspace=workspace, contacts=60, seed=2, now=NOW)
    generate_workspace_data(workspace=sandbox, contacts=60, seed=2, now=NOW)

    clear_workspace_data(workspace=sandbox)

    for model in (Account, Contact, Product, Order, OrderLine, Interaction, Deal, Campaign):
        assert not model.objects.in_workspace(sandbox).exists()
    assert Team.objects.in_workspace(sandbox).count() == 3
    assert Contact.objects.in_workspace(workspace).count() == 60
    # and the sandbox can be generated again, identical to its first generation
    generate_workspace_data(workspace=sandbox, contacts=60, seed=2, now=NOW)
    assert _fingerprint(sandbox) == _fingerprint(workspace)


def test_builder__unknown_field__type_error():
    build = writer.Builder(Contact)

    with pytest.raises(TypeError, match="Contact has no field nickname"):
        build(first_name="Ada", nickname="A")


def test_generate__customer_since__one_date_in_profile_attributes_and_first_order(workspace):
    generate_workspace_data(workspace=workspace, contacts=200, seed=42, now=NOW)
    contacts = list(Contact.objects.in_workspace(workspace))
    first_orders = dict(
        Order.objects.in_workspace(workspace)
        .values("contact_id")
        .annotate(first=Min("ordered_at"))
        .values_list("contact_id", "first")
    )

    customers = [c for c in contacts if c.lifecycle_stage != Contact.Stage.LEAD]
    assert customers
    for c in customers:
        since = dt.date.fromisoformat(c.attributes["customer_since"])
        # The profile's "Since" (created_at) is the day they became a customer ...
        assert c.created_at.date() == since, c.pk
        # ... on or before their first stored order, never after it
        if c.pk in first_orders:
            assert since <= first_orders[c.pk].date(), c.pk
    # Leads were captured before the story's today, and their activity starts after
    leads = [c for c in contacts if c.lifecycle_stage == Contact.Stage.LEAD]
    assert leads
    assert all(c.created_at < NOW for c in leads)
    first_touch = dict(
        Interaction.objects.in_workspace(workspace)
        .filter(contact__lifecycle_stage=Contact.Stage.LEAD)
        .values("contact_id")
        .annotate(first=Min("occurred_at"))
        .values_list("contact_id", "first")
    )
    assert all(
        c.created_at.date() <= first_touch[c.pk].date() for c in leads if c.pk in first_touch
    )


def test_insert_instances__auto_date_given__kept_for_that_row(workspace):
    build = writer.Builder(Account)
    given = dt.datetime(2024, 9, 12, tzinfo=dt.UTC)
    accounts = [build(workspace_id=workspace.pk, name="Old", created_at=given)]
    accounts.append(build(workspace_id=workspace.pk, name="New"))

    insert_instances(Account, accounts, returning=True)

    stored = dict(Account.objects.in_workspace(workspace).values_list("name", "created_at"))
    assert stored["Old"] == given
    assert stored["New"] > given


def test_generate__campaigns__drafts_only_none_sent_without_messages(workspace):
    generate_workspace_data(workspace=workspace, contacts=20, seed=3, now=NOW)
    statuses = dict(Campaign.objects.in_workspace(workspace).values_list("name", "status"))
    assert statuses["Thank you, Enterprise customers"] == "draft"
    assert set(statuses.values()) == {"draft"}


def test_generate__planted_duplicates__found_by_the_duplicates_finder(workspace):
    from crmcore.selectors_duplicates import contact_duplicate_suggestions

    generate_workspace_data(workspace=workspace, contacts=300, seed=7, now=NOW)
    contacts = Contact.objects.in_workspace(workspace).select_related("account")
    by_pk = {c.pk: c for c in contacts}
    copies = [c for c in contacts if c.phone.startswith("(555) ")]
    found = {
        s.second_id: (by_pk[s.first_id], s.reasons)
        for s in contact_duplicate_suggestions(workspace=workspace)
    }
    assert len(copies) == 2
    for copy in copies:
        original, reasons = found[copy.pk]
        assert (original.full_name, original.account_id) == (copy.full_name, copy.account_id)
        assert original.email != copy.email
        assert reasons == ("Same phone", f"Similar name at {copy.account.name}")


def test_generate__two_contacts__already_one_duplicate(workspace):
    from crmcore.selectors_duplicates import contact_duplicate_suggestions

    generate_workspace_data(workspace=workspace, contacts=2, seed=3, now=NOW)
    assert len(contact_duplicate_suggestions(workspace=workspace)) == 1
