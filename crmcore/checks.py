"""System checks of the production set-up (``manage.py check --deploy``)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin
from django.core.checks import Error, register
from django.core.files.storage import storages


@register(deploy=True)
def check_static_files_collected(app_configs=None, **kwargs) -> list[Error]:
    """With a manifest storage, collectstatic must have written its manifest."""
    storage = storages["staticfiles"]
    if not isinstance(storage, ManifestFilesMixin):
        return []
    if storage.exists(storage.manifest_name):
        return []
    return [
        Error(
            f"Static files are not collected: no {storage.manifest_name} in "
            f"{settings.STATIC_ROOT}; pages would load without their styles and scripts.",
            hint="Run `make collectstatic` (manage.py collectstatic --noinput) before starting.",
            id="crmcore.E001",
        )
    ]
