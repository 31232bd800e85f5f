"""Secrets by purpose: rotating one secret kills only its kind of credential (the procedure the
README gives: put a new value; functions read it within their secret cache time)."""

from __future__ import annotations

import json
import secrets
from typing import Any

import jwt
import pytest

from tests.conftest import T0, Aws, FakeClock, LambdaContext, event, load_function
from tests.integration.test_hooks import SECRET, code, create_subscriber, nginx_subscriber

METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/v1/GET/v2/broadcasts/s1/token"


def rotate(aws: Aws, logical_id: str) -> None:
    """What an operator does: a new value for one secret (a fresh 64-character key)."""
    client = aws.client("secretsmanager")
    current = json.loads(client.get_secret_value(SecretId=aws.secret_arns[logical_id])["SecretString"])
    rotated = {name: secrets.token_hex(32) for name in current}
    client.put_secret_value(SecretId=aws.secret_arns[logical_id], SecretString=json.dumps(rotated))
    from streamauth.settings import reset_caches

    reset_caches()  # in AWS: within SECRET_CACHE_SECONDS (300 s) of every warm function


def credentials(clock: FakeClock) -> dict[str, Any]:
    """One credential of every kind, minted before a rotation."""
    from streamauth.keys import get_keys
    from streamauth.logic import signing
    from streamauth.logic.viewers import viewer_claims
    from streamauth.models.tokens import TokenRequest
    from streamauth.models.viewers import ViewerTokenRequest
    from streamauth.service.tokens import token_service

    keys = get_keys()
    return {
        "operator": jwt.encode({"sub": "ops", "exp": int(T0) + 3600}, keys.rest_jwt_secret, algorithm="HS256"),
        "stream": token_service().issue_jwt(TokenRequest("cam1", int(T0) + 3600, "publish", None), T0).token_id,
        "viewer": signing.encode(viewer_claims(ViewerTokenRequest("cam1", "u"), T0, 600), keys.viewer_jwt_key),
        "hook": keys.hook_secret,
    }


def operator_ok(token: str) -> bool:
    evt = event("authorizer", authorizationToken=f"Bearer {token}", methodArn=METHOD_ARN)
    policy = load_function("OperatorAuthorizerFunction").lambda_handler(evt, LambdaContext())
    return bool(policy["policyDocument"]["Statement"][0]["Effect"] == "Allow")  # a refusal is a Deny


def alive(kind: str, value: str, clock: FakeClock) -> bool:
    from streamauth.keys import get_keys
    from streamauth.service.tokens import token_service
    from streamauth.service.viewers import viewer_service

    if kind == "operator":
        return operator_ok(value)
    if kind == "stream":
        return token_service().stream_jwt(value, "cam1", "publish", clock()) is not None
    if kind == "viewer":
        return viewer_service().admits(value, "cam1", clock()) is True
    return value == get_keys().hook_secret


@pytest.mark.parametrize(
    ("secret", "dies"),
    [
        ("OperatorJwtSecret", "operator"),
        ("StreamJwtSecret", "stream"),
        ("ViewerJwtSecret", "viewer"),
        ("HookSecret", "hook"),
    ],
)
def test_rotating_one_secret_kills_only_its_kind(aws: Aws, clock: FakeClock, secret: str, dies: str) -> None:
    from streamauth.service.viewers import viewer_service

    viewer_service().set_public("cam1", True, T0 - 60)
    create_subscriber()
    minted = credentials(clock)
    assert all(alive(kind, value, clock) for kind, value in minted.items())
    rotate(aws, secret)
    for kind, value in minted.items():
        assert alive(kind, value, clock) is (kind != dies), kind
    assert nginx_subscriber(clock).status == 200  # subscriber codes are another secret's kind


def test_rotating_the_service_account_pepper_kills_every_key_and_nothing_else(aws: Aws, clock: FakeClock) -> None:
    from streamauth.auth import auth_context, authenticate
    from streamauth.errors import Unauthorized
    from streamauth.models.accounts import CreateAccountRequest
    from streamauth.models.principals import operator as operator_principal
    from streamauth.service.accounts import account_service

    _, key = account_service().create(CreateAccountRequest.parse({"name": "ci"}), clock(), operator_principal())
    operator = credentials(clock)["operator"]
    assert authenticate(f"Token {key}", auth_context(), clock()).kind == "serviceAccount"
    rotate(aws, "ServiceAccountSecret")
    with pytest.raises(Unauthorized):
        authenticate(f"Token {key}", auth_context(), clock())
    assert operator_ok(operator)


def test_replacing_the_subscriber_secret_outright_makes_sealed_secrets_unreadable_never_wrong(
    aws: Aws, clock: FakeClock
) -> None:
    """The wrong way to rotate (README, "Sealed secrets"): a new subscriberSecretKey with no
    sealKeys drops the key stored secrets were sealed with (kid 0 derives from it), so they cannot
    be read (a 500 naming the cause), never read wrong. The right way, adding a seal key and
    keeping the old, loses no subscriber (tests/integration/test_signing_keys.py)."""
    create_subscriber()
    rotate(aws, "SubscriberSecret")
    clock.advance(60)
    reply = nginx_subscriber(clock)
    assert reply.status == 500 and "cannot be read" in reply.body["message"]
    create_subscriber()  # re-created (same b32Secret): codes work again
    assert nginx_subscriber(clock).status == 200
    assert code(clock) and SECRET not in json.dumps(reply.body)
