"""One admission model (issue 20): a regression test per finding, each failing on 5cffeec, plus
the structure that keeps them fixed (one rule, one reason enum, one session identity, DynamoDB
only in store/)."""

from __future__ import annotations

import ast
import base64
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import T0, Aws, FakeClock, call, event
from tests.integration.test_cloudfront import cdn, keys, playback, stream_jwt  # noqa: F401
from tests.integration.test_hooks import FUTURE, SECRET, code, hook, hook_secret
from tests.integration.test_playback import PLAYLIST, check, cookie_of, play_token

LAYER = Path(__file__).resolve().parents[2] / "layers" / "streamauth" / "streamauth"
SUB = "lou001"


def subscriber(sid: str = SUB, stream: str = "cam1", limit: int = 1, kind: str = "publish") -> None:
    body = {"subscriberId": sid, "type": kind, "b32Secret": SECRET, "concurrentConnectionsLimit": limit}
    created = call("CreateSubscriberFunction", event("create_subscriber", pathParameters={"id": stream}, body=body))
    assert created.body["success"] is True, created.body


def on(server: str | None, function: str, sample: str, body: str) -> Any:
    evt = event(sample, body=body, pathParameters={"hookSecret": hook_secret()})
    evt["queryStringParameters"] = {"server": server} if server else None
    evt["multiValueQueryStringParameters"] = {"server": [server]} if server else None
    return call(function, evt)


def nginx(server: str | None, clock: FakeClock, call_: str, client: int = 7, action_stream: str = "cam1") -> Any:
    body = (
        f"app=live&addr=127.0.0.1&clientid={client}&call={call_}&name={action_stream}"
        f"&subscriberId={SUB}&subscriberCode={code(clock)}"
    )
    return on(server, "NginxHookFunction", "hook_nginx", body)


# -- 1. sessions on different servers are different sessions ---------------------------------------


def test_the_same_client_id_on_two_servers_is_two_sessions_and_limits_hold_across_them(
    aws: Aws, clock: FakeClock
) -> None:
    subscriber(limit=1)
    assert nginx("edge-a", clock, "publish").status == 200
    clock.advance(60)  # a fresh code
    refused = nginx("edge-b", clock, "publish")
    assert refused.status == 403 and refused.body["reason"] == "connection_limit"
    # edge-b's done names no session of edge-a's
    assert nginx("edge-b", clock, "publish_done").body["reason"] == "ignored"
    assert nginx("edge-a", clock, "update_publish").status == 200


def test_a_token_session_on_one_server_is_not_ended_by_another_servers_done(aws: Aws, clock: FakeClock) -> None:
    from tests.integration.test_hooks import one_time as hook_token

    token = hook_token(action="play")
    body = f"app=live&addr=127.0.0.1&clientid=7&call=play&name=cam1&token={token}"
    assert on("edge-a", "NginxHookFunction", "hook_nginx", body).status == 200
    done = on("edge-b", "NginxHookFunction", "hook_nginx", body.replace("call=play", "call=play_done"))
    assert done.body["reason"] == "ignored"
    renew = on("edge-a", "NginxHookFunction", "hook_nginx", body.replace("call=play", "call=update_play"))
    assert renew.status == 200


def test_a_client_cannot_name_the_server_its_session_is_on(aws: Aws, clock: FakeClock) -> None:
    """nginx-rtmp notifying by GET appends its client's arguments to the hook URL after the
    operator's `?server=`: a client adding `&server=elsewhere` must not move its session to a
    server the enforcer would ask to end it (the first value is the operator's)."""
    from tests.integration.test_hooks import one_time as hook_token

    token = hook_token(action="play")
    evt = event("hook_nginx", body="", pathParameters={"hookSecret": hook_secret()})
    args = {"app": "live", "addr": "127.0.0.1", "clientid": "7", "call": "play", "name": "cam1", "token": token}
    evt["httpMethod"] = "GET"
    evt["multiValueQueryStringParameters"] = {
        "server": ["edge-a", "elsewhere"],
        **{name: [value] for name, value in args.items()},
    }
    evt["queryStringParameters"] = {"server": "elsewhere", **args}  # API Gateway's: the last value
    assert call("NginxHookFunction", evt).status == 200
    listed = call("ListSessionsFunction", event("list_sessions", pathParameters={"id": "cam1"})).body
    assert [s.get("serverId") for s in listed] == ["edge-a"]


