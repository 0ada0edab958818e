"""Bounds on JSON that comes from outside: nesting depth, size, keys, NUL characters.

Python's JSON decoder recurses once per level, so a body nested a thousand
levels deep raises RecursionError instead of a ValueError; and PostgreSQL
refuses a NUL character in text and in ``jsonb``. :func:`loads` and
:func:`check_depth` bound the depth of anything parsed from a request (the
API's JSON parser, mapping texts); :func:`validate_json_object` bounds a
stored JSON object (``Contact.attributes``, ``Campaign.audience``).

Settings (environment variables of the same name):
``JSON_MAX_DEPTH`` (32) for request bodies; ``JSON_FIELD_MAX_KEYS`` (100),
``JSON_FIELD_MAX_BYTES`` (16384) and ``JSON_FIELD_MAX_DEPTH`` (5) for stored objects.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError

DEFAULTS = {
    "JSON_MAX_DEPTH": 32,
    "JSON_FIELD_MAX_KEYS": 100,
    "JSON_FIELD_MAX_BYTES": 16384,
    "JSON_FIELD_MAX_DEPTH": 5,
}


def limit(name: str) -> int:
    return int(getattr(settings, name, DEFAULTS[name]))


class JSONTooDeep(ValueError):
    """Raised for JSON nested deeper than allowed."""

    def __init__(self, max_depth: int) -> None:
        super().__init__(f"JSON nested deeper than {max_depth} levels.")


def depth_exceeds(value: Any, max_depth: int) -> bool:
    """Whether ``value`` has more than ``max_depth`` levels of lists and objects.

    Iterative, so it is safe on values of any depth; a scalar has depth 0.
    """
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > max_depth:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def check_depth(value: Any, max_depth: int | None = None) -> Any:
    """``value`` itself, or JSONTooDeep."""
    max_depth = limit("JSON_MAX_DEPTH") if max_depth is None else max_depth
    if depth_exceeds(value, max_depth):
        raise JSONTooDeep(max_depth)
    return value


def loads(text: str | bytes, *, max_depth: int | None = None, **kwargs: Any) -> Any:
    """``json.loads`` that raises ValueError (JSONTooDeep) for JSON nested too deep."""
    max_depth = limit("JSON_MAX_DEPTH") if max_depth is None else max_depth
    try:
        value = json.loads(text, **kwargs)
    except RecursionError:
        raise JSONTooDeep(max_depth) from None
    return check_depth(value, max_depth)


def _has_nul(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def validate_json_object(value: Any) -> None:
    """A small JSON object: bounded keys, size and depth, no NUL in text (ValidationError)."""
    if not isinstance(value, dict):
        raise ValidationError("Expected a JSON object.", code="not_an_object")
    max_keys = limit("JSON_FIELD_MAX_KEYS")
    if len(value) > max_keys:
        raise ValidationError(
            f"At most {max_keys} keys ({len(value)} given).", code="too_many_keys"
        )
    max_depth = limit("JSON_FIELD_MAX_DEPTH")
    if depth_exceeds(value, max_depth):
        raise ValidationError(f"Nested deeper than {max_depth} levels.", code="too_deep")
    if _has_nul(value):
        raise ValidationError("Text may not contain NUL characters.", code="null_characters")
    try:
        size = len(json.dumps(value, ensure_ascii=False).encode())
    except (TypeError, ValueError):
        raise ValidationError("Expected JSON values only.", code="not_json") from None
    max_bytes = limit("JSON_FIELD_MAX_BYTES")
    if size > max_bytes:
        raise ValidationError(f"At most {max_bytes} bytes as JSON.", code="too_large")
