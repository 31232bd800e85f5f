"""Media-server hooks through the real handlers: the hook secret, the one access decision,
reason codes, and connection leases (exactly `limit` of many concurrent sessions)."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from tests.conftest import T0, Aws, FakeClock, call, event
from tests.unit.test_hook_parsers import ANTMEDIA_PUBLISH, MEDIAMTX_PUBLISH, NGINX_PUBLISH, SRS_PLAY, SRS_PUBLISH

FUTURE = int(T0) + 3600


def hook_secret() -> str:
    from streamauth.keys import get_keys

    return get_keys().hook_secret


def hook(function: str, sample: str, body: str, secret: str | None = None) -> Any:
    evt = event(sample, body=body, pathParameters={"hookSecret": hook_secret() if secret is None else secret})
    return call(function, evt)


def one_time(stream: str = "cam1", action: str = "publish") -> str:
    from streamauth.models.tokens import TokenRequest
    from streamauth.service.tokens import token_service

    return token_service().issue_one_time(TokenRequest(stream, FUTURE, action, None), T0).token_id  # type: ignore[arg-type]


def stream_jwt(stream: str = "livestream", action: str = "play") -> str:
    from streamauth.models.tokens import TokenRequest
    from streamauth.service.tokens import token_service

    return token_service().issue_jwt(TokenRequest(stream, FUTURE, action, None), T0).token_id  # type: ignore[arg-type]


def nginx(token: str) -> Any:
    return hook("NginxHookFunction", "hook_nginx", NGINX_PUBLISH.replace("token=abc123", f"token={token}"))


def test_nginx_publish_with_fresh_token_then_replay(aws: Aws, clock: FakeClock) -> None:
    token = one_time()
    first = nginx(token)
    assert first.status == 200 and first.body["allow"] is True
    replay = nginx(token)
    assert replay.status == 403 and replay.body["reason"] == "invalid_token"


def test_wrong_or_missing_hook_secret_is_403_and_consumes_nothing(aws: Aws, clock: FakeClock) -> None:
    token = one_time()
    body = NGINX_PUBLISH.replace("token=abc123", f"token={token}")
    right = hook_secret()
    almost = right[:-1] + ("y" if right[-1] != "y" else "z")
    for secret in ("wrong", almost, "é" * 64, right + "\u00e9"):
        reply = hook("NginxHookFunction", "hook_nginx", body, secret=secret)
        assert reply.status == 403 and reply.body["message"] == "wrong hook secret"
    # a segment API Gateway would not even route here: refused as a bad parameter, never a 5xx
    assert hook("NginxHookFunction", "hook_nginx", body, secret="").status == 400
    assert nginx(token).status == 200  # still unused


def test_refusals_name_their_reason(aws: Aws, clock: FakeClock) -> None:
    assert nginx("").body["reason"] == "missing_credentials"
    assert nginx(one_time(stream="other")).body["reason"] == "invalid_token"  # another stream's token
    assert nginx(one_time(action="play")).body["reason"] == "invalid_token"  # a play token to publish
    no_token = NGINX_PUBLISH.replace("&token=abc123", "")
    assert hook("NginxHookFunction", "hook_nginx", no_token).body["reason"] == "missing_credentials"


def test_injected_name_cannot_redirect_a_token(aws: Aws, clock: FakeClock) -> None:
    victim = one_time(stream="other")
    injected = NGINX_PUBLISH.replace("token=abc123", f"token={victim}&name=other&call=publish")
    assert hook("NginxHookFunction", "hook_nginx", injected).status == 403
    assert nginx(victim).status == 403  # a cam1 publish still cannot use other's token


def test_srs_allows_with_code_zero_and_denies_otherwise(aws: Aws, clock: FakeClock) -> None:
    token = one_time(stream="livestream")
    allowed = hook("SrsHookFunction", "hook_srs", SRS_PUBLISH.replace("abc123", token))
    assert allowed.status == 200 and allowed.body["code"] == 0
    denied = hook("SrsHookFunction", "hook_srs", SRS_PUBLISH.replace("abc123", token))
    assert denied.status == 403 and denied.body["code"] != 0
    play = hook("SrsHookFunction", "hook_srs", SRS_PLAY.replace("jwt.a.b", stream_jwt()))
    assert play.status == 200 and play.body["code"] == 0
    stop = '{"server_id":"vid-0xk989d","action":"on_stop","client_id":"3y1hw9b6","stream":"livestream"}'
    assert hook("SrsHookFunction", "hook_srs", stop).body["code"] == 0


def test_mediamtx_and_antmedia(aws: Aws, clock: FakeClock) -> None:
    token = one_time()
    assert hook("MediaMtxHookFunction", "hook_mediamtx", MEDIAMTX_PUBLISH.replace("abc123", token)).status == 200
    other_client = MEDIAMTX_PUBLISH.replace("abc123", token).replace('"ip":"127.0.0.1"', '"ip":"10.9.9.9"')
    assert hook("MediaMtxHookFunction", "hook_mediamtx", other_client).status == 403
    api_action = MEDIAMTX_PUBLISH.replace('"action":"publish"', '"action":"api"')
    assert hook("MediaMtxHookFunction", "hook_mediamtx", api_action).status == 400
    other = one_time()
    assert hook("AntMediaHookFunction", "hook_antmedia", ANTMEDIA_PUBLISH.replace("abc123", other)).status == 200
    assert hook("AntMediaHookFunction", "hook_antmedia", ANTMEDIA_PUBLISH.replace("abc123", other)).status == 403


def test_viewer_jwt_plays_only_its_own_stream(aws: Aws, clock: FakeClock) -> None:
    from streamauth.keys import get_keys
    from streamauth.logic import signing
    from streamauth.logic.viewers import viewer_claims
    from streamauth.models.viewers import ViewerTokenRequest
    from streamauth.service.viewers import viewer_service

    viewer = signing.encode(viewer_claims(ViewerTokenRequest("livestream", "u1"), T0, 600), get_keys().viewer_jwt_key)
    closed = hook("SrsHookFunction", "hook_srs", SRS_PLAY.replace("jwt.a.b", viewer))
    assert closed.status == 403  # streams are closed to public viewers until an operator opens them
    assert viewer_service().set_public("livestream", True, T0 - 10)
    assert hook("SrsHookFunction", "hook_srs", SRS_PLAY.replace("jwt.a.b", viewer)).status == 200
    other = SRS_PLAY.replace("jwt.a.b", viewer).replace('"stream":"livestream"', '"stream":"other"')
    assert hook("SrsHookFunction", "hook_srs", other).status == 403
    publish = SRS_PUBLISH.replace("abc123", viewer)
    assert hook("SrsHookFunction", "hook_srs", publish).status == 403


@pytest.mark.parametrize("body", ["", "call=publish", "\x00\x01", "call=publish&name=" + "x" * 300])
def test_malformed_hook_bodies_are_4xx(aws: Aws, clock: FakeClock, body: str) -> None:
    assert hook("NginxHookFunction", "hook_nginx", body).status == 400


SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def create_subscriber(sid: str = "alice", stream: str = "cam1", limit: int = 1) -> None:
    body = {"subscriberId": sid, "type": "publish", "b32Secret": SECRET, "concurrentConnectionsLimit": limit}
    created = call("CreateSubscriberFunction", event("create_subscriber", pathParameters={"id": stream}, body=body))
    assert created.body["success"] is True


def code(clock: FakeClock) -> str:
    from streamauth.logic import totp

    return totp.totp(totp.b32_key(SECRET), clock(), 60)


def nginx_subscriber(
    clock: FakeClock,
    call_: str = "publish",
    client: int = 7,
    sid: str = "alice",
    stream: str = "cam1",
    addr: str = "127.0.0.1",
) -> Any:
    body = (
        f"app=live&addr={addr}&clientid={client}&call={call_}&name={stream}&type=live"
        f"&subscriberId={sid}&subscriberCode={code(clock)}"
    )
    return hook("NginxHookFunction", "hook_nginx", body)


def connections(sid: str = "alice", stream: str = "cam1") -> int:
    reply = call("GetSubscriberFunction", event("get_subscriber", pathParameters={"id": stream, "sid": sid}))
    count: int = reply.body["currentConcurrentConnections"]
    return count


def test_twenty_concurrent_claims_for_two_slots_get_exactly_two(aws: Aws, clock: FakeClock) -> None:
    """A subscriber's sessions are its connection leases: 20 sessions racing for a limit of 2."""
    from streamauth.models.hooks import parse_nginx
    from streamauth.service.sessions import session_service
    from streamauth.service.subscribers import subscriber_service

    create_subscriber(limit=2)
    subscriber = subscriber_service().get("cam1", "alice", clock())
    barrier = threading.Barrier(20)
    outcomes: list[bool] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        request = parse_nginx(f"app=live&addr=10.0.0.{n}&clientid={n}&call=play&name=cam1&subscriberId=alice")
        assert request is not None
        barrier.wait()
        sessions = session_service()
        claim = sessions.claim(request, "alice", subscriber, 2, clock())
        won = claim is not None and sessions.record(claim, clock())
        with lock:
            outcomes.append(won)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count(True) == 2
    assert connections() == 2


