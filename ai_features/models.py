from django.db import models
from waffle.models import AbstractUserFlag


class Flag(AbstractUserFlag):
    """The waffle flag behind each AI capability, with pilot teams."""

    teams = models.ManyToManyField(
        "crmcore.Team",
        blank=True,
        related_name="ai_flags",
        help_text="Activate this flag for the members of these teams.",
    )

    class Meta(AbstractUserFlag.Meta):
        verbose_name = "flag"
        verbose_name_plural = "flags"
