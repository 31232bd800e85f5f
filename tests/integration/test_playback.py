"""HLS/DASH playback behind nginx's auth_request, through the real hook function: admitted once
with a play credential, then by the playback session alone; ended by revocation, a block, the
operator, or time."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import T0, Aws, FakeClock, call, event
from tests.integration.test_hooks import SECRET, create_subscriber, hook_secret

FUTURE = int(T0) + 3600
PLAYLIST = "/hls/cam1/index.m3u8"
SEGMENT = "/hls/cam1/3.ts"


def check(
    uri: str, cookie: str | None = None, ip: str = "203.0.113.10", secret: str | None = None, **extra: str
) -> Any:
    headers = {"X-Original-URI": uri, "X-Real-IP": ip, **extra}
    if cookie is not None:
        headers["Cookie"] = cookie
    evt = event("hook_http", pathParameters={"hookSecret": hook_secret() if secret is None else secret})
    evt["headers"] = headers
    evt["multiValueHeaders"] = {k: [v] for k, v in headers.items()}
    return call("HttpHookFunction", evt)


def cookie_of(reply: Any) -> str:
    """What the player sends back: the cookie's name=value, from the Set-Cookie nginx hands it."""
    value: str = reply.headers["X-Playback-Cookie"]
    return value.split(";", 1)[0]


def play_token(stream: str = "cam1", at: float = T0 - 1) -> str:
    from streamauth.models.tokens import TokenRequest
    from streamauth.service.tokens import token_service

    return token_service().issue_one_time(TokenRequest(stream, FUTURE, "play", None), at).token_id


def admitted(token: str | None = None, ip: str = "203.0.113.10") -> str:
    reply = check(f"{PLAYLIST}?token={token or play_token()}", ip=ip)
    assert reply.status == 200, reply.body
    return cookie_of(reply)


def test_a_playlist_with_a_one_time_token_opens_a_session_that_admits_the_segments(aws: Aws, clock: FakeClock) -> None:
    token = play_token()
    first = check(f"{PLAYLIST}?token={token}")
    assert first.status == 200 and first.headers["X-Accel-Expires"] == "0"  # never cache an answer with a cookie
    set_cookie = first.headers["X-Playback-Cookie"]
    assert set_cookie.startswith("streamauth_playback=") and "Path=/hls/cam1/;" in set_cookie
    assert "HttpOnly" in set_cookie and "Max-Age=300" in set_cookie and "Secure" not in set_cookie
    cookie = cookie_of(first)
    for uri in (SEGMENT, "/hls/cam1/4.ts", f"{PLAYLIST}?token={token}"):  # a reload carries the used token: fine
        reply = check(uri, cookie)
        assert reply.status == 200 and reply.headers["X-Accel-Expires"] == "10", uri
    # the token was consumed once, for that first request only
    assert check(f"{PLAYLIST}?token={token}").body["reason"] == "invalid_token"


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        (SEGMENT, "session_required"),  # a copied segment URL without the session
        (f"{SEGMENT}?token=anything", "session_required"),  # a credential admits at the playlist only
        (PLAYLIST, "missing_credentials"),
        (f"{PLAYLIST}?token=nope", "invalid_token"),
    ],
)
def test_refusals_without_a_session(aws: Aws, clock: FakeClock, uri: str, reason: str) -> None:
    reply = check(uri)
    assert reply.status == 403 and reply.body["reason"] == reason
    assert reply.headers["X-Accel-Expires"] == "0"


def test_another_streams_token_or_session_does_not_open_this_stream(aws: Aws, clock: FakeClock) -> None:
    other = play_token("cam2")
    assert check(f"{PLAYLIST}?token={other}").body["reason"] == "invalid_token"
    cam2_cookie = cookie_of(check(f"/hls/cam2/index.m3u8?token={play_token('cam2')}"))
    assert check(SEGMENT, cam2_cookie).body["reason"] == "session_required"


def test_a_publish_token_does_not_play(aws: Aws, clock: FakeClock) -> None:
    from streamauth.models.tokens import TokenRequest
    from streamauth.service.tokens import token_service

    publish = token_service().issue_one_time(TokenRequest("cam1", FUTURE, "publish", None), T0 - 1).token_id
    assert check(f"{PLAYLIST}?token={publish}").status == 403


def test_revoking_the_streams_tokens_ends_playback(aws: Aws, clock: FakeClock) -> None:
    cookie = admitted()
    clock.advance(1)
    assert call("RevokeTokensFunction", event("revoke_tokens", pathParameters={"id": "cam1"})).body["success"]
    reply = check(SEGMENT, cookie)
    assert reply.status == 403 and reply.body["reason"] == "revoked"


def test_ending_the_session_over_the_api_ends_playback(aws: Aws, clock: FakeClock) -> None:
    cookie = admitted()
    (session,) = call("ListSessionsFunction", event("list_sessions", pathParameters={"id": "cam1"})).body
    assert session["server"] == "http" and session["action"] == "play"
    ended = call(
        "EndSessionFunction", event("end_session", pathParameters={"id": "cam1", "sessionId": session["sessionId"]})
    )
    assert ended.body["success"] is True
    assert check(SEGMENT, cookie).body["reason"] == "session_ended"


