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
    assert reply.status == 200 and reply.body == {"success": True, "message": "", "dataId": "", "errorId": 0}
    body = get().body
    assert body["subscriberId"] == "alice" and body["streamId"] == "stream1" and body["type"] == "publish"
    assert body["currentConcurrentConnections"] == 0 and body["connected"] is False
    assert body["concurrentConnectionsLimit"] == 1 and body["blockedType"] is None
    # Ant Media's addSubscriber stores the app's period when none is given
    assert body["blockedUntilUnitTimeStampMs"] == 0 and body["totpExpiryPeriodSeconds"] == 60
    assert "b32Secret" not in body and SECRET not in json.dumps(body)
    stored = json.dumps(aws.client("dynamodb").scan(TableName=aws.table_name)["Items"])
    assert SECRET not in stored  # sealed at rest


def test_without_a_secret_codes_are_the_apps(aws: Aws, clock: FakeClock) -> None:
    """Ant Media derives a stored subscriber's codes from the app's TOTP secret when it has none
    of its own (BroadcastRestServiceV2UnitTest.testGetTOTP: totp3 == totp2): nothing generated."""
    reply = call(
        "CreateSubscriberFunction",
        event("create_subscriber", pathParameters={"id": "stream1"}, body={"subscriberId": "bobby", "type": "play"}),
    )
    assert reply.body["success"] is True and reply.body["dataId"] == ""
    assert totp_of("bobby", "play").body["success"] is False  # no app secret configured yet
    _set_app_secret(aws, "playTotpSecret", "appPlaySecret-of-at-least-32-bytes!!")
    from streamauth.logic import totp

    expected = totp.totp(
        totp.derived_key("appPlaySecret-of-at-least-32-bytes!!", "bobby", "stream1", "play"), clock(), 60
    )
    assert totp_of("bobby", "play").body["dataId"] == expected
    assert verify(expected, action="play", sid="bobby")["success"] is True
    assert verify(expected, action="play", sid="bobby")["success"] is False  # replay: its profile holds the step


def _set_app_secret(aws: Aws, name: str, value: str) -> None:
    from streamauth import settings

    arn = aws.secret_arns["SubscriberSecret"]
    current = json.loads(aws.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])
    aws.client("secretsmanager").put_secret_value(SecretId=arn, SecretString=json.dumps({**current, name: value}))
    settings.reset_caches()


def test_unknown_subscriber(aws: Aws, clock: FakeClock) -> None:
    assert get("nobody").status == 404
    deleted = call("DeleteSubscriberFunction", event("delete_subscriber", pathParameters=path("nobody")))
    assert deleted.status == 200 and deleted.body["success"] is False
    unblocked = call("UnblockSubscriberFunction", event("unblock_subscriber", pathParameters=path("nobody")))
    assert unblocked.body["success"] is False
    # Ant Media's blockSubscriber stores a subscriber it does not know, blocked (row 9 of issue 21)
    blocked = call("BlockSubscriberFunction", event("block_subscriber", pathParameters=path("nobody")))
    assert blocked.status == 200 and blocked.body["success"] is True
    assert get("nobody").body["blockedType"] == "publish"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"subscriberId": "abc"}, "subscriberId"),  # Ant Media: more than 3 characters
        ({"subscriberId": "   "}, "subscriberId"),
        ({"subscriberId": None}, "subscriberId"),
        ({"subscriberId": 123}, "subscriberId"),
        ({"subscriberId": "x" * 129}, "subscriberId"),
        ({"subscriberId": "tab\there"}, "subscriberId"),
        ({"type": "record"}, "type"),
        ({"totpExpiryPeriodSeconds": 9}, "totpExpiryPeriodSeconds"),
        ({"totpExpiryPeriodSeconds": 2**31}, "totpExpiryPeriodSeconds"),
        ({"totpExpiryPeriodSeconds": "x"}, "totpExpiryPeriodSeconds"),
        ({"concurrentConnectionsLimit": 0}, "concurrentConnectionsLimit"),
        ({"b32Secret": "JBSWY3DPEHPK3PX1"}, "b32Secret"),  # '1' is not base32
        ({"b32Secret": "JBSWY3DPEHPK3PX"}, "b32Secret"),  # 15: not a multiple of 8
        ({"b32Secret": "JBSWY3DP"}, "b32Secret"),  # 8: shorter than 16 (kept: README, Migrating from Ant Media)
        ({"b32Secret": 42}, "b32Secret"),
        ({"blockedType": "record"}, "blockedType"),
        ({"subscriberName": "x" * 300}, "subscriberName"),
    ],
)
def test_bad_subscribers_are_ant_medias_success_false_naming_the_field(
    aws: Aws, clock: FakeClock, body: dict[str, Any], field: str
) -> None:
    reply = create(body)
    assert reply.status == 200 and reply.body["success"] is False and reply.body["field"] == field
    assert reply.body["dataId"] == "" and get().status == 404  # nothing stored


def test_custom_period_and_registered_code(aws: Aws, clock: FakeClock) -> None:
    create({"totpExpiryPeriodSeconds": 30})
    reply = totp_of()
    assert reply.body["success"] is True
    assert reply.body["message"] == reply.body["dataId"] == code_now(clock, period=30)


