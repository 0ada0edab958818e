"""Defaults of the training_sandbox settings; override with TRAINING_SANDBOX_<NAME>."""

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
