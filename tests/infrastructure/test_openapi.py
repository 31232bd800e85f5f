"""openapi.yaml and template.yaml describe the same API, and the spec is valid OpenAPI 3.1."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
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


def test_fuzzing_pins_each_value_with_its_parameters_type(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pinned value is written in the config as its parameter's type. Pinned as a string, an
    integer read as breaking `type: integer`, so a negative case whose only fault was an unknown
    query parameter (which the API ignores, as Ant Media does) was taken for a schema-violating
    request accepted (CI, stop 26: `mediamtx-token?expireDate=…&=null`)."""
    import tomllib

    from localapi import fuzz

    monkeypatch.setattr(fuzz, "CONFIG", tmp_path / "schemathesis.toml")
    config = tomllib.loads(fuzz.write_config().read_text())
    document = openapi.spec()

    def resolved(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = document
            for key in node["$ref"].removeprefix("#/").split("/"):
                target = target[key]
            node = target
        return node

    operations = {
        operation["operationId"]: operation
        for item in document["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    kinds = {"integer": int, "string": str, "array": list, "object": dict}
    pinned = [
        (entry["include-operation-id"], entry["parameters"]) for entry in config["operations"] if "parameters" in entry
    ]
    assert {"issueMediaMtxToken", "issueToken", "setStreamPolicy"} <= {operation for operation, _ in pinned}
    for operation_id, parameters in pinned:
        for name, value in parameters.items():
            location, _, parameter = name.partition(".")
            if location == "body":  # a field of a JSON body: one of its types
                body = resolved(operations[operation_id]["requestBody"]["content"]["application/json"]["schema"])
                field = body["properties"][parameter]
                # its `type`, else its branches' (an object's: a `$ref` or an `allOf` of one)
                types = field.get("type") or [branch.get("type", "object") for branch in field.get("oneOf", [])]
                types = [types] if isinstance(types, str) else types
                assert any(isinstance(value, kinds[t]) for t in types if t in kinds), (operation_id, name, value)
                continue
            schema = next(
                p["schema"]
                for p in map(resolved, operations[operation_id]["parameters"])
                if p["in"] == location and p["name"] == parameter
            )
            assert isinstance(value, kinds[schema["type"]]), (operation_id, name, value)


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


# -- every `pattern` in openapi.yaml against the parser that holds the same rule ------------------
#
# The contract is written twice: by the parsers in models/ and by openapi.yaml's patterns (which
# `make fuzz` draws from). RULES names, for every place the YAML holds a pattern, the parser that
# decides the same field, and how the two relate:
#   exact:    the parser accepts a value exactly when the schema (pattern and limits) matches it;
#   narrower: the document promises less than the parser takes (schema match => accepted), `why`;
#   wider:    the parser refuses some values the schema allows (accepted => schema match), `why`;
#             with `beyond`, exactly those values: then the two agree on every other value.
# A pattern added without a RULES entry fails test_every_pattern_in_openapi_has_a_rule.


class _Refused(Exception):
    """A rule that is no BadRequest-raising parser (a template parameter's, an output's) refused."""


def _require(ok: object) -> None:
    if not ok:
        raise _Refused


@dataclass(frozen=True)
class _Rule:
    parse: Callable[[str], object]  # raises BadRequest, ConfigurationError or _Refused when it refuses
    relation: str = "exact"
    why: str = ""
    domain: Callable[[str], bool] = lambda _: True  # what can reach the parser there at all
    examples: tuple[str, ...] = ()  # values worth checking whatever the sampling draws
    beyond: Callable[[str], bool] | None = None  # wider: the values the pattern allows and the parser refuses


def _in_path(value: str) -> bool:
    """A path parameter is one non-empty segment: API Gateway routes no '/' into it."""
    return value != "" and "/" not in value


def _in_header(value: str) -> bool:
    """A header value holds no control character and no surrounding whitespace (HTTP trims it)."""
    return value == value.strip(" \t") and not any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value)


def _field_location(pointer: tuple[str, ...], doc: dict[str, Any]) -> str:
    """`where :: field` for a pattern's place in openapi.yaml (what RULES is keyed by)."""
    if pointer[0] == "paths":
        path, method, *rest = pointer[1:]
        where = f"{method.upper()} {path}"
        if rest[0] == "parameters":
            parameter = doc["paths"][path][method]["parameters"][int(rest[1])]
            return f"{where} :: {parameter['in']} {parameter['name']}"
        return f"{where} :: {'/'.join(rest)}"
    kind, name, *rest = pointer[1:]
    if kind == "parameters":
        parameter = doc["components"]["parameters"][name]
        return f"components/parameters/{name} :: {parameter['in']} {parameter['name']}"
    field = "/".join(rest).replace("properties/", "") or "(itself)"
    return f"components/{kind}/{name} :: {field}"


def _patterned() -> dict[str, dict[str, Any]]:
    """Every schema in openapi.yaml that holds a `pattern`, by its location (YAML anchors are
    expanded: each place an anchored schema is used is a place of its own; $refs are not followed:
    a referenced schema is counted once, where it is written)."""
    doc = openapi.spec()
    found: dict[str, dict[str, Any]] = {}

    def walk(node: object, pointer: tuple[str, ...]) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                location = _field_location(pointer, doc)
                assert location not in found, f"two patterns at {location}"
                found[location] = node
            for key, value in node.items():
                walk(value, (*pointer, str(key)))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, (*pointer, str(index)))

    walk(doc, ())
    return found


@cache
def _ecma(pattern: str) -> re.Pattern[str]:
    """A JSON Schema pattern (ECMA-262) for Python's re: `$` ends the text (Python's also matches
    before a final newline); the rest of what openapi.yaml uses means the same in both."""
    out, in_class, index = [], False, 0
    while index < len(pattern):
        ch = pattern[index]
        if ch == "\\":
            out.append(pattern[index : index + 2])
            index += 2
            continue
        if ch == "[" and not in_class:
            in_class = True
        elif ch == "]" and in_class:
            in_class = False
        out.append(r"\Z" if ch == "$" and not in_class else ch)
        index += 1
    return re.compile("".join(out))


def _schema_matches(schema: dict[str, Any], value: str) -> bool:
    if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", len(value)):
        return False
    if "enum" in schema and value not in schema["enum"]:
        return False
    if value in schema.get("not", {}).get("enum", ()):
        return False
    return _ecma(schema["pattern"]).search(value) is not None


def _accepted(rule: _Rule, value: str) -> bool:
    from streamauth.errors import BadRequest, ConfigurationError

    try:
        rule.parse(value)
    except (BadRequest, ConfigurationError, _Refused):
        return False
    return True


def _host_bits(value: str) -> bool:
    """A network (or a comma-separated list holding one) written with host bits set: 10.0.0.1/8."""
    import ipaddress

    def set_bits(item: str) -> bool:
        try:
            ipaddress.ip_network(item, strict=True)
        except ValueError:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                return False
            return True
        return False

    return any(set_bits(item) for item in value.split(","))


# The access policies' lists at their edges: counts, spaces, other notations, case.
_POLICY_EDGES = (
    "10.0.0.1/8",
    "10.0.0.0/8,10.0.0.1/8",
    "2001:db8::1/32",
    "2001:DB8::/32",
    "10.0.0.0/255.0.0.0",
    "10.0.0.0/0.255.255.255",
    "10.0.0.0/08",
    "010.0.0.0/8",
    "::ffff:1.2.3.4",
    "fe80::1%eth0",
    "1:2:3:4:5:6:7::",
    "::/0",
    "0.0.0.0/0",
    "10.0.0.0/8 ",
    " 10.0.0.0/8",
    "10.0.0.0/8, 10.1.0.0/16",
    ",".join(f"10.0.{i}.0/24" for i in range(50)),
    ",".join(f"10.0.{i}.0/24" for i in range(51)),
    "DE,FR",
    "DE ,FR",
    "de,fr,DE",
    ",".join(["DE"] * 250),
    ",".join(["DE"] * 251),
    "rtmp,hls,rtmp,hls,rtmp",
    "webrtc,srt,rtsp,hls,rtmp,rtmp",
    "https://example.com:0",
    "https://example.com:08443",
    "https://example.com:",
    "https://example.com:443/",
    "HTTPS://*.EXAMPLE.COM:8443/",
    "Https://Player.Example.com",
    "https://*.example.com,http://localhost:8080",
    "https://-a.example.com",
    "https://a-.example.com",
    "https://a..example.com",
    "https://example.com.",
    "https://" + "a" * 63 + ".com",
    "https://" + "a" * 64 + ".com",
    ",".join(f"https://h{i}.example.com" for i in range(10)),
    ",".join(f"https://h{i}.example.com" for i in range(11)),
    ",".join(["https://" + "a" * 61 + "." + "b" * 61 + ".example.com"] * 10),
    ",".join(["https://" + ".".join(["a" * 63] * 4) + ".com"] * 10),  # 2,679 characters
    "https://[::1]:8080",
    "https://user@example.com",
)


def _rules() -> dict[str, _Rule]:
    """Imported when the tests run (the layer's modules, template.yaml), not at collection."""
    import json

    from localapi.template import load
    from streamauth.logic import accounts
    from streamauth.models import hooks, signing_keys
    from streamauth.models.accounts import parse_account_id
    from streamauth.models.cloudfront import parse_cloudfront_playback
    from streamauth.models.common import parse_stream_id, parse_text
    from streamauth.models.decisions import parse_decision_query
    from streamauth.models.playback import parse_playback
    from streamauth.models.policies import parse_policy, parse_policy_query
    from streamauth.models.sessions import parse_session_id
    from streamauth.models.subscribers import MIN_CREATED_ID, parse_b32_secret, parse_code, parse_rest_subscriber_id

    app_names = str(load()["Parameters"]["AntMediaAppName"]["AllowedPattern"])
    uri = "/hls/cam/index.m3u8"

    def text(field: str, max_length: int, required: bool = False) -> Callable[[str], object]:
        return lambda v: parse_text(v, field, required=required, max_length=max_length)

    def credential(field: str) -> Callable[[str], object]:
        return lambda v: hooks.credentials_of({field: v})

    def server_field(field: str) -> Callable[[str], object]:
        return lambda v: hooks._server_field(v, field)

    def playback_query(field: str) -> Callable[[str], object]:
        return lambda v: parse_cloudfront_playback("cam", {field: [v]}, None)

    def decisions(field: str) -> Callable[[str], object]:
        return lambda v: parse_decision_query("cam", {field: v})

    def mediamtx_path(path: str) -> object:
        return hooks.parse_mediamtx(json.dumps({"action": "read", "path": path, "token": "abc"}))

    stream = _Rule(parse_stream_id)
    cursor = "a cursor is one this listing handed out (a hash over the query): any other is a 400 naming `next`"
    rules = {
        # -- CloudFront playback ----------------------------------------------------------------
        "GET /v2/broadcasts/{id}/playback :: query token": _Rule(playback_query("token")),
        "GET /v2/broadcasts/{id}/playback :: query subscriberId": _Rule(playback_query("subscriberId")),
        "GET /v2/broadcasts/{id}/playback :: query subscriberCode": _Rule(playback_query("subscriberCode")),
        # -- nginx auth_request (HLS/DASH) ------------------------------------------------------
        "GET /hooks/{hookSecret}/http :: header X-Original-URI": _Rule(
            lambda v: parse_playback(v, None, None, None),
            "narrower",
            "the pattern is the documented nested form with one credential; the parser also takes flat "
            "layouts (`/hls/cam-3.ts`), '~' and deeper directories, and any query (percent-encoded, "
            "other parameters, first occurrence wins): no regex of reasonable size says that",
            _in_header,
            (uri, "/hls/cam.m3u8", "/a/b/c/d/e/f/cam/index.m3u8", f"{uri}?token=a%41", "/hls/../cam/index.m3u8"),
        ),
        "GET /hooks/{hookSecret}/http :: header X-Stream-Id": _Rule(
            lambda v: parse_playback(uri, v, None, None), domain=_in_header
        ),
        "GET /hooks/{hookSecret}/http :: header X-Real-IP": _Rule(
            lambda v: parse_playback(uri, None, None, v), domain=_in_header
        ),
        "GET /hooks/{hookSecret}/http :: cookie streamauth_playback": _Rule(
            lambda v: parse_playback(uri, None, f"streamauth_playback={v}", None),
            "narrower",
            "a session cookie is one this operation handed out: any other cookie is no session (401/403), "
            "not a malformed request",
        ),
        "GET /hooks/{hookSecret}/http :: responses/200/headers/X-Accel-Expires/schema": _Rule(
            lambda v: _require(v.isascii() and v.isdigit() and v == str(int(v))),
            "wider",
            "a response header: the service writes str(cache_seconds), a non-negative int",
            examples=("0", "5", "86400"),
        ),
        # -- the decision log -------------------------------------------------------------------
        **{
            f"GET {path} :: query {field}": rule
            for path in ("/v2/broadcasts/{id}/decisions", "/v2/broadcasts/{id}/sessions/{sessionId}/decisions")
            for field, rule in (
                ("subscriberId", _Rule(decisions("subscriberId"))),
                ("address", _Rule(decisions("address"))),
                ("next", _Rule(decisions("next"), "wider", cursor)),
            )
        },
        # -- shared parameters ------------------------------------------------------------------
        "components/parameters/StreamId :: path id": _Rule(parse_stream_id, domain=_in_path),
        "components/parameters/SubscriberIdPath :: path sid": _Rule(
            lambda v: parse_rest_subscriber_id(v, "sid"), domain=_in_path
        ),
        "components/parameters/SubscriberIdQuery :: query subscriberId": _Rule(parse_rest_subscriber_id),
        "components/parameters/AppName :: path app": _Rule(
            lambda v: _require(re.fullmatch(app_names, v)), domain=_in_path
        ),
        # -- access policies: entries as written (no spaces), counts capped as the parser caps them -
        **{
            f"components/parameters/Policy{name[0].upper()}{name[1:]} :: query {name}": _Rule(
                (lambda field: lambda v: parse_policy_query({field: v}))(name), examples=_POLICY_EDGES
            )
            for name in ("allowCountries", "denyCountries", "allowOrigins", "protocols")
        },
        **{
            f"components/schemas/AccessPolicy :: {name}/items": _Rule(
                (lambda field: lambda v: parse_policy({field: [v]}))(name), examples=_POLICY_EDGES
            )
            for name in ("allowCountries", "denyCountries", "allowOrigins")
        },
        **{
            location: _Rule(
                parse,
                "wider",
                "a network with host bits set (10.0.0.1/8) is a 400 naming the network meant (README, "
                '"Access policies": no silent widening), which no pattern of reasonable size can say',
                examples=_POLICY_EDGES,
                beyond=_host_bits,
            )
            for name in ("allowCidrs", "denyCidrs")
            for location, parse in (
                (
                    f"components/parameters/Policy{name[0].upper()}{name[1:]} :: query {name}",
                    (lambda field: lambda v: parse_policy_query({field: v}))(name),
                ),
                (
                    f"components/schemas/AccessPolicy :: {name}/items",
                    (lambda field: lambda v: parse_policy({field: [v]}))(name),
                ),
            )
        },
        "components/parameters/RoomId :: query roomId": _Rule(text("roomId", 256)),
        "components/parameters/AccountId :: path id": _Rule(parse_account_id, domain=_in_path),
        "components/parameters/SessionId :: path sessionId": _Rule(parse_session_id, domain=_in_path),
        # -- request bodies ---------------------------------------------------------------------
        "components/schemas/ValidateTokenRequest :: tokenId": _Rule(text("tokenId", 4096, required=True)),
        "components/schemas/ValidateTokenRequest :: streamId": stream,
        "components/schemas/ValidateTokenRequest :: roomId": _Rule(text("roomId", 256)),
        "components/schemas/SubscriberInput :: subscriberId": _Rule(
            lambda v: parse_rest_subscriber_id(v, minimum=MIN_CREATED_ID)
        ),
        "components/schemas/SubscriberInput :: subscriberName": _Rule(text("subscriberName", 256)),
        "components/schemas/SubscriberInput :: b32Secret": _Rule(parse_b32_secret, examples=tuple(_B32_EDGES)),
        "components/schemas/SubscriberInput :: registeredNodeIp": _Rule(text("registeredNodeIp", 64)),
        "components/schemas/VerifyRequest :: code": _Rule(parse_code),
        "components/schemas/ServiceAccountInput :: name": _Rule(text("name", 64, required=True)),
        "components/schemas/ViewerTokenRequest :: stream_id": stream,
        "components/schemas/ViewerTokenRequest :: unique_user_identifier": _Rule(
            text("unique_user_identifier", 256, required=True)
        ),
        # -- media-server hooks -----------------------------------------------------------------
        "components/schemas/NginxNotify :: anyOf/1/name": stream,
        **{
            f"components/schemas/NginxNotify :: anyOf/1/{f}": _Rule(server_field(f))
            for f in ("app", "addr", "clientid")
        },
        **{
            f"components/schemas/NginxNotify :: anyOf/1/{f}": _Rule(credential(f))
            for f in ("token", "subscriberId", "subscriberCode")
        },
        "components/schemas/ServerField :: (itself)": _Rule(server_field("ip")),
        "components/schemas/HookToken :: (itself)": _Rule(credential("token")),
        "components/schemas/HookSubscriberId :: (itself)": _Rule(credential("subscriberId")),
        "components/schemas/HookSubscriberCode :: (itself)": _Rule(credential("subscriberCode")),
        "components/schemas/SrsHook :: anyOf/1/stream": stream,
        "components/schemas/MediaMtxAuth :: path": _Rule(
            mediamtx_path, examples=("cam", "/live/cam/", "a//b", "/", "x/" + "a" * 129, "a/./", "a/..//")
        ),
        "components/schemas/AntMediaAuth :: anyOf/0/streamId": stream,
        "components/schemas/AntMediaAuth :: anyOf/1/name": stream,
        # -- responses: the rule the service holds what it hands out to -------------------------
        "components/schemas/ServiceAccountWithKey :: key": _Rule(
            lambda v: _require(accounts.KEY.fullmatch(v)), examples=(accounts.new_key(), accounts.new_key())
        ),
        **{
            f"components/schemas/Jwks :: keys/items/{c}": _Rule(
                (lambda name: lambda v: signing_keys._coordinate({name: v}, name, "key"))(c)
            )
            for c in ("x", "y")
        },
        "components/schemas/Jwks :: keys/items/kid": _Rule(lambda v: _require(signing_keys.KID.fullmatch(v))),
    }
    for location, rule in rules.items():
        assert rule.relation in ("exact", "narrower", "wider"), location
        assert (rule.relation == "exact") == (rule.why == ""), f"{location}: say why a rule is not exact"
        assert rule.beyond is None or rule.relation == "wider", f"{location}: `beyond` says how a wider rule is"
    return rules


_SCHEMAS = _patterned()
_PATTERNED = sorted(_SCHEMAS)
_CHECKED = _PATTERNED

# Strings at the edges of what the fields take, hostile or merely odd.
_HOSTILE = (
    "",
    " ",
    "  ",
    "\t",
    ".",
    "..",
    "...",
    "/",
    "//",
    "a/b",
    "%2F",
    "a%2Fb",
    "a b",
    " a",
    "a ",
    " abc ",
    "abcd",
    "ABCD",
    "abc\n",
    "\nabc",
    "ab\x00cd",
    "ab\x7fcd",
    "ab\x1bcd",
    "é",
    "abcé",
    "名前です",
    "\u00a0",
    "\u2028",
    "\ufeff",
    "😀😀😀😀",
    "-1",
    "0",
    "00",
    "1",
    "123456",
    "1234567",
    "12345",
    "０１２３４５",
    "99999999999999999999",
    "1e3",
    "true",
    "null",
    "rtmp",
    "RTMP",
    "rtmp,hls",
    "rtmp, hls",
    "rtmp,rtmp,rtmp,rtmp,rtmp,rtmp",
    "de",
    "DE",
    "de,fr",
    "de, fr",
    "d",
    "deu",
    ",",
    "de,",
    "10.0.0.0/8",
    "10.0.0.1/8",
    "::1",
    "1.2.3.4",
    "https://example.com",
    "HTTPS://EXAMPLE.COM",
    "https://*.example.com:8443",
    "https://example.com:99999",
    "https://example.com/",
    "https://example.com/path",
    "sa_0123456789abcdef",
    "sa_0123456789ABCDEF",
    "0123456789abcdef0123456789abcdef",
    "alice~1",
    "alice~123456",
    "<script>",
    "' OR 1=1 --",
    "${jndi:ldap://x}",
    "a" * 63,
    "a" * 64,
    "a" * 65,
    "a" * 127,
    "a" * 128,
    "a" * 129,
    "a" * 256,
    "a" * 257,
    "a" * 4096,
    "a" * 4097,
    "A" * 43,
    "A" * 44,
    "A" * 16,
)


@pytest.fixture(scope="module")
def rules() -> dict[str, _Rule]:
    return _rules()


def test_every_pattern_in_openapi_has_a_rule(rules: dict[str, _Rule]) -> None:
    """A pattern added to openapi.yaml needs an entry in RULES (the parser it must equal); an
    entry whose pattern is gone is stale."""
    missing = sorted(set(_PATTERNED) - set(rules))
    stale = sorted(set(rules) - set(_PATTERNED))
    assert not missing, "patterns in openapi.yaml with no parser in RULES (where :: field):\n" + "\n".join(missing)
    assert not stale, "RULES entries with no pattern in openapi.yaml:\n" + "\n".join(stale)
    assert len(_PATTERNED) >= 50


@pytest.mark.parametrize("location", _CHECKED)
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_what_a_pattern_allows_its_parser_accepts(rules: dict[str, _Rule], location: str, data: st.DataObject) -> None:
    """(a) Values drawn from the pattern (within the schema's length limits) are accepted, unless
    the rule says the document allows more than the parser takes ("wider", with why)."""
    rule, schema = rules.get(location), _SCHEMAS[location]
    if rule is None or (rule.relation == "wider" and rule.beyond is None):
        return
    strategy = st.from_regex(_ecma(schema["pattern"]), fullmatch=True)
    value = data.draw(strategy.filter(lambda v: _schema_matches(schema, v) and rule.domain(v)))
    if rule.beyond is not None:  # every value but those it names is accepted, and those refused
        assert _disagreement(location, rule, schema, value) is None
        return
    assert _accepted(rule, value), f"{location}: the pattern allows {value!r}, the parser refuses it"


@pytest.mark.parametrize("location", _CHECKED)
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_parser_and_pattern_agree_on_hostile_input(rules: dict[str, _Rule], location: str, data: st.DataObject) -> None:
    """(b) On hostile and edge strings, arbitrary text and near-misses of the pattern's own
    values: the parser accepts exactly when the schema matches (one direction for a rule that
    says why it is narrower or wider)."""
    rule, schema = rules.get(location), _SCHEMAS[location]
    if rule is None:
        return
    near_miss = st.tuples(
        st.from_regex(_ecma(schema["pattern"]), fullmatch=True), st.text(max_size=2), st.integers(0, 200)
    ).map(lambda t: t[0][: t[2]] + t[1] + t[0][t[2] :])
    value = data.draw(
        st.text(max_size=300) | st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=140) | near_miss
    )
    assert _disagreement(location, rule, schema, value) is None


