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


def load_config(instance_path: str) -> dict:
    """Build the Flask config mapping from environment variables."""
    env = os.environ.get("APP_ENV", "development")
    secret = os.environ.get("SECRET_KEY")
    if not secret:
        if env == "production":
            raise ConfigError("SECRET_KEY must be set when APP_ENV=production")
        # Development: a per-process random key; sessions end on restart, which is fine locally.
        secret = secrets.token_hex(32)
    default_db = "sqlite:///" + os.path.join(instance_path, "sip.sqlite3")
    return {
        "APP_ENV": env,
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": os.environ.get("DATABASE_URL", default_db),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SMTP_URL": os.environ.get("SMTP_URL", ""),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "noreply@sip-schedule.example"),
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", ""),
        "TIMEZONE": "Asia/Shanghai",
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "LANGUAGES": ["zh_CN", "en"],
        "SCHEDULE_HORIZON_DAYS": int(os.environ.get("SCHEDULE_HORIZON_DAYS", "90")),
        "DROP_CUTOFF_HOURS": int(os.environ.get("DROP_CUTOFF_HOURS", "24")),
        "SHIFT_REMINDER_HOURS": int(os.environ.get("SHIFT_REMINDER_HOURS", "24")),
        "CONTACT_DAY_REMINDER_HOURS": int(os.environ.get("CONTACT_DAY_REMINDER_HOURS", "72")),
        "RUN_SCHEDULER_IN_PROCESS": _bool("RUN_SCHEDULER_IN_PROCESS", False),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env == "production",
        "REMEMBER_COOKIE_SECURE": env == "production",
        "RATELIMIT_ENABLED": _bool("RATELIMIT_ENABLED", env == "production"),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "WTF_CSRF_TIME_LIMIT": None,
    }
