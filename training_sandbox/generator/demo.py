"""What every generated workspace shares: the demo users, their teams and the products.

The users are global (``catalogue.DEMO_USERS``); each workspace gets the
teams "EMEA Sales", "AMER Sales" and "Support" with those users as members,
and the catalogue's products.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from crmcore.models import Product, Team, Workspace
from training_sandbox.generator import catalogue

__all__ = ["ensure_demo_teams", "ensure_demo_users", "ensure_products"]


def ensure_demo_users() -> dict[str, Any]:
    """Create the global demo users that are missing; return them by username.

    New users get an unusable password (``setup_demo`` sets real ones).
    Existing users keep theirs; the admin is made staff and superuser.
    """
    user_model = get_user_model()
    wanted = {spec.username: spec for spec in catalogue.DEMO_USERS}
    users = {u.username: u for u in user_model.objects.filter(username__in=wanted)}
    for spec in catalogue.DEMO_USERS:
        user = users.get(spec.username)
        if user is None:
            user = user_model(
                username=spec.username,
                first_name=spec.first_name,
                last_name=spec.last_name,
                email=f"{spec.username}@example.com",
                is_staff=spec.is_staff,
                is_superuser=spec.is_superuser,
            )
            user.set_unusable_password()
            user.save()
            users[spec.username] = user
        elif spec.is_superuser and not (user.is_staff and user.is_superuser):
            user.is_staff = user.is_superuser = True
            user.save(update_fields=["is_staff", "is_superuser"])
    return users


def ensure_demo_teams(*, workspace: Workspace, users: dict[str, Any]) -> dict[str, Team]:
    """Create the workspace's teams if missing and add the demo users to theirs."""
    teams = {t.name: t for t in Team.objects.in_workspace(workspace)}
    for name in catalogue.TEAM_NAMES:
        if name not in teams:
            teams[name] = Team.objects.create(workspace=workspace, name=name)
    for name in catalogue.TEAM_NAMES:
        members = [
            users[spec.username]
            for spec in catalogue.DEMO_USERS
            if name in spec.teams and spec.username in users
        ]
        if members:
            teams[name].members.add(*members)
    return teams


def ensure_products(*, workspace: Workspace) -> tuple[dict[str, Product], int]:
    """The catalogue's products in ``workspace`` by SKU, and how many were created."""
    existing = {p.sku: p for p in Product.objects.in_workspace(workspace)}
    missing = [
        Product(
            workspace=workspace,
            sku=spec.sku,
            name=spec.name,
            category=spec.category,
            price=spec.price,
        )
        for spec in catalogue.PRODUCTS
        if spec.sku not in existing
    ]
    Product.objects.bulk_create(missing)
    products = {p.sku: p for p in Product.objects.in_workspace(workspace)}
    return products, len(missing)
