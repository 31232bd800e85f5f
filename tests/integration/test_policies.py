"""Access policies through the real handlers: the operator API (PUT/GET/DELETE .../policy), a
token's own policy from its issue query, and the one verdict at every enforcement point
(nginx-rtmp, SRS, MediaMTX, Ant Media, HLS playback, CloudFront), at admission and renew.

Trusted addresses: a hook's client address is the media server's report of the connection
(nginx `addr`, first occurrence; SRS `ip`; MediaMTX `ip`; Ant Media `clientIP`); HLS playback's
is nginx's `X-Real-IP`; CloudFront's is API Gateway's source address. X-Forwarded-For, which a
client writes, is never read."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.conftest import T0, Aws, FakeClock, call, event
from tests.integration.test_cloudfront import cdn, keys  # noqa: F401  (the CloudFront deployment's fixtures)
from tests.integration.test_hooks import SECRET, code, hook, one_time
from tests.integration.test_playback import PLAYLIST, SEGMENT, check, cookie_of, play_token
from tests.unit.test_hook_parsers import ANTMEDIA_PUBLISH, MEDIAMTX_PUBLISH, SRS_PUBLISH

FUTURE = int(T0) + 3600


def put_policy(stream: str, body: Any, scopes: str | None = None) -> Any:
    evt = event("set_stream_policy", pathParameters={"id": stream}, body=body)
    if scopes is not None:
        evt["requestContext"]["authorizer"] = {
            "principalType": "serviceAccount",
            "principalId": "sa1",
            "scopes": scopes,
        }
    return call("SetStreamPolicyFunction", evt)


def get_policy(stream: str) -> Any:
    return call("GetStreamPolicyFunction", event("get_stream_policy", pathParameters={"id": stream}))


def nginx(token: str, addr: str = "127.0.0.1", call_: str = "publish", client: int = 7, extra: str = "") -> Any:
    body = f"app=live&addr={addr}&clientid={client}&call={call_}&name=cam1&type=live&token={token}{extra}"
    return hook("NginxHookFunction", "hook_nginx", body)


def issue(function: str, sample: str, **query: str) -> str:
    params = {"expireDate": str(FUTURE), "type": "publish", **query}
    evt = event(sample, pathParameters={"id": "cam1"}, queryStringParameters=params)
    evt["multiValueQueryStringParameters"] = {k: [v] for k, v in params.items()}
    reply = call(function, evt)
    assert reply.status == 200, reply.body
    token: str = reply.body["tokenId"]
    return token


# -- the operator API ----------------------------------------------------------------------------
def test_put_get_delete_a_streams_policy(aws: Aws, clock: FakeClock) -> None:
    assert get_policy("cam1").body == {"streamId": "cam1", "policy": None}
    body = {"allowCidrs": ["127.0.0.0/8"], "protocols": ["rtmp"], "maxSessionSeconds": 600}
    put = put_policy("cam1", body)
    assert put.status == 200 and put.body["policy"]["allowCidrs"] == ["127.0.0.0/8"]
    assert get_policy("cam1").body["policy"] == put.body["policy"]
    assert get_policy("cam2").body["policy"] is None  # one stream's policy is its own
    deleted = call("DeleteStreamPolicyFunction", event("delete_stream_policy", pathParameters={"id": "cam1"}))
    assert deleted.status == 200 and deleted.body["success"] is True
    assert get_policy("cam1").body["policy"] is None


def test_a_bad_policy_is_a_400_naming_the_field_and_changes_nothing(aws: Aws, clock: FakeClock) -> None:
    assert put_policy("cam1", {"allowCidrs": ["127.0.0.0/8"]}).status == 200
    for body, field in (
        ({"allowCidrs": ["127.0.0.1/8"]}, "allowCidrs"),
        ({"alowCidrs": ["10.0.0.0/8"]}, "body.alowCidrs"),
        ({"protocols": "rtmp,ftp"}, "protocols"),
        ({"maxSessionSeconds": "60"}, "maxSessionSeconds"),
    ):
        reply = put_policy("cam1", body)
        assert reply.status == 400 and field in reply.body["message"], reply.body
    assert get_policy("cam1").body["policy"]["allowCidrs"] == ["127.0.0.0/8"]


def test_writing_a_policy_needs_the_write_scope(aws: Aws, clock: FakeClock) -> None:
    assert put_policy("cam1", {"protocols": ["hls"]}, scopes="read").status == 403
    assert get_policy("cam1").body["policy"] is None
    assert put_policy("cam1", {"protocols": ["hls"]}, scopes="read tokens:write").status == 200


# -- hooks: admission and renew ------------------------------------------------------------------
def test_nginx_cidr_refuses_other_addresses_and_a_refused_client_cannot_burn_the_token(
    aws: Aws, clock: FakeClock
) -> None:
    put_policy("cam1", {"allowCidrs": ["127.0.0.0/8", "::1/128"]})
    token = one_time()
    refused = nginx(token, addr="198.51.100.4")
    assert refused.status == 403 and refused.body["reason"] == "address_not_allowed"
    assert nginx(token, addr="127.0.0.2").status == 200  # the token was not used up by the refusal


def test_nginx_client_appended_addr_cannot_spoof_the_servers(aws: Aws, clock: FakeClock) -> None:
    """nginx-rtmp appends the client's own query after its fields: the first `addr` is the server's."""
    put_policy("cam1", {"allowCidrs": ["127.0.0.0/8"]})
    spoofed = nginx(one_time(), addr="198.51.100.4", extra="&addr=127.0.0.1&X-Forwarded-For=127.0.0.1")
    assert spoofed.status == 403 and spoofed.body["reason"] == "address_not_allowed"


def test_a_token_policy_from_the_query_is_kept_on_the_item_and_judged(aws: Aws, clock: FakeClock) -> None:
    token = issue("IssueTokenFunction", "issue_token", allowCidrs="127.0.0.2/32")
    assert nginx(token, addr="127.0.0.1").body["reason"] == "address_not_allowed"
    assert nginx(token, addr="127.0.0.2").status == 200


def test_a_jwt_carries_its_policy_signed_and_short_enough_for_nginx(aws: Aws, clock: FakeClock) -> None:
    plain = issue("IssueJwtTokenFunction", "issue_jwt_token")
    typical = issue(
        "IssueJwtTokenFunction",
        "issue_jwt_token",
        allowCidrs="203.0.113.0/24",
        protocols="rtmp",
        maxSessionSeconds="3600",
    )
    # the note's numbers: what a typical policy adds to a JWT that rides in nginx-rtmp's 255-byte args
    print(f"\nJWT without policy: {len(plain)} bytes; with a typical policy: {len(typical)} bytes")
    assert len(typical) < 255 - len("token=")
    assert nginx(typical, addr="127.0.0.1").body["reason"] == "address_not_allowed"
    mine = issue("IssueJwtTokenFunction", "issue_jwt_token", allowCidrs="127.0.0.0/8")
    assert nginx(mine, addr="127.0.0.1").status == 200
    # a client that edits the claim breaks the signature: the token is refused, never widened
    head, payload, signature = typical.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["pol"]["a"] = "0.0.0.0/0"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert nginx(f"{head}.{forged}.{signature}", addr="203.0.113.9").body["reason"] == "invalid_token"


def test_a_bad_policy_query_on_issue_is_a_400(aws: Aws, clock: FakeClock) -> None:
    for function, sample in (("IssueTokenFunction", "issue_token"), ("IssueJwtTokenFunction", "issue_jwt_token")):
        params = {"expireDate": str(FUTURE), "type": "publish", "allowCidrs": "10.0.0.1/8"}
        evt = event(sample, pathParameters={"id": "cam1"}, queryStringParameters=params)
        evt["multiValueQueryStringParameters"] = {k: [v] for k, v in params.items()}
        reply = call(function, evt)
        assert reply.status == 400 and "allowCidrs" in reply.body["message"]


def test_renew_refuses_a_session_older_than_max_session_seconds(aws: Aws, clock: FakeClock) -> None:
    put_policy("cam1", {"maxSessionSeconds": 60})
    token = one_time()
    assert nginx(token).status == 200
    clock.advance(30)
    assert nginx(token, call_="update_publish").status == 200
    clock.advance(31)
    late = nginx(token, call_="update_publish")
    assert late.status == 403 and late.body["reason"] == "session_too_long"


def test_a_policy_attached_later_ends_sessions_at_their_next_renew(aws: Aws, clock: FakeClock) -> None:
    token = one_time()
    assert nginx(token, addr="198.51.100.4").status == 200
    put_policy("cam1", {"allowCidrs": ["127.0.0.0/8"]})
    renew = nginx(token, addr="198.51.100.4", call_="update_publish")
    assert renew.status == 403 and renew.body["reason"] == "address_not_allowed"


def test_a_jwt_policy_is_judged_again_at_renew(aws: Aws, clock: FakeClock) -> None:
    token = issue("IssueJwtTokenFunction", "issue_jwt_token", maxSessionSeconds="60")
    assert nginx(token).status == 200
    clock.advance(61)
    assert nginx(token, call_="update_publish").body["reason"] == "session_too_long"


def test_a_one_time_tokens_own_policy_is_judged_again_at_renew(aws: Aws, clock: FakeClock) -> None:
    token = issue("IssueTokenFunction", "issue_token", maxSessionSeconds="60")
    assert nginx(token).status == 200
    clock.advance(61)
    assert nginx(token, call_="update_publish").body["reason"] == "session_too_long"


def test_srs_mediamtx_and_ant_media_each_report_the_address_and_protocol(aws: Aws, clock: FakeClock) -> None:
    put_policy("cam1", {"allowCidrs": ["127.0.0.0/8"], "protocols": ["rtmp"]})
    srs = SRS_PUBLISH.replace('"stream":"livestream"', '"stream":"cam1"')
    assert hook("SrsHookFunction", "hook_srs", srs.replace("abc123", one_time())).status == 200
    far = srs.replace('"ip":"127.0.0.1"', '"ip":"198.51.100.4"').replace("abc123", one_time())
    assert hook("SrsHookFunction", "hook_srs", far).body["reason"] == "address_not_allowed"
    webrtc = srs.replace("rtmp://127.0.0.1:1935/live", "webrtc://127.0.0.1/live").replace("abc123", one_time())
    assert hook("SrsHookFunction", "hook_srs", webrtc).body["reason"] == "protocol_not_allowed"
    assert hook("MediaMtxHookFunction", "hook_mediamtx", MEDIAMTX_PUBLISH.replace("abc123", one_time())).status == 200
    rtsp = MEDIAMTX_PUBLISH.replace('"protocol":"rtmp"', '"protocol":"rtsp"').replace("abc123", one_time())
    assert hook("MediaMtxHookFunction", "hook_mediamtx", rtsp).body["reason"] == "protocol_not_allowed"
    # Ant Media's publish webhook names no protocol (nor, here, an address): a policy naming either refuses
    ant = ANTMEDIA_PUBLISH.replace("abc123", one_time()).replace(", subscriberId=bob", "")
    assert hook("AntMediaHookFunction", "hook_antmedia", ant).body["reason"] == "address_not_allowed"


def test_a_stream_policy_refuses_a_subscriber_before_any_guess_is_spent(aws: Aws, clock: FakeClock) -> None:
    from tests.integration.test_hooks import create_subscriber

    create_subscriber()
    put_policy("cam1", {"allowCidrs": ["127.0.0.0/8"]})
    for _ in range(8):  # past the 5-guess lockout, had these been evaluated
        body = "app=live&addr=198.51.100.4&clientid=7&call=publish&name=cam1&subscriberId=alice&subscriberCode=000000"
        assert hook("NginxHookFunction", "hook_nginx", body).body["reason"] == "address_not_allowed"
    body = f"app=live&addr=127.0.0.1&clientid=7&call=publish&name=cam1&subscriberId=alice&subscriberCode={code(clock)}"
    assert hook("NginxHookFunction", "hook_nginx", body).status == 200


def test_a_subscribers_own_policy_narrows_and_a_refusal_spends_no_code(aws: Aws, clock: FakeClock) -> None:
    body = {"subscriberId": "alice", "type": "publish", "b32Secret": SECRET, "policy": {"allowCidrs": ["127.0.0.2/32"]}}
    created = call("CreateSubscriberFunction", event("create_subscriber", pathParameters={"id": "cam1"}, body=body))
    assert created.body["success"] is True
    got = call("GetSubscriberFunction", event("get_subscriber", pathParameters={"id": "cam1", "sid": "alice"}))
    assert got.body["policy"]["allowCidrs"] == ["127.0.0.2/32"]
    fields = f"app=live&clientid=7&call=publish&name=cam1&subscriberId=alice&subscriberCode={code(clock)}"
    assert hook("NginxHookFunction", "hook_nginx", "addr=127.0.0.1&" + fields).body["reason"] == "address_not_allowed"
    assert hook("NginxHookFunction", "hook_nginx", "addr=127.0.0.2&" + fields).status == 200  # the code still good
    bad = {**body, "policy": {"allowCidrs": "nope"}}
    reply = call("CreateSubscriberFunction", event("create_subscriber", pathParameters={"id": "cam1"}, body=bad))
    # Ant Media's way: 200 with errorId
    assert reply.body["success"] is False and reply.body["field"] == "policy.allowCidrs"


# -- HLS playback ---------------------------------------------------------------------------------
def test_hls_origin_country_and_address_from_the_trusted_headers(aws: Aws, clock: FakeClock) -> None:
    put_policy("cam1", {"allowOrigins": ["https://player.example.com"], "allowCountries": ["DE"]})
    page = {"Origin": "https://player.example.com", "CloudFront-Viewer-Country": "DE"}
    assert check(f"{PLAYLIST}?token={play_token()}", **page).status == 200
    other = check(f"{PLAYLIST}?token={play_token()}", **{**page, "Origin": "https://evil.example"})
    assert other.status == 403 and other.body["reason"] == "origin_not_allowed"
    no_page = check(f"{PLAYLIST}?token={play_token()}", **{"CloudFront-Viewer-Country": "DE"})
    assert no_page.body["reason"] == "origin_not_allowed"
    by_referer = check(
        f"{PLAYLIST}?token={play_token()}",
        Referer="https://player.example.com/watch",
        **{"CloudFront-Viewer-Country": "DE"},
    )
    assert by_referer.status == 200
    fr = check(f"{PLAYLIST}?token={play_token()}", **{**page, "CloudFront-Viewer-Country": "FR"})
    assert fr.body["reason"] == "country_not_allowed"


def test_hls_x_forwarded_for_cannot_bypass_a_cidr_and_segments_are_judged_per_request(
    aws: Aws, clock: FakeClock
) -> None:
    put_policy("cam1", {"allowCidrs": ["203.0.113.0/24"]})
    spoofed = check(f"{PLAYLIST}?token={play_token()}", ip="198.51.100.4", **{"X-Forwarded-For": "203.0.113.10"})
    assert spoofed.status == 403 and spoofed.body["reason"] == "address_not_allowed"
    cookie = cookie_of(check(f"{PLAYLIST}?token={play_token()}"))
    assert check(SEGMENT, cookie).status == 200
    copied = check(SEGMENT, cookie, ip="198.51.100.4")  # the cookie copied to an address the policy refuses
    assert copied.status == 403 and copied.body["reason"] == "address_not_allowed"


def test_hls_session_too_long(aws: Aws, clock: FakeClock) -> None:
    put_policy("cam1", {"maxSessionSeconds": 100})
    cookie = cookie_of(check(f"{PLAYLIST}?token={play_token()}"))
    clock.advance(101)
    assert check(SEGMENT, cookie).body["reason"] == "session_too_long"


# -- CloudFront -----------------------------------------------------------------------------------
def cloudfront(ip: str, headers: dict[str, str], token: str) -> Any:
    evt = event(
        "cloudfront_playback",
        pathParameters={"id": "cam1"},
        queryStringParameters={"token": token},
        multiValueQueryStringParameters={"token": [token]},
    )
    evt["requestContext"]["identity"]["sourceIp"] = ip
    evt["headers"] = {**(evt.get("headers") or {}), **headers}
    evt["multiValueHeaders"] = {k: [v] for k, v in evt["headers"].items()}
    reply = call("CloudFrontPlaybackFunction", evt)
    return reply.status, reply.body


@pytest.mark.usefixtures("cdn")
def test_cloudfront_judges_the_source_address_and_the_viewer_country(clock: FakeClock) -> None:
    from tests.integration.test_cloudfront import one_time as play

    put_policy("cam1", {"allowCidrs": ["203.0.113.0/24"], "denyCountries": ["RU"]})
    assert cloudfront("203.0.113.5", {}, play())[0] == 200
    status, body = cloudfront("198.51.100.4", {"X-Forwarded-For": "203.0.113.5"}, play())
    assert status == 403 and body["reason"] == "address_not_allowed"
    status, body = cloudfront("203.0.113.5", {"CloudFront-Viewer-Country": "RU"}, play())
    assert status == 403 and body["reason"] == "country_not_allowed"


# -- viewer JWTs -----------------------------------------------------------------------------------
def viewer_jwt(body: dict[str, Any]) -> Any:
    """POST /api/v1/tokens for cam1 (opened to public viewers first), with `body`'s extra fields."""
    from tests.integration.test_accounts_viewers import public_viewers

    assert public_viewers("cam1", True).body["success"] is True
    evt = event("create_viewer_token", body={"stream_id": "cam1", "unique_user_identifier": "u1", **body})
    return call("CreateViewerTokenFunction", evt)


