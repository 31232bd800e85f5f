"""The decision log through the real handlers: each enforcement point logs its refusals (and a
sample of admissions) with the reason, a credential reference, the server and the address; the
listing filters, pages newest first, refuses a tampered cursor and needs the `read` scope."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import T0, Aws, FakeClock, call, event
from tests.integration.test_hooks import hook, nginx, one_time
from tests.unit.test_hook_parsers import NGINX_PUBLISH


def decisions(stream: str = "cam1", session: str | None = None, **params: str) -> Any:
    path = {"id": stream} if session is None else {"id": stream, "sessionId": session}
    resource = (
        "/v2/broadcasts/{id}/decisions" if session is None else "/v2/broadcasts/{id}/sessions/{sessionId}/decisions"
    )
    evt = event(
        "list_decisions",
        resource=resource,
        pathParameters=path,
        queryStringParameters=params or None,
        multiValueQueryStringParameters={k: [v] for k, v in params.items()} or None,
    )
    return call("ListDecisionsFunction", evt)


@pytest.fixture
def admissions_logged(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every admission drawn into the sample (the draw is random in production)."""
    from streamauth.service import decisions as service

    class Always:
        @staticmethod
        def random() -> float:
            return 0.0

    monkeypatch.setattr(service, "_DRAW", Always())


def test_hook_refusals_are_logged_with_reason_reference_server_and_address(aws: Aws, clock: FakeClock) -> None:
    from streamauth.logic.sessions import credential_ref

    stray = "A" * 43  # a one-time token streamauth never made
    assert nginx(stray).body["reason"] == "invalid_token"
    clock.advance(1)
    evt = event(
        "hook_nginx",
        body=NGINX_PUBLISH.replace("&token=abc123", ""),
        pathParameters={"hookSecret": _secret()},
        queryStringParameters={"server": "edge-1"},
    )
    assert call("NginxHookFunction", evt).body["reason"] == "missing_credentials"
    reply = decisions()
    assert reply.status == 200 and reply.body["next"] is None
    newest, older = reply.body["decisions"]
    assert newest == {
        "at": int((T0 + 1) * 1000),
        "streamId": "cam1",
        "action": "publish",
        "allowed": False,
        "reason": "missing_credentials",
        "credential": "none",
        "server": "nginx-rtmp",
        "serverId": "edge-1",
        "address": "127.0.0.1",
    }
    assert older["reason"] == "invalid_token" and older["credential"] == "token:" + credential_ref(stray)
    assert older["at"] == int(T0 * 1000) and "serverId" not in older


def _secret() -> str:
    from streamauth.keys import get_keys

    return get_keys().hook_secret


