"""Typed settings of an app: each app declares its settings once, with types and defaults.

    class SentimentSettings(AppSettings):
        prefix = "AI_SENTIMENT_"

        #: Processes that analyse chunks in a batch run.
        WORKERS: int = 1

    app_settings = SentimentSettings()
    app_settings.WORKERS  # an int, for the reader and for mypy

Each access reads, in this order: the Django setting ``AI_SENTIMENT_WORKERS``,
the environment variable of the same name, then the default. Reading on every
access keeps ``override_settings`` and the ``settings`` fixture working. A
value of the wrong type (a Django setting, or an environment variable that does
not parse) raises ``ImproperlyConfigured`` naming the setting.

Supported types: ``bool``, ``int``, ``float``, ``str`` and ``tuple[str, ...]``
or ``list[str]``. In the environment a boolean is ``true``/``false`` (also
``1``/``0``, ``yes``/``no``, ``on``/``off``) and a sequence is comma-separated.

An app that renames its settings sets ``deprecated_prefix``: the old names
(``deprecated_prefix + NAME``) are still read, after the new ones, with a
``DeprecationWarning``.
"""

from __future__ import annotations

import inspect
import os
import typing
import warnings
from typing import Any, ClassVar, get_args, get_origin

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})
_SCALARS = (bool, int, float, str)
_MISSING = object()


def _type_name(kind: Any) -> str:
    return kind.__name__ if isinstance(kind, type) else str(kind).replace("typing.", "")


def _supported(kind: Any) -> bool:
    if kind in _SCALARS:
        return True
    args = get_args(kind)
    if get_origin(kind) is tuple:
        return args == (str, Ellipsis)
    return get_origin(kind) is list and args == (str,)


def _parse(kind: Any, text: str) -> Any:
    """A value of ``kind`` from the text of an environment variable."""
    text = text.strip()
    if kind is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValueError(f"{text!r} is not a boolean (true or false)")
    if kind in (int, float, str):
        return kind(text)
    items = [item.strip() for item in text.split(",") if item.strip()]
    return tuple(items) if get_origin(kind) is tuple else items


def _coerce(kind: Any, value: Any, *, parse_text: bool = True) -> Any:
    """``value`` as ``kind``, or ValueError. Text is parsed as in the environment."""
    if parse_text and isinstance(value, str) and kind is not str:
        return _parse(kind, value)
    if kind is bool:
        if isinstance(value, bool):
            return value
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif kind is str:
        if isinstance(value, str):
            return value
    elif isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return tuple(value) if get_origin(kind) is tuple else list(value)
    raise ValueError(f"{value!r} is not {_type_name(kind)}")


class _Setting:
    """The descriptor that replaces each declared setting on its class."""

    def __init__(self, name: str, kind: Any, default: Any) -> None:
        self.name = name
        self.kind = kind
        self.default = default

    def __get__(self, instance: AppSettings | None, owner: type[AppSettings]) -> Any:
        if instance is None:
            return self.default
        return owner._read(self)


class AppSettings:
    """Base class of an app's settings; see the module's documentation."""

    #: Prefix of the Django settings and environment variables (``AI_SENTIMENT_``).
    prefix: ClassVar[str] = ""
    #: Prefix of the names used before the current ones (``""``: unprefixed), if any.
    deprecated_prefix: ClassVar[str | None] = None
    _settings: ClassVar[dict[str, _Setting]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        declared = dict(cls._settings)
        hints = typing.get_type_hints(cls)
        for name in inspect.get_annotations(cls):
            if not name.isupper():
                continue
            kind = hints[name]
            if not _supported(kind):
                raise TypeError(f"{cls.__name__}.{name}: unsupported type {_type_name(kind)}")
            default = cls.__dict__.get(name, _MISSING)
            if default is _MISSING:
                raise TypeError(f"{cls.__name__}.{name} has no default")
            try:
                default = _coerce(kind, default, parse_text=False)
            except ValueError as error:
                raise TypeError(f"{cls.__name__}.{name}: default {error}") from None
            declared[name] = setting = _Setting(name, kind, default)
            setattr(cls, name, setting)
        cls._settings = declared

    @classmethod
    def names(cls) -> list[str]:
        """The full names of the settings (``AI_SENTIMENT_WORKERS``, ...), in declaration order."""
        return [cls.prefix + name for name in cls._settings]

    @classmethod
    def _read(cls, setting: _Setting) -> Any:
        name = cls.prefix + setting.name
        value = cls._lookup(name)
        if value is _MISSING and cls.deprecated_prefix is not None:
            old = cls.deprecated_prefix + setting.name
            value = cls._lookup(old)
            if value is not _MISSING:
                warnings.warn(
                    f"The setting {old} is deprecated; use {name}.",
                    DeprecationWarning,
                    stacklevel=3,
                )
                name = old
        if value is _MISSING:
            return setting.default
        try:
            return _coerce(setting.kind, value)
        except ValueError as error:
            raise ImproperlyConfigured(
                f"{name} must be {_type_name(setting.kind)}: {error}"
            ) from None

    @staticmethod
    def _lookup(name: str) -> Any:
        value = getattr(settings, name, _MISSING)
        if value is _MISSING:
            value = os.environ.get(name, _MISSING)
        return value