# -- 2. a one-time token admits one MediaMTX client -------------------------------------------------


def mediamtx_read(token: str, session_id: str, ip: str = "10.0.0.5", protocol: str = "rtsp") -> str:
    return json.dumps(
        {
            "user": "",
            "password": "",
            "token": "",
            "ip": ip,
            "action": "read",
            "path": "cam1",
            "protocol": protocol,
            "id": session_id,
            "query": f"token={token}",
        }
    )


def test_twenty_concurrent_mediamtx_authentications_of_one_token_admit_one_client(aws: Aws, clock: FakeClock) -> None:
    from streamauth.models.hooks import parse_mediamtx
    from streamauth.service.access import access_service
    from tests.integration.test_hooks import one_time as hook_token

    token = hook_token(action="play")
    barrier = threading.Barrier(20)
    statuses: list[int] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        request = parse_mediamtx(mediamtx_read(token, f"00000000-0000-4000-8000-{n:012d}"))
        assert request is not None
        barrier.wait()
        allowed = access_service().decide(request, clock()).allow
        with lock:
            statuses.append(200 if allowed else 403)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # MediaMTX's DESCRIBE and SETUP of one client: two authentications, one use, one session
    assert statuses.count(200) == 2 and statuses.count(403) == 18
    clock.advance(2)
    assert hook("MediaMtxHookFunction", "hook_mediamtx", mediamtx_read(token, "late")).status == 403
    listed = call("ListSessionsFunction", event("list_sessions", pathParameters={"id": "cam1"})).body
    assert len(listed) == 1 and listed[0]["serverSessionId"] == "rtsp-client:10.0.0.5"


def test_over_rtmp_mediamtx_asks_once_so_a_one_time_token_is_one_admission(aws: Aws, clock: FakeClock) -> None:
    from tests.integration.test_hooks import one_time as hook_token

    token = hook_token(action="play")
    assert hook("MediaMtxHookFunction", "hook_mediamtx", mediamtx_read(token, "a", protocol="rtmp")).status == 200
    assert hook("MediaMtxHookFunction", "hook_mediamtx", mediamtx_read(token, "b", protocol="rtmp")).status == 403


def mediamtx_subscriber(clock: FakeClock, session_id: str, ip: str = "10.0.0.5", protocol: str = "rtsp") -> Any:
    """MediaMTX asking about a reader with a subscriber's id and code as its user and password."""
    body = json.loads(mediamtx_read("", session_id, ip, protocol))
    body.update(user=SUB, password=code(clock), query="")
    return hook("MediaMtxHookFunction", "hook_mediamtx", json.dumps(body))


def test_a_subscriber_code_over_mediamtx_rtsp_admits_its_client_twice_and_no_one_else(
    aws: Aws, clock: FakeClock
) -> None:
    subscriber(limit=1, kind="play")
    describe = mediamtx_subscriber(clock, "conn-1")
    setup = mediamtx_subscriber(clock, "sess-1")  # the same code, the same client: SETUP after DESCRIBE
    assert (describe.status, setup.status) == (200, 200), (describe.body, setup.body)
    assert describe.body["reason"] == setup.body["reason"] == "allowed"
    listed = call("ListSessionsFunction", event("list_sessions", pathParameters={"id": "cam1"})).body
    assert len(listed) == 1 and listed[0]["serverSessionId"] == "rtsp-client:10.0.0.5"
    # once more only: a third ask of the same code, or the code from another address, is a replay
    assert mediamtx_subscriber(clock, "sess-2").body["reason"] == "replayed"
    assert mediamtx_subscriber(clock, "conn-9", ip="10.0.0.6").body["reason"] == "replayed"


