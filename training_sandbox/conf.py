"""Settings of training_sandbox: ``TRAINING_SANDBOX_<NAME>``.

Each is read from the Django setting, then the environment variable of the
same name, then the default here (see :mod:`crmcore.conf`).
"""

from __future__ import annotations

from crmcore.conf import AppSettings


class TrainingSandboxSettings(AppSettings):
    prefix = "TRAINING_SANDBOX_"

    #: Contacts in a sandbox created with one click.
    DEFAULT_CONTACTS: int = 500
    #: Generator seed of a sandbox created without one (the same for everyone, so
    #: two trainees see the same data and can compare).
    DEFAULT_SEED: int = 42
    #: Largest sandbox the web page offers (larger ones: ``manage.py sandbox create``).
    WEB_MAX_CONTACTS: int = 10_000
    #: Largest sandbox at all.
    MAX_CONTACTS: int = 100_000
    #: Prepare a new or reset sandbox's AI in the background (analyse tones, train,
    #: score), so every capability works when the trainee enters it.
    PREPARE_AI: bool = True
    #: Extra directories of lesson JSON files.
    LESSON_DIRS: list[str] = []


app_settings = TrainingSandboxSettings()
