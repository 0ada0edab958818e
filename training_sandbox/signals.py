"""Cache invalidation only: a changed or deleted progress row drops its cached "passed"."""

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from training_sandbox.models import LessonProgress
from training_sandbox.selectors import passed_cache_key


@receiver(post_save, sender=LessonProgress, dispatch_uid="training_sandbox_progress_saved")
@receiver(post_delete, sender=LessonProgress, dispatch_uid="training_sandbox_progress_deleted")
def lesson_progress_changed(sender, instance: LessonProgress, **kwargs) -> None:
    cache.delete(passed_cache_key(instance.user_id, instance.lesson))
