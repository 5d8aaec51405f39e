"""What every request gets in production: security headers, one structured log line, proxy awareness."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
import time

from flask import Flask, abort, current_app, g, request
from flask_babel import gettext as _
from werkzeug.middleware.proxy_fix import ProxyFix

ACCESS_LOGGER = "sip.access"

# The templates use no inline script or style (tests/test_prod_config.py checks), so 'self' suffices.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Private feed URLs carry their token: never send a full URL to another site.
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}

# /feeds/t/<token>.ics and /feeds/v/<token>.ics: the token is the credential, so it never reaches a log.
_FEED_TOKEN = re.compile(r"^(/feeds/[tv]/)[^/]+?(\.ics)?$")


def mask_path(path: str) -> str:
    """The request path with any private feed token replaced by ***."""
    return _FEED_TOKEN.sub(lambda m: f"{m.group(1)}***{m.group(2) or ''}", path)


# Credentials that may appear anywhere in a log record's text (a message, an exception, a traceback):
# private feed paths, "Authorization: Bearer ...", and API tokens (api/tokens.py: "sip_" + 43 characters).
_SECRETS = (
    (re.compile(r"(/feeds/[tv]/)[A-Za-z0-9_\-]+"), r"\1***"),
    (re.compile(r"(?i)(bearer\s+)[^\s'\",;]+"), r"\1***"),
    (re.compile(r"\bsip_[A-Za-z0-9_\-]{32,}"), "sip_***"),
)


def mask_secrets(text: str) -> str:
    """The text with every private feed token and API token replaced by ***."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class SecretMaskingFilter(logging.Filter):
    """Masks feed and API tokens in a record: its message, its exception and its stack text.

    The message is formatted here (arguments merged in) and the traceback rendered to `exc_text`,
    which every formatter prints instead of rendering `exc_info` again. Idempotent.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        mask_record(record)
        return True


_plain_formatter = logging.Formatter()


def mask_record(record: logging.LogRecord) -> logging.LogRecord:
    if getattr(record, "_sip_masked", False):
        return record
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: leave it to the handler's own error reporting
        return record
    masked = mask_secrets(message)
    if masked != message or record.args:
        record.msg, record.args = masked, None
    if record.exc_info and not record.exc_text:
        record.exc_text = _plain_formatter.formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = mask_secrets(record.exc_text)
    if record.stack_info:
        record.stack_info = mask_secrets(record.stack_info)
    for key in ("path", "url"):  # fields passed with extra=
        value = record.__dict__.get(key)
        if isinstance(value, str):
            record.__dict__[key] = mask_secrets(value)
    record._sip_masked = True
    return record


_masking_filter = SecretMaskingFilter()


def install_secret_masking(*loggers: logging.Logger) -> None:
    """Mask every record of the process, whichever logger or handler sees it (idempotent).

    Records are masked as they are created (the record factory), so a handler added later (gunicorn's,
    pytest's) never sees a token either; the filter on the root logger, on these loggers and on all
    their handlers also covers records built elsewhere (logging.makeLogRecord, another process).
    """
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "_sip_masking", False):

        def masked_factory(*args, **kwargs):
            return mask_record(factory(*args, **kwargs))

        masked_factory._sip_masking = True  # type: ignore[attr-defined]
        logging.setLogRecordFactory(masked_factory)
    for logger in (logging.getLogger(), *loggers):
        for target in (logger, *logger.handlers):
            if _masking_filter not in target.filters:
                target.addFilter(_masking_filter)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: easy to ship to any log store and to grep."""

    # Attributes every LogRecord has; anything else was passed with `extra=` and is kept.
    _STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in self._STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info or record.exc_text:
            # exc_text: the traceback already rendered, with its secrets masked (SecretMaskingFilter).
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(app: Flask) -> None:
    """JSON lines on stderr in production; idempotent, as tests build many apps in one process."""
    root = logging.getLogger()
    level = getattr(logging, app.config.get("LOG_LEVEL", "INFO"), logging.INFO)
    if app.config.get("LOG_FORMAT") == "json":
        if not any(getattr(handler, "_sip_json", False) for handler in root.handlers):
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(JsonFormatter())
            handler._sip_json = True  # type: ignore[attr-defined]
            root.addHandler(handler)
        root.setLevel(level)
        # Flask's own handler would print every app.logger record a second time, as text.
        from flask.logging import default_handler

        app.logger.removeHandler(default_handler)
    logging.getLogger(ACCESS_LOGGER).setLevel(level)
    # Flask logs "Exception on /feeds/v/<token>.ics" with its traceback; Werkzeug's server logs each path.
    install_secret_masking(app.logger, logging.getLogger("werkzeug"), logging.getLogger("gunicorn.error"))


def discard_transaction() -> None:
    """Roll back the session's transaction; if the database has cut the connection, drop it instead.

    A ROLLBACK on a connection the server terminated (restart, failover) raises; raising again from an
    error handler or a teardown would turn a finished response into a bare 500. Invalidating needs no
    round trip, and the pool opens a fresh connection next time (pool_pre_ping).
    """
    import sqlalchemy as sa

    from models import db

    try:
        db.session.rollback()
    except sa.exc.DBAPIError:
        db.session().invalidate()  # scoped_session does not proxy invalidate()


def release_session(exc: BaseException | None = None) -> None:
    """Teardown, run before Flask-SQLAlchemy's own: end the request's transaction without raising."""
    discard_transaction()


def _start_timer() -> None:
    g.request_started = time.perf_counter()


def _log_request(response):
    started = g.pop("request_started", None)
    duration_ms = round((time.perf_counter() - started) * 1000, 2) if started is not None else None
    logging.getLogger(ACCESS_LOGGER).info(
        "%s %s %s",
        request.method,
        mask_path(request.path),
        response.status_code,
        extra={
            "method": request.method,
            "path": mask_path(request.path),  # never the query string: it may carry a search or a name
            "status": response.status_code,
            "duration_ms": duration_ms,
            "remote_addr": request.remote_addr,
        },
    )
    return response


def _refuse_nul_bytes():
    """PostgreSQL text cannot hold NUL; such input is never meaningful, so it is a 400 for every form."""
    fields = [request.args]
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and request.mimetype in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        fields.append(request.form)
    pairs = [(key, value) for multidict in fields for key, values in multidict.lists() for value in values]
    pairs += [(key, value) for key, value in (request.view_args or {}).items() if isinstance(value, str)]
    if any("\x00" in key or "\x00" in value for key, value in pairs):
        abort(400, description=_("The request contains a character that is not allowed (NUL)."))


def _security_headers(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if current_app.config.get("HSTS_ENABLED"):
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def init_app(app: Flask) -> None:
    configure_logging(app)
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:
        # Only as many hops as there are proxies of ours: a client cannot forge its address past them.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_prefix=proxies)
    app.before_request(_refuse_nul_bytes)
    app.after_request(_security_headers)
    if app.config.get("LOG_REQUESTS"):
        app.before_request(_start_timer)
        app.after_request(_log_request)