def test_a_subscriber_codes_second_rtsp_ask_is_refused_after_ten_seconds(aws: Aws, clock: FakeClock) -> None:
    subscriber(limit=2, kind="play")
    clock.advance(30 - clock() % 30)  # the start of a step: the code stays current for 30 s
    assert mediamtx_subscriber(clock, "conn-1").status == 200
    clock.advance(11)
    assert mediamtx_subscriber(clock, "sess-1").body["reason"] == "replayed"


def test_over_rtmp_a_subscriber_code_is_one_admission(aws: Aws, clock: FakeClock) -> None:
    subscriber(limit=2, kind="play")
    assert mediamtx_subscriber(clock, "a", protocol="rtmp").status == 200
    assert mediamtx_subscriber(clock, "b", protocol="rtmp").body["reason"] == "replayed"


def test_twenty_concurrent_rtsp_asks_with_one_subscriber_code_admit_two(aws: Aws, clock: FakeClock) -> None:
    from streamauth.models.hooks import parse_mediamtx
    from streamauth.service.access import access_service

    subscriber(limit=5, kind="play")
    body = json.loads(mediamtx_read("", "x"))
    body.update(user=SUB, password=code(clock), query="")
    barrier = threading.Barrier(20)
    allowed: list[bool] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        request = parse_mediamtx(json.dumps({**body, "id": f"id-{n}"}))
        assert request is not None
        barrier.wait()
        decision = access_service().decide(request, clock())
        with lock:
            allowed.append(decision.allow)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert allowed.count(True) == 2  # DESCRIBE and SETUP of one client, whatever the concurrency
    listed = call("ListSessionsFunction", event("list_sessions", pathParameters={"id": "cam1"})).body
    assert len(listed) == 1


# -- 3. subscriber limits on Ant Media ----------------------------------------------------------------


def antmedia(clock: FakeClock, mode: str = "play") -> Any:
    body = json.dumps({"streamId": "cam1", "mode": mode, "subscriberId": SUB, "subscriberCode": code(clock)})
    return hook("AntMediaHookFunction", "hook_antmedia", body)


def test_ant_media_sends_no_session_id_yet_a_limit_of_one_admits_one(aws: Aws, clock: FakeClock) -> None:
    subscriber(limit=1)
    assert antmedia(clock).status == 200
    clock.advance(60)
    second = antmedia(clock)
    assert second.status == 403 and second.body["reason"] == "connection_limit"
    clock.advance(3600)  # no renew from Ant Media: the slot is held until it reports the stop
    assert antmedia(clock).body["reason"] == "connection_limit"
    stopped = json.dumps({"id": "cam1", "action": "playStopped", "subscriberId": SUB, "app": "LiveApp"})
    assert hook("AntMediaHookFunction", "hook_antmedia", stopped).body["reason"] == "ended"
    clock.advance(60)
    assert antmedia(clock).status == 200


def test_ant_media_publish_limit_and_its_stream_ended_report(aws: Aws, clock: FakeClock) -> None:
    subscriber(limit=1)
    assert antmedia(clock, "publish").status == 200
    clock.advance(60)
    assert antmedia(clock, "publish").body["reason"] == "connection_limit"
    ended = json.dumps({"id": "cam1", "action": "liveStreamEnded", "subscriberId": SUB})
    assert hook("AntMediaHookFunction", "hook_antmedia", ended).body["reason"] == "ended"
    other = json.dumps({"id": "cam1", "action": "liveStreamStarted"})
    assert hook("AntMediaHookFunction", "hook_antmedia", other).body["reason"] == "ignored"
    clock.advance(60)
    assert antmedia(clock, "publish").status == 200


# -- 4. a stale StreamEnded ends nothing newer -----------------------------------------------------


