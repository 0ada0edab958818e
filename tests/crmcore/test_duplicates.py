"""Duplicates: the finder's rules, the merge service, and the two pages."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crmcore import factories, selectors_duplicates, services_merge
from crmcore.models import AuditEntry, Contact, Deal, Interaction, Order, OutboxEvent, Task
from crmcore.selectors_duplicates import (
    contact_duplicate_suggestions,
    names_similar,
    normalise_name,
    normalise_phone,
)

pytestmark = pytest.mark.django_db

_phones = itertools.count(1_000_000)


def make(workspace, **fields) -> Contact:
    """A contact with a phone and email no other test contact has, unless given."""
    n = next(_phones)
    fields.setdefault("phone", f"+1 555 {n:07d}")
    fields.setdefault("email", f"person{n}@example.com")
    fields.setdefault("account", None)
    return factories.ContactFactory(workspace=workspace, **fields)


def pairs(workspace) -> dict[tuple[int, int], tuple[str, ...]]:
    return {
        (s.first_id, s.second_id): s.reasons
        for s in contact_duplicate_suggestions(workspace=workspace)
    }


# Normalising ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+44 20 7946 0018", "079460018"),
        ("020 7946 0018", "079460018"),
        ("(555) 123-456", "555123456"),
        ("12-34-56", "123456"),
        ("12345", ""),
        ("", ""),
        ("ext.", ""),
    ],
)
def test_normalise_phone__digits_last_nine__or_nothing_when_short(raw, expected):
    assert normalise_phone(raw) == expected


def test_normalise_name__case_accents_punctuation__removed():
    assert normalise_name("  José-Luis ", "O'Neill") == "jose luis o neill"


@pytest.mark.parametrize(
    ("a", "b", "similar"),
    [
        ("jon smith", "john smith", True),
        ("katherine jones", "catherine jones", True),
        ("ann lee", "ben lee", False),
        ("maria garcia", "pedro garcia", False),
        ("", "", False),
    ],
)
def test_names_similar__ratio_threshold(a, b, similar):
    assert names_similar(a, b) is similar


# The finder ----------------------------------------------------------------------


def test_finder__same_email_trimmed_any_case__one_pair(workspace):
    # The database refuses two equal emails; spaces around one slip past it (old imports).
    a = make(workspace, email="ada@example.com")
    b = make(workspace, email=" Ada@Example.com ")
    make(workspace, email="grace@example.com")
    assert pairs(workspace) == {(a.pk, b.pk): ("Same email",)}


def test_finder__same_phone_written_differently__one_pair(workspace):
    a = make(workspace, phone="+44 20 7946 0018")
    b = make(workspace, phone="020-7946-0018")
    make(workspace, phone="020 7946 0019")
    make(workspace, phone="")
    make(workspace, phone="")
    assert pairs(workspace) == {(a.pk, b.pk): ("Same phone",)}


def test_finder__similar_name_same_account__pair_names_account(workspace):
    acme = factories.AccountFactory(workspace=workspace, name="Acme")
    a = make(workspace, first_name="Jon", last_name="Smith", account=acme)
    b = make(workspace, first_name="John", last_name="Smith", account=acme)
    make(workspace, first_name="Mary", last_name="Brown", account=acme)
    assert pairs(workspace) == {(a.pk, b.pk): ("Similar name at Acme",)}


def test_finder__equal_name_different_accounts__no_pair(workspace):
    acme = factories.AccountFactory(workspace=workspace, name="Acme")
    globex = factories.AccountFactory(workspace=workspace, name="Globex")
    make(workspace, first_name="John", last_name="Smith", account=acme)
    make(workspace, first_name="John", last_name="Smith", account=globex)
    make(workspace, first_name="John", last_name="Smith", account=None)
    make(workspace, first_name="John", last_name="Smith", account=None)
    assert pairs(workspace) == {}


def test_finder__several_reasons__one_suggestion_listing_all_first(workspace):
    acme = factories.AccountFactory(workspace=workspace, name="Acme")
    a = make(workspace, first_name="Ada", last_name="King", account=acme, phone="555 123 456")
    b = make(workspace, first_name="Ada", last_name="King", account=acme, phone="555-123-456")
    c = make(workspace, email="x@example.com")
    d = make(workspace, email="X@example.com ")
    assert list(pairs(workspace).items()) == [
        ((a.pk, b.pk), ("Same phone", "Similar name at Acme")),
        ((c.pk, d.pk), ("Same email",)),
    ]


def test_finder__group_of_three__each_paired_with_oldest(workspace):
    a, b, c = (make(workspace, phone="+1 (555) 000 1111") for _ in range(3))
    assert pairs(workspace) == {(a.pk, b.pk): ("Same phone",), (a.pk, c.pk): ("Same phone",)}


def test_finder__other_workspace__never_paired(workspace, sandbox):
    make(workspace, phone="555 111 222 333")
    make(sandbox, phone="555 111 222 333")
    assert pairs(workspace) == {}
    assert pairs(sandbox) == {}


def test_finder__large_account__equal_names_still_found(workspace, monkeypatch):
    monkeypatch.setattr(selectors_duplicates, "NAME_COMPARE_MAX", 2)
    acme = factories.AccountFactory(workspace=workspace, name="Acme")
    a = make(workspace, first_name="Jon", last_name="Smith", account=acme)
    make(workspace, first_name="John", last_name="Smith", account=acme)
    c = make(workspace, first_name="JON", last_name="smith", account=acme)
    assert pairs(workspace) == {(a.pk, c.pk): ("Similar name at Acme",)}


def test_finder__one_query_whatever_the_size(workspace, django_assert_num_queries):
    acme = factories.AccountFactory(workspace=workspace, name="Acme")
    for i in range(30):
        make(workspace, first_name=f"Person{i}", last_name="Smith", account=acme)
        make(workspace, phone=f"555 000 {i:03d}")
    with django_assert_num_queries(1):
        found = contact_duplicate_suggestions(workspace=workspace)
    assert len(found) > 30


def test_duplicates_slice__two_queries__contacts_loaded(workspace, django_assert_num_queries):
    for i in range(5):
        make(workspace, phone=f"555 777 {i:03d}")
        make(workspace, phone=f"555-777-{i:03d}")
    with django_assert_num_queries(2):
        shown, more = selectors_duplicates.contact_duplicates_slice(
            workspace=workspace, offset=2, limit=2
        )
        names = [(p.first.full_name, p.second.account) for p in shown]
    assert len(names) == 2 and more is True


def test_duplicates_slice__cached__one_query_and_forgotten_after_a_merge(
    workspace, user, django_assert_num_queries, django_capture_on_commit_callbacks
):
    a = make(workspace, phone="555 666 001")
    b = make(workspace, phone="555-666-001")
    c = make(workspace, phone="555.666.001")
    a_pk = a.pk
    selectors_duplicates.contact_duplicates_slice(workspace=workspace, offset=0, limit=10)

    # cached: only the page's contacts are read
    with django_assert_num_queries(1):
        cached, _ = selectors_duplicates.contact_duplicates_slice(
            workspace=workspace, offset=0, limit=10
        )
    with django_capture_on_commit_callbacks(execute=True):
        services_merge.contact_merge(keep=b, other=a, actor=user)
    after, _ = selectors_duplicates.contact_duplicates_slice(
        workspace=workspace, offset=0, limit=10
    )

    assert {(p.first.pk, p.second.pk) for p in cached} == {(a_pk, b.pk), (a_pk, c.pk)}
    # a was the group's oldest: once it is gone, b and c are a pair, found anew
    assert [(p.first.pk, p.second.pk) for p in after] == [(b.pk, c.pk)]


# Merge service ----------------------------------------------------------------------


@pytest.fixture
def pair(workspace, user):
    acme = factories.AccountFactory(workspace=workspace, name="Acme")
    keep = make(
        workspace,
        first_name="Jon",
        last_name="Smith",
        email="jon@acme.example",
        phone="",
        account=acme,
        owner=user,
        attributes={"plan": "basic", "size": "10"},
    )
    other = make(
        workspace,
        first_name="John",
        last_name="Smith",
        email="john.smith@acme.example",
        phone="+1 555 0100",
        account=acme,
        owner=None,
        attributes={"plan": "pro", "language": "fr"},
        marketing_opt_out=True,
    )
    return keep, other


def _history(workspace, contact, user, label):
    factories.InteractionFactory(workspace=workspace, contact=contact, subject=f"Call {label}")
    factories.OrderFactory(workspace=workspace, contact=contact)
    factories.DealFactory(workspace=workspace, contact=contact, name=f"Deal {label}")
    factories.TaskFactory(
        workspace=workspace,
        contact=contact,
        owner=user,
        title=f"Task {label}",
        due_date=timezone.localdate() + dt.timedelta(days=1),
    )


def test_merge__everything_moves_other_deleted_audited(workspace, user, pair):
    keep, other = pair
    _history(workspace, keep, user, "kept")
    _history(workspace, other, user, "other")
    other_pk = other.pk

    entry = services_merge.contact_merge(
        keep=keep, other=other, choices={"first_name": "other"}, actor=user
    )

    assert not Contact.objects.filter(pk=other_pk).exists()
    for model in (Interaction, Order, Deal, Task):
        assert set(model.objects.values_list("contact_id", flat=True)) == {keep.pk}
        assert model.objects.count() == 2
    keep.refresh_from_db()
    # Chosen from the other; defaults: kept values, the other's where the kept is empty.
    assert (keep.first_name, keep.email, keep.phone) == ("John", "jon@acme.example", "+1 555 0100")
    assert keep.owner == user
    assert keep.attributes == {"plan": "basic", "size": "10", "language": "fr"}
    assert entry == AuditEntry.objects.get()
    assert (entry.action, entry.object_type, entry.object_id, entry.actor) == (
        "merge",
        "contact",
        keep.pk,
        user,
    )
    assert entry.details["kept_id"] == keep.pk
    assert entry.details["merged_id"] == other_pk
    assert entry.details["fields"]["first_name"] == other_pk
    assert entry.details["fields"]["phone"] == other_pk
    assert entry.details["fields"]["attributes.language"] == other_pk
    assert entry.details["fields"]["email"] == keep.pk
    assert entry.details["moved"] == {"interaction": 1, "order": 1, "deal": 1, "task": 1}
    assert entry.summary.startswith(f"Merged contact “John Smith” (#{other_pk}) into “Jon Smith”")
    assert f"kept from #{other_pk}: attributes.language, first_name, phone" in entry.summary
    # No personal values in the audit log: ids and field names only.
    assert "jon@acme.example" not in str(entry.details)
    assert "+1 555 0100" not in str(entry.details) + entry.summary


def test_merge__email_of_the_other__taken_over(workspace, user, pair):
    keep, other = pair
    services_merge.contact_merge(keep=keep, other=other, choices={"email": "other"}, actor=user)
    keep.refresh_from_db()
    assert keep.email == "john.smith@acme.example"
    event = OutboxEvent.objects.filter(name="contact.updated").get()
    assert event.payload["id"] == keep.pk
    assert event.payload["changed"] == ["attributes", "email", "marketing_opt_out", "phone"]


def test_merge__email_with_spaces_taken__trimmed(workspace, user):
    keep = make(workspace, email="ada@example.com")
    other = make(workspace, email=" Ada@Example.org ")
    services_merge.contact_merge(keep=keep, other=other, choices={"email": "other"}, actor=user)
    keep.refresh_from_db()
    assert keep.email == "Ada@Example.org"


@pytest.mark.parametrize(
    ("keep_flags", "other_flags"),
    [
        ((False, False), (True, True)),
        ((True, True), (False, False)),
        ((True, False), (False, True)),
    ],
)
def test_merge__privacy__stricter_wins(workspace, user, keep_flags, other_flags):
    keep = make(workspace, marketing_opt_out=keep_flags[0], do_not_profile=keep_flags[1])
    other = make(workspace, marketing_opt_out=other_flags[0], do_not_profile=other_flags[1])
    entry = services_merge.contact_merge(keep=keep, other=other, actor=user)
    keep.refresh_from_db()
    assert (keep.marketing_opt_out, keep.do_not_profile) == (True, True)
    assert entry.details["privacy"] == {"marketing_opt_out": True, "do_not_profile": True}


def test_merge__neither_opted_out__stays_subscribed(workspace, user):
    keep, other = make(workspace), make(workspace)
    services_merge.contact_merge(keep=keep, other=other, actor=user)
    keep.refresh_from_db()
    assert (keep.marketing_opt_out, keep.do_not_profile) == (False, False)


def test_merge__same_contact_or_other_workspace_or_bad_choice__refused(workspace, sandbox, user):
    keep, other = make(workspace), make(workspace)
    foreign = make(sandbox)
    with pytest.raises(services_merge.ValidationError):
        services_merge.contact_merge(keep=keep, other=keep, actor=user)
    with pytest.raises(services_merge.ValidationError):
        services_merge.contact_merge(keep=keep, other=foreign, actor=user)
    with pytest.raises(services_merge.ValidationError):
        services_merge.contact_merge(keep=keep, other=other, choices={"email": "both"})
    with pytest.raises(services_merge.ValidationError):
        services_merge.contact_merge(keep=keep, other=other, choices={"workspace": "other"})
    assert Contact.objects.count() == 3
    assert not AuditEntry.objects.exists()


def test_merge__covers_every_relation_to_contact():
    """Rows are moved through every relation to Contact: any app's relation counts."""
    relations = {
        f"{r.related_model._meta.label}.{r.field.name}" for r in services_merge.contact_relations()
    }
    assert {
        "crmcore.Interaction.contact",
        "crmcore.Order.contact",
        "crmcore.Deal.contact",
        "crmcore.Task.contact",
    } <= relations


