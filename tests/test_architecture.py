"""Imports run one way: models <- services/scheduler <- views/api/feeds <- app (docs/ARCHITECTURE.md).

Every import counts, including those inside functions: a lazy import hides a cycle, it does not
remove it.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent

# A package may import from its own layer's lower ranks only; equal ranks are siblings that
# must not import each other (pages, feeds and the API share code through lower layers).
LAYERS = {
    "timeutil": 0,
    "i18n": 0,
    "config": 0,
    "extensions": 0,
    "models": 1,
    "ops": 2,
    "access": 2,
    "responses": 2,
    "http_cache": 2,
    "inputs": 2,
    "services": 3,
    "scheduler": 4,
    "views": 5,
    "api": 5,
    "feeds": 5,
    "demo": 5,
    "cli": 6,
    "app": 7,
    "wsgi": 8,
    "bench": 8,
    "tools": 8,
    "gunicorn.conf": 8,
}
NOT_CHECKED = {"tests", "migrations", "node_modules"}


def _top_level_names() -> set[str]:
    names = set()
    for path in ROOT.iterdir():
        if path.is_dir() and (path / "__init__.py").exists() or path.suffix == ".py":
            names.add(path.stem if path.is_file() else path.name)
    return names - NOT_CHECKED


def _imports(path: pathlib.Path, known: set[str]) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        else:
            continue
        found |= {name.split(".")[0] for name in modules if name.split(".")[0] in known}
    return found


def _edges() -> list[tuple[str, str, str]]:
    known = _top_level_names()
    edges = []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in NOT_CHECKED or any(part.startswith(".") for part in relative.parts):
            continue
        source = relative.parts[0] if len(relative.parts) > 1 else path.stem
        for target in _imports(path, known) - {source}:
            edges.append((source, target, str(relative)))
    return edges


def test_every_top_level_package_has_a_layer():
    missing = _top_level_names() - set(LAYERS)
    assert not missing, f"add {sorted(missing)} to LAYERS (and to docs/ARCHITECTURE.md)"


def test_imports_point_down_the_layers():
    wrong = [
        f"{where}: {source} (layer {LAYERS[source]}) imports {target} (layer {LAYERS[target]})"
        for source, target, where in _edges()
        if source in LAYERS and target in LAYERS and LAYERS[target] >= LAYERS[source]
    ]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("source, target", [("models", "services"), ("feeds", "views"), ("views", "api")])
def test_the_check_sees_a_wrong_import(tmp_path, source, target):
    """The rule is not vacuous: a module importing upwards or sideways is reported."""
    module = tmp_path / "probe.py"
    module.write_text(f"def later():\n    from {target} import something\n")
    assert _imports(module, {target}) == {target}
    assert LAYERS[target] >= LAYERS[source]


def test_a_write_during_a_get_is_detected(app, database_url):
    """The autouse guard of tests/get_writes.py sees a GET that writes (and a POST is fine)."""
    from flask import request

    import tests.get_writes as guard
    from app import create_app
    from models import Subdistrict, db
    from tests.conftest import base_config

    # An app of its own: the shared one has served requests and takes no new routes.
    web_app = create_app(base_config(database_url))
    client = web_app.test_client()

    @web_app.route("/_test/writes", methods=["GET", "POST"])
    def writes():
        db.session.add(Subdistrict(slug=f"probe-{request.method}", name_zh="探针", name_en="Probe"))
        db.session.commit()
        return "ok"

    assert guard.written_table('INSERT INTO "subdistricts" (slug) VALUES (?)') == "subdistricts"
    assert guard.written_table("SELECT * FROM users") is None
    assert client.post("/_test/writes").status_code == 200
    assert not guard._seen
    assert client.get("/_test/writes").status_code == 200
    assert guard._seen and "subdistricts" in guard._seen[0]
    guard._seen.clear()  # expected here; the guard would fail this test otherwise
