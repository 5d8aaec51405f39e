"""Subscription links for pages: https, webcal://, Google Calendar, and a QR code for phones."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from urllib.parse import quote

import segno
from flask import current_app, has_request_context, request, url_for
from markupsafe import Markup

_hosts: dict[tuple, str] = {}


def base_url() -> str:
    """The public address feeds link to: PUBLIC_BASE_URL, else the request's own.

    Production should set PUBLIC_BASE_URL: otherwise each Host header a client sends is a
    different address, with its own cached body and stored validators.
    """
    configured = current_app.config.get("PUBLIC_BASE_URL") or ""
    if configured:
        return configured.rstrip("/") + "/"
    if not has_request_context():
        return "http://127.0.0.1:5000/"
    environ = request.environ
    key = (environ.get("wsgi.url_scheme"), environ.get("HTTP_HOST"), environ.get("SERVER_NAME"))
    found = _hosts.get(key)
    if found is None:  # request.host validates against TRUSTED_HOSTS; remember the answer
        if len(_hosts) > 64:
            _hosts.clear()
        found = _hosts[key] = f"{request.scheme}://{request.host}/"
    return found


def feed_url(endpoint: str, lang: str | None = None, **values) -> str:
    if lang == "en":
        values["lang"] = "en"
    return base_url().rstrip("/") + url_for(endpoint, **values)


def webcal(url: str) -> str:
    """webcal:// makes browsers and phones hand the URL to the calendar app (subscribe, not download)."""
    for scheme in ("https://", "http://"):
        if url.startswith(scheme):
            return "webcal://" + url[len(scheme) :]
    return url


@dataclass(frozen=True)
class Subscription:
    https: str
    webcal: str
    google: str
    title: str

    def qr_svg(self, label: str) -> Markup:
        return Markup(_qr_svg(self.webcal, label))


@functools.lru_cache(maxsize=512)
def _qr_svg(address: str, label: str) -> str:
    """Once per address and label in a process: choosing the QR mask took ~10% of a page's CPU."""
    # webcal:// in the code: a phone camera opens the calendar app's "subscribe" prompt.
    code = segno.make_qr(address, error="m")  # never a Micro QR: phone cameras cannot read those
    svg = code.svg_inline(scale=3, border=2, dark="#000", light="#fff", title=label, svgclass="qr")
    return svg.replace("<svg ", '<svg role="img" ', 1)


def subscription(endpoint: str, title: str = "", lang: str | None = None, **values) -> Subscription:
    https = feed_url(endpoint, lang=lang, **values)
    link = webcal(https)
    return Subscription(
        https=https,
        webcal=link,
        google="https://calendar.google.com/calendar/render?cid=" + quote(link, safe=""),
        title=title,
    )
