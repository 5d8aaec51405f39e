"""gunicorn's worker recycling (gunicorn.conf.py): rare enough not to cost the server its caches."""

from __future__ import annotations

import importlib.util
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _load(monkeypatch, **env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("gunicorn_conf_under_test", ROOT / "gunicorn.conf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_workers_are_recycled_rarely_with_jitter(monkeypatch):
    monkeypatch.delenv("GUNICORN_MAX_REQUESTS", raising=False)
    conf = _load(monkeypatch)
    # At 100 req/s over 4 workers a worker lives at least 10 minutes: its boot (imports, app,
    # page and feed caches) is not paid every minute.
    assert conf.max_requests / (100 / conf.workers) >= 600
    assert 0 < conf.max_requests_jitter < conf.max_requests


def test_recycling_can_be_tuned_from_the_environment(monkeypatch):
    conf = _load(monkeypatch, GUNICORN_MAX_REQUESTS="5000", WEB_CONCURRENCY="4")
    assert conf.max_requests == 5000
    assert conf.max_requests_jitter == 500