def test_a_stale_stream_ended_event_ends_only_what_it_predates(aws: Aws, clock: FakeClock) -> None:
    from streamauth.models.tokens import TokenRequest
    from streamauth.service.tokens import token_service
    from tests.integration.test_events import consume, sample

    subscriber(limit=1)
    event_time = T0 - 3600
    clock.now = T0
    jwt = token_service().issue_jwt(TokenRequest("cam1", FUTURE, "publish", None), clock()).token_id
    jwt_body = f"app=live&addr=127.0.0.1&clientid=9&call=publish&name=cam1&token={jwt}"
    assert hook("NginxHookFunction", "hook_nginx", jwt_body).status == 200
    assert nginx(None, clock, "publish").status == 200
    stale = sample("stream_ended.json", streamId="cam1")
    stale["time"] = _iso(event_time)
    consume(stale)
    renew_jwt = hook("NginxHookFunction", "hook_nginx", jwt_body.replace("call=publish", "call=update_publish"))
    assert renew_jwt.status == 200
    assert nginx(None, clock, "update_publish").status == 200
    clock.advance(60)  # a second client with a fresh code: the first still holds the one slot
    assert nginx(None, clock, "publish", client=8).body["reason"] == "connection_limit"


def _iso(at: float) -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


# -- 5. scopes cannot be escalated --------------------------------------------------------------------


def test_an_account_grants_and_takes_over_only_scopes_it_holds(aws: Aws, clock: FakeClock) -> None:
    from streamauth.models.principals import SERVICE_ACCOUNT, Principal

    def as_account(scopes: set[str], name: str, **changes: Any) -> Any:
        evt = event(name, **changes)
        caller = Principal(SERVICE_ACCOUNT, "sa-admin", frozenset(scopes))
        evt["requestContext"]["authorizer"] = caller.to_context()
        return call(
            {"create_service_account": "CreateServiceAccountFunction"}.get(name, "RotateServiceAccountFunction"), evt
        )

    admin = {"service-accounts:write"}
    escalate = as_account(admin, "create_service_account", body={"name": "x", "scopes": ["tokens:write"]})
    assert escalate.status == 403
    own = as_account(admin, "create_service_account", body={"name": "y", "scopes": ["service-accounts:write"]})
    assert own.status == 201
    broader = as_account({"*"}, "create_service_account", body={"name": "z", "scopes": ["tokens:write", "read"]})
    assert broader.status == 201
    taken = as_account(admin, "rotate_service_account", pathParameters={"id": broader.body["id"]})
    assert taken.status == 403
    assert as_account(admin, "rotate_service_account", pathParameters={"id": own.body["id"]}).status == 200


# -- 6, 8, 9. HLS playback: one cookie, a safe Path, binding never fails open ----------------------


def test_two_playback_cookies_are_refused(aws: Aws, clock: FakeClock) -> None:
    cookie = cookie_of(check(f"{PLAYLIST}?token={play_token()}"))
    reply = check("/hls/cam1/3.ts", f"streamauth_playback=free-for-all; {cookie}")
    assert reply.status == 403 and reply.body["field"] == "Cookie" and reply.body["reason"] == "malformed_request"
    assert check("/hls/cam1/3.ts", cookie).status == 200
    # the same two cookies on two Cookie header lines
    evt = event("hook_http", pathParameters={"hookSecret": hook_secret()})
    evt["headers"] = {"X-Original-URI": "/hls/cam1/3.ts", "X-Real-IP": "203.0.113.10", "Cookie": cookie}
    evt["multiValueHeaders"] = {
        "X-Original-URI": ["/hls/cam1/3.ts"],
        "X-Real-IP": ["203.0.113.10"],
        "Cookie": ["streamauth_playback=free-for-all", cookie],
    }
    lines = call("HttpHookFunction", evt)
    assert lines.status == 403 and lines.body["field"] == "Cookie"


