"""Conditional GET and gzip negotiation shared by the feeds and the cached public pages.

A cached body is sent in two representations with their own ETags, `"tag"` and `"tag:gzip"`
(as Flask-Compress writes them for other pages); either one sent back in If-None-Match means the
client holds the current content.
"""

from __future__ import annotations

from flask import request

GZIP_SUFFIX = ":gzip"


def wants_gzip() -> bool:
    """The client accepts gzip (the header is read cheaply first: most polls say nothing)."""
    accept = request.environ.get("HTTP_ACCEPT_ENCODING")
    if not accept or "gzip" not in accept and "*" not in accept:
        return False
    return request.accept_encodings.quality("gzip") > 0


def quoted_etag(etag: str, gzipped: bool) -> str:
    return f'"{etag}{GZIP_SUFFIX}"' if gzipped else f'"{etag}"'


def etag_matches(etag: str, if_none_match: str | None = None) -> bool:
    """Weak comparison (RFC 9110, GET) of If-None-Match with either representation of `etag`."""
    if if_none_match is None:
        if_none_match = request.environ.get("HTTP_IF_NONE_MATCH")
    if not if_none_match:
        return False
    if if_none_match in (f'"{etag}"', f'"{etag}{GZIP_SUFFIX}"'):  # exactly what it got: no parsing
        return True
    tags = request.if_none_match
    return tags.contains_weak(etag) or tags.contains_weak(etag + GZIP_SUFFIX)