def test_a_subscriber_session_is_freed_by_its_done_by_expiry_and_kept_by_renew(aws: Aws, clock: FakeClock) -> None:
    create_subscriber(limit=1)
    assert nginx_subscriber(clock, client=1).status == 200
    clock.advance(60)
    refused = nginx_subscriber(clock, client=2)
    assert refused.status == 403 and refused.body["reason"] == "connection_limit"
    assert connections() == 1
    assert nginx_subscriber(clock, "publish_done", client=1).status == 200
    assert connections() == 0
    clock.advance(60)
    assert nginx_subscriber(clock, client=2).status == 200
    # client 2 never sends done: renewals keep its lease, then it expires and frees the slot
    clock.advance(60)
    renewed = nginx_subscriber(clock, "update_publish", client=2)
    assert renewed.status == 200 and renewed.body["reason"] == "allowed"
    clock.advance(60)
    assert nginx_subscriber(clock, client=3).body["reason"] == "connection_limit"  # renewed lease still live
    clock.advance(91)
    assert nginx_subscriber(clock, client=3).status == 200
    # client 2's renew and done come late: its slot is client 3's now, so both are refused or ignored
    late = nginx_subscriber(clock, "update_publish", client=2)
    assert late.status == 403 and late.body["reason"] == "session_not_found"
    assert nginx_subscriber(clock, "publish_done", client=2).body["reason"] == "ignored"
    assert connections() == 1


