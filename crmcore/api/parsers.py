"""The API's JSON parser: strict JSON, bounded in nesting depth.

DRF's own parser lets a body nested a thousand levels deep raise
RecursionError (a 500). This one answers 400 for JSON nested deeper than
``JSON_MAX_DEPTH``. It is the default parser of every API view, the
unauthenticated token endpoint included. The body's size is bounded before
parsing by Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (400 past it).
"""

from __future__ import annotations

import codecs

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.utils import json

from crmcore import json_limits


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream).read()
            parse_constant = json.strict_constant if self.strict else None
            return json_limits.loads(text, parse_constant=parse_constant)
        except json_limits.JSONTooDeep as exc:
            raise ParseError(str(exc)) from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
