"""openapi.yaml and template.yaml describe the same API, and the spec is valid OpenAPI 3.1."""

from __future__ import annotations

from localapi import openapi
from localapi import template as tpl


def test_every_template_route_is_in_the_spec_and_the_reverse() -> None:
    routes = {(route.method, route.path) for route in tpl.routes()}
    assert routes - openapi.operations() == set(), "routes missing from openapi.yaml"
    assert openapi.operations() - routes == set(), "operations in openapi.yaml that template.yaml does not route"


def test_spec_is_openapi_3_1_with_both_security_schemes() -> None:
    spec = openapi.spec()
    assert spec["openapi"].startswith("3.1")
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearer"]["scheme"] == "bearer" and schemes["serviceAccountKey"]["name"] == "Authorization"


def test_public_routes_match_the_template() -> None:
    public = {(r.method, r.path) for r in tpl.routes() if r.authorizer is None}
    spec = openapi.spec()
    declared = {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if op.get("security") == []
    }
    assert declared == public


def test_spec_validates() -> None:
    import schemathesis

    schema = schemathesis.openapi.from_dict(openapi.spec())
    assert len(list(schema.get_all_operations())) == len(openapi.operations())
