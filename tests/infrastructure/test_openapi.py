"""openapi.yaml and template.yaml describe the same API, and the spec is valid OpenAPI 3.1."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from localapi import openapi
from localapi import template as tpl

# base32 secrets at the edges of what the model takes: padding counts, lengths 16 and 256.
_B32_EDGES = [
    "A" * 16,
    "A" * 256,
    "A" * 264,
    "A" * 8,
    "A" * 15 + "=",
    "A" * 23 + "=",
    "A" * 21 + "===",
    "A" * 22 + "==",
    "A" * 20 + "====",
    "A" * 18 + "======",
    "A" * 17 + "=======",
    "A" * 248 + "AA======",
    "=" * 16,
]


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


def test_served_spec_sets_expire_date_minimum_to_now() -> None:
    """`x-minimum: now` (a token's expireDate must be in the future): /openapi.json says when."""
    import time

    schema = openapi.spec(now=1_800_000_000)["components"]["parameters"]["ExpireDate"]["schema"]
    assert schema["x-minimum"] == "now"
    assert schema["minimum"] == 1_800_000_000 + openapi.NOW_MARGIN_SECONDS
    assert openapi.spec()["components"]["parameters"]["ExpireDate"]["schema"]["minimum"] > time.time()


def test_served_spec_bounds_an_es256_expiry_by_the_deployments_longest_lifetime() -> None:
    """`x-maximum: signed-token-max`: a MediaMTX token's expireDate may be at most
    SignedTokenMaxSeconds ahead, so the served spec says so (a fuzzer drew 0 and 10**19 from the
    bare integer and called the refusals bugs)."""
    from localapi.template import parameter_defaults

    params = openapi.spec(now=1_800_000_000)["paths"]["/v2/broadcasts/{id}/mediamtx-token"]["get"]["parameters"]
    schema = next(p for p in params if p.get("name") == "expireDate")["schema"]
    assert schema["minimum"] == 1_800_000_000 + openapi.NOW_MARGIN_SECONDS
    assert schema["maximum"] == 1_800_000_000 + int(parameter_defaults()["SignedTokenMaxSeconds"])
    assert schema["minimum"] < schema["maximum"]


def test_fuzzing_checks_that_spec_and_models_agree_both_ways() -> None:
    from localapi import fuzz

    checks = set(fuzz.CHECKS.split(","))
    assert {"positive_data_acceptance", "negative_data_rejection"} <= checks
    assert {400, 413, 414, 431} <= set(fuzz.NEGATIVE_DATA_STATUSES)
    assert not {400, 413, 414, 415, 431} & set(fuzz.POSITIVE_DATA_STATUSES)


def _pattern(*path: str) -> str:
    node: Any = openapi.spec()
    for key in path:
        node = node[key]
    assert isinstance(node, str)
    return node


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ234567=a1", max_size=270) | st.sampled_from(_B32_EDGES))
def test_b32_secret_pattern_is_exactly_what_the_model_takes(secret: str) -> None:
    from streamauth.errors import BadRequest
    from streamauth.models.subscribers import parse_b32_secret

    pattern = _pattern("components", "schemas", "SubscriberInput", "properties", "b32Secret", "pattern")
    try:
        accepted = parse_b32_secret(secret) is not None or secret == ""
    except BadRequest:
        accepted = False
    assert bool(re.search(pattern, secret)) == accepted, secret


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet="ab1_.-/ !", max_size=140) | st.sampled_from(["cam", "/live/cam/", "a//b", "/", "x/" + "a" * 129])
)
def test_mediamtx_path_pattern_is_exactly_what_the_model_takes(path: str) -> None:
    import json

    from streamauth.errors import BadRequest
    from streamauth.models.hooks import parse_mediamtx

    pattern = _pattern("components", "schemas", "MediaMtxAuth", "properties", "path", "pattern")
    try:
        parse_mediamtx(json.dumps({"action": "read", "path": path, "token": "abc"}))
        accepted = True
    except BadRequest:
        accepted = False
    assert bool(re.search(pattern, path)) == accepted, path
