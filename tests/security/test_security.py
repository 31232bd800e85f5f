"""The promises an auth service is trusted on, each a test that fails if the promise breaks."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from typing import Any

import jwt
import pytest
import requests

from localapi import template as tpl
from tests.conftest import T0, Aws, FakeClock, call, event

SAMPLE_PATH = {
    "app": "LiveApp",  # the AntMediaAppName parameter's default
    "id": "stream1",
    "sid": "alice",
    "offset": "0",
    "size": "10",
    "seconds": "60",
    "type": "play",
    "sessionId": "0123456789abcdef0123456789abcdef",
}
OPERATOR_ROUTES = [r for r in tpl.routes() if r.authorizer is not None]


def concrete(path: str) -> str:
    return re.sub(
        r"\{([^}]+)\}",
        lambda m: (
            "sa_0123456789abcdef" if "service-accounts" in path and m.group(1) == "id" else SAMPLE_PATH[m.group(1)]
        ),
        path,
    )


# -- who may call what (over HTTP, through the local API and its authorizer) -----------------


@pytest.fixture(scope="module")
def viewer_jwt(local_api: str, operator_header: dict[str, str]) -> str:
    opened = requests.put(
        f"{local_api}/api/v1/streams/stream1/public-viewers",
        json={"enabled": True},
        headers=operator_header,
        timeout=30,
    )
    assert opened.json()["success"] is True
    reply = requests.post(
        f"{local_api}/api/v1/tokens", json={"stream_id": "stream1", "unique_user_identifier": "u"}, timeout=30
    )
    token: str = reply.json()["token"]
    return token


@pytest.fixture(scope="module")
def read_only_key(local_api: str, operator_header: dict[str, str]) -> str:
    reply = requests.post(
        f"{local_api}/api/v1/service-accounts",
        json={"name": "reader", "scopes": ["read"]},
        headers=operator_header,
        timeout=30,
    )
    key: str = reply.json()["key"]
    return key


@pytest.mark.parametrize("route", OPERATOR_ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_operator_routes_need_credentials(local_api: str, route: tpl.Route) -> None:
    reply = requests.request(route.method, local_api + concrete(route.path), timeout=30)
    assert reply.status_code == 401 and reply.headers["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    "route", [r for r in OPERATOR_ROUTES if r.path != "/api/v1/users/me"], ids=lambda r: f"{r.method} {r.path}"
)
def test_viewer_jwt_is_refused_on_operator_routes(local_api: str, viewer_jwt: str, route: tpl.Route) -> None:
    reply = requests.request(
        route.method,
        local_api + concrete(route.path),
        headers={"Authorization": f"Bearer {viewer_jwt}"},
        json={},
        timeout=30,
    )
    assert reply.status_code == 403, reply.text


WRITE_ROUTES = [
    r
    for r in OPERATOR_ROUTES
    if r.method != "GET"
    or r.path.endswith(("/token", "/jwt-token", "/totp", "subscriber-auth-token", "service-accounts"))
]


@pytest.mark.parametrize(
    "route", [r for r in WRITE_ROUTES if r.path != "/api/v1/users/me"], ids=lambda r: f"{r.method} {r.path}"
)
def test_service_account_without_the_scope_is_refused(local_api: str, read_only_key: str, route: tpl.Route) -> None:
    reply = requests.request(
        route.method,
        local_api + concrete(route.path),
        headers={"Authorization": f"Token {read_only_key}"},
        json={},
        timeout=30,
    )
    assert reply.status_code == 403, reply.text


# -- JWT attacks on every kind of JWT the service accepts ------------------------------------


def _forge(claims: dict[str, Any], key: str | None, alg: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=alg)  # type: ignore[arg-type]


def test_each_jwt_kind_is_refused_everywhere_else(aws: Aws, clock: FakeClock) -> None:
    """Stream, viewer, push and operator JWTs are signed with distinct keys (and the viewer's
    carries an audience), so none works as another."""
    from streamauth.auth import auth_context, authenticate
    from streamauth.errors import Unauthorized
    from streamauth.keys import get_keys
    from streamauth.service.tokens import token_service

    keys = get_keys()
    exp = int(T0) + 600
    kinds = {
        "stream": _forge({"streamId": "s", "type": "play", "exp": exp, "iat": T0}, keys.jwt_stream_key),
        "push": _forge({"subscriberId": "alice", "exp": exp}, keys.subscriber_auth_key),
        "viewer": _forge(
            {"stream_id": "s", "sub": "u", "iat": T0, "exp": exp, "aud": "streamauth:viewer"}, keys.viewer_jwt_key
        ),
        "operator": _forge({"sub": "ops", "exp": exp}, keys.rest_jwt_secret),
    }
    from streamauth.service.viewers import viewer_service

    service, viewers = token_service(), viewer_service()
    viewers.set_public("s", True, T0 - 60)
    assert service.stream_jwt(kinds["stream"], "s", "play", clock())
    for name in ("push", "viewer", "operator"):
        assert not service.stream_jwt(kinds[name], "s", "play", clock()), name
    assert viewers.check(kinds["viewer"], "s", clock())
    for name in ("push", "stream", "operator"):
        assert not viewers.check(kinds[name], "s", clock()), name
    for name in ("push", "stream"):
        with pytest.raises(Unauthorized):
            authenticate(f"Bearer {kinds[name]}", auth_context(), clock())


@pytest.mark.parametrize(
    "attack",
    [
        "alg-none",
        "public-key-as-hmac",
        "wrong-secret",
        "expired",
        "not-yet-valid",
        "missing-exp",
        "tampered",
        "other-stream",
        "other-type",
    ],
)
def test_stream_jwt_attacks(aws: Aws, clock: FakeClock, attack: str) -> None:
    from streamauth.keys import get_keys
    from streamauth.service.tokens import token_service

    key = get_keys().jwt_stream_key
    good = {"streamId": "s", "type": "play", "exp": int(T0) + 600, "iat": int(T0)}
    token = {
        "alg-none": lambda: _forge(good, None, "none"),
        "public-key-as-hmac": lambda: _hs256_by_hand(
            good, "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----"
        ),
        "wrong-secret": lambda: _forge(good, "x" * 40),
        "expired": lambda: _forge({**good, "exp": int(T0) - 31}, key),  # past the 30 s leeway
        "not-yet-valid": lambda: _forge({**good, "nbf": int(T0) + 31}, key),
        "missing-exp": lambda: _forge({k: v for k, v in good.items() if k != "exp"}, key),
        "tampered": lambda: _tamper(_forge(good, key)),
        "other-stream": lambda: _forge({**good, "streamId": "t"}, key),
        "other-type": lambda: _forge({**good, "type": "publish"}, key),
    }[attack]()
    assert token_service().stream_jwt(token, "s", "play", clock()) is None


def _hs256_by_hand(claims: dict[str, Any], key: str) -> str:
    """What an attacker does with a public key as the HMAC secret (PyJWT refuses to)."""
    import hashlib
    import hmac

    encode = jwt.utils.base64url_encode
    signing_input = encode(b'{"alg":"HS256","typ":"JWT"}') + b"." + encode(json.dumps(claims).encode())
    signature = encode(hmac.new(key.encode(), signing_input, hashlib.sha256).digest())
    return (signing_input + b"." + signature).decode()


def _tamper(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))
    claims["streamId"] = "t"
    return ".".join((header, jwt.utils.base64url_encode(json.dumps(claims).encode()).decode(), signature))


# -- secrets never leak ---------------------------------------------------------------------


def test_no_secret_token_code_or_key_in_any_reply_after_creation_or_any_log_line(
    aws: Aws, clock: FakeClock, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    from streamauth.logic import totp

    caplog.set_level(logging.DEBUG)
    secret = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"  # given once, at creation, never shown again
    body = {"subscriberId": "alice", "type": "publish", "b32Secret": secret}
    created = call("CreateSubscriberFunction", event("create_subscriber", body=body))
    assert created.body["success"] is True
    account = call("CreateServiceAccountFunction", event("create_service_account", body={"name": "fleet"})).body
    one_time = call("IssueTokenFunction", event("issue_token")).body["tokenId"]
    code = totp.totp(totp.b32_key(secret), clock(), 60)
    later_replies = [
        call("GetSubscriberFunction", event("get_subscriber")).body,
        call("ListSubscribersFunction", event("list_subscribers")).body,
        call("ListServiceAccountsFunction", event("list_service_accounts")).body,
        call(
            "VerifySubscriberCodeFunction", event("verify_subscriber_code", body={"code": code, "type": "publish"})
        ).body,
        call(
            "ValidateTokenFunction",
            event("validate_token", body={"tokenId": one_time, "streamId": "stream1", "type": "publish"}),
        ).body,
    ]
    replies = json.dumps(later_replies)
    output = capsys.readouterr()
    logs = caplog.text + output.out + output.err
    for value in (secret, account["key"], one_time, code):
        assert value, "each secret checked is a real value"
        assert value not in replies
        assert value not in logs


# -- races, replay, lockout -----------------------------------------------------------------


def _race(n: int, attempt: Any) -> list[bool]:
    barrier = threading.Barrier(n)
    results: list[bool] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait()
        outcome = attempt()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_fifty_parallel_validations_one_success(aws: Aws, clock: FakeClock) -> None:
    from streamauth.models.tokens import TokenRequest, ValidateRequest
    from streamauth.service.tokens import token_service

    token = token_service().issue_one_time(TokenRequest("s", int(T0) + 60, "publish", None), clock())
    request = ValidateRequest(token.token_id, "s", "publish", None)
    assert _race(50, lambda: token_service().validate(request, clock())).count(True) == 1


def test_twenty_parallel_uses_of_one_totp_code_one_success(aws: Aws, clock: FakeClock) -> None:
    from streamauth.logic import totp
    from streamauth.service.subscribers import subscriber_service

    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    body = {"subscriberId": "alice", "type": "publish", "b32Secret": secret}
    assert call("CreateSubscriberFunction", event("create_subscriber", body=body)).body["success"] is True
    code = totp.totp(totp.b32_key(secret), clock(), 60)
    results = _race(20, lambda: subscriber_service().verify("stream1", "alice", code, "publish", clock(), None).success)
    assert results.count(True) == 1


def test_consume_is_exactly_once_across_the_sdks_own_retry(aws: Aws, clock: FakeClock) -> None:
    """If a consuming write applied but its reply was lost, the SDK retries the same request:
    that retry (same consume id) succeeds, so a token is never consumed without the caller
    being told; any other caller still fails."""
    from streamauth.models.tokens import TokenRequest
    from streamauth.service.tokens import token_service
    from streamauth.store import token_store
    from streamauth.store.tokens import Use

    token = token_service().issue_one_time(TokenRequest("s", int(T0) + 60, "publish", None), clock())
    store = token_store()
    created = int(clock() * 1000)
    assert store.consume("s", token.token_id, created, "publish", clock(), Use("request-1")) is True
    assert store.consume("s", token.token_id, created, "publish", clock(), Use("request-1")) is True  # the retry
    assert store.consume("s", token.token_id, created, "publish", clock(), Use("request-2")) is False


# -- hostile inputs over HTTP ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("POST", "/v2/broadcasts/validate-token", {"data": b"{" + b" " * (1024 * 1024) + b"}"}),
        ("POST", "/api/v1/tokens", {"data": b"x" * (1024 * 1024), "headers": {"Content-Type": "application/json"}}),
        ("GET", "/v2/broadcasts/s1/tokens/list/0/1", {"headers": {"X-Big": "h" * 100_000}}),
        (
            "POST",
            "/v2/broadcasts/validate-token",
            {"data": '{"a":' * 10_000 + "1" + "}" * 10_000, "headers": {"Content-Type": "application/json"}},
        ),
        ("GET", "/v2/broadcasts/" + "a" * 10_000 + "/token?expireDate=4102444800&type=play", {}),
        ("GET", "/v2/broadcasts/s1/token?" + "&".join(f"p{i}=v" for i in range(10_000)), {}),
        (
            "POST",
            "/v2/broadcasts/validate-token",
            {"data": "tokenId=a&streamId=b", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
        ),
        (
            "POST",
            "/v2/broadcasts/validate-token",
            {"data": b"\xff\xfe\x00\x80", "headers": {"Content-Type": "application/json"}},
        ),
        ("POST", "/api/v1/tokens", {"data": b"\xc3\x28", "headers": {"Content-Type": "text/plain"}}),
        (
            "PUT",
            "/v2/broadcasts/s1/subscribers/alice/block",
            {"data": b"<xml/>", "headers": {"Content-Type": "application/xml"}},
        ),
    ],
    ids=[
        "1MB-json",
        "1MB-public",
        "100kB-header",
        "nested-10000",
        "10kB-path-segment",
        "10000-query-params",
        "form-body",
        "non-utf8",
        "bad-utf8-public",
        "xml",
    ],
)
def test_hostile_inputs_are_4xx_json(
    local_api: str, operator_header: dict[str, str], method: str, path: str, kwargs: dict[str, Any]
) -> None:
    headers = {**operator_header, **kwargs.pop("headers", {})}
    reply = requests.request(method, local_api + path, headers=headers, timeout=60, **kwargs)
    assert 400 <= reply.status_code < 500, (reply.status_code, reply.text[:200])
    assert reply.headers["Content-Type"].startswith("application/json")
    assert reply.json()["success"] is False


# -- store outages --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("function", "sample", "operation"),
    [
        ("IssueTokenFunction", "issue_token", "PutItem"),
        ("ValidateTokenFunction", "validate_token", "UpdateItem"),
        ("ListTokensFunction", "list_tokens", "Query"),
        ("RevokeTokensFunction", "revoke_tokens", "UpdateItem"),
        ("CreateSubscriberFunction", "create_subscriber", "TransactWriteItems"),
        ("GetSubscriberFunction", "get_subscriber", "GetItem"),
        ("VerifySubscriberCodeFunction", "verify_subscriber_code", "UpdateItem"),
        ("CreateServiceAccountFunction", "create_service_account", "TransactWriteItems"),
        ("CreateViewerTokenFunction", "create_viewer_token", "GetItem"),
        ("ListSessionsFunction", "list_sessions", "Query"),
    ],
)
def test_store_unavailable_is_503_json(aws: Aws, clock: FakeClock, function: str, sample: str, operation: str) -> None:
    from botocore.exceptions import EndpointConnectionError

    from streamauth.aws import dynamodb_client

    def unreachable(**_: Any) -> None:
        raise EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")

    dynamodb_client().meta.events.register(f"before-call.dynamodb.{operation}", unreachable)
    reply = call(function, event(sample))
    assert reply.status == 503 and reply.body["success"] is False
    assert reply.headers["Content-Type"] == "application/json"


def test_secrets_manager_outage_is_503_and_authorizer_failure(aws: Aws, clock: FakeClock) -> None:
    from botocore.exceptions import ClientError

    from streamauth import settings
    from streamauth.aws import secrets_client

    settings.reset_caches()

    def throttled(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "x"}}, "GetSecretValue")

    secrets_client().meta.events.register("before-call.secrets-manager.GetSecretValue", throttled)
    reply = call("IssueJwtTokenFunction", event("issue_jwt_token"))
    assert reply.status == 503 and reply.body["success"] is False


def test_short_schemathesis_run_finds_no_failure() -> None:
    """`make test`'s short fuzz: every operation of openapi.yaml, a few examples each
    (`make fuzz` runs 100 per operation)."""
    from localapi.fuzz import run

    started = time.monotonic()
    assert run(examples=5, seed=20261123, extra=["--max-failures", "1"]) == 0
    assert time.monotonic() - started < 900