@pytest.mark.parametrize(
    "uri",
    [
        "/hls/cam1/x;Domain=localhost;SameSite=None;Max-Age=31536000/../index.m3u8",
        "/hls/../cam1/index.m3u8",
        "/hls/./cam1/index.m3u8",
        "/hls/cam1/../../index.m3u8",
    ],
)
def test_a_cookie_path_is_never_built_from_an_unsafe_uri(aws: Aws, clock: FakeClock, uri: str) -> None:
    token = play_token()
    reply = check(f"{uri}?token={token}")
    assert reply.status == 403 and reply.body["field"] == "X-Original-URI"
    assert "X-Playback-Cookie" not in reply.headers
    assert check(f"{PLAYLIST}?token={token}").status == 200  # nothing was consumed


def test_binding_refuses_a_request_without_an_address(
    aws: Aws, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamauth.settings import reset_caches

    monkeypatch.setenv("PLAYBACK_BIND_ADDRESS", "true")
    reset_caches()
    token = play_token()
    for ip in ("", None):
        headers = {"X-Original-URI": f"{PLAYLIST}?token={token}"}
        if ip is not None:
            headers["X-Real-IP"] = ip
        evt = event("hook_http", pathParameters={"hookSecret": hook_secret()})
        evt["headers"] = headers
        evt["multiValueHeaders"] = {k: [v] for k, v in headers.items()}
        reply = call("HttpHookFunction", evt)
        assert reply.status == 403 and reply.body["reason"] == "address_not_bindable"
    assert check(f"{PLAYLIST}?token={token}").status == 200  # the token was not used
    reset_caches()


# -- 7, 11. CloudFront: an ended session gets no new cookies; a revocation refuses at once ---------


def test_cloudfront_does_not_revive_an_ended_session(cdn: Any, aws: Aws, clock: FakeClock) -> None:  # noqa: F811
    token = stream_jwt()
    first = playback(token=token)
    assert first.status == 200
    session_id = first.body["sessionId"]
    ended = call("EndSessionFunction", event("end_session", pathParameters={"id": "cam1", "sessionId": session_id}))
    assert ended.body["success"] is True
    again = playback(token=token)
    assert again.status == 403 and again.body["reason"] == "session_ended" and again.cookies == []


def test_cloudfront_refuses_new_cookies_at_once_after_a_revocation(cdn: Any, aws: Aws, clock: FakeClock) -> None:  # noqa: F811
    token = stream_jwt()
    assert playback(token=token).status == 200  # the stream's state is now cached (5 s)
    clock.advance(1)
    assert call("RevokeTokensFunction", event("revoke_tokens", pathParameters={"id": "cam1"})).body["success"]
    refused = playback(token=token)
    assert refused.status == 403 and refused.body["reason"] == "revoked"


# -- 10. a subscriber deleted and created anew is another subscriber ------------------------------


def test_a_recreated_subscriber_does_not_inherit_the_old_ones_sessions(aws: Aws, clock: FakeClock) -> None:
    subscriber(limit=1)
    assert nginx(None, clock, "publish").status == 200
    clock.advance(1)
    deleted = call("DeleteSubscriberFunction", event("delete_subscriber", pathParameters={"id": "cam1", "sid": SUB}))
    assert deleted.body["success"] is True
    clock.advance(1)
    subscriber(limit=1, kind="play")
    renew = nginx(None, clock, "update_publish")
    assert renew.status == 403 and renew.body["reason"] == "subscriber_deleted"


# -- 12. dot segments are no stream ids --------------------------------------------------------------


@pytest.mark.parametrize("stream", [".", ".."])
def test_dot_segments_are_refused_as_stream_ids(aws: Aws, clock: FakeClock, stream: str) -> None:
    from streamauth.errors import BadRequest
    from streamauth.models.common import parse_stream_id

    with pytest.raises(BadRequest):
        parse_stream_id(stream)
    issued = call("IssueTokenFunction", event("issue_token", pathParameters={"id": stream}))
    assert issued.status in (200, 400) and issued.body.get("success") is not True


# -- ES256 signatures have one form -------------------------------------------------------------------


def test_es256_tokens_are_made_low_s() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    from streamauth.logic import signing

    private = ec.generate_private_key(ec.SECP256R1())
    public = private.public_key()
    for n in range(16):  # about half of raw ECDSA signatures are high-S
        token = signing.encode({"exp": int(T0) + 60, "n": n}, private, signing.ES256, "k1")
        head, _, sig = token.rpartition(".")
        raw = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
        s = int.from_bytes(raw[32:], "big")
        assert s <= signing.P256_ORDER // 2
        assert signing.decode(token, public, T0, algorithm=signing.ES256)["n"] == n
        assert signing.canonical(token) == token


def _twins(token: str) -> list[str]:
    """Other encodings of the same signature that verify too: the signature with base64 padding
    (PyJWT accepts it, as AWS ALB sends it) and the high-S twin (ES256)."""
    head, _, sig = token.rpartition(".")
    raw = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
    found = [head + "." + sig + "=" * (-len(sig) % 4)]
    if len(raw) == 64:
        from streamauth.logic import signing

        s = int.from_bytes(raw[32:], "big")
        high = raw[:32] + (signing.P256_ORDER - s).to_bytes(32, "big")
        found.append(head + "." + base64.urlsafe_b64encode(high).rstrip(b"=").decode())
    return found


def test_a_re_encoded_jwt_is_the_same_credential() -> None:
    """Each twin verifies (so it is not refused: other signers make high-S signatures), but it
    is known by the canonical form: the same reference, so the same sessions and limits."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from streamauth.logic import signing
    from streamauth.logic.sessions import token_ref

    private = ec.generate_private_key(ec.SECP256R1())
    es256 = signing.encode({"exp": int(T0) + 60}, private, signing.ES256, "k1")
    hs256 = signing.encode({"exp": int(T0) + 60}, "k" * 32)
    for token, key, algorithm in ((es256, private.public_key(), signing.ES256), (hs256, "k" * 32, signing.ALGORITHM)):
        twins = _twins(token)
        assert len(twins) == (2 if algorithm == signing.ES256 else 1)
        for twin in twins:
            assert twin != token
            assert signing.decode(twin, key, T0, algorithm=algorithm)["exp"] == int(T0) + 60  # it verifies
            assert token_ref(twin) == token_ref(token)


# -- the structure: one rule, one enum, DynamoDB in store/ -------------------------------------------


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_logic_is_pure_and_knows_no_dynamodb() -> None:
    for path in sorted((LAYER / "logic").glob("*.py")):
        imports = _imports(path)
        assert not {i for i in imports if i.split(".")[0] in ("boto3", "botocore")}, path.name
        assert not {i for i in imports if i.startswith(("streamauth.store", "streamauth.service", "streamauth.aws"))}
        text = path.read_text()
        for marker in ('{"S":', '{"N":', '["S"]', '["N"]', "NewImage", "OldImage", "SESSIONS#", "TOKENS#", "SUBS#"):
            assert marker not in text, f"{path.name} knows DynamoDB's item shape or key scheme: {marker}"


def test_no_module_above_store_builds_dynamodb_items() -> None:
    for folder in ("service", "models"):
        for path in sorted((LAYER / folder).glob("*.py")):
            text = path.read_text()
            for marker in ('{"S":', '{"N":', '"Put":', '"Update":', "TransactItems", "ConditionExpression"):
                assert marker not in text, f"{folder}/{path.name} builds DynamoDB requests: {marker}"


def test_reason_codes_are_defined_once() -> None:
    from streamauth.logic.admission import Reason

    codes = {reason.value for reason in Reason}
    for path in sorted(LAYER.rglob("*.py")):
        if path.name == "admission.py" and path.parent.name == "logic":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and node.value.value in codes:
                target = ast.unparse(node.targets[0])
                if target.isupper():
                    pytest.fail(f"{path.relative_to(LAYER)} defines reason {node.value.value!r} as {target}")
