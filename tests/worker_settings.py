"""Settings of the Celery workers that the kill tests start and kill.

The normal settings, with campaign builds in chunks of ten contacts so that
a small campaign is built in several chunks.
"""

from crmcore.settings import *  # noqa: F403

AI_PERSONALIZATION_CHUNK_SIZE = 10
