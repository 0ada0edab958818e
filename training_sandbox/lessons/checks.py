"""The registry of generic lesson checks.

A step's check is a dict naming its ``type`` and parameters. Each type is one
function ``(context, params) -> CheckResult`` that inspects what the trainee
did in their sandbox; every query is scoped to the sandbox workspace.

``records``
    Rows of a workspace-scoped model: ``model`` ("app_label.Model"),
    ``filter`` and ``exclude`` (Django lookups), ``min`` (default 1),
    ``user_field`` (a field that must be the trainee, e.g. "author"),
    ``since`` ("lesson_start" or absent) on ``since_field`` (default
    "created_at").
``events``
    Domain events recorded in the sandbox (``SandboxEvent``): ``event`` (its
    name), ``payload`` (keys that must match), ``min``, ``since``.

Every check takes ``missing``: the sentence shown while it is not met.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist

from training_sandbox.models import SandboxEvent


class LessonError(ValueError):
    """A lesson definition that does not follow the format."""


SINCE_VALUES = (None, "lesson_start")


@dataclass(frozen=True)
class CheckContext:
    user: Any
    workspace: Any
    started_at: dt.datetime


@dataclass(frozen=True)
class CheckResult:
    passed: bool
    found: int
    needed: int
    missing: str = ""


@dataclass(frozen=True)
class CheckType:
    name: str
    run: Callable[[CheckContext, dict[str, Any]], CheckResult]
    validate: Callable[[dict[str, Any]], None]


_check_types: dict[str, CheckType] = {}


def register_check(name: str, *, validate: Callable[[dict[str, Any]], None]):
    def decorator(run):
        _check_types[name] = CheckType(name=name, run=run, validate=validate)
        return run

    return decorator


def check_types() -> list[str]:
    return sorted(_check_types)


def validate_check(check: dict[str, Any]) -> None:
    check_type = _check_types.get(check.get("type", ""))
    if check_type is None:
        raise LessonError(
            f"unknown check type {check.get('type')!r} (known: {', '.join(check_types())})"
        )
    minimum = check.get("min", 1)
    if not isinstance(minimum, int) or minimum < 1:
        raise LessonError(f"'min' must be a positive integer, not {minimum!r}")
    if check.get("since") not in SINCE_VALUES:
        raise LessonError(f"'since' must be one of {SINCE_VALUES}, not {check.get('since')!r}")
    check_type.validate(check)


def run_check(context: CheckContext, check: dict[str, Any]) -> CheckResult:
    return _check_types[check["type"]].run(context, check)


def _result(found: int, check: dict[str, Any], default_missing: str) -> CheckResult:
    needed = check.get("min", 1)
    if found >= needed:
        return CheckResult(passed=True, found=found, needed=needed)
    text = check.get("missing") or default_missing
    since = " since you started this lesson" if check.get("since") == "lesson_start" else ""
    return CheckResult(
        passed=False,
        found=found,
        needed=needed,
        missing=f"{text} (found {found} of {needed}{since}).",
    )


# -- records ------------------------------------------------------------------


def _model(label: str):
    try:
        return apps.get_model(label)
    except (LookupError, ValueError):
        raise LessonError(f"unknown model {label!r}") from None


def _field_names(model, lookups: dict[str, Any], what: str) -> None:
    for lookup in lookups:
        name = lookup.split("__", 1)[0]
        try:
            model._meta.get_field(name)
        except FieldDoesNotExist:
            raise LessonError(f"{what}: {model.__name__} has no field {name!r}") from None


def _validate_records(check: dict[str, Any]) -> None:
    model = _model(check.get("model", ""))
    try:
        model._meta.get_field("workspace")
    except FieldDoesNotExist:
        raise LessonError(f"{model.__name__} is not workspace-scoped") from None
    for key in ("filter", "exclude"):
        if not isinstance(check.get(key, {}), dict):
            raise LessonError(f"'{key}' must be an object")
        _field_names(model, check.get(key, {}), key)
    extra = {k: None for k in (check.get("user_field"), check.get("since_field")) if k}
    _field_names(model, extra, "field")


@register_check("records", validate=_validate_records)
def records_check(context: CheckContext, check: dict[str, Any]) -> CheckResult:
    model = apps.get_model(check["model"])
    rows = model._default_manager.filter(workspace_id=context.workspace.pk)
    if check.get("filter"):
        rows = rows.filter(**check["filter"])
    if check.get("exclude"):
        rows = rows.exclude(**check["exclude"])
    if check.get("user_field"):
        rows = rows.filter(**{check["user_field"]: context.user.pk})
    if check.get("since") == "lesson_start":
        rows = rows.filter(**{f"{check.get('since_field', 'created_at')}__gte": context.started_at})
    found = rows.count()
    return _result(found, check, f"Not done yet: {model._meta.verbose_name_plural}")


# -- events -------------------------------------------------------------------


def _validate_events(check: dict[str, Any]) -> None:
    if not check.get("event"):
        raise LessonError("'event' is required")
    if not isinstance(check.get("payload", {}), dict):
        raise LessonError("'payload' must be an object")


@register_check("events", validate=_validate_events)
def events_check(context: CheckContext, check: dict[str, Any]) -> CheckResult:
    rows = SandboxEvent.objects.filter(workspace_id=context.workspace.pk, name=check["event"])
    for key, value in check.get("payload", {}).items():
        rows = rows.filter(**{f"payload__{key}": value})
    if check.get("since") == "lesson_start":
        rows = rows.filter(created_at__gte=context.started_at)
    found = rows.count()
    return _result(found, check, f"Not done yet: {check['event']}")
