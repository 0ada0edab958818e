"""Tone model artifacts: joblib files in Django's default storage.

Loaded lazily, on first use, and cached per process by (workspace, version):
a published version never changes, so the cache needs no invalidation.
"""

from __future__ import annotations

import io
import threading

import joblib
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from ai_features.capabilities.sentiment.analysis import ToneModel

_cache: dict[tuple[int, int], ToneModel] = {}
_lock = threading.Lock()


def artifact_path(*, workspace_id: int, version: int) -> str:
    return f"ai_sentiment/workspace-{workspace_id}/tone-model-v{version}.joblib"


def artifact_save(*, model: ToneModel, workspace_id: int, version: int) -> str:
    buffer = io.BytesIO()
    joblib.dump(model, buffer, compress=3)
    path = artifact_path(workspace_id=workspace_id, version=version)
    if default_storage.exists(path):
        default_storage.delete(path)
    return default_storage.save(path, ContentFile(buffer.getvalue()))


def artifact_load(*, workspace_id: int, version: int, path: str) -> ToneModel:
    key = (workspace_id, version)
    model = _cache.get(key)
    if model is not None:
        return model
    with _lock:
        model = _cache.get(key)
        if model is None:
            with default_storage.open(path, "rb") as handle:
                model = joblib.load(io.BytesIO(handle.read()))
            _cache[key] = model
    return model


def cache_clear() -> None:
    with _lock:
        _cache.clear()
