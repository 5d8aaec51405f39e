"""Private feed tokens and API tokens never reach a log line: messages, exceptions, tracebacks."""

from __future__ import annotations

import io
import json
import logging

import pytest

import feeds.views
import ops
from app import create_app
from feeds import tokens
from models import db
from tests.conftest import base_config
from tests.factories import make_user

API_TOKEN = "sip_" + "Q" * 20 + "secretApiTokenValue0123456"


@pytest.fixture
def captured():
    """Everything the root logger's handlers write, as text lines and as JSON lines."""
    text, lines = io.StringIO(), io.StringIO()
    plain = logging.StreamHandler(text)
    plain.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    as_json = logging.StreamHandler(lines)
    as_json.setFormatter(ops.JsonFormatter())
    root = logging.getLogger()
    root.addHandler(plain)
    root.addHandler(as_json)
    try:
        yield lambda: text.getvalue() + lines.getvalue()
    finally:
        root.removeHandler(plain)
        root.removeHandler(as_json)


def failing_app(database_url):
    # Not TESTING: Flask then logs the exception (app.logger.error, with its traceback) and answers 500.
    return create_app(base_config(database_url, TESTING=False, PROPAGATE_EXCEPTIONS=False))


def test_a_failing_private_feed_request_logs_no_token(app, database_url, monkeypatch, captured, caplog):
    user = make_user()
    token = tokens.get_or_issue(user=user).token
    db.session.commit()
    served = failing_app(database_url)

    def explode(source):
        raise RuntimeError(f"could not build /feeds/v/{token}.ics for {source!r}")

    monkeypatch.setattr(feeds.views, "serve", explode)
    flask_stream = io.StringIO()  # Flask's own handler writes to the request's wsgi.errors
    with caplog.at_level(logging.INFO):
        response = served.test_client().get(f"/feeds/v/{token}.ics", errors_stream=flask_stream)
    assert response.status_code == 500

    written = captured() + flask_stream.getvalue()
    assert "Exception on /feeds/v/***.ics [GET]" in written  # Flask's record, masked
    assert "Traceback (most recent call last)" in written
    assert "RuntimeError: could not build /feeds/v/***.ics" in written
    assert token not in written
    assert token not in caplog.text
    for record in caplog.records:
        assert token not in ops.JsonFormatter().format(record)
        assert token not in logging.Formatter().format(record)
    exceptions = [json.loads(line) for line in captured().splitlines() if line.startswith("{")]
    assert any("/feeds/v/***.ics" in entry.get("exception", "") for entry in exceptions)


def test_a_failing_api_request_logs_no_bearer_token(app, database_url, captured, caplog):
    served = failing_app(database_url)

    @served.get("/_explode")
    def explode():
        from flask import request

        logging.getLogger("api.debug").warning("header was %s", request.headers["Authorization"])
        raise ValueError(f"rejected {request.headers['Authorization']} (token {API_TOKEN})")

    flask_stream = io.StringIO()
    with caplog.at_level(logging.INFO):
        response = served.test_client().get(
            "/_explode", headers={"Authorization": f"Bearer {API_TOKEN}"}, errors_stream=flask_stream
        )
    assert response.status_code == 500
    written = captured() + flask_stream.getvalue() + caplog.text
    assert API_TOKEN not in written
    assert "header was Bearer ***" in written
    assert "ValueError: rejected Bearer *** (token sip_***)" in written


def test_masking_keeps_ordinary_text():
    assert ops.mask_secrets("GET /feeds/contact-days.ics 200") == "GET /feeds/contact-days.ics 200"
    assert ops.mask_secrets("database sip_harden_core") == "database sip_harden_core"
    assert ops.mask_secrets("see /feeds/t/AbC-123_xyz.ics") == "see /feeds/t/***.ics"
