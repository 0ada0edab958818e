"""Settings of the personalization capability: ``AI_PERSONALIZATION_<NAME>``.

Each is read from the Django setting, then the environment variable of the
same name, then the default here (see :mod:`crmcore.conf`).
"""

from __future__ import annotations

from crmcore.conf import AppSettings


class PersonalizationSettings(AppSettings):
    prefix = "AI_PERSONALIZATION_"

    #: Contacts per build or send chunk (a fixed number of queries per chunk).
    CHUNK_SIZE: int = 1000
    #: Contacts shown in the builder's preview sample.
    PREVIEW_SIZE: int = 3
    #: Built messages per page of the message list.
    MESSAGES_PER_PAGE: int = 50
    #: Messages claimed and sent together (one mail connection, one bulk write).
    SEND_CHUNK_SIZE: int = 100
    #: An inbound interaction this many days after a send counts as a reply to it.
    REPLY_WINDOW_DAYS: int = 14
    #: Seconds a suggested reply, once composed, is kept in the cache for the
    #: same inbound message, user and access (0: composed on every view).
    REPLY_CACHE_SECONDS: int = 60


app_settings = PersonalizationSettings()
