"""Uploaded files held between the steps of the import page.

A file chosen on the import page is stored once (under ``imports/staged/``
in the default storage) and named by a random token kept in the user's
session with the workspace it was uploaded in; the mapping screen, a form
shown again with an error, the dry run and the import read it by that
token. Nobody else's session can name it, and a session keeps at most
``KEPT`` of them (older ones are deleted).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from django.core.files import File
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest

from crmcore.integrations.importing.reading import ByteSource

SESSION_KEY = "import_staged"
KEPT = 5


@dataclass(frozen=True)
class StagedFile:
    token: str
    name: str
    path: str

    def source(self) -> ByteSource:
        def open_file():
            return default_storage.open(self.path, "rb")

        return open_file

    def as_upload(self) -> File:
        """The stored file, for services that take an upload."""
        handle = default_storage.open(self.path, "rb")
        return File(handle, name=self.name)


def stage_upload(request: HttpRequest, upload: UploadedFile) -> StagedFile:
    token = secrets.token_urlsafe(16)
    name = Path(upload.name or "upload.csv").name[:200]
    path = default_storage.save(f"imports/staged/{token}.csv", upload)
    staged: dict[str, dict[str, object]] = dict(request.session.get(SESSION_KEY, {}))
    staged[token] = {"name": name, "path": path, "workspace": request.workspace.pk}  # type: ignore[attr-defined]
    while len(staged) > KEPT:
        oldest = next(iter(staged))
        default_storage.delete(str(staged.pop(oldest)["path"]))
    request.session[SESSION_KEY] = staged
    return StagedFile(token=token, name=name, path=path)


def staged_file(request: HttpRequest, token: str) -> StagedFile | None:
    """The file this session staged under ``token`` in the current workspace, or None."""
    entry = request.session.get(SESSION_KEY, {}).get(token) if isinstance(token, str) else None
    if not isinstance(entry, dict) or entry.get("workspace") != request.workspace.pk:  # type: ignore[attr-defined]
        return None
    if not default_storage.exists(entry["path"]):
        return None
    return StagedFile(token=token, name=str(entry["name"]), path=str(entry["path"]))
