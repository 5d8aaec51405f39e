"""The OpenAPI document matches the code: the same paths and methods, the same authentication."""

from __future__ import annotations

import re

import pytest

from api.openapi import DOCUMENT, openapi_path

IGNORED_METHODS = {"HEAD", "OPTIONS"}


def api_routes(app) -> dict[tuple[str, str], object]:
    routes = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            for method in rule.methods - IGNORED_METHODS:
                routes[(openapi_path(rule.rule), method.lower())] = app.view_functions[rule.endpoint]
    return routes


def documented_operations() -> dict[tuple[str, str], dict]:
    return {(path, method): operation for path, item in DOCUMENT["paths"].items() for method, operation in item.items()}


def test_every_api_route_is_documented_and_every_documented_path_is_a_route(app):
    routes = set(api_routes(app))
    documented = set(documented_operations())
    assert routes - documented == set(), "routes missing from api/openapi.py"
    assert documented - routes == set(), "documented paths that no route serves"


def test_token_protected_routes_and_documented_security_agree(app):
    routes = api_routes(app)
    for key, operation in documented_operations().items():
        protected = getattr(routes[key], "token_required", False)
        assert bool(operation.get("security")) == protected, key
        if protected:
            assert "401" in operation["responses"], key


def test_path_parameters_are_documented(app):
    for (path, _method), operation in documented_operations().items():
        in_path = set(re.findall(r"{([a-z_]+)}", path))
        declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        assert in_path == declared, path


def test_every_reference_resolves():
    text = repr(DOCUMENT)
    for name in re.findall(r"#/components/schemas/([A-Za-z]+)", text):
        assert name in DOCUMENT["components"]["schemas"], name


def test_document_is_served_and_is_openapi_3_1(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.is_json
    body = response.get_json()
    assert body["openapi"].startswith("3.1")
    assert body == DOCUMENT


def test_document_is_a_valid_openapi_schema():
    schemathesis = pytest.importorskip("schemathesis")
    schema = schemathesis.openapi.from_dict(DOCUMENT)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == len(documented_operations())
