"""The Celery app.

With no ``CELERY_BROKER_URL`` tasks run eagerly in-process (the embedded
default); with one set they run on workers (``celery -A crmcore worker``).
"""

import os

from celery import Celery

from crmcore import observability

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crmcore.settings")

app = Celery("pilotcrm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Job durations and failures for /metrics (crmcore.observability).
observability.connect_celery_signals()