def test_a_done_or_update_naming_another_stream_or_credential_touches_nothing(aws: Aws, clock: FakeClock) -> None:
    """Finding 6: sessions were keyed by nginx's (app, addr, clientid) only."""
    create_subscriber(limit=1)
    create_subscriber(sid="bobby", limit=1)
    assert nginx_subscriber(clock, client=7).status == 200
    for forged in (
        "app=live&addr=127.0.0.1&clientid=7&call=publish_done&name=cam2&subscriberId=alice",
        "app=live&addr=127.0.0.1&clientid=7&call=play_done&name=cam1&subscriberId=alice",
        "app=live&addr=127.0.0.1&clientid=7&call=publish_done&name=cam1&subscriberId=bob",
        "app=live&addr=127.0.0.1&clientid=7&call=publish_done&name=cam1&token=abc123",
    ):
        assert hook("NginxHookFunction", "hook_nginx", forged).body["reason"] == "ignored"
    assert connections() == 1
    # bob on the same nginx client id is another session: it takes bob's own slot, not alice's
    assert nginx_subscriber(clock, client=7, sid="bobby").status == 200
    clock.advance(60)
    second = nginx_subscriber(clock, client=8)
    assert second.status == 403 and second.body["reason"] == "connection_limit"
    assert (connections(), connections("bobby")) == (1, 1)


def test_a_failed_renew_is_a_refusal(aws: Aws, clock: FakeClock) -> None:
    """Finding 6: on_update for a session streamauth does not know was answered 200."""
    unknown = "app=live&addr=127.0.0.1&clientid=99&call=update_publish&time=30&timestamp=1&name=cam1&token=abc123"
    reply = hook("NginxHookFunction", "hook_nginx", unknown)
    assert reply.status == 403 and reply.body["reason"] == "session_not_found"


def test_a_slot_conflict_tries_again_and_a_big_limit_costs_constant_requests(aws: Aws, clock: FakeClock) -> None:
    """Finding 6: TransactionConflict became 503; acquiring probed slots one at a time."""
    from botocore.exceptions import ClientError

    from streamauth.aws import dynamodb_client

    create_subscriber(limit=10_000)
    seen: list[str] = []
    conflicts = [1]

    def conflict_once(**_: Any) -> None:
        seen.append("TransactWriteItems")
        if conflicts:
            conflicts.pop()
            error = {
                "Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}],
            }
            raise ClientError(error, "TransactWriteItems")  # type: ignore[arg-type]

    client = dynamodb_client()
    client.meta.events.register("before-call.dynamodb.TransactWriteItems", conflict_once)
    client.meta.events.register("before-call.dynamodb.*", lambda model, **_: seen.append(model.name))
    reply = nginx_subscriber(clock)
    assert reply.status == 200, reply.body
    # reserve a guess, find the free slot, then accept + claim (once conflicted, once applied)
    assert seen.count("UpdateItem") == 1 and seen.count("Query") == 1
    assert seen.count("TransactWriteItems") == 2 * 2  # each attempt seen by both handlers


