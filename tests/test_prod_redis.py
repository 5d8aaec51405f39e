"""What workers and hosts share lives in Redis: rate limits across 4 gunicorn workers, and two hosts as one service.

Against the real Redis server on the machine (TEST_REDIS_URL, default redis://127.0.0.1:6379/1). Without
one these tests are skipped locally, and fail in CI (CI=true), where .ci/run starts Redis.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from config import ConfigError, check_shared_state, load_config
from feeds import tokens
from models import db
from tests.conftest import POSTGRES_URL
from tests.factories import PASSWORD, make_user
from tests.live_server import ROOT, Client, gunicorn

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/1")


@pytest.fixture(scope="module")
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.exceptions.RedisError as error:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Redis is required in CI and not reachable at {REDIS_URL}: {error}")
        pytest.skip(f"no Redis at {REDIS_URL} ({error}); .ci/run starts one")
    return REDIS_URL


def shared_env(database_url: str, redis_url: str) -> dict:
    # A prefix of its own per run: counts of earlier runs (or other suites on this Redis) do not interfere.
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "RATELIMIT_ENABLED": "1",
        "RATELIMIT_KEY_PREFIX": f"sip-test-{uuid.uuid4().hex[:12]}",
        "PUBLIC_BASE_URL": "https://schedules.test",
    }


def wrong_passwords(clients: list[Client], count: int) -> list[int]:
    """`count` failed logins for one address, spread round-robin over the clients (hosts)."""
    statuses = []
    for n in range(count):
        client = clients[n % len(clients)]
        statuses.append(client.post_form("/login", {"email": "nobody@test.example", "password": "wrong"})[0])
    return statuses


def test_redis_url_is_the_rate_limit_storage(monkeypatch, tmp_path):
    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)
    monkeypatch.setenv("REDIS_URL", "redis://cache.internal:6379/0")
    config = load_config(str(tmp_path))
    assert config["REDIS_URL"] == config["RATELIMIT_STORAGE_URI"] == "redis://cache.internal:6379/0"
    monkeypatch.delenv("REDIS_URL")
    assert load_config(str(tmp_path))["RATELIMIT_STORAGE_URI"] == "memory://"


def test_production_refuses_per_process_limits_with_several_workers(tmp_path, database_url, app):
    production = {"APP_ENV": "production", "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://"}
    with pytest.raises(ConfigError, match="REDIS_URL"):
        check_shared_state(production, workers=4)
    check_shared_state(production, workers=1)  # one worker counts everything itself
    check_shared_state({**production, "RATELIMIT_STORAGE_URI": "redis://cache:6379/0"}, workers=4)
    check_shared_state({**production, "APP_ENV": "development"}, workers=4)

    env = dict(
        os.environ,
        APP_ENV="production",
        SECRET_KEY="a-production-secret-of-good-length",
        DATABASE_URL=database_url,
        RATELIMIT_ENABLED="1",
    )
    for name in ("REDIS_URL", "RATELIMIT_STORAGE_URI"):
        env.pop(name, None)
    started = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "-w", "2", "-b", "127.0.0.1:0", "wsgi:app"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode != 0
    assert "refusing to start" in started.stderr and "REDIS_URL" in started.stderr


@pytest.mark.slow
def test_the_eleventh_wrong_password_is_refused_across_four_workers(redis_url, database_url, app, tmp_path):
    with gunicorn(tmp_path / "gunicorn.log", workers=4, **shared_env(database_url, redis_url)) as base:
        # A client per request: each new connection may land on any of the 4 workers.
        statuses = wrong_passwords([Client(base) for _ in range(11)], 11)
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429


@pytest.mark.slow
@pytest.mark.skipif(not POSTGRES_URL, reason="two hosts share one PostgreSQL: needs TEST_DATABASE_URL")
def test_two_hosts_behave_as_one_service(redis_url, database_url, app, tmp_path):
    """Two gunicorn instances (two "hosts") on one PostgreSQL and one Redis, as in docs/OPERATIONS.md."""
    volunteer = make_user(email="two-hosts@test.example")
    feed_path = f"/feeds/v/{tokens.get_or_issue(user=volunteer).token}.ics"
    db.session.commit()
    db.session.close()
    env = shared_env(database_url, redis_url)
    with (
        gunicorn(tmp_path / "a.log", workers=2, **env) as host_a,
        gunicorn(tmp_path / "b.log", workers=2, **env) as host_b,
    ):
        # Sessions: the cookie of a login on A opens pages on B; after logout on A, B refuses that client.
        browser = Client(host_a)
        assert browser.login("two-hosts@test.example", PASSWORD) == 302
        assert browser.get("/me/")[0] == 200
        assert Client(host_b, cookies=browser.cookies).get("/me/")[0] == 200  # anonymous would get 302
        csrf = browser.csrf_token("/me/")
        assert browser.request("POST", "/logout", form={"csrf_token": csrf})[0] == 302
        assert Client(host_b, cookies=browser.cookies).get("/me/")[0] == 302  # to the login page

        # Feeds: both hosts publish the same validators; each answers 304 to the other's ETag.
        status_a, headers_a, body_a = Client(host_a).get(feed_path)
        status_b, headers_b, body_b = Client(host_b).get(feed_path)
        assert status_a == status_b == 200 and body_a == body_b
        assert headers_a["etag"] == headers_b["etag"]
        assert headers_a["last-modified"] == headers_b["last-modified"]
        assert Client(host_b).get(feed_path, headers={"If-None-Match": headers_a["etag"]})[0] == 304
        assert Client(host_a).get(feed_path, headers={"If-None-Match": headers_b["etag"]})[0] == 304

        # Limits are counted across both hosts (login: 10 POSTs a minute per address). The login above
        # was the first; 9 failures alternate between B and A, and the next POST is refused on either.
        statuses = wrong_passwords([Client(host_b), Client(host_a)], 10)
        assert statuses[:9] == [401] * 9 and statuses[9] == 429
        assert Client(host_a).post_form("/login", {"email": "x@test.example", "password": "x"})[0] == 429
        assert Client(host_b).post_form("/login", {"email": "x@test.example", "password": "x"})[0] == 429
    for log in ("a.log", "b.log"):
        assert feed_path.split("/")[-1] not in (tmp_path / log).read_text()
