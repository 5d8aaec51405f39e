"""Production mode: configuration from the environment, cookies, headers, logs, proxies, rate limits, health."""

from __future__ import annotations

import json
import logging
import pathlib
import re

import pytest

import ops
from app import create_app
from config import ConfigError, load_config
from models import Role, db
from tests.conftest import base_config
from tests.factories import PASSWORD, make_user

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture
def production_env(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-production-secret-of-good-length")
    for name in ("RATELIMIT_STORAGE_URI", "TRUSTED_PROXIES", "LOG_FORMAT", "RATELIMIT_ENABLED", "HSTS_ENABLED"):
        monkeypatch.delenv(name, raising=False)
    yield
    # The JSON handler is process-wide; later tests must not write through a closed capture stream.
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_sip_json", False)]:
        root.removeHandler(handler)


def production_app(database_url: str, **overrides):
    config = base_config(database_url, **overrides)
    del config["SECRET_KEY"]  # from the environment, as in production
    return create_app(config)


def test_production_refuses_to_start_without_secret_key(monkeypatch, tmp_path):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config(str(tmp_path))
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()


def test_production_refuses_a_short_secret_key(monkeypatch, tmp_path):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "short")
    with pytest.raises(ConfigError, match="at least"):
        load_config(str(tmp_path))


