"""The fixed parts of every generated workspace: products, teams, demo users.

The product catalogue is built of chains: a customer who bought one product
of a chain tends to buy the next one on a later order (Starter plan -> Pro
plan -> Analytics add-on -> Enterprise plan; Onboarding package -> Training
workshop -> Premium support; Data import -> Integration pack -> Warehouse
connector). Stand-alone products are bought now and then by anyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class ProductSpec:
    sku: str
    name: str
    category: str
    price: Decimal


PRODUCTS: tuple[ProductSpec, ...] = (
    ProductSpec("PLAN-STARTER", "Starter plan", "Subscription", Decimal("49.00")),
    ProductSpec("PLAN-PRO", "Pro plan", "Subscription", Decimal("149.00")),
    ProductSpec("ADDON-ANALYTICS", "Analytics add-on", "Add-on", Decimal("79.00")),
    ProductSpec("PLAN-ENTERPRISE", "Enterprise plan", "Subscription", Decimal("499.00")),
    ProductSpec("SVC-ONBOARDING", "Onboarding package", "Services", Decimal("1200.00")),
    ProductSpec("SVC-TRAINING", "Training workshop", "Services", Decimal("2400.00")),
    ProductSpec("SVC-PREMIUM", "Premium support", "Services", Decimal("3600.00")),
    ProductSpec("DATA-IMPORT", "Data import service", "Data", Decimal("800.00")),
    ProductSpec("DATA-INTEGRATION", "Integration pack", "Data", Decimal("1500.00")),
    ProductSpec("DATA-WAREHOUSE", "Warehouse connector", "Data", Decimal("2200.00")),
    ProductSpec("ADDON-SEATS", "Extra seats pack", "Add-on", Decimal("10.00")),
    ProductSpec("ADDON-API", "API access add-on", "Add-on", Decimal("99.00")),
    ProductSpec("SVC-CONSULTING", "Consulting hours", "Services", Decimal("180.00")),
    ProductSpec("SVC-CERTIFICATION", "Certification exam", "Services", Decimal("250.00")),
)

# Purchase chains: the usual next purchase after each product.
CHAINS: dict[str, tuple[str, ...]] = {
    "platform": ("PLAN-STARTER", "PLAN-PRO", "ADDON-ANALYTICS", "PLAN-ENTERPRISE"),
    "services": ("SVC-ONBOARDING", "SVC-TRAINING", "SVC-PREMIUM"),
    "data": ("DATA-IMPORT", "DATA-INTEGRATION", "DATA-WAREHOUSE"),
}
# The chain a customer starts in, weighted.
CHAIN_WEIGHTS: dict[str, float] = {"platform": 0.6, "services": 0.25, "data": 0.15}
STANDALONE: tuple[str, ...] = ("ADDON-SEATS", "ADDON-API", "SVC-CONSULTING", "SVC-CERTIFICATION")
# The plan a contact is on: the highest subscription bought.
PLAN_OF_SKU: dict[str, str] = {
    "PLAN-STARTER": "starter",
    "PLAN-PRO": "pro",
    "PLAN-ENTERPRISE": "enterprise",
}
PLAN_RANK = {"none": 0, "trial": 0, "starter": 1, "pro": 2, "enterprise": 3}

TEAM_NAMES: tuple[str, ...] = ("EMEA Sales", "AMER Sales", "Support")


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    role: str
    teams: tuple[str, ...] = ()
    is_staff: bool = False
    is_superuser: bool = False

    @property
    def description(self) -> str:
        teams = " + ".join(self.teams)
        return f"{self.role}: {teams}" if teams else self.role


# Global users (auth users); their team memberships are made in each workspace.
DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("admin", "Ada", "Admin", "admin (staff, superuser)", (), True, True),
    DemoUser("alice", "Alice", "Andersen", "sales rep", ("EMEA Sales",)),
    DemoUser("bob", "Bob", "Baker", "sales rep", ("AMER Sales",)),
    DemoUser("carol", "Carol", "Chen", "support rep", ("Support",)),
    DemoUser("dave", "Dave", "Dubois", "sales and support rep", ("EMEA Sales", "Support")),
)

REGIONS: tuple[tuple[str, float], ...] = (("EMEA", 0.45), ("AMER", 0.4), ("APAC", 0.15))
SEGMENTS: tuple[tuple[str, float], ...] = (
    ("SMB", 0.5),
    ("Mid-market", 0.32),
    ("Enterprise", 0.18),
)
# Faker locales per region, for names.
LOCALES: dict[str, tuple[str, ...]] = {
    "EMEA": ("en_GB", "de_DE", "fr_FR", "es_ES", "nl_NL"),
    "AMER": ("en_US", "en_US", "es_MX", "pt_BR", "en_CA"),
    "APAC": ("en_AU", "en_IN", "en_NZ"),
}
COMPANY_SUFFIXES: dict[str, tuple[str, ...]] = {
    "EMEA": ("Ltd", "GmbH", "SARL", "S.L.", "B.V.", "Group", "Partners"),
    "AMER": ("Inc", "LLC", "Corp", "Group", "Ltda", "S.A."),
    "APAC": ("Pty Ltd", "Ltd", "Group", "Pvt Ltd"),
}
INDUSTRIES: tuple[str, ...] = (
    "Software",
    "Retail",
    "Manufacturing",
    "Health",
    "Finance",
    "Logistics",
    "Education",
    "Media",
)
SEATS_BY_SEGMENT: dict[str, tuple[int, int]] = {
    "SMB": (2, 15),
    "Mid-market": (15, 80),
    "Enterprise": (80, 500),
}
