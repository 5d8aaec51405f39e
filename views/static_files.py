"""Fingerprinted static files: `url_for('static', ...)` adds `?v=<content hash>`, and a request
carrying the current hash is answered `Cache-Control: public, max-age=31536000, immutable`.

A browser then never asks again for a stylesheet or script it has; a changed file gets a new
URL. A request without the hash, or with an old one, is served as before (`no-cache`, revalidated
by ETag), so a page cached before a deploy still finds its files.
"""

from __future__ import annotations

import hashlib
import os
import threading

from flask import Flask, current_app, request

IMMUTABLE = "public, max-age=31536000, immutable"

_hashes: dict[str, tuple[float, str]] = {}  # filename -> (mtime, hash)
_lock = threading.Lock()


def fingerprint(filename: str) -> str | None:
    """The first 12 hex digits of the file's SHA-256, recomputed only when its mtime changes."""
    folder = current_app.static_folder
    if not folder or not filename:
        return None
    path = os.path.join(folder, filename)
    try:
        mtime = os.stat(path).st_mtime
    except (OSError, ValueError):
        return None
    found = _hashes.get(filename)
    if found is not None and found[0] == mtime:
        return found[1]
    with open(path, "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()[:12]
    with _lock:
        if len(_hashes) > 1000:
            _hashes.clear()
        _hashes[filename] = (mtime, digest)
    return digest


def _add_fingerprint(endpoint: str, values: dict) -> None:
    if endpoint == "static" and "v" not in values:
        digest = fingerprint(values.get("filename", ""))
        if digest:
            values["v"] = digest


def _immutable_when_fingerprinted(response):
    if request.endpoint == "static" and response.status_code in (200, 304):
        version = request.args.get("v")
        if version and version == fingerprint((request.view_args or {}).get("filename", "")):
            response.headers["Cache-Control"] = IMMUTABLE
    return response


def init_app(app: Flask) -> None:
    app.url_defaults(_add_fingerprint)
    app.after_request(_immutable_when_fingerprinted)
