"""Reactive's model: service accounts (Token keys) and public viewer JWTs, through the real
handlers and the real authorizer, on moto's DynamoDB built from template.yaml."""

from __future__ import annotations

import logging
from typing import Any

import jwt
import pytest

from tests.conftest import T0, Aws, FakeClock, LambdaContext, call, denied, event, load_function

METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/v1/GET/api/v1/users/me"


def authorizer_answer(header: str) -> dict[str, Any]:
    evt = event("authorizer", authorizationToken=header, methodArn=METHOD_ARN)
    policy: dict[str, Any] = load_function("OperatorAuthorizerFunction").lambda_handler(evt, LambdaContext())
    return policy


def authorize(header: str) -> dict[str, Any]:
    """Run the authorizer, then hand its context to a function as API Gateway does."""
    policy = authorizer_answer(header)
    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    return {**policy["context"], "principalId": policy["principalId"]}


def as_caller(name: str, context: dict[str, Any], **changes: Any) -> dict[str, Any]:
    evt = event(name, **changes)
    evt["requestContext"]["authorizer"] = context
    return evt


def create_account(name: str = "fleet", scopes: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name}
    if scopes is not None:
        body["scopes"] = scopes
    reply = call("CreateServiceAccountFunction", event("create_service_account", body=body))
    assert reply.status == 201, reply.body
    created: dict[str, Any] = reply.body
    return created


def viewer_token(stream_id: str = "stream1", user: str = "user-1", ip: str = "198.51.100.7") -> Any:
    evt = event("create_viewer_token", body={"stream_id": stream_id, "unique_user_identifier": user})
    evt["requestContext"]["identity"]["sourceIp"] = ip
    return call("CreateViewerTokenFunction", evt)


def public_viewers(stream_id: str, enabled: Any) -> Any:
    """PUT /api/v1/streams/{id}/public-viewers as an operator."""
    evt = event("set_public_viewers", body={"enabled": enabled}, pathParameters={"id": stream_id})
    return call("SetPublicViewersFunction", evt)


@pytest.fixture
def open_stream1(aws: Aws, clock: FakeClock) -> None:
    assert public_viewers("stream1", True).body["success"] is True


def test_service_account_key_is_40_hex_shown_once_and_stored_as_hmac(aws: Aws, clock: FakeClock) -> None:
    created = create_account(scopes=["read"])
    key = created["key"]
    assert len(key) == 40 and all(c in "0123456789abcdef" for c in key)
    assert created["scopes"] == ["read"] and created["id"].startswith("sa_")
    listed = call("ListServiceAccountsFunction", event("list_service_accounts")).body
    assert [a["id"] for a in listed] == [created["id"]]
    assert set(listed[0]) == {"id", "name", "scopes", "created", "lastUsed"}
    scan = aws.client("dynamodb").scan(TableName=aws.table_name)["Items"]
    assert key not in repr(scan)


def test_token_key_authenticates_with_its_scopes(aws: Aws, clock: FakeClock) -> None:
    created = create_account(scopes=["tokens:write"])
    context = authorize(f"Token {created['key']}")
    assert context["principalType"] == "serviceAccount" and context["principalId"] == created["id"]
    me = call("UsersMeFunction", as_caller("users_me", context)).body
    assert me == {"type": "serviceAccount", "id": created["id"], "name": "fleet", "scopes": ["tokens:write"]}
    assert call("IssueTokenFunction", as_caller("issue_token", context)).status == 200
    # tokens:write does not include reading lists or managing subscribers/accounts
    assert call("ListTokensFunction", as_caller("list_tokens", context)).status == 403
    assert call("ListServiceAccountsFunction", as_caller("list_service_accounts", context)).status == 403


def test_last_used_is_recorded(aws: Aws, clock: FakeClock) -> None:
    created = create_account()
    authorize(f"Token {created['key']}")
    listed = call("ListServiceAccountsFunction", event("list_service_accounts")).body
    assert listed[0]["lastUsed"] == int(clock())


