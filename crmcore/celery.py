"""The Celery app.

With no ``CELERY_BROKER_URL`` tasks run eagerly in-process (the embedded
default); with one set they run on workers (``celery -A crmcore worker``).

Tasks are acknowledged late (settings): a message whose worker was killed is
delivered again, and the run reaper (``manage.py reap_stale_runs``) re-queues
interrupted runs under their first task id. Either way a task id that already
succeeded is not run a second time (``Task.before_start``).
"""

import os

from celery import Celery
from celery import Task as BaseTask
from celery.backends.base import DisabledBackend
from celery.exceptions import Ignore
from celery.states import SUCCESS

from crmcore import observability

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crmcore.settings")


class Task(BaseTask):
    """A task that skips a delivery of a task id that has already succeeded.

    Celery's ``worker_deduplicate_successful_tasks`` does this for messages
    the broker redelivers; a run re-queued by the reaper is a new message
    under the same id, which may arrive after the redelivered one finished.
    """

    def before_start(self, task_id, args, kwargs) -> None:
        if self.request.is_eager or isinstance(self.backend, DisabledBackend):
            return
        if self.AsyncResult(task_id).state == SUCCESS:
            raise Ignore(f"Task {task_id} already succeeded")


app = Celery("pilotcrm", task_cls=Task)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Job durations and failures for /metrics (crmcore.observability).
observability.connect_celery_signals()
