"""Every feed read by Mozilla's ical.js (Thunderbird's parser) under Node, not by anything in Python."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.feeds_fixtures import _pinned_today_and_clean_cache, paths, world  # noqa: F401  (fixtures)
from tests.test_feeds_content import expected

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tests" / "js" / "expand.mjs"
MODULE = ROOT / "node_modules" / "ical.js"


@pytest.fixture(scope="module")
def node():
    node = shutil.which("node")
    missing = None
    if node is None:
        missing = "node is not installed"
    elif not MODULE.is_dir():
        missing = "node_modules/ical.js is missing: run `npm ci` at the repository root"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{missing} (CI must run the independent parser)")
        pytest.skip(missing)
    return node


def parse_with_icaljs(node: str, body: bytes, tmp_path: Path) -> dict:
    path = tmp_path / "feed.ics"
    path.write_bytes(body)
    done = subprocess.run([node, str(SCRIPT), str(path)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _utc(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.mark.parametrize("lang", ["", "?lang=en"])
def test_icaljs_reads_every_feed_with_the_rows_dates(node, client, world, paths, tmp_path, lang):
    for name, path in paths.all.items():
        response = client.get(path + lang)
        assert response.status_code == 200
        parsed = parse_with_icaljs(node, response.data, tmp_path)
        calendar = parsed["calendar"]
        assert calendar["version"] == "2.0" and calendar["method"] == "PUBLISH"
        assert calendar["timezones"] == ["Asia/Shanghai"]
        assert calendar["refresh"] == "PT1H"
        assert calendar["name"]
        spans = sorted((e["uid"], _utc(e["start"]), _utc(e["end"])) for e in parsed["events"])
        assert spans == expected(world, name), name
        uids = [e["uid"] for e in parsed["events"]]
        assert len(uids) == len(set(uids))
        for event in parsed["events"]:
            assert event["tzid"] == "Asia/Shanghai"
            assert event["status"] in ("CONFIRMED", "CANCELLED")
            assert event["summary"]


def test_icaljs_sees_a_moved_and_a_cancelled_occurrence(node, client, world, paths, tmp_path):
    from models import OccurrenceStatus, db
    from timeutil import local_to_utc

    moved, cancelled = world.contact[4], world.contact[6]
    moved.starts_at = local_to_utc(dt.date(2026, 3, 15), dt.time(14))
    moved.ends_at = local_to_utc(dt.date(2026, 3, 15), dt.time(16))
    moved.touch()
    cancelled.status = OccurrenceStatus.CANCELLED
    cancelled.touch()
    db.session.commit()
    parsed = parse_with_icaljs(node, client.get(paths.public["contact_days"]).data, tmp_path)
    events = {e["uid"]: e for e in parsed["events"]}
    assert events[moved.uid]["local_start"] == "2026-03-15T14:00:00"
    assert events[moved.uid]["sequence"] == 1
    assert events[cancelled.uid]["status"] == "CANCELLED"
    assert events[cancelled.uid]["sequence"] == 1
