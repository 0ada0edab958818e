import pytest

from crmcore import extensions


@pytest.fixture
def core_only(monkeypatch):
    """Pin crmcore's own behaviour and query counts: nothing from other apps.

    Empties the extension registries (panels, deal badges, contact columns, nav items, API field
    providers, merge fields, notices) for one test; the apps' own tests pin what their
    contributions add.
    """
    for registry in (
        extensions.contact_panels,
        extensions.deal_panels,
        extensions.deal_badges,
        extensions.contact_columns,
        extensions.nav_items,
        extensions.api_field_providers,
        extensions.merge_fields,
        extensions.notice_providers,
    ):
        monkeypatch.setattr(registry, "_items", {})
