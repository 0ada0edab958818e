"""The import upload limit, enforced while the file arrives.

``ImportUploadLimit`` goes first in a request's upload handlers (the import
page and the imports API put it there). It counts each file's bytes and
passes them on to Django's own handlers (memory up to
``FILE_UPLOAD_MAX_MEMORY_SIZE``, a temporary file above) until the file
passes ``CRMCORE_IMPORT_MAX_UPLOAD_BYTES``; from then on the rest is read and
dropped, nothing more is kept in memory or on disk, and the form receives an
empty ``OversizedUpload`` that its validation refuses with a clear message.
"""

from __future__ import annotations

import io

from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler

from crmcore.integrations.conf import app_settings


class OversizedUpload(UploadedFile):
    """Stands for a file dropped past the limit: no content, its size so far."""

    too_large = True

    def __init__(self, name: str, content_type: str | None, size: int) -> None:
        super().__init__(io.BytesIO(b""), name, content_type, size)


class ImportUploadLimit(FileUploadHandler):
    def __init__(self, request=None) -> None:
        super().__init__(request)
        self.limit = app_settings.IMPORT_MAX_UPLOAD_BYTES
        self.received = 0

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > self.limit:
            return None  # the next handlers get nothing more of this file
        return raw_data

    def file_complete(self, file_size: int) -> UploadedFile | None:
        if self.received > self.limit:
            return OversizedUpload(self.file_name, self.content_type, self.received)
        return None  # within the limit: the next handler's file


def limit_import_uploads(request) -> None:
    """Put the limit first in ``request``'s upload handlers (before its body is read)."""
    request.upload_handlers.insert(0, ImportUploadLimit(request))
