"""Cleaning of raw CSV cells: whitespace, emails, phones, dates, numbers."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

_SPACES = re.compile(r"\s+")
_NUMERIC_DATE = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")
_YEAR_FIRST = re.compile(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})$")
_TIME_SUFFIX = re.compile(r"^(?P<date>.+?)[ T](?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?$")
_NAMED_MONTH_FORMATS = ("%d %b %Y", "%d %B %Y", "%b %d %Y", "%B %d %Y")


def clean_text(raw: str) -> str:
    """Strip and collapse runs of whitespace (tabs, newlines, non-breaking spaces)."""
    return _SPACES.sub(" ", raw).strip()


def clean_multiline(raw: str) -> str:
    """Strip the ends and normalise line endings, keeping the lines."""
    return raw.replace("\r\n", "\n").replace("\r", "\n").strip()


def clean_email(raw: str) -> str | None:
    """The trimmed, lower-cased address, or ``None`` when it is not a valid email."""
    email = clean_text(raw).lower()
    try:
        validate_email(email)
    except ValidationError:
        return None
    return email


def clean_phone(raw: str, *, region: str | None = None) -> str:
    """E.164 when the number parses and has a possible length (``region`` for national numbers).

    Possible rather than valid: the full validity check costs several times
    more, and a number written in international form is kept either way.
    """
    text = clean_text(raw)
    if not text:
        return ""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return text
    if phonenumbers.is_possible_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return text


def parse_date(raw: str, *, day_first: bool = True) -> dt.date | None:
    """A date in a common format, or ``None``.

    ISO (``2024-03-12``), ``2024/03/12``, ``12/03/2024`` and ``03/12/2024``
    (day first unless ``day_first`` is off; a part above 12 decides), with
    ``/``, ``.`` or ``-``, and month names (``12 Mar 2024``, ``March 12, 2024``).
    """
    text = clean_text(raw).replace(",", " ")
    text = clean_text(text)
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        pass
    match = _YEAR_FIRST.match(text)
    if match:
        year, month, day = (int(part) for part in match.groups())
        return _date_or_none(year, month, day)
    match = _NUMERIC_DATE.match(text)
    if match:
        first, second, year = (int(part) for part in match.groups())
        if first > 12 or (day_first and second <= 12):
            return _date_or_none(year, second, first)
        return _date_or_none(year, first, second)
    text = text.replace("-", " ")
    for fmt in _NAMED_MONTH_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def parse_datetime(raw: str, *, day_first: bool = True, tz: dt.tzinfo) -> dt.datetime | None:
    """A date (at midnight) or date and time; naive values are taken in ``tz``."""
    text = clean_text(raw)
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        value = None
    if value is None:
        match = _TIME_SUFFIX.match(text)
        date_part, time_part = (match.group("date"), match) if match else (text, None)
        day = parse_date(date_part, day_first=day_first)
        if day is None:
            return None
        try:
            clock = (
                dt.time(int(time_part["h"]), int(time_part["m"]), int(time_part["s"] or 0))
                if time_part
                else dt.time()
            )
        except ValueError:
            return None
        value = dt.datetime.combine(day, clock)
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value


#: Amounts are stored with 12 digits, 2 after the point: anything larger is not one.
MAX_AMOUNT = Decimal(10) ** 10


def parse_decimal(raw: str) -> Decimal | None:
    """``1234.50``, ``1,234.50`` or ``$1234.50``; ``None`` when it is not a number."""
    text = clean_text(raw).replace(",", "").lstrip("$€£")
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite() or abs(value) >= MAX_AMOUNT:
        return None
    return value.quantize(Decimal("0.01"))


def _date_or_none(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None