def test_unregistered_subscriber_code_needs_the_app_secret(aws: Aws, clock: FakeClock) -> None:
    reply = totp_of("guest42", "publish")
    assert reply.status == 200 and reply.body["success"] is False and "secret" in reply.body["message"]
    no_type = totp_of("guest42")  # type is needed to derive the secret
    assert no_type.status == 200 and no_type.body["success"] is False and no_type.body["field"] == "type"
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
    for sid in ("alice", "bobby", "carol"):
        create({"subscriberId": sid})
    create({"subscriberId": "other"}, stream="stream2")
    assert (
        call("DeleteSubscriberFunction", event("delete_subscriber", pathParameters=path("bobby"))).body["success"]
        is True
    )
    assert get("bobby").status == 404
    reply = call("DeleteSubscribersFunction", event("delete_subscribers"))
    assert reply.body["success"] is True
    assert get("alice").status == 404 and get("carol").status == 404 and get("other", "stream2").status == 200
    # Ant Media's revokeSubscribers: false when the stream had none (row 13 of issue 21)
    again = call("DeleteSubscribersFunction", event("delete_subscribers"))
    assert again.status == 200 and again.body["success"] is False


def test_push_notification_token(aws: Aws, clock: FakeClock) -> None:
    import jwt

    from streamauth.keys import get_keys

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
    # Ant Media (PushNotificationRestServiceTest): 0 or less is an hour
    zero = call(
        "PushTokenFunction", event("push_token", queryStringParameters={"subscriberId": "a", "timeoutSeconds": "0"})
    )
    assert zero.body["success"] is True
    assert jwt.decode(zero.body["dataId"], options={"verify_signature": False})["exp"] == int(T0) + 3600
    for query, field in (
        ({}, "subscriberId"),
        ({"subscriberId": "alice", "timeoutSeconds": "x"}, "timeoutSeconds"),
        ({"subscriberId": "alice", "timeoutSeconds": str(31 * 86_400)}, "timeoutSeconds"),
    ):
        bad = call("PushTokenFunction", event("push_token", queryStringParameters=query or None))
        assert bad.status == 200 and bad.body["success"] is False and bad.body["field"] == field


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
    other = "MFRGGZDFMZTWQ2LKMFRGGZDFMZTWQ2LK"
    create({"subscriberId": "bobby", "type": "play", "b32Secret": other.lower()})
    code = totp_of().body["dataId"]
    verify(code)
    verify("000000")
    get()
    out = capsys.readouterr()
    logged = caplog.text + out.out + out.err
    assert SECRET not in logged and other not in logged and other.lower() not in logged and code not in logged


@pytest.mark.parametrize("secret", ["AAAAAAAAAAAAAAAAA=======", "AAAAAAAAAAAAAAAA" + "=" * 8])
def test_undecodable_base32_is_refused_not_a_crash_later(aws: Aws, clock: FakeClock, secret: str) -> None:
    """Found by schemathesis: padding that passes the character check but cannot be decoded."""
    reply = create({"b32Secret": secret})
    assert reply.status == 200 and reply.body["success"] is False and reply.body["field"] == "b32Secret"
    assert get().status == 404  # nothing half-written


def test_sixteen_character_secret_verifies(aws: Aws, clock: FakeClock) -> None:
    """Found by schemathesis: an 80-bit secret (Ant Media's minimum) crashed the code check."""
    create({"b32Secret": "JBSWY3DPEHPK3PXP"})
    assert verify(code_now(clock, "JBSWY3DPEHPK3PXP"))["success"] is True
    assert verify("000000" if code_now(clock, "JBSWY3DPEHPK3PXP") != "000000" else "111111")["success"] is False


WIDE_IDS = ["user name", "a#b#c", "a/b/c", "100%", "%41%", 'say "hi"', "it's", "müller", "名前です", "x~0~y"]


def test_wide_ids_reach_keys_only_escaped(aws: Aws, clock: FakeClock) -> None:
    """Ant Media's subscriber ids are any non-blank text: stored and read back as sent, but every
    key (and the `subscriberId` attribute the enforcer reads) holds them percent-encoded, so no
    two ids share a key and none can forge another item's key (`#` separates key parts, `~` a
    subscriber's session slots)."""
    import re

    for subscriber_id in WIDE_IDS:
        assert create({"subscriberId": subscriber_id}).body["success"] is True, subscriber_id
        blocked = call(
            "BlockSubscriberFunction",
            event("block_subscriber", pathParameters=path(subscriber_id), body={"blockedType": "play", "seconds": 60}),
        )
        if "/" in subscriber_id:  # no path can carry it: the function names the parameter
            assert blocked.status == 400 and blocked.body["field"] == "sid"
            continue
        assert blocked.body["success"] is True, blocked.body
    call("BlockSubscriberFunction", event("block_subscriber", pathParameters=path("new one#2")))  # stored by blocking
    items = aws.client("dynamodb").scan(TableName=aws.table_name)["Items"]
    safe = re.compile(r"[A-Za-z0-9_.@:+\-%]+")
    subscribers = [item for item in items if item.get("kind", {}).get("S") == "subscriber"]
    assert len(subscribers) == len(WIDE_IDS) + 1
    for item in subscribers:
        assert safe.fullmatch(item["sk"]["S"].removeprefix("SUB#")), item["sk"]
        assert safe.fullmatch(item["subscriberId"]["S"]), item["subscriberId"]
    for subscriber_id in (i for i in WIDE_IDS if "/" not in i):
        body = get(subscriber_id).body
        assert body["subscriberId"] == subscriber_id and body["blockedType"] == "play"
    listed = call(
        "ListSubscribersFunction",
        event("list_subscribers", pathParameters={"id": "stream1", "offset": "0", "size": "50"}),
    ).body
    assert sorted(s["subscriberId"] for s in listed) == sorted([*WIDE_IDS, "new one#2"])


@pytest.mark.parametrize("sid", [".", "..", " ", "\x7f", "a\nb"])
def test_ids_that_cannot_be_a_subscriber(aws: Aws, clock: FakeClock, sid: str) -> None:
    reply = call("DeleteSubscriberFunction", event("delete_subscriber", pathParameters=path(sid)))
    assert reply.status == 200 and reply.body["success"] is False and reply.body["field"] == "sid"
