"""Compression of feeds, pages and CSS: gzip when asked, validators right per encoding, no needless Vary."""

from __future__ import annotations

import gzip

import pytest

from tests.feeds_fixtures import (  # noqa: F401  (fixtures)
    _pinned_today_and_clean_cache,
    paths,
    world,
)

GZIP = {"Accept-Encoding": "gzip, deflate"}


def vary(response) -> set[str]:
    return {part.strip().lower() for part in response.headers.get("Vary", "").split(",") if part.strip()}


def test_every_feed_is_gzipped_for_a_gzip_client_and_identical_inside(client, world, paths):
    for name, path in paths.all.items():
        plain = client.get(path)
        packed = client.get(path, headers=GZIP)
        assert plain.status_code == packed.status_code == 200, name
        assert "Content-Encoding" not in plain.headers, name
        assert packed.headers["Content-Encoding"] == "gzip", name
        assert gzip.decompress(packed.data) == plain.data, name
        assert len(packed.data) < len(plain.data) / 3, (name, len(packed.data), len(plain.data))
        assert int(packed.headers["Content-Length"]) == len(packed.data)
        # One ETag per representation: a cache must never mix the two bodies up.
        assert packed.headers["ETag"] == plain.headers["ETag"][:-1] + ':gzip"', name
        assert "accept-encoding" in vary(plain) and "accept-encoding" in vary(packed), name


def test_public_feeds_do_not_vary_on_cookies(client, world, paths):
    for name, path in paths.public.items():
        for headers in ({}, GZIP):
            response = client.get(path, headers=headers)
            assert vary(response) == {"accept-encoding"}, (name, response.headers.get("Vary"))
            revalidated = client.get(path, headers={**headers, "If-None-Match": response.headers["ETag"]})
            assert revalidated.status_code == 304
            assert vary(revalidated) == {"accept-encoding"}, name


@pytest.mark.parametrize("first, then", [(GZIP, GZIP), ({}, GZIP), (GZIP, {})])
def test_a_gzip_client_sending_its_etag_back_gets_a_304(client, world, paths, first, then):
    for name, path in paths.all.items():
        got = client.get(path, headers=first)
        again = client.get(path, headers={**then, "If-None-Match": got.headers["ETag"]})
        assert again.status_code == 304, name
        assert again.data == b""
        # The 304 names the representation this request would get (RFC 9110, 15.4.5).
        wanted = client.get(path, headers=then).headers["ETag"]
        assert again.headers["ETag"] == wanted, name
    # Weak forms (a proxy that re-compressed) still match; another tag does not.
    path = paths.public["contact_days"]
    tag = client.get(path, headers=GZIP).headers["ETag"]
    assert client.get(path, headers={**GZIP, "If-None-Match": "W/" + tag}).status_code == 304
    assert client.get(path, headers={**GZIP, "If-None-Match": '"other:gzip"'}).status_code == 200


def test_identity_is_refused_or_not_asked(client, world, paths):
    path = paths.public["contact_days"]
    assert "Content-Encoding" not in client.get(path, headers={"Accept-Encoding": "gzip;q=0, identity"}).headers
    assert "Content-Encoding" not in client.get(path, headers={"Accept-Encoding": "br"}).headers


def test_pages_and_css_are_gzipped_with_their_validators(client, world):
    page = client.get("/contact-days", headers=GZIP)
    assert page.status_code == 200 and page.headers["Content-Encoding"] == "gzip"
    assert "<html" in gzip.decompress(page.data).decode()
    assert "accept-encoding" in vary(page)
    css = client.get("/static/site.css", headers=GZIP)
    assert css.status_code == 200 and css.headers["Content-Encoding"] == "gzip"
    body = gzip.decompress(b"".join(css.response) if css.is_streamed else css.data)
    assert b"{" in body
    tag = css.headers["ETag"]
    assert tag.endswith(':gzip"')
    assert client.get("/static/site.css", headers={**GZIP, "If-None-Match": tag}).status_code == 304
    plain = client.get("/static/site.css")
    assert "Content-Encoding" not in plain.headers and plain.headers["ETag"] != tag
