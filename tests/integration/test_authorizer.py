"""The operator authorizer: Bearer JWTs signed with the REST JWT secret, alg pinned to HS256."""

from __future__ import annotations

import base64
import json
from typing import Any

import jwt
import pytest

from tests.conftest import T0, Aws, FakeClock, LambdaContext, event, load_function

METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/v1/GET/v2/broadcasts/stream1/token"


def authorize(header: str | None) -> dict[str, Any]:
    evt = event("authorizer", authorizationToken=header, methodArn=METHOD_ARN)
    result: dict[str, Any] = load_function("OperatorAuthorizerFunction").lambda_handler(evt, LambdaContext())
    return result


def rest_secret() -> str:
    from streamauth.settings import get_keys

    return get_keys().rest_jwt_secret


def test_valid_operator_jwt_is_allowed_for_the_whole_stage(aws: Aws, clock: FakeClock) -> None:
    token = jwt.encode({"sub": "alice", "exp": int(T0) + 60}, rest_secret(), algorithm="HS256")
    policy = authorize(f"Bearer {token}")
    statement = policy["policyDocument"]["Statement"][0]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == "arn:aws:execute-api:us-east-1:123456789012:abc123/v1/*/*"
    assert policy["principalId"] == "alice"
    assert policy["context"]["principalType"] == "operator"
    assert policy["context"]["scopes"] == "*"
    assert all(isinstance(v, str | int) for v in policy["context"].values())


def test_jwt_without_exp_is_accepted_as_ant_media_does(aws: Aws, clock: FakeClock) -> None:
    token = jwt.encode({"sub": "ops"}, rest_secret(), algorithm="HS256")
    assert authorize(f"Bearer {token}")["policyDocument"]["Statement"][0]["Effect"] == "Allow"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "make_header",
    [
        lambda: None,
        lambda: "",
        lambda: "Bearer",
        lambda: "Basic dXNlcjpwYXNz",
        lambda: "Bearer not-a-jwt",
        lambda: "Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b",  # no such service account
        lambda: "Bearer " + jwt.encode({"sub": "x", "exp": int(T0) - 1}, rest_secret(), algorithm="HS256"),
        lambda: "Bearer " + jwt.encode({"sub": "x", "nbf": int(T0) + 60}, rest_secret(), algorithm="HS256"),
        lambda: "Bearer " + jwt.encode({"sub": "x"}, "another-secret-of-enough-length-000", algorithm="HS256"),
        lambda: "Bearer " + jwt.encode({"sub": "x"}, rest_secret(), algorithm="HS512"),
        lambda: "Bearer " + _b64({"alg": "none", "typ": "JWT"}) + "." + _b64({"sub": "x"}) + ".",
        lambda: "Bearer " + _b64({"alg": "HS256"}) + "." + _b64({"sub": "admin"}) + "." + "A" * 43,
        lambda: "Bearer " + "x" * 10_000,
    ],
    ids=[
        "missing",
        "empty",
        "no-value",
        "basic",
        "garbage",
        "unknown-key",
        "expired",
        "not-yet-valid",
        "wrong-secret",
        "hs512",
        "alg-none",
        "forged-signature",
        "oversized",
    ],
)
def test_bad_credentials_are_unauthorized(aws: Aws, clock: FakeClock, make_header: Any) -> None:
    with pytest.raises(Exception, match="^Unauthorized$"):
        authorize(make_header())


def test_rs256_token_cannot_pass_as_hs256(aws: Aws, clock: FakeClock) -> None:
    """Algorithm confusion: a token whose header says RS256 is refused before any key is used."""
    header = _b64({"alg": "RS256", "typ": "JWT"})
    payload = _b64({"sub": "admin"})
    import hashlib
    import hmac

    signature = (
        base64.urlsafe_b64encode(
            hmac.new(rest_secret().encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
        )
        .rstrip(b"=")
        .decode()
    )
    with pytest.raises(Exception, match="^Unauthorized$"):
        authorize(f"Bearer {header}.{payload}.{signature}")


def test_stream_jwt_is_not_an_operator_credential(aws: Aws, clock: FakeClock) -> None:
    from streamauth.settings import get_keys

    stream_token = jwt.encode(
        {"streamId": "s", "type": "publish", "exp": int(T0) + 60}, get_keys().jwt_stream_key, algorithm="HS256"
    )
    with pytest.raises(Exception, match="^Unauthorized$"):
        authorize(f"Bearer {stream_token}")