def test_parser_and_pattern_agree_on_every_edge_string(rules: dict[str, _Rule]) -> None:
    """The hostile corpus and each rule's examples, every one against every pattern."""
    found = [
        said
        for location in _CHECKED
        for value in _HOSTILE + rules[location].examples
        if (said := _disagreement(location, rules[location], _SCHEMAS[location], value)) is not None
    ]
    assert not found, "\n".join(found)


def _disagreement(location: str, rule: _Rule, schema: dict[str, Any], value: str) -> str | None:
    """What is wrong with how `rule` and `schema` judge `value` (None: they agree as the rule says)."""
    if not rule.domain(value):
        return None
    matches, accepted = _schema_matches(schema, value), _accepted(rule, value)
    if rule.relation == "exact":
        ok = matches == accepted
    elif rule.relation == "narrower":
        ok = accepted or not matches
    else:
        ok = matches or not accepted
        if rule.beyond is not None and matches:
            ok = accepted != rule.beyond(value)
    said = f"pattern {'allows' if matches else 'refuses'} it, parser {'accepts' if accepted else 'refuses'} it"
    return None if ok else f"{location} ({rule.relation}): {value[:80]!r}: {said}"


def test_the_reason_codes_in_the_contract_are_the_reason_enum() -> None:
    """The decision log's `reason` (filter and answer) is an enum of exactly the one Reason enum."""
    from streamauth.logic.admission import Reason

    schemas = openapi.spec()["components"]["schemas"]
    assert schemas["Reason"]["enum"] == [r.value for r in Reason]
    filters = schemas["ReasonFilter"]["anyOf"]
    assert filters == [{"$ref": "#/components/schemas/Reason"}, {"type": "string", "enum": [""]}]
