"""Marketing email consent: the one-click unsubscribe link and headers.

Every campaign email carries ``List-Unsubscribe`` (a signed link to
``/unsubscribe/<token>/``) and ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``
(RFC 8058): a mail client's one-click POST to the link sets
``Contact.marketing_opt_out`` with no login. Opening the link shows a page
with one button that does the same. The token is signed with the site's secret
(``django.core.signing``); a forged or damaged one is answered 404.

Links are absolute: ``CRMCORE_PUBLIC_URL`` is the site's address as customers
reach it (default ``http://localhost:8000``).
"""

from __future__ import annotations

from django.core import signing
from django.urls import reverse

from crmcore.conf import AppSettings
from crmcore.models import Contact

SALT = "crmcore.marketing.unsubscribe"
#: Longer tokens are refused before any signature check.
TOKEN_MAX_LENGTH = 200


class MarketingSettings(AppSettings):
    prefix = "CRMCORE_"

    #: The site's address as customers reach it, for links in emails.
    PUBLIC_URL: str = "http://localhost:8000"


app_settings = MarketingSettings()


def unsubscribe_token(*, workspace_id: int, contact_id: int) -> str:
    """A signed token naming one contact of one workspace (no expiry: old emails keep working)."""
    return signing.dumps([workspace_id, contact_id], salt=SALT, compress=False)


def unsubscribe_contact(token: str) -> Contact | None:
    """The contact a token names, or None when it is forged, damaged or the contact is gone."""
    if not token or len(token) > TOKEN_MAX_LENGTH:
        return None
    try:
        value = signing.loads(token, salt=SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        return None
    workspace_id, contact_id = value
    return Contact.objects.filter(workspace_id=workspace_id, pk=contact_id).first()


def unsubscribe_url(*, workspace_id: int, contact_id: int) -> str:
    path = reverse(
        "unsubscribe",
        args=[unsubscribe_token(workspace_id=workspace_id, contact_id=contact_id)],
    )
    return app_settings.PUBLIC_URL.rstrip("/") + path


def unsubscribe_headers(*, workspace_id: int, contact_id: int) -> dict[str, str]:
    """The headers of a marketing email to one contact (RFC 2369 and RFC 8058)."""
    url = unsubscribe_url(workspace_id=workspace_id, contact_id=contact_id)
    return {
        "List-Unsubscribe": f"<{url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def unsubscribe_footer(*, workspace_id: int, contact_id: int) -> str:
    """The line at the end of a marketing email's body."""
    url = unsubscribe_url(workspace_id=workspace_id, contact_id=contact_id)
    return f"To stop receiving these emails, unsubscribe here: {url}"