def test_development_runs_without_secret_key(monkeypatch, tmp_path):
    monkeypatch.delenv("APP_ENV", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    config = load_config(str(tmp_path))
    assert len(config["SECRET_KEY"]) >= 32
    assert config["SESSION_COOKIE_SECURE"] is False


def test_configuration_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://sip@db.internal:5432/sip")
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://cache.internal:6379/0")
    monkeypatch.setenv("TRUSTED_PROXIES", "1")
    config = load_config(str(tmp_path))
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://sip@db.internal:5432/sip"
    assert config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True
    assert config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"] == {"connect_timeout": 5}
    assert config["RATELIMIT_STORAGE_URI"] == "redis://cache.internal:6379/0"
    assert config["RATELIMIT_ENABLED"] is True
    assert config["TRUSTED_PROXIES"] == 1
    assert config["SESSION_COOKIE_SECURE"] and config["REMEMBER_COOKIE_SECURE"]
    assert config["LOG_FORMAT"] == "json" and config["LOG_REQUESTS"] is True
    monkeypatch.setenv("TRUSTED_PROXIES", "one")
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        load_config(str(tmp_path))


def test_production_session_cookie_is_secure_httponly_and_samesite(production_env, database_url, app):
    make_user(Role.VOLUNTEER, email="vol@test.example")
    db.session.commit()
    client = production_app(database_url).test_client()
    response = client.post("/login", data={"email": "vol@test.example", "password": PASSWORD})
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_language_cookie_is_secure_in_production(production_env, database_url, app):
    response = production_app(database_url).test_client().get("/?lang=en")
    assert "Secure" in response.headers["Set-Cookie"]


def test_every_page_has_security_headers_and_a_content_security_policy(client):
    for path in ("/", "/login", "/no-such-page", "/api/v1/programmes", "/healthz"):
        response = client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "'unsafe-inline'" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in client.get("/").headers  # development serves plain http


def test_templates_have_no_inline_script_or_style():
    """The CSP forbids inline script and style; a template that needs them would break in browsers."""
    offenders = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for pattern in (
            r"<script(?![^>]*\bsrc=)[^>]*>",
            r"<style\b",
            r"\sstyle=",
            r"\son[a-z]+=\s*[\"']",
            r"javascript:",
        ):
            if re.search(pattern, text, flags=re.IGNORECASE):
                offenders.append(f"{path.relative_to(ROOT)}: {pattern}")
    assert offenders == []


def test_feed_tokens_are_masked_in_paths():
    assert ops.mask_path("/feeds/t/AbC-123_xyz.ics") == "/feeds/t/***.ics"
    assert ops.mask_path("/feeds/v/AbC-123_xyz.ics") == "/feeds/v/***.ics"
    assert ops.mask_path("/feeds/v/AbC-123_xyz") == "/feeds/v/***"
    assert ops.mask_path("/feeds/contact-days.ics") == "/feeds/contact-days.ics"
    assert ops.mask_path("/communities/loufeng") == "/communities/loufeng"


def test_one_json_log_line_per_request_without_feed_tokens(production_env, database_url, app, caplog):
    client = production_app(database_url).test_client()
    secret = "s3cretFeedTokenValue0123456789ab"
    with caplog.at_level(logging.INFO, logger=ops.ACCESS_LOGGER):
        client.get(f"/feeds/v/{secret}.ics?lang=en")
        client.get("/api/v1/programmes?per_page=5")
    records = [r for r in caplog.records if r.name == ops.ACCESS_LOGGER]
    assert len(records) == 2
    lines = [json.loads(ops.JsonFormatter().format(record)) for record in records]
    assert lines[0]["path"] == "/feeds/v/***.ics" and lines[0]["status"] == 404
    assert lines[1]["method"] == "GET" and lines[1]["path"] == "/api/v1/programmes" and lines[1]["status"] == 200
    assert all(isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0 for line in lines)
    assert all(line["level"] == "INFO" and line["ts"].endswith("+00:00") for line in lines)
    assert secret not in caplog.text
    assert not any(secret in ops.JsonFormatter().format(record) for record in caplog.records)


def test_json_formatter_writes_one_line_with_the_exception():
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed: %s", ("job",), sys.exc_info())
    line = ops.JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "failed: job" and "ValueError: boom" in entry["exception"]


def test_client_address_comes_from_the_proxy_only_when_trusted(database_url, app):
    headers = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    seen = {}

    def probe_app(**config):
        served = create_app(base_config(database_url, **config))

        @served.route("/_probe")
        def probe():
            from flask import request

            seen["addr"], seen["scheme"] = request.remote_addr, request.scheme
            return "ok"

        return served.test_client()

    probe_app().get("/_probe", headers=headers)
    assert seen == {"addr": "127.0.0.1", "scheme": "http"}  # a client cannot claim another address
    probe_app(TRUSTED_PROXIES=1).get("/_probe", headers=headers)
    assert seen == {"addr": "203.0.113.9", "scheme": "https"}


def test_login_is_rate_limited(database_url, app):
    make_user(Role.VOLUNTEER, email="vol@test.example")
    db.session.commit()
    client = create_app(
        base_config(database_url, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    ).test_client()
    statuses = [
        client.post("/login?lang=en", data={"email": "vol@test.example", "password": "wrong"}).status_code
        for _ in range(11)
    ]
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429
    assert client.get("/login").status_code == 200  # only attempts are limited, not the page


def test_healthz_reports_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_is_503_when_the_database_is_unreachable(tmp_path):
    unreachable = "sqlite:///" + str(tmp_path / "no-such-dir" / "db.sqlite3")
    response = create_app(base_config(unreachable)).test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "unreachable"}


def test_unreachable_database_gives_503_pages_not_500(tmp_path):
    unreachable = "sqlite:///" + str(tmp_path / "no-such-dir" / "db.sqlite3")
    client = create_app(base_config(unreachable)).test_client()
    page = client.get("/?lang=en")
    assert page.status_code == 503
    assert page.headers["Retry-After"] == "5"
    assert "Briefly unavailable" in page.get_data(as_text=True)
    assert "Traceback" not in page.get_data(as_text=True)
    api = client.get("/api/v1/programmes")
    assert api.status_code == 503
    assert api.get_json()["error"]["code"] == "unavailable"


def test_wsgi_entry_point_and_gunicorn_config(monkeypatch):
    import importlib.util

    monkeypatch.delenv("APP_ENV", raising=False)
    spec = importlib.util.spec_from_file_location("gunicorn_conf", ROOT / "gunicorn.conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    assert conf.wsgi_app == "wsgi:app"
    assert conf.workers >= 2 and conf.timeout > 0 and conf.accesslog is None
    assert conf.logconfig_dict["formatters"]["json"]["()"] == "ops.JsonFormatter"


def test_nul_characters_are_refused_before_they_reach_the_database(client):
    """PostgreSQL cannot store NUL in text; found by the form fuzzing (test_prod_forms_fuzz.py)."""
    assert client.post("/login", data={"email": "a\x00@b", "password": "x"}).status_code == 400
    assert client.get("/communities/east%00").status_code == 400
    response = client.get("/api/v1/occurrences?community=%00")
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "bad_request"


def test_login_still_works_when_the_rate_limit_store_is_down(database_url, app):
    make_user(Role.VOLUNTEER, email="vol@test.example")
    db.session.commit()
    # Nothing listens on this loopback port: the shared store is "down"; the configured fallback counts in memory.
    client = create_app(
        base_config(database_url, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")
    ).test_client()
    assert client.post("/login", data={"email": "vol@test.example", "password": PASSWORD}).status_code == 302