def test_a_subscriber_blocked_while_watching_is_cut_off(aws: Aws, clock: FakeClock) -> None:
    from streamauth.logic import totp

    create_subscriber(limit=1)
    code = totp.totp(totp.b32_key(SECRET), clock(), 60)
    first = check(f"{PLAYLIST}?subscriberId=alice&subscriberCode={code}")
    assert first.status == 200, first.body
    cookie = cookie_of(first)
    body = {"blockedType": "play", "seconds": 600}
    evt = event("block_subscriber", pathParameters={"id": "cam1", "sid": "alice"}, body=body)
    assert call("BlockSubscriberFunction", evt).body["success"] is True
    assert check(SEGMENT, cookie).body["reason"] == "blocked"


def test_the_session_renews_past_half_its_life_and_ends_when_unused(aws: Aws, clock: FakeClock) -> None:
    cookie = admitted()
    clock.advance(100)
    assert check(SEGMENT, cookie).body["reason"] == "allowed"
    clock.advance(60)  # 160 s of 300: past half
    renewed = check(SEGMENT, cookie)
    assert renewed.status == 200 and renewed.body["reason"] == "renewed" and renewed.headers["X-Accel-Expires"] == "0"
    fresh = cookie_of(renewed)
    clock.advance(250)  # the first cookie has expired; the renewed one lives
    assert check(SEGMENT, cookie).status == 403
    assert check(SEGMENT, fresh).status == 200
    clock.advance(400)
    assert check(SEGMENT, fresh).status == 403


def test_a_session_can_be_bound_to_its_client_address(
    aws: Aws, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamauth.settings import get_settings

    monkeypatch.setenv("PLAYBACK_BIND_ADDRESS", "true")
    get_settings.cache_clear()
    cookie = admitted(ip="198.51.100.1")
    assert check(SEGMENT, cookie, ip="198.51.100.1").status == 200
    assert check(SEGMENT, cookie, ip="198.51.100.2").body["reason"] == "session_required"
    get_settings.cache_clear()


def test_a_secure_origin_gets_a_secure_cookie(aws: Aws, clock: FakeClock) -> None:
    reply = check(f"{PLAYLIST}?token={play_token()}", **{"X-Forwarded-Proto": "https"})
    assert reply.headers["X-Playback-Cookie"].endswith("; Secure")


@pytest.mark.parametrize(
    ("headers", "field"),
    [
        ({"X-Original-URI": ""}, "X-Original-URI"),
        ({"X-Original-URI": "/hls/cam1/index.m3u8?token=é"}, "X-Original-URI"),
        ({"X-Original-URI": "/etc/passwd"}, "X-Original-URI"),
        ({"X-Original-URI": PLAYLIST + "?token=a%00b"}, "token"),
        ({"X-Original-URI": PLAYLIST + "?subscriberId=alice&subscriberCode=%C3%A9"}, "subscriberCode"),
        ({"X-Original-URI": PLAYLIST, "X-Stream-Id": "a/b"}, "X-Stream-Id"),
        ({"X-Original-URI": PLAYLIST, "X-Real-IP": "é"}, "X-Real-IP"),
        ({"X-Original-URI": PLAYLIST, "Cookie": "x" * 9000}, "Cookie"),
    ],
)
def test_hostile_headers_are_refused_naming_the_field(
    aws: Aws, clock: FakeClock, headers: dict[str, str], field: str
) -> None:
    evt = event("hook_http", pathParameters={"hookSecret": hook_secret()})
    evt["headers"] = headers
    evt["multiValueHeaders"] = {k: [v] for k, v in headers.items()}
    reply = call("HttpHookFunction", evt)
    # 403, not 400: nginx's auth_request turns any status but 401 and 403 into its own 500
    assert reply.status == 403 and reply.body["field"] == field and reply.body["reason"] == "malformed_request"
    assert reply.headers["X-Accel-Expires"] == "0" and "X-Playback-Cookie" not in reply.headers


def test_a_wrong_hook_secret_is_403_and_consumes_nothing(aws: Aws, clock: FakeClock) -> None:
    token = play_token()
    assert check(f"{PLAYLIST}?token={token}", secret="wrong").status == 403
    assert check(f"{PLAYLIST}?token={token}").status == 200


def test_dynamodb_requests_per_admission_and_per_check(aws: Aws, clock: FakeClock) -> None:
    from streamauth.aws import dynamodb_client

    token = play_token()
    seen: list[str] = []
    dynamodb_client().meta.events.register("before-call.dynamodb.*", lambda model, **_: seen.append(model.name))
    cookie = admitted(token)
    # consume the token and record the session (one transaction), then confirm the token was
    # not revoked meanwhile (one strongly consistent BatchGetItem of it and its stream; the
    # stream's item is in no transaction, where a crowd's admissions would conflict on it)
    assert seen == ["TransactWriteItems", "BatchGetItem"]
    seen.clear()
    assert check(SEGMENT, cookie).status == 200
    assert seen == ["BatchGetItem"]  # the session and its stream, fresh: one request
