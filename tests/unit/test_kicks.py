"""Push enforcement's pure parts: the kick request per server (method, URL, headers), what a
server's answer means, which stream records are triggers, and the registry's format."""

from __future__ import annotations

import json
from typing import Any

import pytest

from streamauth.errors import ConfigurationError
from streamauth.logic.kicks import KickRequest, Plan, plan, verdict
from streamauth.models.media_servers import MediaServer, Registry, parse_registry
from streamauth.models.sessions import CredentialRef, Session
from streamauth.store.triggers import Trigger, trigger

MTX = MediaServer("mtx1", "mediamtx", "http://10.0.0.5:9997", "streamauth", "p@ss:word")
SRS = MediaServer("srs1", "srs", "http://10.0.0.6:1985")
AMS = MediaServer("ams1", "antmedia", "https://ams.example:5443/LiveApp", authorization="Bearer a.b.c")
BASE = (("Accept", "application/json"), ("User-Agent", "streamauth-enforcer/1"))
MTX_AUTH = ("Authorization", "Basic c3RyZWFtYXV0aDpwQHNzOndvcmQ=")  # base64("streamauth:p@ss:word")


def session(server: str, protocol: str | None = None, kick_id: str | None = None, **kw: Any) -> Session:
    values: dict[str, Any] = {
        "session_id": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "session_key": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "stream_id": "cam1",
        "action": "publish",
        "server": server,
        "server_session": kick_id,
        "client_ip": "10.0.0.9",
        "credential": CredentialRef("token", "9f86d081884c7d65", issued_at_ms=1),
        "started_at_ms": 0,
        "last_seen_at_ms": 0,
        "expires_at": 90,
        "protocol": protocol,
        "kick_id": kick_id,
    }
    values.update(kw)
    return Session(**values)


UUID = "1b7a1a5e-8f7e-4d1c-9c0e-2f2a9d7e1c11"


@pytest.mark.parametrize(
    ("protocol", "paths"),
    [
        ("rtsp", ["/v3/rtspsessions/kick/", "/v3/rtspssessions/kick/"]),  # RTSPS reports "rtsp"
        ("rtmp", ["/v3/rtmpconns/kick/", "/v3/rtmpsconns/kick/"]),  # RTMPS reports "rtmp"
        ("srt", ["/v3/srtconns/kick/"]),
        ("webrtc", ["/v3/webrtcsessions/kick/"]),
        ("hls", ["/v3/hlssessions/kick/"]),  # MediaMTX >= 1.18
        ("moq", ["/v3/moqsessions/kick/"]),
    ],
)
def test_mediamtx_kicks_by_protocol_with_basic_credentials(protocol: str, paths: list[str]) -> None:
    assert plan(MTX, session("mediamtx", protocol, UUID)) == Plan(
        tuple(KickRequest("POST", f"http://10.0.0.5:9997{path}{UUID}", (*BASE, MTX_AUTH)) for path in paths)
    )


@pytest.mark.parametrize(("protocol", "kick_id"), [("hls", None), (None, None), ("playback", UUID), ("rtsp", "..")])
def test_what_mediamtx_cannot_kick(protocol: str | None, kick_id: str | None) -> None:
    """HLS before 1.18 and playback carry no id; an id that is no path segment is never sent."""
    found = plan(MTX, session("mediamtx", protocol, kick_id))
    assert found.requests == () and found.not_kickable


def test_srs_deletes_the_client_and_ids_are_one_path_segment() -> None:
    assert plan(SRS, session("srs", kick_id="3y1hw9b6")) == Plan(
        (KickRequest("DELETE", "http://10.0.0.6:1985/api/v1/clients/3y1hw9b6", BASE),)
    )
    sneaky = plan(SRS, session("srs", kick_id="../../api/v1/raw?rpc=reload"))
    assert sneaky.requests[0].url == "http://10.0.0.6:1985/api/v1/clients/..%2F..%2Fapi%2Fv1%2Fraw%3Frpc%3Dreload"
    assert plan(SRS, session("srs")).not_kickable  # no client_id


def test_ant_media_stops_the_publishers_broadcast_and_cannot_end_a_viewer() -> None:
    assert plan(AMS, session("antmedia")) == Plan(
        (
            KickRequest(
                "POST",
                "https://ams.example:5443/LiveApp/rest/v2/broadcasts/cam1/stop",
                (*BASE, ("Content-Type", "application/json"), ("Authorization", "Bearer a.b.c")),
            ),
        )
    )
    assert plan(AMS, session("antmedia", action="play")).not_kickable
    assert plan(AMS, session("antmedia", stream_id="..")).not_kickable