# Pages ---------------------------------------------------------------------------------


def test_duplicates_page__lists_pairs_with_reasons(logged_in_client, workspace, user):
    a = make(workspace, first_name="Ada", last_name="King", phone="555 123 456", owner=user)
    b = make(workspace, first_name="Ada", last_name="Byron", phone="555-123-456")
    response = logged_in_client.get(reverse("contact-duplicates"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="duplicate-pair"' in html
    assert "Same phone" in html
    assert reverse("contact-merge", args=[a.pk, b.pk]) in html


def test_duplicates_page__query_count_pinned(
    logged_in_client, workspace, user, django_assert_num_queries, core_only
):
    for i in range(30):
        make(workspace, phone=f"555 888 {i:03d}", owner=user)
        make(workspace, phone=f"555-888-{i:03d}")
    # session, user, workspace, suggestions, the page's contacts
    with django_assert_num_queries(5):
        response = logged_in_client.get(reverse("contact-duplicates"))
    assert response.content.decode().count('data-testid="duplicate-pair"') == 25
    second = logged_in_client.get(reverse("contact-duplicates"), {"page": 2})
    assert second.content.decode().count('data-testid="duplicate-pair"') == 5


def test_duplicates_and_merge_pages__contacts_is_the_current_section(logged_in_client, pair):
    keep, other = pair
    for url in (reverse("contact-duplicates"), reverse("contact-merge", args=[keep.pk, other.pk])):
        html = logged_in_client.get(url).content.decode()
        assert f'<a href="{reverse("contact-list")}" aria-current="page">Contacts</a>' in html


def test_duplicates_page__other_workspace_pairs_hidden(logged_in_client, sandbox):
    make(sandbox, phone="555 123 999")
    make(sandbox, phone="555-123-999")
    response = logged_in_client.get(reverse("contact-duplicates"))
    assert 'data-testid="no-duplicates"' in response.content.decode()


def test_duplicates_page__bad_page_number__first_page(logged_in_client):
    assert logged_in_client.get(reverse("contact-duplicates"), {"page": "x'"}).status_code == 200


def test_duplicates_page__anonymous__login(client):
    response = client.get(reverse("contact-duplicates"))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_contact_list__links_to_duplicates(logged_in_client):
    html = logged_in_client.get(reverse("contact-list")).content.decode()
    assert f'href="{reverse("contact-duplicates")}" data-testid="find-duplicates"' in html


def test_merge_page__shows_both_values_defaults_checked(logged_in_client, pair):
    keep, other = pair
    response = logged_in_client.get(reverse("contact-merge", args=[keep.pk, other.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "jon@acme.example" in html and "john.smith@acme.example" in html
    assert 'name="email" value="keep" checked' in html
    assert 'name="phone" value="other" checked' in html  # the kept one has none
    assert 'name="last_name"' not in html  # the same on both: nothing to choose
    assert "Opted out of marketing email: <strong>yes</strong>" in html


def test_merge_page__post__merged_with_message(logged_in_client, workspace, user, pair):
    keep, other = pair
    factories.InteractionFactory(workspace=workspace, contact=other, subject="Hello")
    url = reverse("contact-merge", args=[keep.pk, other.pk])
    response = logged_in_client.post(url, {"first_name": "other", "confirm": "1"}, follow=True)
    assert response.redirect_chain == [(reverse("contact-detail", args=[keep.pk]), 302)]
    html = response.content.decode()
    assert (
        f"Merged “John Smith” (#{other.pk}) into “John Smith” (#{keep.pk}). "
        f"Taken from #{other.pk}: first name, phone, language. Moved to it: 1 interaction."
    ) in html
    assert not Contact.objects.filter(pk=other.pk).exists()
    assert AuditEntry.objects.get().action == "merge"


def test_merge_page__nothing_taken_nothing_attached__says_so(logged_in_client, workspace):
    keep, other = make(workspace), make(workspace, first_name="Zed")
    response = logged_in_client.post(
        reverse("contact-merge", args=[keep.pk, other.pk]), {"confirm": "1"}, follow=True
    )
    assert (
        f"Merged “{other.full_name}” (#{other.pk}) into “{keep.full_name}” (#{keep.pk}). "
        "Nothing else was attached to it."
    ) in response.content.decode()


def test_merge_page__not_confirmed__400_nothing_merged(logged_in_client, pair):
    keep, other = pair
    response = logged_in_client.post(
        reverse("contact-merge", args=[keep.pk, other.pk]), {"first_name": "other"}
    )
    assert response.status_code == 400
    assert "Tick the box to confirm the merge." in response.content.decode()
    assert Contact.objects.count() == 2


def test_merge_page__hostile_choice__400_nothing_merged(logged_in_client, pair):
    keep, other = pair
    response = logged_in_client.post(
        reverse("contact-merge", args=[keep.pk, other.pk]),
        {"email": "<script>", "phone": "", "confirm": "1", "workspace": "other"},
    )
    assert response.status_code == 400
    assert Contact.objects.count() == 2
    assert not AuditEntry.objects.exists()


def test_merge_page__invalid_stored_value__400_with_reason_not_500(logged_in_client, pair):
    keep, other = pair
    # The same on both: not one of the form's choices, so the error is the form's own
    Contact.objects.update(lifecycle_stage="bogus")
    response = logged_in_client.post(
        reverse("contact-merge", args=[keep.pk, other.pk]), {"confirm": "1"}
    )
    assert response.status_code == 400
    assert "lifecycle_stage: Value &#x27;bogus&#x27; is not a valid choice." in (
        response.content.decode()
    )
    assert Contact.objects.count() == 2
    assert not AuditEntry.objects.exists()


def test_merge_page__same_contact__400(logged_in_client, pair):
    keep, _ = pair
    url = reverse("contact-merge", args=[keep.pk, keep.pk])
    assert logged_in_client.get(url).status_code == 400
    assert logged_in_client.post(url, {"confirm": "1"}).status_code == 400
    assert Contact.objects.filter(pk=keep.pk).exists()


def test_merge_page__other_workspace_or_missing__404(logged_in_client, sandbox, pair):
    keep, _ = pair
    foreign = make(sandbox)
    for args in ([keep.pk, foreign.pk], [foreign.pk, keep.pk], [keep.pk, 999999]):
        url = reverse("contact-merge", args=args)
        assert logged_in_client.get(url).status_code == 404
        assert logged_in_client.post(url, {"confirm": "1"}).status_code == 404
    assert logged_in_client.get("/contacts/1/merge/x/").status_code == 404
    assert Contact.objects.filter(pk=foreign.pk).exists()


def test_merge_page__someone_elses_contact__403(logged_in_client, workspace, pair):
    keep, _ = pair
    theirs = make(workspace, owner=factories.UserFactory(username="other"))
    for args in ([keep.pk, theirs.pk], [theirs.pk, keep.pk]):
        url = reverse("contact-merge", args=args)
        response = logged_in_client.post(url, {"confirm": "1"})
        assert response.status_code == 403
        assert "Only the owner of this contact or an administrator" in response.content.decode()
    assert Contact.objects.count() == 3
    assert not AuditEntry.objects.exists()


def test_merge_page__trainee_in_own_sandbox__may_merge_generated_contacts(client, sandbox):
    # Given a sandbox's contacts owned by the demo users, and its trainee entered in it
    alice = factories.UserFactory(username="alice")
    keep = make(sandbox, owner=alice, phone="555 404 404")
    other = make(sandbox, owner=alice, phone="555-404-404")
    client.force_login(sandbox.owner)
    session = client.session
    session["crm_workspace_id"] = sandbox.pk
    session.save()
    # When the trainee merges them, then it is done
    listing = client.get(reverse("contact-duplicates")).content.decode()
    response = client.post(reverse("contact-merge", args=[keep.pk, other.pk]), {"confirm": "1"})
    assert response.status_code == 302
    assert list(Contact.objects.values_list("pk", flat=True)) == [keep.pk]
    assert 'data-testid="review-merge"' in listing


def test_merge_page__admin__may_merge_anyones(staff_client, workspace):
    owner = factories.UserFactory(username="other")
    keep, other = make(workspace, owner=owner), make(workspace, owner=owner)
    response = staff_client.post(
        reverse("contact-merge", args=[keep.pk, other.pk]), {"confirm": "1"}
    )
    assert response.status_code == 302
    assert list(Contact.objects.values_list("pk", flat=True)) == [keep.pk]


def test_duplicates_page__someone_elses_pair__no_merge_button(logged_in_client, workspace):
    theirs = factories.UserFactory(username="other")
    make(workspace, phone="555 222 333", owner=theirs)
    make(workspace, phone="555-222-333", owner=theirs)
    html = logged_in_client.get(reverse("contact-duplicates")).content.decode()
    assert 'data-testid="duplicate-pair"' in html
    assert 'data-testid="review-merge"' not in html
    assert "Owned by someone else" in html


def test_merge__query_count_does_not_grow_with_rows(workspace, user):
    """Moving rows is one UPDATE per relation, not one per row."""

    def merge_with(n: int) -> int:
        keep, other = make(workspace), make(workspace)
        factories.InteractionFactory.create_batch(n, workspace=workspace, contact=other)
        with CaptureQueriesContext(connection) as queries:
            services_merge.contact_merge(keep=keep, other=other, actor=user)
        return len(queries)

    assert merge_with(1) == merge_with(8)