def test_a_viewer_jwt_carries_the_policy_its_minter_gave_it(aws: Aws, clock: FakeClock) -> None:
    """An app's backend mints a viewer JWT with a policy: it rides signed in `pol` and is judged
    with the stream's at every request; the viewer cannot edit it away."""
    minted = viewer_jwt({"policy": {"allowCidrs": ["203.0.113.0/24"], "maxSessionSeconds": 100}})
    assert minted.status == 200, minted.body
    token = minted.body["token"]
    assert check(f"{PLAYLIST}?token={token}", ip="203.0.113.10").status == 200
    elsewhere = check(f"{PLAYLIST}?token={token}", ip="198.51.100.4")
    assert elsewhere.status == 403 and elsewhere.body["reason"] == "address_not_allowed"
    cookie = cookie_of(check(f"{PLAYLIST}?token={token}", ip="203.0.113.10"))
    clock.advance(101)
    assert check(SEGMENT, cookie, ip="203.0.113.10").body["reason"] == "session_too_long"
    head, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    del claims["pol"]  # a viewer that strips its restriction breaks the signature
    stripped = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert check(f"{PLAYLIST}?token={head}.{stripped}.{signature}", ip="198.51.100.4").status == 403
    # without a policy the JWT carries none, as before
    plain = viewer_jwt({}).body["token"]
    payload = plain.split(".")[1]
    assert "pol" not in json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert check(f"{PLAYLIST}?token={plain}", ip="198.51.100.4").status == 200


@pytest.mark.parametrize(
    ("policy", "field"),
    [
        ({"allowCidrs": ["10.0.0.1/8"]}, "policy.allowCidrs"),
        ({"sharing": {"addresses": 2}}, "policy.sharing"),
        ({"maxSession": 5}, "policy.maxSession"),
        ("allowCidrs=10.0.0.0/8", "policy"),
    ],
)
def test_a_bad_viewer_policy_is_a_400_naming_its_field(aws: Aws, clock: FakeClock, policy: Any, field: str) -> None:
    reply = viewer_jwt({"policy": policy})
    assert reply.status == 400 and reply.body["field"] == field, reply.body
