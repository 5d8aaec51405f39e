"""A released Alembic revision never changes: schema changes are new revisions (tools/migrations_lock.py)."""

from __future__ import annotations

import shutil

import pytest

from tools import migrations_lock as lock


def test_released_revisions_are_unchanged_and_every_revision_is_locked():
    assert lock.read_manifest(), "migrations/released.sha256 lists no revision"
    assert lock.problems() == []


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """A copy of migrations/ with its manifest, so the check can be shown failing."""
    versions = tmp_path / "versions"
    shutil.copytree(lock.VERSIONS, versions, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(lock.MANIFEST, tmp_path / "released.sha256")
    monkeypatch.setattr(lock, "VERSIONS", versions)
    monkeypatch.setattr(lock, "MANIFEST", tmp_path / "released.sha256")
    return versions


def test_an_edited_deleted_or_unlocked_revision_is_reported(scratch):
    released = sorted(scratch.glob("*.py"))[0]
    released.write_text(released.read_text(encoding="utf-8") + "\n# edited after release\n", encoding="utf-8")
    (scratch / "zz_0002_new.py").write_text('revision = "zz_0002"\n', encoding="utf-8")
    problems = lock.problems()
    assert any(released.name in p and "edited" in p for p in problems)
    assert any("zz_0002_new.py" in p and "not locked" in p for p in problems)

    released.unlink()
    assert any(released.name in p and "deleted" in p for p in lock.problems())


def test_add_locks_new_revisions_and_never_rewrites_a_line(scratch):
    before = lock.MANIFEST.read_text(encoding="utf-8")
    (scratch / "zz_0002_new.py").write_text('revision = "zz_0002"\n', encoding="utf-8")
    assert lock.add() == ["zz_0002_new.py"]
    after = lock.MANIFEST.read_text(encoding="utf-8")
    assert after.startswith(before) and after.count("\n") == before.count("\n") + 1
    assert lock.problems() == []
    assert lock.add() == []  # already locked: nothing added
    released = sorted(scratch.glob("0*.py"))[0]
    released.write_text("# edited\n", encoding="utf-8")
    assert lock.add() == [] and any("edited" in p for p in lock.problems())  # add does not re-lock an edit
