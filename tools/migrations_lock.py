"""Released Alembic revisions are never edited: each file's SHA-256 is kept in migrations/released.sha256.

    python tools/migrations_lock.py add      # lock the revisions not yet listed (run when a new revision is final)
    python tools/migrations_lock.py check    # exit 1 if a listed file changed or went away, or a file is unlisted

A database that ran a revision never runs it again, so editing a released file changes nothing
where it already ran and something else where it has not: a schema change is always a NEW
revision. `add` never rewrites an existing line; unlocking a file is a deliberate manual edit.
tests/test_migrations_locked.py runs `check`.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERSIONS = ROOT / "migrations" / "versions"
MANIFEST = ROOT / "migrations" / "released.sha256"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def revision_files() -> list[Path]:
    return sorted(VERSIONS.glob("*.py"))


def read_manifest() -> dict[str, str]:
    """{file name: sha256}, in the `sha256sum` format (`HASH  NAME`), comments allowed."""
    if not MANIFEST.exists():
        return {}
    locked = {}
    for line in MANIFEST.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            sha, name = line.split(maxsplit=1)
            locked[name.strip()] = sha
    return locked


def problems() -> list[str]:
    locked = read_manifest()
    found = []
    for name, sha in locked.items():
        path = VERSIONS / name
        if not path.exists():
            found.append(f"{name}: released revision deleted or renamed")
        elif digest(path) != sha:
            found.append(f"{name}: released revision edited; write a NEW revision instead (git checkout -- the file)")
    for path in revision_files():
        if path.name not in locked:
            found.append(f"{path.name}: not locked; when it is final run `python tools/migrations_lock.py add`")
    return found


def add() -> list[str]:
    locked = read_manifest()
    new = [path for path in revision_files() if path.name not in locked]
    if new:
        header = (
            ""
            if MANIFEST.exists()
            else (
                "# SHA-256 of each released Alembic revision (sha256sum format). Never edit a line:\n"
                "# add new ones with `python tools/migrations_lock.py add`.\n"
            )
        )
        with MANIFEST.open("a", encoding="utf-8") as out:
            out.write(header + "".join(f"{digest(path)}  {path.name}\n" for path in new))
    return [path.name for path in new]


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "check"
    if command == "add":
        for name in add():
            print(f"locked {name}")
        return 0
    if command == "check":
        found = problems()
        for problem in found:
            print(problem, file=sys.stderr)
        return 1 if found else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
