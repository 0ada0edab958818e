"""Contact search: one answer on SQLite and PostgreSQL, through trigram indexes on PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import connection

from crmcore import factories, selectors
from crmcore.models import Account, Contact

pytestmark = pytest.mark.django_db

PEOPLE = [
    ("Ada", "Lovelace", "ada@engines.example", "Analytical Engines"),
    ("Grace", "Hopper", "grace@navy.example", None),
    ("Alan", "Turing", "alan@bletchley.example", "Bletchley Park"),
    ("Edsger", "Dijkstra", "", "Mathematisch Centrum"),
    ("Barbara", "Liskov", "barbara@mit.example", "MIT"),
    ("Margaret", "Hamilton", "margaret@nasa.example", "NASA Apollo"),
    ("Grace", "Park", "gpark@example.com", "Parking Systems"),
    ("José", "Núñez", "jose@example.com", None),
]


@pytest.fixture
def people(workspace, sandbox):
    accounts: dict[str, object] = {}
    made = []
    for first, last, email, company in PEOPLE:
        account = None
        if company:
            account = accounts.setdefault(
                company, factories.AccountFactory(workspace=workspace, name=company)
            )
        made.append(
            factories.ContactFactory(
                workspace=workspace, first_name=first, last_name=last, email=email, account=account
            )
        )
    # Same names in another workspace: never found.
    factories.ContactFactory(
        workspace=sandbox, first_name="Ada", last_name="Lovelace", account=None
    )
    return made


def _expected(people, q: str) -> list[str]:
    """What the search promises, computed in Python: every word in a name, the email or company."""

    def matches(contact, word: str) -> bool:
        company = contact.account.name if contact.account else ""
        fields = (contact.first_name, contact.last_name, contact.email, company)
        return any(word.lower() in field.lower() for field in fields)

    found = [c for c in people if all(matches(c, w) for w in q.split())]
    return sorted(c.full_name for c in found)


@pytest.mark.parametrize(
    "q",
    [
        "lovelace",
        "ADA",
        "park",
        "grace park",
        "navy.example",
        "example",
        "centrum",
        "ing",
        "nasa a",
        "Núñez",
        "zzz",
        "a@",
        "%",
        "_",
    ],
)
def test_contact_list__search__same_answer_as_the_rule(workspace, people, q):
    found = selectors.contact_list(workspace=workspace, q=q)

    assert sorted(c.full_name for c in found) == _expected(people, q)


def test_contact_list__word_in_more_accounts_than_listed__joined_instead_same_answer(
    workspace, people, monkeypatch
):
    monkeypatch.setattr(selectors, "SEARCH_ACCOUNTS_MAX", 1)

    assert selectors.account_ids_matching(workspace=workspace, word="a") is None
    found = selectors.contact_list(workspace=workspace, q="park")
    assert sorted(c.full_name for c in found) == _expected(people, "park")


def _plan(queryset) -> str:
    with connection.cursor() as cursor:
        # A handful of rows: tell the planner that scanning the table is not an option.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        try:
            return queryset.explain()
        finally:
            cursor.execute("RESET enable_seqscan")
            cursor.execute("RESET enable_indexscan")


def test_contact_list__search__trigram_indexes_on_postgresql_none_on_sqlite(workspace, people):
    contacts = selectors.contact_list(workspace=workspace, q="hopper")
    # The search's two conditions alone: with table scans off, only an index
    # built on exactly the expression the query compares can answer them.
    by_text = Contact.objects.alias(search_text=selectors.contact_search_text()).filter(
        search_text__icontains="hopper"
    )
    by_account = Account.objects.filter(name__icontains="engine")

    if connection.vendor == "postgresql":
        assert "Bitmap Index Scan on contact_search_trgm" in _plan(by_text)
        assert "Bitmap Index Scan on account_name_trgm" in _plan(by_account)
    else:
        with connection.cursor() as cursor:
            cursor.execute("SELECT name FROM sqlite_master WHERE name LIKE '%trgm%'")
            assert cursor.fetchall() == []
    assert [c.full_name for c in contacts] == ["Grace Hopper"]