def test_rotated_and_revoked_keys_stop_working(aws: Aws, clock: FakeClock) -> None:
    created = create_account()
    rotate_event = event(
        "rotate_service_account",
        path=f"/api/v1/service-accounts/{created['id']}/rotate",
        pathParameters={"id": created["id"]},
    )
    rotated = call("RotateServiceAccountFunction", rotate_event)
    assert rotated.status == 200 and rotated.body["key"] != created["key"]
    assert denied(authorizer_answer(f"Token {created['key']}"))
    authorize(f"Token {rotated.body['key']}")
    delete_event = event(
        "delete_service_account", path=f"/api/v1/service-accounts/{created['id']}", pathParameters={"id": created["id"]}
    )
    assert call("DeleteServiceAccountFunction", delete_event).body["success"] is True
    assert denied(authorizer_answer(f"Token {rotated.body['key']}"))
    assert call("DeleteServiceAccountFunction", delete_event).status == 404
    assert call("RotateServiceAccountFunction", rotate_event).status == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": 5}, "name"),
        ({"name": "x" * 65}, "name"),
        ({"name": "ok", "scopes": "read"}, "scopes"),
        ({"name": "ok", "scopes": ["root"]}, "scopes"),
        ({"name": "ok", "scopes": []}, "scopes"),
    ],
)
def test_bad_service_account_bodies_are_400(aws: Aws, clock: FakeClock, body: dict[str, Any], field: str) -> None:
    reply = call("CreateServiceAccountFunction", event("create_service_account", body=body))
    assert reply.status == 400 and reply.body["field"] == field


@pytest.mark.parametrize("account_id", ["nope", "sa_XYZ", "sa_" + "0" * 17])
def test_bad_account_ids_are_400(aws: Aws, clock: FakeClock, account_id: str) -> None:
    reply = call("RotateServiceAccountFunction", event("rotate_service_account", pathParameters={"id": account_id}))
    assert reply.status == 400 and reply.body["field"] == "id"


