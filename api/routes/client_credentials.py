"""An OAuth client's ``client_secret_basic`` credentials (RFC 6749 §2.3.1), read from a request
by every token endpoint (OpenID Connect's and CSC's)."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote

from fastapi import Request

__all__ = ["basic_credentials"]


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """``(client_id, secret)`` from an ``Authorization: Basic`` header (each form-decoded, as
    the RFC asks); ``None`` when there is none or it cannot be read."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(value).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return unquote(client_id), unquote(secret)
