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


# The API's ?search= -------------------------------------------------------------------

PHONES = {"Ada": "+44 20 7946 0018", "Alan": "555-0199"}
EXTERNAL_IDS = {"Barbara": "HUB-77", "Margaret": "sf-0042"}


@pytest.fixture
def api_people(people):
    for contact in people:
        contact.phone = PHONES.get(contact.first_name, "")
        contact.external_id = EXTERNAL_IDS.get(contact.first_name, "")
        contact.save(update_fields=["phone", "external_id"])
    return people


def _expected_api(people, q: str) -> list[str]:
    """The API's rule: every term in a name, the email, phone, external id or company."""

    def matches(contact, word: str) -> bool:
        company = contact.account.name if contact.account else ""
        fields = (
            contact.first_name,
            contact.last_name,
            contact.email,
            contact.phone,
            contact.external_id,
            company,
        )
        return any(word.lower() in field.lower() for field in fields)

    found = [c for c in people if all(matches(c, w) for w in q.replace(",", " ").split())]
    return sorted(c.full_name for c in found)


def _api_names(api_client, q: str) -> list[str]:
    response = api_client.get("/api/v1/contacts/", {"search": q, "page_size": 100})
    assert response.status_code == 200
    return sorted(f"{c['first_name']} {c['last_name']}" for c in response.json()["results"])


@pytest.mark.parametrize(
    "q",
    [
        "lovelace",
        "ADA",
        "grace park",
        "park,grace",
        "0199",
        "7946",
        "hub-77",
        "SF-00",
        "nasa a",
        "%",
        "zzz",
    ],
)
def test_api_contacts_search__same_answer_as_the_rule(api_client, api_people, q):
    assert _api_names(api_client, q) == _expected_api(api_people, q)


def test_api_contacts_search__a_word_never_spans_two_fields(api_client, api_people):
    # "Lovelace ada@..." joined by a space: no term without a space crosses it.
    assert _api_names(api_client, "lovelaceada") == []
    assert _api_names(api_client, "ada lovelace") == ["Ada Lovelace"]


@pytest.mark.django_db(transaction=True)
def test_api_contacts_search__the_query_the_api_runs_uses_the_trigram_index(
    api_client, api_people, workspace
):
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        names = _api_names(api_client, "hopper")

    assert names == ["Grace Hopper"]
    listing = [q["sql"] for q in captured.captured_queries if 'FROM "crmcore_contact"' in q["sql"]]
    assert len(listing) == 1  # one read of the contacts, no count
    if connection.vendor != "postgresql":
        return
    # A workspace of a few thousand contacts with fresh statistics (VACUUM
    # fills in the index's own, outside a transaction): the workspace
    # condition selects them all, the word one.
    Contact.objects.bulk_create(
        Contact(workspace=workspace, first_name=f"Person{n}", last_name="Example", email="")
        for n in range(5000)
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE crmcore_contact")
        cursor.execute("VACUUM ANALYZE crmcore_account")
        cursor.execute("EXPLAIN " + listing[0])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Bitmap Index Scan on contact_search_trgm" in plan, plan
