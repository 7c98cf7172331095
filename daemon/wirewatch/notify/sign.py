"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

Following the spec exactly is the point: a receiver verifies our requests
with any of the spec's libraries, without reading our code. The signed
content is ``{webhook-id}.{webhook-timestamp}.{body}``; the key is the
base64 part of a ``whsec_`` secret; the header is ``v1,`` and the base64
HMAC-SHA256. The id is the alert's id, the same on every attempt, so a
receiver can drop the one duplicate at-least-once delivery allows; the
timestamp and signature are made afresh for each attempt, because receivers
reject old timestamps.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

SECRET_PREFIX = "whsec_"


def secret_key(secret: str) -> bytes:
    """The HMAC key a ``whsec_`` secret carries; ValueError if it is not one."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"a webhook secret must start with {SECRET_PREFIX}")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except binascii.Error:
        raise ValueError(f"the part after {SECRET_PREFIX} must be base64") from None
    if not 24 <= len(key) <= 64:
        raise ValueError(f"the key must be 24 to 64 bytes (it is {len(key)})")
    return key


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value for one request."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    mac = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def signed_headers(secret: str | None, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers (without a secret: id and timestamp only)."""
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(timestamp)}
    if secret is not None:
        headers["webhook-signature"] = signature(secret, msg_id, timestamp, body)
    return headers