def test_a_request_describes_itself_without_its_credentials() -> None:
    (request,) = plan(AMS, session("antmedia")).requests
    assert "a.b.c" not in request.describe() and request.describe().startswith("POST https://")


@pytest.mark.parametrize(
    ("kind", "status", "body", "expected", "retry"),
    [
        ("mediamtx", 200, b'{"status":"ok"}', "kicked", False),
        ("mediamtx", 404, b'{"status":"error","error":"session not found"}', "gone", False),
        ("mediamtx", 400, b'{"status":"error","error":"invalid UUID length"}', "failed:400", False),
        ("mediamtx", 401, b'{"status":"error","error":"authentication error"}', "failed:401", False),
        ("mediamtx", 500, b"", "failed:500", True),
        ("srs", 200, b'{"code":0,"server":"vid-0xk989d","service":"0n19d1c2","pid":"1"}', "kicked", False),
        ("srs", 200, b'{"code":2049}', "gone", False),  # ERROR_RTMP_CLIENT_NOT_FOUND
        ("srs", 200, b'{"code":400}', "failed:srs-400", False),  # a client without a connection
        ("srs", 200, b"<html>", "failed:bad-reply", False),
        ("srs", 404, b"Not Found", "failed:404", False),  # not this API: a wrong apiUrl
        ("srs", 503, b"", "failed:503", True),
        ("antmedia", 200, b'{"success":true,"message":null,"dataId":null,"errorId":0}', "kicked", False),
        ("antmedia", 200, b'{"success":false,"message":null,"dataId":null,"errorId":0}', "gone", False),
        ("antmedia", 403, b"Invalid App JWT Token", "failed:403", False),
        ("antmedia", 429, b"", "failed:429", True),
    ],
)
def test_what_each_answer_means(kind: str, status: int, body: bytes, expected: str, retry: bool) -> None:
    found = verdict(kind, status, body)
    assert (found.status, found.retry) == (expected, retry)


# -- triggers -------------------------------------------------------------------------------------


def record(name: str, new: dict[str, Any] | None = None, old: dict[str, Any] | None = None) -> dict[str, Any]:
    def image(values: dict[str, Any]) -> dict[str, Any]:
        return {k: {"N": str(v)} if isinstance(v, int) else {"S": v} for k, v in values.items()}

    data: dict[str, Any] = {}
    if new is not None:
        data["NewImage"] = image(new)
    if old is not None:
        data["OldImage"] = image(old)
    return {"eventName": name, "dynamodb": data}


TTL = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
META = {"pk": "STREAM#cam1", "sk": "META", "kind": "stream"}
SUB = {"pk": "STREAM#cam1", "sk": "SUB#alice", "kind": "subscriber", "streamId": "cam1", "subscriberId": "alice"}
SESSION = {"pk": "SESSIONS#cam1#03", "sk": "alice~0", "kind": "session", "streamId": "cam1"}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (record("INSERT", {**META, "revokedAtMs": 5}), Trigger("stream", "revoked", "cam1")),
        (
            record("MODIFY", {**META, "revokedAtMs": 6}, {**META, "revokedAtMs": 5}),
            Trigger("stream", "revoked", "cam1"),
        ),
        (record("MODIFY", {**META, "revokedAtMs": 5, "viewers": "open"}, {**META, "revokedAtMs": 5}), None),
        (
            record("MODIFY", {**META, "viewers": "closed", "viewersClosedAtMs": 7}, {**META, "viewers": "open"}),
            Trigger("stream", "viewers_closed", "cam1"),
        ),
        (
            record("MODIFY", {**SUB, "blockedType": "play", "blockedUntilMs": 9}, {**SUB, "blockedUntilMs": 0}),
            Trigger("subscriber", "blocked", "cam1", subscriber_id="alice"),
        ),
        (
            record(
                "MODIFY",
                {**SUB, "blockedType": "play", "blockedUntilMs": 9, "lastStep": 3},
                {**SUB, "blockedType": "play", "blockedUntilMs": 9},
            ),
            None,
        ),
        (record("MODIFY", {**SUB, "blockedUntilMs": 0}, {**SUB, "blockedType": "play", "blockedUntilMs": 9}), None),
        (record("REMOVE", None, SUB), Trigger("subscriber", "deleted", "cam1", subscriber_id="alice")),
        (
            record("MODIFY", {**SESSION, "endedBy": "operator"}, SESSION),
            Trigger("session", "ended", "cam1", session_id="alice~0"),
        ),
        (
            record(
                "MODIFY", {**SESSION, "endedBy": "operator", "kickStatus": "kicked"}, {**SESSION, "endedBy": "operator"}
            ),
            None,
        ),
        (record("REMOVE", None, SESSION), None),  # no server: nothing to tell
        (
            record("REMOVE", None, {**SESSION, "server": "srs"}),
            Trigger(
                "removed",
                "removed",
                "cam1",
                session_id="alice~0",
                item=record("REMOVE", None, {**SESSION, "server": "srs"})["dynamodb"]["OldImage"],
            ),
        ),
        ({**record("REMOVE", None, {**SESSION, "server": "srs"}), "userIdentity": TTL}, None),  # a lease ran out
        (record("REMOVE", None, {**SESSION, "server": "nginx-rtmp"}), None),  # its renew does it
        (record("INSERT", {"pk": "STREAM#cam1", "sk": "TOKEN#t", "kind": "token"}), None),
    ],
)
def test_which_changes_can_end_sessions(change: dict[str, Any], expected: Trigger | None) -> None:
    assert trigger(change) == expected


