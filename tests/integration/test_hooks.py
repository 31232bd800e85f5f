"""Media-server hooks through the real handlers: the hook secret, the one access decision,
reason codes, and connection leases (exactly `limit` of many concurrent sessions)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.conftest import T0, Aws, FakeClock, call, event
from tests.unit.test_hook_parsers import ANTMEDIA_PUBLISH, MEDIAMTX_PUBLISH, NGINX_PUBLISH, SRS_PLAY, SRS_PUBLISH

FUTURE = int(T0) + 3600


def hook_secret() -> str:
    from streamauth.settings import get_keys

    return get_keys().hook_secret


def hook(function: str, sample: str, body: str, secret: str | None = None) -> Any:
    evt = event(sample, body=body)
    evt["pathParameters"] = {"hookSecret": hook_secret() if secret is None else secret}
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
    for secret in ("", "wrong", hook_secret()[:-1] + "x"):
        reply = hook("NginxHookFunction", "hook_nginx", body, secret=secret)
        assert reply.status == 403
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
    assert hook("MediaMtxHookFunction", "hook_mediamtx", MEDIAMTX_PUBLISH.replace("abc123", token)).status == 403
    api_action = MEDIAMTX_PUBLISH.replace('"action":"publish"', '"action":"api"')
    assert hook("MediaMtxHookFunction", "hook_mediamtx", api_action).status == 400
    other = one_time()
    assert hook("AntMediaHookFunction", "hook_antmedia", ANTMEDIA_PUBLISH.replace("abc123", other)).status == 200
    assert hook("AntMediaHookFunction", "hook_antmedia", ANTMEDIA_PUBLISH.replace("abc123", other)).status == 403


def test_viewer_jwt_plays_only_its_own_stream(aws: Aws, clock: FakeClock) -> None:
    from streamauth.logic import signing
    from streamauth.logic.viewers import viewer_claims
    from streamauth.models.viewers import ViewerTokenRequest
    from streamauth.settings import get_keys

    viewer = signing.encode(viewer_claims(ViewerTokenRequest("livestream", "u1"), T0, 600), get_keys().viewer_jwt_key)
    assert hook("SrsHookFunction", "hook_srs", SRS_PLAY.replace("jwt.a.b", viewer)).status == 200
    other = SRS_PLAY.replace("jwt.a.b", viewer).replace('"stream":"livestream"', '"stream":"other"')
    assert hook("SrsHookFunction", "hook_srs", other).status == 403
    publish = SRS_PUBLISH.replace("abc123", viewer)
    assert hook("SrsHookFunction", "hook_srs", publish).status == 403


@pytest.mark.parametrize("body", ["", "call=publish", "\x00\x01", "call=publish&name=" + "x" * 300])
def test_malformed_hook_bodies_are_4xx(aws: Aws, clock: FakeClock, body: str) -> None:
    assert hook("NginxHookFunction", "hook_nginx", body).status == 400


class _Verifier:
    """The subscriber check answered directly, to test leases on their own."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def __call__(self, stream_id: str, subscriber_id: str, code: str, action: str, now: float) -> Any:
        from streamauth.service.access import CodeCheck

        return CodeCheck(True, "allowed", self.limit)


def _access(limit: int) -> Any:
    from streamauth.service.access import AccessService
    from streamauth.service.tokens import token_service
    from streamauth.store import lease_store

    return AccessService(token_service(), lease_store(), _Verifier(limit))


def _request(session: str) -> Any:
    from streamauth.models.hooks import AccessRequest, Credentials

    return AccessRequest("nginx-rtmp", "cam1", "publish", Credentials(None, "alice", "123456"), session)


def test_twenty_concurrent_sessions_limit_two_exactly_two_admitted(aws: Aws, clock: FakeClock) -> None:
    access = _access(limit=2)
    barrier = threading.Barrier(20)
    outcomes: list[bool] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        barrier.wait()
        decision = access.decide(_request(f"s{n}"), clock())
        with lock:
            outcomes.append(decision.allow)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count(True) == 2


def test_leases_free_on_done_on_expiry_and_renew(aws: Aws, clock: FakeClock) -> None:
    from streamauth.models.hooks import SessionEvent
    from streamauth.store import lease_store

    access = _access(limit=1)
    assert access.decide(_request("a"), clock()).allow is True
    assert access.decide(_request("b"), clock()).reason == "connection_limit"
    assert access.decide(_request("a"), clock()).allow is True  # re-auth of the same session
    assert lease_store().live_count("cam1", "alice", clock()) == 1
    access.session_event(SessionEvent("nginx-rtmp", "a", "end"), clock())
    assert lease_store().live_count("cam1", "alice", clock()) == 0
    assert access.decide(_request("b"), clock()).allow is True
    # b never sends done: its lease expires and frees the slot on the next decision
    clock.advance(60)
    assert access.session_event(SessionEvent("nginx-rtmp", "b", "renew"), clock()) is True
    clock.advance(60)
    assert access.decide(_request("c"), clock()).reason == "connection_limit"  # renewed lease still live
    clock.advance(91)
    assert access.decide(_request("c"), clock()).allow is True
    # a late done for b (whose slot c took) and a done for an unknown session are harmless
    assert access.session_event(SessionEvent("nginx-rtmp", "b", "end"), clock()) is False
    assert access.session_event(SessionEvent("nginx-rtmp", "nobody", "end"), clock()) is False
    assert lease_store().live_count("cam1", "alice", clock()) == 1


def test_subscriber_code_through_the_hook_with_its_connection_limit(aws: Aws, clock: FakeClock) -> None:
    from streamauth.logic import totp

    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    created = call(
        "CreateSubscriberFunction",
        event(
            "create_subscriber",
            pathParameters={"id": "cam1"},
            body={"subscriberId": "alice", "type": "publish", "b32Secret": secret, "concurrentConnectionsLimit": 1},
        ),
    )
    assert created.body["success"] is True

    def publish(client: int, code: str) -> Any:
        body = NGINX_PUBLISH.replace("clientid=7", f"clientid={client}").replace(
            "token=abc123", f"subscriberId=alice&subscriberCode={code}"
        )
        return hook("NginxHookFunction", "hook_nginx", body)

    key = totp.b32_key(secret)
    assert publish(1, totp.totp(key, clock(), 60)).status == 200
    subscriber = call("GetSubscriberFunction", event("get_subscriber", pathParameters={"id": "cam1", "sid": "alice"}))
    assert subscriber.body["currentConcurrentConnections"] == 1 and subscriber.body["connected"] is True
    clock.advance(60)
    second = publish(2, totp.totp(key, clock(), 60))
    assert second.status == 403 and second.body["reason"] == "connection_limit"
    done = NGINX_PUBLISH.replace("call=publish", "call=publish_done").replace("clientid=7", "clientid=1")
    assert hook("NginxHookFunction", "hook_nginx", done).status == 200
    clock.advance(60)
    assert publish(2, totp.totp(key, clock(), 60)).status == 200
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
    refused = publish(3, totp.totp(key, clock(), 60))
    assert refused.status == 403 and refused.body["reason"] == "blocked"