def test_subscriber_code_through_the_hook_with_its_connection_limit(aws: Aws, clock: FakeClock) -> None:
    create_subscriber(limit=1)
    assert nginx_subscriber(clock, client=1).status == 200
    assert connections() == 1
    clock.advance(60)
    second = nginx_subscriber(clock, client=2)
    assert second.status == 403 and second.body["reason"] == "connection_limit"
    assert nginx_subscriber(clock, "publish_done", client=1).status == 200
    clock.advance(60)
    assert nginx_subscriber(clock, client=2).status == 200
    blocked = call(
        "BlockSubscriberFunction",
        event(
            "block_subscriber",
            pathParameters={"id": "cam1", "sid": "alice"},
            body={"blockedType": "publish", "seconds": 600},
        ),
    )
    assert blocked.body["success"] is True
    clock.advance(60)
    refused = nginx_subscriber(clock, client=3)
    assert refused.status == 403 and refused.body["reason"] == "blocked"
    # and the session it had is refused at its next renew (nginx-rtmp then drops it)
    renew = nginx_subscriber(clock, "update_publish", client=2)
    assert renew.status == 403 and renew.body["reason"] == "blocked"


def test_sessions_are_listed_and_one_ended_by_id_is_refused_at_its_next_renew(aws: Aws, clock: FakeClock) -> None:
    """Every admitted publish and play is a session: GET .../sessions lists them; DELETE one and
    the media server's next renew is refused (nginx-rtmp then drops the client)."""
    token = one_time()
    assert nginx(token).status == 200
    create_subscriber(limit=1)
    assert nginx_subscriber(clock, "play", client=8).status == 200
    listed = call("ListSessionsFunction", event("list_sessions", pathParameters={"id": "cam1"}))
    assert listed.status == 200 and len(listed.body) == 2
    by_kind = {s["credential"]["kind"]: s for s in listed.body}
    assert set(by_kind) == {"token", "subscriber"}
    tokened = by_kind["token"]
    assert (tokened["action"], tokened["server"], tokened["serverSessionId"]) == (
        "publish",
        "nginx-rtmp",
        "live/127.0.0.1/7",
    )
    assert token not in json.dumps(listed.body)  # a reference, never the credential
    assert by_kind["subscriber"]["sessionId"] == "alice~0" and by_kind["subscriber"]["subscriberId"] == "alice"
    ended = call(
        "EndSessionFunction", event("end_session", pathParameters={"id": "cam1", "sessionId": tokened["sessionId"]})
    )
    assert ended.body["success"] is True
    again = call(
        "EndSessionFunction", event("end_session", pathParameters={"id": "cam1", "sessionId": tokened["sessionId"]})
    )
    assert again.body["success"] is False
    renew = NGINX_PUBLISH.replace("call=publish", "call=update_publish").replace("token=abc123", f"token={token}")
    refused = hook("NginxHookFunction", "hook_nginx", renew)
    assert refused.status == 403 and refused.body["reason"] == "session_ended"
    listed = call("ListSessionsFunction", event("list_sessions", pathParameters={"id": "cam1"}))
    assert [s["sessionId"] for s in listed.body] == ["alice~0"]


@pytest.mark.parametrize("session_id", ["x", "alice~", "~0", "a" * 300, "alice~0~1", "ALICE~abc"])
def test_bad_session_ids_are_400(aws: Aws, clock: FakeClock, session_id: str) -> None:
    reply = call("EndSessionFunction", event("end_session", pathParameters={"id": "cam1", "sessionId": session_id}))
    assert reply.status == 400 and reply.body["field"] == "sessionId"