def test_viewer_jwt_claims_and_lifetime(aws: Aws, clock: FakeClock) -> None:
    from streamauth.keys import get_keys

    stream = "6935357a-8d71-45f2-9a0f-ddaed705b43a"
    assert public_viewers(stream, True).status == 200
    reply = viewer_token(stream, "AB35457a")
    assert reply.status == 200 and set(reply.body) == {"token"}
    claims = jwt.decode(
        reply.body["token"],
        get_keys().viewer_jwt_key,
        algorithms=["HS256"],
        audience="streamauth:viewer",
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims["stream_id"] == stream and claims["sub"] == "AB35457a"
    assert claims["exp"] == int(T0) + 600
    assert claims["iat"] == int(T0) and isinstance(claims["iat"], int)  # integer times
    assert {"iat", "jti"} <= set(claims)


def test_streams_are_closed_to_public_viewers_until_opened(aws: Aws, clock: FakeClock) -> None:
    """The trust rule: without credentials nobody mints a viewer JWT for a stream no operator opened."""
    refused = viewer_token("never-opened")
    assert refused.status == 403 and "not open" in refused.body["message"]
    assert public_viewers("never-opened", True).body["success"] is True
    assert viewer_token("never-opened").status == 200


def test_viewer_jwt_identifies_the_viewer_and_nothing_more(aws: Aws, clock: FakeClock, open_stream1: None) -> None:
    token = viewer_token().body["token"]
    context = authorize(f"Bearer {token}")
    me = call("UsersMeFunction", as_caller("users_me", context)).body
    assert me == {"type": "viewer", "sub": "user-1", "stream_id": "stream1", "exp": int(T0) + 600}
    for function, sample in [
        ("IssueTokenFunction", "issue_token"),
        ("ListTokensFunction", "list_tokens"),
        ("RevokeTokensFunction", "revoke_tokens"),
        ("CreateServiceAccountFunction", "create_service_account"),
        ("SetPublicViewersFunction", "set_public_viewers"),
    ]:
        assert call(function, as_caller(sample, context)).status == 403, function


def test_viewer_jwt_grants_play_of_its_own_stream_only(aws: Aws, clock: FakeClock, open_stream1: None) -> None:
    from streamauth.service.tokens import token_service
    from streamauth.service.viewers import viewer_service

    token = viewer_token("stream1").body["token"]
    viewers = viewer_service()
    assert viewers.admits(token, "stream1", clock()) is True
    assert viewers.admits(token, "stream2", clock()) is False
    assert token_service().stream_jwt(token, "stream1", "play", clock()) is None  # not a stream token
    clock.advance(601 + 30)  # past exp and its leeway
    assert viewers.admits(token, "stream1", clock()) is False


def test_revoking_a_stream_revokes_its_viewer_jwts_everywhere(aws: Aws, clock: FakeClock, open_stream1: None) -> None:
    from streamauth.service.tokens import token_service
    from streamauth.service.viewers import viewer_service

    token = viewer_token("stream1").body["token"]
    context = authorize(f"Bearer {token}")
    clock.advance(1)
    token_service().revoke_all("stream1", clock())
    assert viewer_service().admits(token, "stream1", clock()) is False
    # /api/v1/users/me refuses it too, even behind the authorizer's cached answer
    assert call("UsersMeFunction", as_caller("users_me", context)).status == 401
    assert denied(authorizer_answer(f"Bearer {token}"))
    clock.advance(1)
    fresh = viewer_token("stream1").body["token"]
    assert viewer_service().admits(fresh, "stream1", clock()) is True


def test_closing_a_stream_ends_its_viewer_jwts_and_reopening_does_not_revive_them(
    aws: Aws, clock: FakeClock, open_stream1: None
) -> None:
    from streamauth.service.viewers import viewer_service

    token = viewer_token("stream1").body["token"]
    context = authorize(f"Bearer {token}")
    clock.advance(1)
    assert public_viewers("stream1", False).body["success"] is True
    assert viewer_token("stream1").status == 403
    assert viewer_service().admits(token, "stream1", clock()) is False
    assert call("UsersMeFunction", as_caller("users_me", context)).status == 401
    clock.advance(10)
    assert public_viewers("stream1", True).body["success"] is True
    assert viewer_service().admits(token, "stream1", clock()) is False  # ended for good
    fresh = viewer_token("stream1").body["token"]
    assert viewer_service().admits(fresh, "stream1", clock()) is True
    assert public_viewers("stream1", "no").status == 400


@pytest.mark.parametrize(
    "forge",
    [
        lambda key: jwt.encode(
            {"stream_id": "s", "sub": "u", "iat": T0, "exp": T0 - 1, "aud": "streamauth:viewer"}, key
        ),
        lambda key: jwt.encode(
            {"stream_id": "s", "sub": "u", "iat": T0, "exp": T0 + 60, "aud": "streamauth:viewer"}, "w" * 40
        ),
        lambda key: jwt.encode({"stream_id": "s", "sub": "u", "iat": T0, "exp": T0 + 60}, key),  # no audience
        lambda key: jwt.encode(
            {"stream_id": "s", "sub": "u", "iat": T0, "exp": T0 + 60, "aud": "streamauth:viewer"},
            None,  # type: ignore[arg-type]
            "none",
        ),
    ],
    ids=["expired", "wrong-key", "no-audience", "alg-none"],
)
def test_bad_viewer_jwts_are_unauthorized(aws: Aws, clock: FakeClock, forge: Any) -> None:
    from streamauth.keys import get_keys

    assert denied(authorizer_answer(f"Bearer {forge(get_keys().viewer_jwt_key)}"))


def test_tampered_viewer_jwt_is_unauthorized(aws: Aws, clock: FakeClock, open_stream1: None) -> None:
    token = viewer_token().body["token"]
    header, payload, signature = token.split(".")
    tampered = f"{header}.{payload[:-2]}AA.{signature}"
    assert denied(authorizer_answer(f"Bearer {tampered}"))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"unique_user_identifier": "u"}, "stream_id"),
        ({"stream_id": "", "unique_user_identifier": "u"}, "stream_id"),
        ({"stream_id": "s"}, "unique_user_identifier"),
        ({"stream_id": "s", "unique_user_identifier": ""}, "unique_user_identifier"),
        ({"stream_id": 7, "unique_user_identifier": "u"}, "stream_id"),
        ({"stream_id": "s", "unique_user_identifier": ["u"]}, "unique_user_identifier"),
        ({"stream_id": "s" * 257, "unique_user_identifier": "u"}, "stream_id"),
        ({"stream_id": "s", "unique_user_identifier": "u" * 257}, "unique_user_identifier"),
        ("{bad json", "body"),
    ],
)
def test_bad_viewer_token_requests_are_400(aws: Aws, clock: FakeClock, body: Any, field: str) -> None:
    reply = call("CreateViewerTokenFunction", event("create_viewer_token", body=body))
    assert reply.status == 400 and reply.body["field"] == field


def test_minting_a_viewer_token_writes_nothing(aws: Aws, clock: FakeClock, open_stream1: None) -> None:
    """A crowd joining one stream costs no write: one cached read of the stream's state."""
    from streamauth.aws import dynamodb_client

    seen: list[str] = []
    dynamodb_client().meta.events.register("before-call.dynamodb.*", lambda model, **_: seen.append(model.name))
    assert viewer_token().status == 200
    assert seen == ["GetItem"]
    seen.clear()
    clock.advance(1)
    assert viewer_token(ip="198.51.100.8").status == 200
    assert seen == []  # the stream's state is cached up to 5 s


def test_keys_never_logged(
    aws: Aws, clock: FakeClock, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    created = create_account()
    authorize(f"Token {created['key']}")
    call("ListServiceAccountsFunction", event("list_service_accounts"))
    public_viewers("stream1", True)
    token = viewer_token().body["token"]
    authorize(f"Bearer {token}")
    output = capsys.readouterr()
    logged = caplog.text + output.out + output.err
    assert created["key"] not in logged and token not in logged
