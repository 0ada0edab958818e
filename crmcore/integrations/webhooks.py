"""Signed webhooks per the Standard Webhooks specification.

Each message carries ``webhook-id`` (the same on every retry),
``webhook-timestamp`` (seconds) and ``webhook-signature: v1,<base64 HMAC-SHA256
of "{id}.{timestamp}.{body}">``, keyed with the endpoint's secret
``whsec_<base64>``. Targets on private, loopback, link-local or reserved
addresses, and IPv6 addresses that carry one (IPv4-mapped, 6to4, Teredo,
NAT64, ...), are refused unless ``CRMCORE_WEBHOOKS_ALLOW_PRIVATE_TARGETS`` is on; the
check is made when subscribing and again on the connected socket, so DNS
answers that change later are caught too. Redirects are not followed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import ipaddress
import json
import secrets
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from crmcore.integrations.conf import app_settings

SECRET_PREFIX = "whsec_"
USER_AGENT = "PilotCRM-Webhooks/1.0"
EXCERPT_LENGTH = 500


class TargetRefused(ValueError):
    """The target URL is not allowed (scheme, or a private address)."""


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def new_message_id() -> str:
    return f"msg_{secrets.token_urlsafe(18)}"


def sign(*, secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value for one message."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def encode_body(*, event: str, payload: dict, timestamp: str) -> bytes:
    return json.dumps(
        {"type": event, "timestamp": timestamp, "data": payload},
        separators=(",", ":"),
        sort_keys=True,
        default=str,
    ).encode()


# Targets ---------------------------------------------------------------------


#: NAT64 prefixes: the well-known one (RFC 6052) and the local-use one (RFC 8215).
NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")
#: IPv4-compatible (deprecated, ::a.b.c.d) and IPv4-translated (SIIT, ::ffff:0:a.b.c.d).
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")
#: ISATAP interface identifiers: ...:0000:5efe:a.b.c.d and ...:0200:5efe:a.b.c.d.
ISATAP_MARKERS = (0x00005EFE, 0x02005EFE)


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address an IPv6 address carries (mapped, 6to4, Teredo, NAT64, ...)."""
    value = int(ip)
    low32 = ipaddress.IPv4Address(value & 0xFFFFFFFF)
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)  # the server, and the client behind its NAT
    if ip in NAT64_WELL_KNOWN or ip in IPV4_TRANSLATED or ip in IPV4_COMPATIBLE:
        found.append(low32)
    if ip in NAT64_LOCAL_USE:
        # RFC 6052 with a /48 prefix: two octets at bits 48-63, two at 72-87 (after the u octet).
        packed = ip.packed
        found.append(ipaddress.IPv4Address(packed[6:8] + packed[9:11]))
    if (value >> 32) & 0xFFFFFFFF in ISATAP_MARKERS:
        found.append(low32)
    return found


def _ipv4_allowed(ip: ipaddress.IPv4Address) -> bool:
    return ip.is_global and not ip.is_multicast


def address_allowed(address: str, *, allow_private: bool | None = None) -> bool:
    """Whether a webhook may connect to ``address`` (an IP, with or without a zone).

    Refused: private, loopback, link-local, reserved, shared and multicast
    addresses, and any IPv6 form that carries a refused IPv4 address
    (IPv4-mapped, -compatible or -translated, 6to4, Teredo, NAT64, ISATAP).
    The local-use NAT64 prefix is refused whatever it carries.
    """
    if allow_private if allow_private is not None else app_settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS:
        return True
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv4Address):
        return _ipv4_allowed(ip)
    if ip == ipaddress.IPv6Address("::") or ip == ipaddress.IPv6Address("::1"):
        return False
    if not ip.is_global or ip.is_multicast or ip in NAT64_LOCAL_USE:
        return False
    return all(_ipv4_allowed(v4) for v4 in embedded_ipv4(ip))


def check_target(url: str) -> None:
    """Raise TargetRefused unless ``url`` is http(s) and every address it resolves to is public."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("The target must be an http or https URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise TargetRefused("The target URL has an invalid port") from None
    try:
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise TargetRefused(f"The host {parts.hostname!r} does not resolve") from None
    for info in infos:
        if not address_allowed(info[4][0]):
            raise TargetRefused(f"The host {parts.hostname!r} resolves to a private address")


class _CheckedPeer:
    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        peer = self.sock.getpeername()[0]  # type: ignore[attr-defined]
        if not address_allowed(peer):
            self.close()  # type: ignore[attr-defined]
            raise TargetRefused("The target connected to a private address")


class _HTTPConnection(_CheckedPeer, http.client.HTTPConnection):
    pass


class _HTTPSConnection(_CheckedPeer, http.client.HTTPSConnection):
    pass


class _HTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(_HTTPConnection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(_HTTPSConnection, req, context=self._context)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_HTTPHandler, _HTTPSHandler, _NoRedirect)


# Sending ---------------------------------------------------------------------


@dataclass(frozen=True)
class SendResult:
    ok: bool
    status_code: int | None
    excerpt: str
    error: str = ""


def send(*, url: str, secret: str, message_id: str, timestamp: int, body: bytes) -> SendResult:
    """POST one signed message; never raises for network or HTTP errors."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(
            secret=secret, message_id=message_id, timestamp=timestamp, body=body
        ),
    }
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    timeout = app_settings.WEBHOOKS_TIMEOUT_SECONDS
    try:
        check_target(url)
        with _opener.open(request, timeout=timeout) as response:
            excerpt = response.read(EXCERPT_LENGTH).decode("utf-8", "replace")
            return SendResult(
                ok=200 <= response.status < 300, status_code=response.status, excerpt=excerpt
            )
    except urllib.error.HTTPError as exc:
        excerpt = exc.read(EXCERPT_LENGTH).decode("utf-8", "replace") if exc.fp else ""
        return SendResult(ok=False, status_code=exc.code, excerpt=excerpt, error=f"HTTP {exc.code}")
    except TargetRefused as exc:
        return SendResult(ok=False, status_code=None, excerpt="", error=str(exc))
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TargetRefused):
            return SendResult(ok=False, status_code=None, excerpt="", error=str(reason))
        return SendResult(
            ok=False, status_code=None, excerpt="", error=str(reason)[:EXCERPT_LENGTH]
        )
