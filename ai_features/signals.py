"""Cache invalidation for the gate. Signals here only flush caches.

Each flush also forgets the gate answers memoised by the running request
(``ai_features.per_request``), so a request that changes the rollout sees
its change.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from waffle import get_waffle_switch_model

from ai_features import per_request
from ai_features.flag_cache import user_memberships_key
from ai_features.gate import KILL_SWITCH, KILL_SWITCH_CACHE_KEY
from ai_features.models import Flag
from crmcore.models import Team

CHANGES = ("post_add", "post_remove", "post_clear", "pre_clear")


def _flush_users(user_ids) -> None:
    per_request.forget()
    if user_ids:
        cache.delete_many([user_memberships_key(pk) for pk in user_ids])


@receiver(m2m_changed, sender=Team.members.through, dispatch_uid="ai_team_members_changed")
def team_members_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    """A user joined or left a team: forget the cached team ids of those users."""
    if action not in CHANGES:
        return
    if reverse:  # user.crm_teams.add(...): instance is the user
        _flush_users([instance.pk])
    elif action == "pre_clear":
        _flush_users(list(instance.members.values_list("pk", flat=True)))
    else:
        _flush_users(pk_set or ())


@receiver(
    m2m_changed, sender=get_user_model().groups.through, dispatch_uid="ai_user_groups_changed"
)
def user_groups_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    if action not in CHANGES:
        return
    if not reverse:  # user.groups.add(...)
        _flush_users([instance.pk])
    elif action == "pre_clear":
        _flush_users(list(instance.user_set.values_list("pk", flat=True)))
    else:
        _flush_users(pk_set or ())


@receiver(m2m_changed, sender=Flag.teams.through, dispatch_uid="ai_flag_teams_changed")
@receiver(m2m_changed, sender=Flag.users.through, dispatch_uid="ai_flag_users_changed")
@receiver(m2m_changed, sender=Flag.groups.through, dispatch_uid="ai_flag_groups_changed")
def flag_members_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    """A flag's users, teams or groups changed (also after a clear)."""
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    per_request.forget()
    if isinstance(instance, Flag):
        instance.flush()
    else:
        for flag in Flag.objects.filter(pk__in=pk_set or ()):
            flag.flush()
        if action == "post_clear":
            for flag in Flag.objects.all():
                flag.flush()


@receiver(post_delete, sender=Team, dispatch_uid="ai_team_deleted")
def team_deleted(sender, instance, **kwargs) -> None:
    per_request.forget()
    for flag in Flag.objects.all():
        flag.flush()


@receiver(post_save, sender=get_waffle_switch_model(), dispatch_uid="ai_switch_saved")
@receiver(post_delete, sender=get_waffle_switch_model(), dispatch_uid="ai_switch_deleted")
def kill_switch_changed(sender, instance, **kwargs) -> None:
    """Forget the gate's cached kill switch, now and again after the commit."""
    if instance.name == KILL_SWITCH:
        per_request.forget()
        cache.delete(KILL_SWITCH_CACHE_KEY)
        transaction.on_commit(lambda: cache.delete(KILL_SWITCH_CACHE_KEY))


@receiver(post_save, sender=Flag, dispatch_uid="ai_flag_saved_forget_request_memo")
@receiver(post_delete, sender=Flag, dispatch_uid="ai_flag_deleted_forget_request_memo")
def flag_changed(sender, instance, **kwargs) -> None:
    """A flag's own fields changed (waffle flushes its caches): forget the request's answers."""
    per_request.forget()
