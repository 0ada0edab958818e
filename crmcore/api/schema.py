"""The OpenAPI schema's error answers: every operation documents the 4xx it can give.

drf-spectacular documents the success answer of an operation; this AutoSchema
adds the errors DRF answers with, as ``{"detail": ...}`` or field-keyed
objects: 400 (invalid input, where the operation takes a body or query
parameters), 401 and 403 (not logged in, not allowed; operations that need
authentication), 404 (no such object in the workspace, or no such page), and
429 (throttled, with ``Retry-After``). Answers an operation declares itself
are kept as they are.
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema

ERROR_BODY = {
    "type": "object",
    "description": 'An error: {"detail": "..."}, or lists of messages keyed by field.',
    "additionalProperties": {},
}

DESCRIPTIONS = {
    "400": "Invalid input: the fields (or the detail) say what is wrong.",
    "401": "Not authenticated.",
    "403": "Not allowed for this user.",
    "404": "Not found (in this workspace), or no such page.",
    "429": "Too many requests: wait the seconds of the Retry-After header.",
}


class AutoSchema(SpectacularAutoSchema):
    def _error_codes(self) -> list[str]:
        codes = ["400"]
        if self.get_auth():
            codes += ["401", "403"]
        if "{" in self.path or self._is_list_view():
            codes.append("404")
        codes.append("429")
        return codes

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            responses.setdefault(
                code,
                {
                    "description": DESCRIPTIONS[code],
                    "content": {"application/json": {"schema": ERROR_BODY}},
                },
            )
        return responses