def test_revoking_tokens_refuses_their_sessions_at_the_next_renew_and_a_fresh_token_is_admitted(
    aws: Aws, clock: FakeClock
) -> None:
    token = one_time()
    assert nginx(token).status == 200
    jwt_play = stream_jwt(stream="cam1", action="play")
    play = NGINX_PUBLISH.replace("call=publish", "call=play").replace("clientid=7", "clientid=9")
    assert hook("NginxHookFunction", "hook_nginx", play.replace("token=abc123", f"token={jwt_play}")).status == 200
    clock.advance(1)
    assert call("RevokeTokensFunction", event("revoke_tokens", pathParameters={"id": "cam1"})).body["success"] is True
    clock.advance(1)
    for call_, body in (
        ("update_publish", NGINX_PUBLISH.replace("token=abc123", f"token={token}")),
        ("update_play", play.replace("token=abc123", f"token={jwt_play}")),
    ):
        reply = hook(
            "NginxHookFunction",
            "hook_nginx",
            body.replace("call=publish", f"call={call_}").replace("call=play", f"call={call_}"),
        )
        assert reply.status == 403 and reply.body["reason"] == "revoked", call_
    from streamauth.models.tokens import TokenRequest
    from streamauth.service.tokens import token_service

    fresh = token_service().issue_one_time(TokenRequest("cam1", FUTURE, "publish", None), clock()).token_id
    assert nginx(fresh).status == 200  # a token issued after the revocation is admitted


def test_an_expired_jwt_ends_its_session_at_the_next_renew(aws: Aws, clock: FakeClock) -> None:
    from streamauth.models.tokens import TokenRequest
    from streamauth.service.tokens import token_service

    short = token_service().issue_jwt(TokenRequest("cam1", int(T0) + 60, "publish", None), T0).token_id
    body = NGINX_PUBLISH.replace("token=abc123", f"token={short}")
    assert hook("NginxHookFunction", "hook_nginx", body).status == 200
    clock.advance(50)
    assert hook("NginxHookFunction", "hook_nginx", body.replace("call=publish", "call=update_publish")).status == 200
    clock.advance(20)  # 10 s past exp: within the one leeway (30 s), as at admission
    assert hook("NginxHookFunction", "hook_nginx", body.replace("call=publish", "call=update_publish")).status == 200
    clock.advance(20)  # 30 s past exp
    reply = hook("NginxHookFunction", "hook_nginx", body.replace("call=publish", "call=update_publish"))
    assert reply.status == 403 and reply.body["reason"] == "expired"


def test_an_srs_session_holds_its_slot_until_srs_says_it_stopped(aws: Aws, clock: FakeClock) -> None:
    """SRS calls on_stop for every session, so its sessions need no renew: a limit of 1 holds
    for a long stream, and the stop frees it."""
    create_subscriber(limit=1)

    def srs(action: str, client: str) -> Any:
        body = (
            f'{{"server_id":"vid-1","action":"{action}","client_id":"{client}","ip":"10.0.0.1","stream":"cam1",'
            f'"param":"?subscriberId=alice&subscriberCode={code(clock)}"}}'
        )
        return hook("SrsHookFunction", "hook_srs", body)

    assert srs("on_play", "c1").status == 200
    clock.advance(3600)  # an hour of playing, no renew
    assert srs("on_play", "c2").body["reason"] == "connection_limit"
    assert srs("on_stop", "c1").body["reason"] == "ended"
    clock.advance(60)
    assert srs("on_play", "c2").status == 200


def test_mediamtx_asking_twice_for_one_client_uses_a_one_time_token_once(aws: Aws, clock: FakeClock) -> None:
    """MediaMTX authenticates an RTSP read at DESCRIBE and again at SETUP (another id): the same
    client within seconds is the same use; another client, or later, is refused."""
    token = one_time(action="play")
    read = (
        MEDIAMTX_PUBLISH.replace('"action":"publish"', '"action":"read"')
        .replace('"protocol":"rtmp"', '"protocol":"rtsp"')
        .replace("abc123", token)
    )
    assert hook("MediaMtxHookFunction", "hook_mediamtx", read).status == 200
    setup = read.replace("1b7a1a5e-8f7e-4d1c-9c0e-2f2a9d7e1c11", "2c8b2b6f-9f8f-5e2d-0d1f-3f3b0e8f2d22")
    clock.advance(2)
    assert hook("MediaMtxHookFunction", "hook_mediamtx", setup).status == 200
    assert hook("MediaMtxHookFunction", "hook_mediamtx", setup.replace("127.0.0.1", "10.1.1.1")).status == 403
    clock.advance(10)
    assert hook("MediaMtxHookFunction", "hook_mediamtx", setup).status == 403
    # nginx-rtmp asks once per session: there a one-time token is one admission, whoever asks
    other = one_time()
    assert nginx(other).status == 200
    assert (
        hook(
            "NginxHookFunction",
            "hook_nginx",
            NGINX_PUBLISH.replace("clientid=7", "clientid=8").replace("abc123", other),
        ).status
        == 403
    )
