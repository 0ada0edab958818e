"""The contact-detail page (``contact-detail``, /contacts/<pk>/): render time and queries.

    python -m benchmarks.bench_contact_detail [--sizes 1000 20000] [--repeat 5]

For each workspace size the production workspace is seeded by the demo
generator, then one contact gets a long history (250 extra interactions,
so 250+ timeline rows with orders and deals), and two more contacts, alike
but for their history, get 10 and 500 interactions. Printed:

* the page's render time (a logged-in GET through the whole middleware
  stack, best of ``--repeat``) against a baseline measured in the same run:
  raw SQL fetching the same contact (with its account) and its 25 newest
  timeline rows (interactions, orders and deals), the least any page must do;
* the page's query count at every size and for 10 against 500
  interactions: it must not grow with the history or the workspace.
"""

from __future__ import annotations

import argparse
import datetime as dt

from benchmarks.harness import best_of, line, report, section, setup_django

RAW_CONTACT = """
SELECT c.id, c.first_name, c.last_name, c.email, c.phone, c.lifecycle_stage, c.region,
       c.segment, c.attributes, a.name, a.domain
FROM crmcore_contact c LEFT JOIN crmcore_account a ON a.id = c.account_id
WHERE c.id = ? AND c.workspace_id = ?
"""
RAW_TIMELINE = """
SELECT kind, id, ts FROM (
    SELECT 'interaction' AS kind, id, occurred_at AS ts FROM crmcore_interaction
     WHERE workspace_id = ? AND contact_id = ?
    UNION ALL
    SELECT 'order', id, ordered_at FROM crmcore_order WHERE workspace_id = ? AND contact_id = ?
    UNION ALL
    SELECT 'deal', id, created_at FROM crmcore_deal WHERE workspace_id = ? AND contact_id = ?
) ORDER BY ts DESC, id DESC LIMIT 25
"""
RAW_INTERACTIONS = """
SELECT id, channel, direction, subject, body, occurred_at, author_id
FROM crmcore_interaction WHERE id IN ({})
"""


def _add_interactions(workspace, contact, count: int) -> None:
    from django.utils import timezone

    from crmcore.db import insert_instances
    from crmcore.models import Interaction
    from training_sandbox.generator import writer

    build = writer.Builder(Interaction)
    now = timezone.now()
    rows = [
        build(
            workspace_id=workspace.pk,
            contact_id=contact.pk,
            channel="email" if i % 2 else "call",
            direction="in" if i % 3 else "out",
            subject=f"Follow-up {i}",
            body="Discussed the renewal and the next steps for the rollout.",
            occurred_at=now - dt.timedelta(hours=i + 1),
        )
        for i in range(count)
    ]
    insert_instances(Interaction, rows, returning=False)


def _raw_page(raw, workspace_id: int, contact_id: int) -> None:
    raw.execute(RAW_CONTACT, [contact_id, workspace_id]).fetchall()
    keys = raw.execute(RAW_TIMELINE, [workspace_id, contact_id] * 3).fetchall()
    ids = [pk for kind, pk, _ in keys if kind == "interaction"]
    if ids:
        raw.execute(RAW_INTERACTIONS.format(", ".join("?" * len(ids))), ids).fetchall()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 20000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    setup_django()

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from crmcore.models import Contact, Interaction
    from crmcore.workspaces import production_workspace
    from training_sandbox.generator import (
        clear_workspace_data,
        ensure_demo_users,
        generate_workspace_data,
    )

    workspace = production_workspace()
    client = Client()
    client.force_login(ensure_demo_users()["alice"])
    connection.ensure_connection()
    raw = connection.connection

    def get(contact) -> int:
        response = client.get(reverse("contact-detail", args=[contact.pk]))
        assert response.status_code == 200, response.status_code
        return len(response.content)

    def queries(contact) -> int:
        with CaptureQueriesContext(connection) as captured:
            get(contact)
        return len(captured)

    counts = {}
    for size in args.sizes:
        section(f"contact detail, {size:,} contacts in the workspace")
        clear_workspace_data(workspace=workspace)
        generate_workspace_data(workspace=workspace, contacts=size, seed=42)
        long_history = (
            Contact.objects.in_workspace(workspace)
            .exclude(lifecycle_stage=Contact.Stage.LEAD)
            .order_by("pk")
            .first()
        )
        _add_interactions(workspace, long_history, 250)
        # Two contacts alike but for the length of their history (interactions only).
        ten, five_hundred = (
            Contact.objects.create(
                workspace=workspace,
                first_name=name,
                last_name="Bench",
                account=long_history.account,
                owner=long_history.owner,
                team=long_history.team,
                lifecycle_stage=Contact.Stage.CUSTOMER,
            )
            for name in ("Ten", "Fivehundred")
        )
        _add_interactions(workspace, ten, 10)
        _add_interactions(workspace, five_hundred, 500)
        history = Interaction.objects.in_workspace(workspace).filter(contact=long_history).count()

        get(long_history)  # warm caches and templates
        page = best_of(lambda c=long_history: get(c), repeat=args.repeat)
        baseline = best_of(
            lambda c=long_history: _raw_page(raw, workspace.pk, c.pk), repeat=args.repeat
        )
        report(
            f"render ({history} interactions)",
            seconds=page,
            baseline=("raw SQL contact + 25 newest timeline rows", baseline),
        )
        counts[size] = {
            "long": queries(long_history),
            10: queries(ten),
            500: queries(five_hundred),
        }
        line(
            f"queries: {counts[size]['long']} ({history} interactions), "
            f"{counts[size][10]} (10 interactions), {counts[size][500]} (500 interactions)"
        )

    section("query count against size")
    flat = sorted({n for per_size in counts.values() for n in per_size.values()})
    sizes = ", ".join(f"{size:,} contacts: {c['long']}" for size, c in counts.items())
    verdict = "constant" if len(flat) == 1 else f"VARIES ({flat})"
    line(f"queries per page: {sizes}; 10 vs 500 interactions: {verdict}")


if __name__ == "__main__":
    main()
