"""Subscribers and TOTP through the real handlers, with a controlled clock."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from tests.conftest import T0, Aws, FakeClock, call, event

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def path(sid: str = "alice", stream: str = "stream1") -> dict[str, str]:
    return {"id": stream, "sid": sid}


def create(body: dict[str, Any] | None = None, stream: str = "stream1") -> Any:
    payload = {"subscriberId": "alice", "type": "publish", "b32Secret": SECRET, **(body or {})}
    return call("CreateSubscriberFunction", event("create_subscriber", pathParameters={"id": stream}, body=payload))


def get(sid: str = "alice", stream: str = "stream1") -> Any:
    return call("GetSubscriberFunction", event("get_subscriber", pathParameters=path(sid, stream)))


def code_now(clock: FakeClock, secret: str = SECRET, period: int = 60, offset_steps: int = 0) -> str:
    from streamauth.logic import totp

    return totp.totp(totp.b32_key(secret), clock() + offset_steps * period, period)


def verify(code: str, action: str = "publish", sid: str = "alice", stream: str = "stream1") -> Any:
    reply = call(
        "VerifySubscriberCodeFunction",
        event("verify_subscriber_code", pathParameters=path(sid, stream), body={"code": code, "type": action}),
    )
    assert reply.status == 200, reply.body
    return reply.body


def totp_of(sid: str = "alice", action: str | None = None, stream: str = "stream1") -> Any:
    return call(
        "SubscriberTotpFunction",
        event(
            "subscriber_totp",
            pathParameters=path(sid, stream),
            queryStringParameters={"type": action} if action else None,
        ),
    )


def test_create_get_shape_without_secret(aws: Aws, clock: FakeClock) -> None:
    reply = create({"subscriberName": "Alice", "currentConcurrentConnections": 7, "unknownField": 1})
    assert reply.status == 200 and reply.body["success"] is True and reply.body["dataId"] is None
    body = get().body
    assert body["subscriberId"] == "alice" and body["streamId"] == "stream1" and body["type"] == "publish"
    assert body["currentConcurrentConnections"] == 0 and body["connected"] is False
    assert body["concurrentConnectionsLimit"] == 1 and body["blockedType"] is None
    assert body["blockedUntilUnitTimeStampMs"] == 0 and body["totpExpiryPeriodSeconds"] is None
    assert "b32Secret" not in body and SECRET not in json.dumps(body)
    stored = json.dumps(aws.client("dynamodb").scan(TableName=aws.table_name)["Items"])
    assert SECRET not in stored  # sealed at rest


def test_generated_secret_is_returned_once_and_works(aws: Aws, clock: FakeClock) -> None:
    reply = call(
        "CreateSubscriberFunction",
        event("create_subscriber", pathParameters={"id": "stream1"}, body={"subscriberId": "bob", "type": "play"}),
    )
    secret = reply.body["dataId"]
    assert isinstance(secret, str) and len(secret) == 32
    assert secret not in json.dumps(get("bob").body)
    assert verify(code_now(clock, secret), action="play", sid="bob")["success"] is True


def test_unknown_subscriber(aws: Aws, clock: FakeClock) -> None:
    assert get("nobody").status == 404
    deleted = call("DeleteSubscriberFunction", event("delete_subscriber", pathParameters=path("nobody")))
    assert deleted.status == 200 and deleted.body["success"] is False
    blocked = call("BlockSubscriberFunction", event("block_subscriber", pathParameters=path("nobody")))
    assert blocked.status == 200 and blocked.body["success"] is False
    unblocked = call("UnblockSubscriberFunction", event("unblock_subscriber", pathParameters=path("nobody")))
    assert unblocked.body["success"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"subscriberId": "ab"}, "subscriberId"),
        ({"subscriberId": None}, "subscriberId"),
        ({"subscriberId": 123}, "subscriberId"),
        ({"type": "record"}, "type"),
        ({"totpExpiryPeriodSeconds": 9}, "totpExpiryPeriodSeconds"),
        ({"totpExpiryPeriodSeconds": "x"}, "totpExpiryPeriodSeconds"),
        ({"concurrentConnectionsLimit": 0}, "concurrentConnectionsLimit"),
        ({"b32Secret": "JBSWY3DPEHPK3PX1"}, "b32Secret"),  # '1' is not base32
        ({"b32Secret": "jbswy3dpehpk3pxp"}, "b32Secret"),
        ({"b32Secret": "JBSWY3DPEHPK3PX"}, "b32Secret"),  # 15: not a multiple of 8
        ({"b32Secret": "JBSWY3DP"}, "b32Secret"),  # 8: shorter than 16
        ({"b32Secret": 42}, "b32Secret"),
        ({"streamId": "other"}, "streamId"),
        ({"subscriberName": "x" * 300}, "subscriberName"),
    ],
)
def test_bad_subscribers_are_400_naming_the_field(aws: Aws, clock: FakeClock, body: dict[str, Any], field: str) -> None:
    reply = create(body)
    assert reply.status == 400 and reply.body["field"] == field


def test_custom_period_and_registered_code(aws: Aws, clock: FakeClock) -> None:
    create({"totpExpiryPeriodSeconds": 30})
    reply = totp_of()
    assert reply.body["success"] is True
    assert reply.body["message"] == reply.body["dataId"] == code_now(clock, period=30)


def test_unregistered_subscriber_code_needs_the_app_secret(aws: Aws, clock: FakeClock) -> None:
    reply = totp_of("guest42", "publish")
    assert reply.status == 200 and reply.body["success"] is False and "secret" in reply.body["message"]
    assert totp_of("guest42").status == 400  # type is needed to derive the secret
    from streamauth import settings

    app_secret = "appPublishSecret-of-at-least-32-bytes"
    current = json.loads(
        aws.client("secretsmanager").get_secret_value(SecretId=aws.secret_arns["SubscriberSecret"])["SecretString"]
    )
    aws.client("secretsmanager").put_secret_value(
        SecretId=aws.secret_arns["SubscriberSecret"],
        SecretString=json.dumps({**current, "publishTotpSecret": app_secret}),
    )
    settings.reset_caches()
    from streamauth.logic import totp

    expected = totp.totp(totp.derived_key(app_secret, "guest42", "stream1", "publish"), clock(), 60)
    reply = totp_of("guest42", "publish")
    assert reply.body["success"] is True and reply.body["dataId"] == expected
    assert verify(expected, sid="guest42")["success"] is True
    assert verify(expected, sid="guest42")["success"] is False  # replay, also for derived secrets


def test_window_and_replay(aws: Aws, clock: FakeClock) -> None:
    create()
    assert verify(code_now(clock, offset_steps=-1))["success"] is True
    assert verify(code_now(clock, offset_steps=-1))["success"] is False  # accepted once only
    assert verify(code_now(clock))["success"] is True
    assert verify(code_now(clock))["success"] is False
    assert verify(code_now(clock, offset_steps=1))["success"] is True
    assert verify(code_now(clock, offset_steps=2))["success"] is False  # outside the window


def test_publish_grants_play_but_not_the_reverse(aws: Aws, clock: FakeClock) -> None:
    create({"subscriberId": "viewer", "type": "play"})
    create({"subscriberId": "host", "type": "publish"})
    assert verify(code_now(clock), action="publish", sid="viewer")["success"] is False
    assert verify(code_now(clock), action="play", sid="host")["success"] is True


def test_block_both_forms_and_unblock(aws: Aws, clock: FakeClock) -> None:
    create()
    reply = call(
        "BlockSubscriberFunction",
        event("block_subscriber", pathParameters=path(), body={"blockedType": "publish", "seconds": 120}),
    )
    assert reply.body["success"] is True
    body = get().body
    assert body["blockedType"] == "publish" and body["blockedUntilUnitTimeStampMs"] == int(T0 * 1000) + 120_000
    refused = verify(code_now(clock))
    assert refused["success"] is False and "blocked" in refused["message"]
    assert verify(code_now(clock), action="play")["success"] is True  # play is not blocked
    clock.advance(121)  # the block ends by itself, whatever is stored
    assert get().body["blockedType"] is None
    assert verify(code_now(clock))["success"] is True
    ant_form = event("block_subscriber", pathParameters={**path(), "seconds": "600", "type": "publish_play"}, body=None)
    ant_form["resource"] = "/v2/broadcasts/{id}/subscribers/{sid}/block/{seconds}/{type}"
    ant_form["path"] = "/v2/broadcasts/stream1/subscribers/alice/block/600/publish_play"
    assert call("BlockSubscriberFunction", ant_form).body["success"] is True
    clock.advance(60)  # next step, so codes are fresh
    assert verify(code_now(clock), action="play")["success"] is False
    call("UnblockSubscriberFunction", event("unblock_subscriber", pathParameters=path()))
    assert verify(code_now(clock), action="play")["success"] is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"blockedType": "publish", "seconds": 0}, "seconds"),
        ({"blockedType": "publish", "seconds": -5}, "seconds"),
        ({"blockedType": "publish", "seconds": "soon"}, "seconds"),
        ({"blockedType": "record", "seconds": 10}, "blockedType"),
        ({"seconds": 10}, "blockedType"),
    ],
)
def test_bad_blocks_are_400(aws: Aws, clock: FakeClock, body: dict[str, Any], field: str) -> None:
    create()
    reply = call("BlockSubscriberFunction", event("block_subscriber", pathParameters=path(), body=body))
    assert reply.status == 400 and reply.body["field"] == field


def test_brute_force_lockout_grows_and_success_resets(aws: Aws, clock: FakeClock) -> None:
    create()
    wrong = "000000" if code_now(clock) != "000000" else "111111"
    for _ in range(5):
        assert verify(wrong)["success"] is False
    locked = verify(code_now(clock))
    assert locked["success"] is False and "too many" in locked["message"]  # right code refused too
    clock.advance(29)
    assert verify(code_now(clock))["success"] is False
    clock.advance(2)  # 31 s: the first lockout (30 s) is over
    for _ in range(5):
        verify(wrong)
    clock.advance(31)
    assert verify(code_now(clock))["success"] is False  # second lockout: 60 s
    clock.advance(30)
    assert verify(code_now(clock))["success"] is True
    for _ in range(4):  # a success reset the count: 4 wrong codes do not lock
        verify(wrong)
    clock.advance(60)
    assert verify(code_now(clock))["success"] is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "12345", "type": "play"}, "code"),
        ({"code": 123456, "type": "play"}, "code"),
        ({"code": "abcdef"}, "code"),
        ({"type": "play"}, "code"),
        ({"code": "123456", "type": "x"}, "type"),
    ],
)
def test_bad_verify_bodies_are_400(aws: Aws, clock: FakeClock, body: dict[str, Any], field: str) -> None:
    reply = call("VerifySubscriberCodeFunction", event("verify_subscriber_code", pathParameters=path(), body=body))
    assert reply.status == 400 and reply.body["field"] == field


def test_verify_costs_at_most_two_requests(aws: Aws, clock: FakeClock) -> None:
    from streamauth.aws import dynamodb_client

    create()
    seen: list[str] = []
    dynamodb_client().meta.events.register("before-call.dynamodb.*", lambda model, **_: seen.append(model.name))
    assert verify(code_now(clock))["success"] is True
    assert len(seen) <= 2, seen
    seen.clear()
    assert verify("000000" if code_now(clock) != "000000" else "111111")["success"] is False
    assert len(seen) <= 2, seen


def test_list_pages_past_hundreds_in_stable_order(aws: Aws, clock: FakeClock) -> None:
    ids = [f"user{n:04d}" for n in range(130)]
    for sid in ids:
        create({"subscriberId": sid, "b32Secret": None})

    def page(offset: int, size: int) -> list[str]:
        reply = call(
            "ListSubscribersFunction",
            event("list_subscribers", pathParameters={"id": "stream1", "offset": str(offset), "size": str(size)}),
        )
        return [s["subscriberId"] for s in reply.body]

    assert page(0, 500) == ids[:50]
    assert page(100, 50) == ids[100:]
    assert page(125, 10) == ids[125:]
    listed = call("ListSubscribersFunction", event("list_subscribers")).body
    assert all("b32Secret" not in s for s in listed)


def test_delete_one_and_all(aws: Aws, clock: FakeClock) -> None:
    for sid in ("alice", "bob", "carol"):
        create({"subscriberId": sid})
    create({"subscriberId": "other"}, stream="stream2")
    assert (
        call("DeleteSubscriberFunction", event("delete_subscriber", pathParameters=path("bob"))).body["success"] is True
    )
    assert get("bob").status == 404
    reply = call("DeleteSubscribersFunction", event("delete_subscribers"))
    assert reply.body["success"] is True and "2 subscribers" in reply.body["message"]
    assert get("alice").status == 404 and get("other", "stream2").status == 200


def test_push_notification_token(aws: Aws, clock: FakeClock) -> None:
    import jwt

    from streamauth.settings import get_keys

    reply = call("PushTokenFunction", event("push_token"))
    assert reply.body["success"] is True and reply.body["message"] == "Token is available in dataId field"
    claims = jwt.decode(
        reply.body["dataId"],
        get_keys().subscriber_auth_key,
        algorithms=["HS256"],
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims["subscriberId"] == "alice" and claims["exp"] == int(T0) + 3600
    default = call("PushTokenFunction", event("push_token", queryStringParameters={"subscriberId": "alice"}))
    assert default.status == 200
    for query, field in (
        ({}, "subscriberId"),
        ({"subscriberId": "alice", "timeoutSeconds": "0"}, "timeoutSeconds"),
        ({"subscriberId": "alice", "timeoutSeconds": "x"}, "timeoutSeconds"),
    ):
        bad = call("PushTokenFunction", event("push_token", queryStringParameters=query or None))
        assert bad.status == 400 and bad.body["field"] == field


def test_store_throttling_is_503(aws: Aws, clock: FakeClock) -> None:
    from botocore.exceptions import ClientError

    from streamauth.aws import dynamodb_client

    create()

    def throttle(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"}}, "UpdateItem")

    dynamodb_client().meta.events.register("before-call.dynamodb.UpdateItem", throttle)
    reply = call(
        "VerifySubscriberCodeFunction",
        event("verify_subscriber_code", pathParameters=path(), body={"code": "123456", "type": "play"}),
    )
    assert reply.status == 503 and reply.body["success"] is False


def test_secrets_and_codes_never_logged(
    aws: Aws, clock: FakeClock, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    create()
    generated = call(
        "CreateSubscriberFunction",
        event("create_subscriber", pathParameters={"id": "stream1"}, body={"subscriberId": "bob", "type": "play"}),
    ).body["dataId"]
    code = totp_of().body["dataId"]
    verify(code)
    verify("000000")
    get()
    out = capsys.readouterr()
    logged = caplog.text + out.out + out.err
    assert SECRET not in logged and generated not in logged and code not in logged


@pytest.mark.parametrize("secret", ["AAAAAAAAAAAAAAAAA=======", "AAAAAAAAAAAAAAAA" + "=" * 8])
def test_undecodable_base32_is_400_not_a_crash_later(aws: Aws, clock: FakeClock, secret: str) -> None:
    """Found by schemathesis: padding that passes the character check but cannot be decoded."""
    reply = create({"b32Secret": secret})
    assert reply.status == 400 and reply.body["field"] == "b32Secret"
    assert get().status == 404  # nothing half-written


def test_sixteen_character_secret_verifies(aws: Aws, clock: FakeClock) -> None:
    """Found by schemathesis: an 80-bit secret (Ant Media's minimum) crashed the code check."""
    create({"b32Secret": "JBSWY3DPEHPK3PXP"})
    assert verify(code_now(clock, "JBSWY3DPEHPK3PXP"))["success"] is True
    assert verify("000000" if code_now(clock, "JBSWY3DPEHPK3PXP") != "000000" else "111111")["success"] is False
