"""The operator authorizer: Bearer JWTs signed with the REST JWT secret, alg pinned to HS256."""

from __future__ import annotations

import base64
import json
from typing import Any

import jwt
import pytest

from tests.conftest import T0, Aws, FakeClock, LambdaContext, denied, event, load_function

METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/v1/GET/v2/broadcasts/stream1/token"
FAR = int(T0) + 3600


def authorize(header: str | None) -> dict[str, Any]:
    evt = event("authorizer", authorizationToken=header, methodArn=METHOD_ARN)
    result: dict[str, Any] = load_function("OperatorAuthorizerFunction").lambda_handler(evt, LambdaContext())
    return result


def rest_secret() -> str:
    from streamauth.keys import get_keys

    return get_keys().rest_jwt_secret


def test_valid_operator_jwt_is_allowed_for_the_whole_stage(aws: Aws, clock: FakeClock) -> None:
    token = jwt.encode({"sub": "alice", "exp": int(T0) + 60}, rest_secret(), algorithm="HS256")
    policy = authorize(f"Bearer {token}")
    statement = policy["policyDocument"]["Statement"][0]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == ["arn:aws:execute-api:us-east-1:123456789012:abc123/v1/*/*"]
    assert policy["principalId"] == "alice"
    assert policy["context"]["principalType"] == "operator"
    assert policy["context"]["scopes"] == "*"
    assert all(isinstance(v, str | int) for v in policy["context"].values())


