"""Whether a browser's form post came from one of our own pages (login CSRF and its kin).

Shared by the web pages and the OpenID Connect sign-in forms: a post is refused when the
browser says it came from elsewhere: an ``Origin`` of another site, or ``Origin: null`` (a
redirect through another site, a sandboxed frame, a ``data:`` page); without ``Origin``, a
``Sec-Fetch-Site`` other than ``same-origin`` or ``none`` (typed by the person).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

__all__ = ["foreign_post", "origin_of"]


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, lower-cased."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def foreign_post(headers: Mapping[str, str], own_origin: str) -> bool:
    """True when the request's headers say it did not come from ``own_origin``'s pages."""
    origin = headers.get("origin")
    if origin is not None:
        return origin.strip().lower() == "null" or origin_of(origin) != origin_of(own_origin)
    site = headers.get("sec-fetch-site")
    return site is not None and site not in ("same-origin", "none")