# -- the registry ---------------------------------------------------------------------------------


def test_a_registry_and_how_a_session_finds_its_server() -> None:
    registry = parse_registry(
        json.dumps(
            {
                "servers": [
                    {
                        "id": "mtx1",
                        "kind": "mediamtx",
                        "apiUrl": "http://10.0.0.5:9997/",
                        "username": "u",
                        "password": "hunter2",
                    },
                    {"id": "srs1", "kind": "srs", "apiUrl": "http://10.0.0.6:1985"},
                    {"id": "srs2", "kind": "srs", "apiUrl": "https://srs2.example"},
                    {
                        "id": "ams1",
                        "kind": "antmedia",
                        "apiUrl": "https://ams:5443/LiveApp",
                        "authorization": "Bearer jwt",
                    },
                ]
            }
        )
    )
    assert registry.servers[0] == MediaServer("mtx1", "mediamtx", "http://10.0.0.5:9997", "u", "hunter2")
    assert registry.server_for("mediamtx", None) == registry.servers[0]  # the only one of its kind
    assert registry.server_for("srs", "srs2") == registry.servers[2]
    assert "2 srs servers" in str(registry.server_for("srs", None))  # which one? skipped
    assert "registered as srs" in str(registry.server_for("mediamtx", "srs1"))
    assert "no server nosuch" in str(registry.server_for("srs", "nosuch"))
    assert "hunter2" not in repr(registry) and "Bearer" not in repr(registry)  # credentials stay out of logs
    assert parse_registry('{"servers": []}') == Registry()


@pytest.mark.parametrize(
    ("entry", "named"),
    [
        ({"id": "a", "kind": "nginx-rtmp", "apiUrl": "http://x"}, "servers[0].kind"),
        ({"id": "a b", "kind": "srs", "apiUrl": "http://x"}, "servers[0].id"),
        ({"id": "a", "kind": "srs", "apiUrl": "ftp://x"}, "servers[0].apiUrl"),
        ({"id": "a", "kind": "srs", "apiUrl": "http://x?y=1"}, "servers[0].apiUrl"),
        ({"id": "a", "kind": "srs", "apiUrl": "http://u:hunter2@x"}, "servers[0].apiUrl"),
        ({"id": "a", "kind": "srs", "apiUrl": "http://x:99999"}, "servers[0].apiUrl"),
        ({"id": "a", "kind": "srs", "apiUrl": "http://x", "username": "u"}, "username and password"),
        ({"id": "a", "kind": "srs", "apiUrl": "http://x", "username": "u:v", "password": "hunter2"}, "username"),
        ({"id": "a", "kind": "srs", "apiUrl": "http://x", "authorization": "x\r\nX-Evil: 1"}, "authorization"),
        (
            {
                "id": "a",
                "kind": "srs",
                "apiUrl": "http://x",
                "username": "u",
                "password": "hunter2",
                "authorization": "b",
            },
            "not both",
        ),
        ({"id": "a", "kind": "srs", "apiUrl": "http://x", "apiURL": "http://y"}, "unknown fields: apiURL"),
        ("srs1", "servers[0] must be a JSON object"),
    ],
)
def test_a_malformed_registry_names_the_entry_never_a_credential(entry: Any, named: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_registry(json.dumps({"servers": [entry]}))
    assert named in caught.value.message and "hunter2" not in caught.value.message


@pytest.mark.parametrize("text", ["not json", "[]", '{"servers": {}}', '{"server": []}'])
def test_a_registry_that_is_not_one(text: str) -> None:
    with pytest.raises(ConfigurationError):
        parse_registry(text)


def test_a_server_id_registered_twice_is_refused() -> None:
    twice = [{"id": "a", "kind": "srs", "apiUrl": "http://x"}, {"id": "a", "kind": "mediamtx", "apiUrl": "http://y"}]
    with pytest.raises(ConfigurationError, match="registered twice: a"):
        parse_registry(json.dumps({"servers": twice}))