def test_jwt_without_exp_is_refused_unless_the_deployment_allows_legacy_ones(
    aws: Aws, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamauth.settings import get_settings

    token = jwt.encode({"sub": "ops"}, rest_secret(), algorithm="HS256")
    assert denied(authorize(f"Bearer {token}"))
    monkeypatch.setenv("ALLOW_LEGACY_OPERATOR_JWT", "true")  # the AllowLegacyOperatorJwt parameter
    get_settings.cache_clear()
    assert authorize(f"Bearer {token}")["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    get_settings.cache_clear()


def test_operator_jwt_times_have_a_leeway_of_30_s_and_iat_may_not_be_far_ahead(aws: Aws, clock: FakeClock) -> None:
    def header(claims: dict[str, Any]) -> str:
        return "Bearer " + jwt.encode({"sub": "ops", **claims}, rest_secret(), algorithm="HS256")

    assert authorize(header({"exp": int(T0) - 29}))["principalId"] == "ops"
    assert authorize(header({"exp": int(T0) + 60, "iat": int(T0) + 59}))["principalId"] == "ops"
    for claims in ({"exp": int(T0) - 30}, {"exp": int(T0) + 3600, "iat": int(T0) + 61}):
        assert denied(authorize(header(claims)))


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
        lambda: "Bearer " + jwt.encode({"sub": "x", "exp": int(T0) - 31}, rest_secret(), algorithm="HS256"),
        lambda: "Bearer " + jwt.encode({"sub": "x", "nbf": int(T0) + 60, "exp": FAR}, rest_secret(), algorithm="HS256"),
        lambda: (
            "Bearer " + jwt.encode({"sub": "x", "exp": FAR}, "another-secret-of-enough-length-000", algorithm="HS256")
        ),
        lambda: "Bearer " + jwt.encode({"sub": "x", "exp": FAR}, rest_secret(), algorithm="HS512"),
        lambda: "Bearer " + _b64({"alg": "none", "typ": "JWT"}) + "." + _b64({"sub": "x", "exp": FAR}) + ".",
        lambda: "Bearer " + _b64({"alg": "HS256"}) + "." + _b64({"sub": "admin", "exp": FAR}) + "." + "A" * 43,
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
def test_bad_credentials_are_unauthorized(
    aws: Aws, clock: FakeClock, make_header: Any, request: pytest.FixtureRequest
) -> None:
    """Refused with a Deny whose context says why, in words for the caller (the template's 401
    shows them): never the credential, never which key."""
    from streamauth.auth import REFUSALS

    header = make_header()
    policy = authorize(header)
    case = request.node.callspec.id
    assert denied(policy) == REASONS[case], case
    assert policy["context"]["message"] == REFUSALS[REASONS[case]]
    assert set(policy["context"]) == {"reason", "message"}
    if header and len(header) > 12:
        assert header.split(" ", 1)[-1][:12] not in json.dumps(policy)


REASONS = {
    "missing": "missing",
    "empty": "missing",
    "no-value": "malformed",
    "basic": "malformed",
    "garbage": "malformed",
    "unknown-key": "not_accepted",
    "expired": "expired",
    "not-yet-valid": "not_accepted",
    "wrong-secret": "not_accepted",
    "hs512": "not_accepted",
    "alg-none": "not_accepted",
    "forged-signature": "not_accepted",
    "oversized": "malformed",
}


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
    assert denied(authorize(f"Bearer {header}.{payload}.{signature}"))


def test_stream_jwt_is_not_an_operator_credential(aws: Aws, clock: FakeClock) -> None:
    from streamauth.keys import get_keys

    stream_token = jwt.encode(
        {"streamId": "s", "type": "publish", "exp": int(T0) + 60}, get_keys().jwt_stream_key, algorithm="HS256"
    )
    assert denied(authorize(f"Bearer {stream_token}"))


def test_a_stream_token_signed_with_a_key_equal_to_the_rest_secret_is_still_no_operator_credential(
    aws: Aws, clock: FakeClock
) -> None:
    """Defence in depth behind the equal-keys check: claims of another kind are refused."""
    for claims in (
        {"streamId": "s", "type": "publish"},
        {"stream_id": "s", "sub": "u", "aud": "streamauth:viewer"},
        {"subscriberId": "alice"},
    ):
        token = jwt.encode({**claims, "exp": FAR}, rest_secret(), algorithm="HS256")
        assert denied(authorize(f"Bearer {token}"))


@pytest.mark.parametrize("form", ["{jwt}", "bearer {jwt}", "BEARER {jwt}", "BeArEr {jwt}", "Bearer {jwt}"])
def test_ant_medias_header_forms_are_accepted(aws: Aws, clock: FakeClock, form: str) -> None:
    """Ant Media's JWTFilter takes the bare JWT (its only form before ams-v2.12.0) and the scheme
    in any case (`jwtToken.toLowerCase().startsWith("bearer")`): issue 21, rows 1 and 2."""
    token = jwt.encode({"sub": "ops", "exp": FAR}, rest_secret(), algorithm="HS256")
    policy = authorize(form.format(jwt=token))
    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow" and policy["principalId"] == "ops"


@pytest.mark.parametrize(
    "form",
    [
        "Bearer{jwt}",  # no space: not a scheme, not a bare JWT
        "Bearer  {jwt} extra",
        "{jwt} {jwt}",
        "Basic {jwt}",
        "JWT {jwt}",
        "{jwt}.x",  # four segments
        "token {jwt}",  # a JWT is not a service-account key
    ],
)
def test_other_header_forms_are_still_refused(aws: Aws, clock: FakeClock, form: str) -> None:
    token = jwt.encode({"sub": "ops", "exp": FAR}, rest_secret(), algorithm="HS256")
    assert denied(authorize(form.format(jwt=token)))


def test_a_bare_jwt_is_checked_as_a_bearer_one(aws: Aws, clock: FakeClock) -> None:
    """The bare form gains nothing: a wrong key, an expired or unsigned JWT is refused as with Bearer."""
    wrong = jwt.encode({"sub": "ops", "exp": FAR}, "another-key-of-at-least-32-bytes!!", algorithm="HS256")
    expired = jwt.encode({"sub": "ops", "exp": int(T0) - 31}, rest_secret(), algorithm="HS256")
    unsigned = _b64({"alg": "none", "typ": "JWT"}) + "." + _b64({"sub": "x", "exp": FAR}) + "."
    for token in (wrong, expired, unsigned):
        assert denied(authorize(token))