def test_admissions_are_sampled_not_each_written(aws: Aws, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    from streamauth.service import decisions as service

    draws = iter([0.5, 0.02, 0.0101, 0.0099, 0.9])  # one of these five is under 1/100

    class Draws:
        @staticmethod
        def random() -> float:
            return next(draws)

    monkeypatch.setattr(service, "_DRAW", Draws())
    for _ in range(5):
        assert nginx(one_time()).status == 200
    monkeypatch.setattr(service, "_DRAW", None)  # a refusal draws nothing: it is always logged
    clock.advance(1)
    assert nginx("A" * 43).status == 403
    logged = decisions().body["decisions"]
    assert [d["allowed"] for d in logged] == [False, True]


def test_a_sampled_admission_and_its_sessions_refused_renew_are_the_sessions_decisions(
    aws: Aws, clock: FakeClock, admissions_logged: None
) -> None:
    token = one_time()
    admitted = nginx(token)
    assert admitted.status == 200
    session_id = decisions().body["decisions"][0]["sessionId"]
    assert call("RevokeTokensFunction", event("revoke_tokens", pathParameters={"id": "cam1"})).body["success"]
    clock.advance(10)
    renew = NGINX_PUBLISH.replace("call=publish", "call=update_publish").replace("token=abc123", f"token={token}")
    assert hook("NginxHookFunction", "hook_nginx", renew).body["reason"] == "revoked"
    assert nginx("A" * 43).status == 403  # another client's refusal: not this session's
    mine = decisions(session=session_id)
    assert mine.status == 200
    assert [(d["allowed"], d["reason"]) for d in mine.body["decisions"]] == [(False, "revoked"), (True, "allowed")]
    assert {d["sessionId"] for d in mine.body["decisions"]} == {session_id}
    assert decisions(session="b" * 32).body == {"decisions": [], "next": None}


def test_filters_by_reason_subscriber_address_and_time(aws: Aws, clock: FakeClock) -> None:
    assert nginx("A" * 43).status == 403  # invalid_token from 127.0.0.1
    clock.advance(5)
    # alice with a code that does not match: refused
    play = "app=live&addr=10.0.0.5&clientid=9&call=play&name=cam1&subscriberId=alice&subscriberCode=123456"
    refused = hook("NginxHookFunction", "hook_nginx", play)
    assert refused.status == 403
    reason = refused.body["reason"]
    assert [d["reason"] for d in decisions(reason="invalid_token").body["decisions"]] == ["invalid_token"]
    by_alice = decisions(subscriberId="alice").body["decisions"]
    assert [(d["subscriberId"], d["credential"], d["reason"]) for d in by_alice] == [
        ("alice", "subscriber:alice", reason)
    ]
    assert [d["address"] for d in decisions(address="10.0.0.5").body["decisions"]] == ["10.0.0.5"]
    assert len(decisions(since=str(int((T0 + 5) * 1000))).body["decisions"]) == 1
    assert decisions(reason="blocked").body == {"decisions": [], "next": None}
    assert decisions(stream="other").body == {"decisions": [], "next": None}


def test_pages_newest_first_until_next_is_null(aws: Aws, clock: FakeClock) -> None:
    for _ in range(7):
        assert nginx("A" * 43).status == 403
        clock.advance(1)
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        reply = decisions(limit="3", **({"next": cursor} if cursor else {}))
        assert reply.status == 200
        seen += [d["at"] for d in reply.body["decisions"]]
        pages += 1
        cursor = reply.body["next"]
        if cursor is None:
            break
    assert pages == 3 and seen == sorted(seen, reverse=True) and len(set(seen)) == 7
    assert seen[0] == int((T0 + 6) * 1000)


def test_bad_parameters_and_a_tampered_cursor_are_400_naming_the_field(aws: Aws, clock: FakeClock) -> None:
    for _ in range(3):
        nginx("A" * 43)
        clock.advance(1)
    cursor = decisions(limit="1").body["next"]
    assert cursor
    tampered = cursor[:4] + ("A" if cursor[4] != "A" else "B") + cursor[5:]
    cases = {
        "next": {"next": tampered},
        "reason": {"reason": "because"},
        "limit": {"limit": "1000"},
        "since": {"since": "-1"},
        "address": {"address": "x" * 80},
        "subscriberId": {"subscriberId": "<script>"},
    }
    for field, params in cases.items():
        reply = decisions(**params)
        assert reply.status == 400 and reply.body["field"] == field, (field, reply.body)
    other_filters = decisions(reason="invalid_token", next=cursor)
    assert other_filters.status == 400 and other_filters.body["field"] == "next"
    assert decisions(stream="cam2", next=cursor).body["field"] == "next"
    assert decisions(stream="..").body["field"] == "id"
    assert decisions(session="x").body["field"] == "sessionId"


def test_a_service_account_without_read_is_refused(aws: Aws, clock: FakeClock) -> None:
    for session in (None, "a" * 32):
        evt = event("list_decisions", pathParameters={"id": "cam1", **({"sessionId": session} if session else {})})
        if session:
            evt["resource"] = "/v2/broadcasts/{id}/sessions/{sessionId}/decisions"
            evt["path"] = f"/v2/broadcasts/cam1/sessions/{session}/decisions"
        evt["queryStringParameters"] = evt["multiValueQueryStringParameters"] = None
        evt["requestContext"]["authorizer"] = {
            "principalType": "service_account",
            "principalId": "sa1",
            "scopes": "tokens:write subscribers:write",
        }
        reply = call("ListDecisionsFunction", evt)
        assert reply.status == 403 and "read" in reply.body["message"]
        evt["requestContext"]["authorizer"]["scopes"] = "read"
        assert call("ListDecisionsFunction", evt).status == 200


def test_every_other_enforcement_point_logs_its_refusals(aws: Aws, clock: FakeClock) -> None:
    """validate-token, the subscriber-code check and HLS playback: one decision each, the reason
    they answered with."""
    token = one_time(action="play")
    validate = event("validate_token", body={"tokenId": token, "streamId": "cam1", "type": "publish"})
    assert call("ValidateTokenFunction", validate).body["success"] is False
    verify = event(
        "verify_subscriber_code",
        pathParameters={"id": "cam1", "sid": "alice"},
        body={"code": "000000", "type": "play"},
    )
    assert call("VerifySubscriberCodeFunction", verify).body["success"] is False
    segment = event("hook_http", pathParameters={"hookSecret": _secret()})
    segment["headers"] = {**segment["headers"], "X-Original-URI": "/hls/cam1/seg7.ts", "X-Stream-Id": "cam1"}
    segment["multiValueHeaders"] = {k: [v] for k, v in segment["headers"].items()}
    played = call("HttpHookFunction", segment)
    assert played.status == 403
    logged = {d["server"]: d for d in decisions().body["decisions"]}
    assert set(logged) == {"api", "http"}
    assert logged["http"]["reason"] == played.body["reason"] and logged["http"]["action"] == "play"
    by_api = [d for d in decisions().body["decisions"] if d["server"] == "api"]
    assert {(d["action"], d["reason"]) for d in by_api} >= {("publish", "invalid_token")}
    assert {d["credential"] for d in by_api} >= {"subscriber:alice"}
