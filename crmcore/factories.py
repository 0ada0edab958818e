"""factory_boy factories for the CRM domain.

One module, shared by the tests and the demo/sandbox data generator. Every
factory takes a ``workspace``; when none is given the production workspace is
used. Faker is seeded through factory_boy (``factory.random.reseed_random``),
so the same seed gives the same data.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone
from factory.django import DjangoModelFactory

from crmcore import models
from crmcore.workspaces import production_workspace


def _production_workspace() -> models.Workspace:
    return production_workspace()


class UserFactory(DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    is_staff = False

    @factory.post_generation
    def password(self, create: bool, extracted: str | None, **kwargs) -> None:
        self.set_password(extracted or "pw-for-tests-only")
        if create:
            self.save(update_fields=["password"])


class StaffUserFactory(UserFactory):
    is_staff = True
    is_superuser = True


class WorkspaceFactory(DjangoModelFactory):
    class Meta:
        model = models.Workspace

    name = factory.Sequence(lambda n: f"Workspace {n}")
    kind = models.Workspace.Kind.PRODUCTION


class SandboxWorkspaceFactory(WorkspaceFactory):
    kind = models.Workspace.Kind.SANDBOX
    owner = factory.SubFactory(UserFactory)
    name = factory.LazyAttribute(lambda w: f"Sandbox of {w.owner.username}")
    seed = 42


class WorkspaceScopedFactory(DjangoModelFactory):
    class Meta:
        abstract = True

    workspace = factory.LazyFunction(_production_workspace)


class TeamFactory(WorkspaceScopedFactory):
    class Meta:
        model = models.Team
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Team {n}")

    @factory.post_generation
    def members(self, create: bool, extracted, **kwargs) -> None:
        if create and extracted:
            self.members.add(*extracted)


class AccountFactory(WorkspaceScopedFactory):
    class Meta:
        model = models.Account

    name = factory.Faker("company")
    domain = factory.Faker("domain_name")
    industry = factory.Faker(
        "random_element", elements=["Software", "Retail", "Manufacturing", "Health", "Finance"]
    )
    region = factory.Faker("random_element", elements=["EMEA", "AMER", "APAC"])


class ContactFactory(WorkspaceScopedFactory):
    class Meta:
        model = models.Contact

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttributeSequence(
        lambda c, n: f"{c.first_name}.{c.last_name}.{n}@example.com".lower().replace(" ", "")
    )
    phone = factory.Faker("numerify", text="+1555#######")
    account = factory.SubFactory(AccountFactory, workspace=factory.SelfAttribute("..workspace"))
    lifecycle_stage = models.Contact.Stage.CUSTOMER
    region = factory.Faker("random_element", elements=["EMEA", "AMER", "APAC"])
    segment = factory.Faker("random_element", elements=["SMB", "Mid-market", "Enterprise"])
    attributes = factory.LazyFunction(dict)


class ProductFactory(WorkspaceScopedFactory):
    class Meta:
        model = models.Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    category = "Software"
    price = Decimal("99.00")


class OrderFactory(WorkspaceScopedFactory):
    class Meta:
        model = models.Order

    contact = factory.SubFactory(ContactFactory, workspace=factory.SelfAttribute("..workspace"))
    ordered_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=30))
    status = models.Order.Status.PAID
    total = Decimal("99.00")


class OrderLineFactory(WorkspaceScopedFactory):
    class Meta:
        model = models.OrderLine

    order = factory.SubFactory(OrderFactory, workspace=factory.SelfAttribute("..workspace"))
    product = factory.SubFactory(ProductFactory, workspace=factory.SelfAttribute("..workspace"))
    quantity = 1
    unit_price = Decimal("99.00")


class InteractionFactory(WorkspaceScopedFactory):
    class Meta:
        model = models.Interaction

    contact = factory.SubFactory(ContactFactory, workspace=factory.SelfAttribute("..workspace"))
    channel = models.Interaction.Channel.EMAIL
    direction = models.Interaction.Direction.INBOUND
    subject = factory.Faker("sentence", nb_words=5)
    body = factory.Faker("paragraph", nb_sentences=3)
    occurred_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=1))


class DealFactory(WorkspaceScopedFactory):
    class Meta:
        model = models.Deal

    name = factory.Faker("catch_phrase")
    contact = factory.SubFactory(ContactFactory, workspace=factory.SelfAttribute("..workspace"))
    account = factory.SelfAttribute("contact.account")
    stage = models.Deal.Stage.QUALIFIED
    amount = Decimal("5000.00")
    expected_close = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=30))


class CampaignFactory(WorkspaceScopedFactory):
    class Meta:
        model = models.Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    goal = models.Campaign.Goal.CHECK_IN
    audience = factory.LazyFunction(lambda: {"lifecycle_stage": "customer"})
    subject_template = "Hello {first_name}"
    body_template = "Hi {first_name}, just checking in."


class TaskFactory(WorkspaceScopedFactory):
    class Meta:
        model = models.Task

    title = factory.Sequence(lambda n: f"Task {n}")
    due_date = factory.LazyFunction(timezone.localdate)
    owner = factory.SubFactory(UserFactory)
