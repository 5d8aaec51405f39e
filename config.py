"""Configuration from the environment only; nothing secret has a default that production accepts."""

from __future__ import annotations

import os
import secrets


class ConfigError(RuntimeError):
    pass


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {value!r}") from None


MIN_SECRET_LENGTH = 16


def engine_options(database_url: str) -> dict:
    """Connection-pool settings; PostgreSQL gets a connect timeout so an outage fails fast (503)."""
    options: dict = {
        "pool_pre_ping": True,  # a connection killed by a database restart is replaced
        # A failed statement's error text (logged with its traceback) must not carry its values: feed
        # tokens, e-mail addresses.
        "hide_parameters": True,
    }
    if database_url.startswith("postgresql"):
        options["pool_recycle"] = 1800
        options["connect_args"] = {"connect_timeout": _int("DB_CONNECT_TIMEOUT", 5)}
    return options


def load_config(instance_path: str) -> dict:
    """Build the Flask config mapping from environment variables."""
    env = os.environ.get("APP_ENV", "development")
    secret = os.environ.get("SECRET_KEY")
    if not secret:
        if env == "production":
            raise ConfigError("SECRET_KEY must be set when APP_ENV=production")
        # Development: a per-process random key; sessions end on restart, which is fine locally.
        secret = secrets.token_hex(32)
    elif env == "production" and len(secret) < MIN_SECRET_LENGTH:
        raise ConfigError(f"SECRET_KEY must have at least {MIN_SECRET_LENGTH} characters when APP_ENV=production")
    default_db = "sqlite:///" + os.path.join(instance_path, "sip.sqlite3")
    database_url = os.environ.get("DATABASE_URL", default_db)
    production = env == "production"
    return {
        "APP_ENV": env,
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(database_url),
        "SMTP_URL": os.environ.get("SMTP_URL", ""),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "noreply@sip-schedule.example"),
        # Notifications (services/notify.py, scheduler/notify_sender.py)
        "SMS_URL": os.environ.get("SMS_URL", ""),
        "NOTIFY_MAX_ATTEMPTS": _int("NOTIFY_MAX_ATTEMPTS", 5),
        "NOTIFY_BACKOFF_SECONDS": _int("NOTIFY_BACKOFF_SECONDS", 60),
        "NOTIFY_OUTCOME_BATCH": _int("NOTIFY_OUTCOME_BATCH", 1),
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", ""),
        "TIMEZONE": "Asia/Shanghai",
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "LANGUAGES": ["zh_CN", "en"],
        "SCHEDULE_HORIZON_DAYS": int(os.environ.get("SCHEDULE_HORIZON_DAYS", "90")),
        # Public feeds cover every session generated this far ahead (a year and more), not only the horizon.
        "FEEDS_PUBLIC_DAYS_AHEAD": _int("FEEDS_PUBLIC_DAYS_AHEAD", 400),
        # Flask-Compress: gzip only (every client has it; its CPU cost is measured in the README).
        # Responses smaller than COMPRESS_MIN_SIZE are sent as they are.
        "COMPRESS_ALGORITHM": ["gzip"],
        "COMPRESS_ALGORITHM_STREAMING": ["gzip"],  # static files are sent as streams
        "COMPRESS_LEVEL": _int("COMPRESS_LEVEL", 6),
        "COMPRESS_MIN_SIZE": _int("COMPRESS_MIN_SIZE", 500),
        "COMPRESS_MIMETYPES": [
            "text/html",
            "text/css",
            "text/plain",
            "text/calendar",
            "text/javascript",
            "application/javascript",
            "application/json",
            "image/svg+xml",
        ],
        "DROP_CUTOFF_HOURS": int(os.environ.get("DROP_CUTOFF_HOURS", "24")),
        # Check-in (services/checkin.py): opens this long before a shift; later than start + grace is "late".
        "CHECKIN_OPENS_MINUTES": int(os.environ.get("CHECKIN_OPENS_MINUTES", "30")),
        "CHECKIN_GRACE_MINUTES": int(os.environ.get("CHECKIN_GRACE_MINUTES", "10")),
        "SHIFT_REMINDER_HOURS": int(os.environ.get("SHIFT_REMINDER_HOURS", "24")),
        "CONTACT_DAY_REMINDER_HOURS": int(os.environ.get("CONTACT_DAY_REMINDER_HOURS", "72")),
        # `python app.py` only; production runs `flask scheduler run` as its own process.
        "RUN_SCHEDULER_IN_PROCESS": _bool("RUN_SCHEDULER_IN_PROCESS", True),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        # Strict-Transport-Security: only where every request arrives over https.
        "HSTS_ENABLED": _bool("HSTS_ENABLED", production),
        "RATELIMIT_ENABLED": _bool("RATELIMIT_ENABLED", production),
        # What several workers and hosts share (rate-limit counters): redis://HOST:6379/0.
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        # memory:// counts per worker process; REDIS_URL (or an explicit storage URI) shares the counts.
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI") or os.environ.get("REDIS_URL") or "memory://",
        "RATELIMIT_KEY_PREFIX": os.environ.get("RATELIMIT_KEY_PREFIX", "sip"),
        "RATELIMIT_HEADERS_ENABLED": True,
        # If the shared store is down, count per process rather than refuse logins with a 500.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        # How many reverse proxies (nginx, a load balancer) sit in front and set X-Forwarded-*.
        "TRUSTED_PROXIES": _int("TRUSTED_PROXIES", 0),
        # json: one JSON object per line (production); text: human-readable (development).
        "LOG_FORMAT": os.environ.get("LOG_FORMAT", "json" if production else "text"),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO").upper(),
        "LOG_REQUESTS": _bool("LOG_REQUESTS", production),
        "WTF_CSRF_TIME_LIMIT": None,
        # The largest upload is a CSV of a few thousand volunteers; anything far bigger is refused (413).
        "MAX_CONTENT_LENGTH": _int("MAX_CONTENT_LENGTH", 5 * 1024 * 1024),
    }


def check_shared_state(config: dict, workers: int) -> None:
    """Refuse to serve production with rate limits counted per process by several workers.

    With `memory://` each worker keeps its own counts, so 4 workers let 4x the login attempts
    through (found: 32 wrong passwords a minute instead of 10). A warning in a log is easily
    missed, and the fix is one setting, so this is a refusal to start, naming it.
    """
    if (
        config.get("APP_ENV") == "production"
        and config.get("RATELIMIT_ENABLED")
        and workers > 1
        and str(config.get("RATELIMIT_STORAGE_URI", "")).startswith("memory://")
    ):
        raise ConfigError(
            f"rate limits would be counted separately by each of the {workers} workers (memory://): "
            "set REDIS_URL=redis://HOST:6379/0 (shared by all workers and hosts), or run one worker"
        )
