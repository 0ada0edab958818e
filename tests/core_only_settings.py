"""PilotCRM settings without the plugins: the CRM alone.

``tests/crmcore/test_core_only.py`` runs the crmcore tests with these settings
to show the CRM works with ``ai_features`` (and its capability apps),
``training_sandbox`` and waffle left out of ``INSTALLED_APPS``.
"""

from crmcore.settings import *  # noqa: F403
from crmcore.settings import DATABASES, INSTALLED_APPS

INSTALLED_APPS = [
    app
    for app in INSTALLED_APPS
    if app != "waffle" and app != "training_sandbox" and not app.startswith("ai_features")
]

for _name in [name for name in globals() if name.startswith("WAFFLE_")]:
    del globals()[_name]

# A test database of its own, so that this run never touches the one of the
# test session that started it (PostgreSQL; SQLite tests use memory).
DATABASES = {**DATABASES, "default": {**DATABASES["default"]}}
DATABASES["default"]["TEST"] = {
    **DATABASES["default"].get("TEST", {}),
    "NAME": (
        None
        if DATABASES["default"]["ENGINE"].endswith("sqlite3")
        else f"test_{DATABASES['default']['NAME']}_core_only"
    ),
}
