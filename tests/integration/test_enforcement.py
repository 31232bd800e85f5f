"""Push enforcement end to end: sessions admitted through the real hooks (with `?server=`), a
real change made through the real API functions, the table's own stream records (moto's)
passed through the template's FilterCriteria to the SessionEnforcerFunction, and local fakes
of MediaMTX, SRS and Ant Media (tests/media_servers.py) recording each kick byte for byte."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from localapi import template as tpl
from localapi.runtime import free_port
from tests.conftest import T0, Aws, FakeClock, LambdaContext, call, event, load_function
from tests.faults import Faults
from tests.integration.test_events import dead_letters
from tests.integration.test_hooks import code, create_subscriber
from tests.media_servers import FakeAntMedia, FakeMediaMtx, FakeSrs, Seen

FUTURE = int(T0) + 3600
STREAM = "cam1"
MTX_USER, MTX_PASSWORD = "streamauth", "mtx-api-secret"
SRS_USER, SRS_PASSWORD = "admin", "srs-api-secret"
AMS_JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzdHJlYW1hdXRoIn0.c2lnbmF0dXJl"
UUIDS = [f"{n:08x}-8f7e-4d1c-9c0e-2f2a9d7e1c11" for n in range(1, 10)]


# -- the table's stream, filtered as the template's event source mapping filters it ---------------

_MISSING = object()


def _leaf(rule: Any, value: Any) -> bool:
    if isinstance(rule, dict) and "exists" in rule:
        return (value is not _MISSING) is bool(rule["exists"])
    return bool(value == rule)


def matches(pattern: dict[str, Any], data: Any) -> bool:
    """EventBridge pattern matching, as far as the template's filters use it: values by list,
    `exists` true/false (a field under a missing parent does not exist)."""
    for key, rule in pattern.items():
        value = data.get(key, _MISSING) if isinstance(data, dict) else _MISSING
        if isinstance(rule, dict):
            if not matches(rule, value if isinstance(value, dict) else {}):
                return False
        elif not any(_leaf(alternative, value) for alternative in rule):
            return False
    return True


def template_filters() -> list[dict[str, Any]]:
    function = tpl.load()["Resources"]["SessionEnforcerFunction"]["Properties"]
    (source,) = function["Events"].values()
    return [json.loads(f["Pattern"]) for f in source["Properties"]["FilterCriteria"]["Filters"]]


class TableStream:
    """moto's DynamoDB stream of the test table, read on from where the last read stopped."""

    def __init__(self, aws: Aws) -> None:
        import boto3

        # botocore's newer default host for this service is not one moto intercepts: name the classic one
        self._streams = boto3.client(
            "dynamodbstreams", region_name="us-east-1", endpoint_url="https://streams.dynamodb.us-east-1.amazonaws.com"
        )
        arn = aws.client("dynamodb").describe_table(TableName=aws.table_name)["Table"]["LatestStreamArn"]
        shard = self._streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        self._iterator = self._streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]

    def read(self) -> list[dict[str, Any]]:
        reply = self._streams.get_records(ShardIterator=self._iterator)
        self._iterator = reply["NextShardIterator"]
        records: list[dict[str, Any]] = json.loads(json.dumps(reply["Records"], default=str))
        return records

    def filtered(self) -> list[dict[str, Any]]:
        """The new records Lambda would pass the enforcer."""
        filters = template_filters()
        return [r for r in self.read() if any(matches(f, r) for f in filters)]


def enforce(records: list[dict[str, Any]]) -> dict[str, Any]:
    reply: dict[str, Any] = load_function("SessionEnforcerFunction").lambda_handler(
        {"Records": records}, LambdaContext(function_name="SessionEnforcerFunction")
    )
    return reply


# -- the media servers -----------------------------------------------------------------------------


@dataclass
class Servers:
    mtx: FakeMediaMtx
    srs: FakeSrs
    ams: FakeAntMedia
    sleeps: list[float]
    stream: TableStream
    aws: Aws

    def registry(self, *extra: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {"id": "mtx1", "kind": "mediamtx", "apiUrl": self.mtx.url, "username": MTX_USER, "password": MTX_PASSWORD},
            {"id": "srs1", "kind": "srs", "apiUrl": self.srs.url + "/", "username": SRS_USER, "password": SRS_PASSWORD},
            {
                "id": "ams1",
                "kind": "antmedia",
                "apiUrl": f"{self.ams.url}/LiveApp",
                "authorization": f"Bearer {AMS_JWT}",
            },
            *extra,
        ]

    def register(self, servers: list[dict[str, Any]] | str) -> None:
        from streamauth.settings import reset_caches

        text = servers if isinstance(servers, str) else json.dumps({"servers": servers})
        secrets = self.aws.client("secretsmanager")
        secrets.put_secret_value(SecretId=self.aws.secret_arns["MediaServersSecret"], SecretString=text)
        reset_caches()  # as a function does once its secret cache time has passed

    def enforce(self) -> dict[str, Any]:
        records = self.stream.filtered()
        assert records, "no change reached the enforcer"  # Lambda never invokes it with none
        return enforce(records)


@pytest.fixture
def servers(aws: Aws, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[Servers]:
    from streamauth.service import enforcement

    sleeps: list[float] = []
    monkeypatch.setattr(enforcement, "pause", sleeps.append)
    fakes = Servers(
        FakeMediaMtx(username=MTX_USER, password=MTX_PASSWORD),
        FakeSrs(username=SRS_USER, password=SRS_PASSWORD),
        FakeAntMedia(jwt=AMS_JWT),
        sleeps,
        TableStream(aws),
        aws,
    )
    fakes.register(fakes.registry())
    yield fakes
    for fake in (fakes.mtx, fakes.srs, fakes.ams):
        fake.close()


# -- admissions through the real hooks -----------------------------------------------------------


def hook_secret() -> str:
    from streamauth.keys import get_keys

    return get_keys().hook_secret


def admit(function: str, sample: str, body: dict[str, Any], server: str | None) -> None:
    evt = event(
        sample,
        body=json.dumps(body),
        pathParameters={"hookSecret": hook_secret()},
        queryStringParameters={"server": server} if server else None,
    )
    reply = call(function, evt)
    assert reply.status == 200 and reply.body["allow"] is True, reply.body


def one_time(action: str = "publish") -> str:
    from streamauth import clock
    from streamauth.models.tokens import TokenRequest
    from streamauth.service.tokens import token_service

    return token_service().issue_one_time(TokenRequest(STREAM, FUTURE, action, None), clock.now()).token_id  # type: ignore[arg-type]


def stream_jwt(action: str = "play") -> str:
    from streamauth import clock
    from streamauth.models.tokens import TokenRequest
    from streamauth.service.tokens import token_service

    return token_service().issue_jwt(TokenRequest(STREAM, FUTURE, action, None), clock.now()).token_id  # type: ignore[arg-type]


def mediamtx(
    protocol: str, kick_id: str | None, *, token: str = "", user: str = "", password: str = "", read: bool = False
) -> None:
    body = {
        "user": user,
        "password": password,
        "token": token,
        "ip": "10.0.0.9",
        "action": "read" if read else "publish",
        "path": STREAM,
        "protocol": protocol,
        "id": kick_id,
        "query": "",
        "userAgent": "ffmpeg",
    }
    admit("MediaMtxHookFunction", "hook_mediamtx", body, "mtx1")


def srs(client_id: str, param: str, *, play: bool = False, server: str | None = "srs1") -> None:
    body = {
        "server_id": "vid-0xk989d",
        "service_id": "0n19d1c2",
        "action": "on_play" if play else "on_publish",
        "client_id": client_id,
        "ip": "10.0.0.9",
        "vhost": "__defaultVhost__",
        "app": "live",
        "tcUrl": "rtmp://10.0.0.6:1935/live",
        "stream": STREAM,
        "param": param,
        "stream_url": f"/live/{STREAM}",
    }
    admit("SrsHookFunction", "hook_srs", body, server)


def antmedia(query: str, *, play: bool = False) -> None:
    body = {"appName": "LiveApp", "name": STREAM, "streamId": STREAM, "mode": "play" if play else "publish"}
    body.update({"queryParams": query, "metaData": ""})
    admit("AntMediaHookFunction", "hook_antmedia", body, "ams1")


def nginx(token: str) -> None:
    body = f"app=live&addr=10.0.0.9&clientid=7&call=publish&name={STREAM}&type=live&token={token}"
    reply = call("NginxHookFunction", event("hook_nginx", body=body, pathParameters={"hookSecret": hook_secret()}))
    assert reply.status == 200, reply.body


def sessions() -> dict[str, Any]:
    """The stream's session records by their server's kick id (Ant Media: by action)."""
    from streamauth.store import session_store

    return {s.kick_id or f"{s.server}:{s.action}": s for s in session_store().of_stream(STREAM)}


def kick_status(key: str) -> str | None:
    status: str | None = sessions()[key].kick_status
    return status


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def mediamtx_kick(servers: Servers, kind: str, kick_id: str) -> Seen:
    """The request MediaMTX's API documents, as it must arrive: no body, Basic credentials."""
    return Seen(
        f"POST /v3/{kind}/kick/{kick_id} HTTP/1.1".encode(),
        (
            ("Host", f"127.0.0.1:{servers.mtx.port}"),
            ("Accept-Encoding", "identity"),
            ("Content-Length", "0"),
            ("Accept", "application/json"),
            ("User-Agent", "streamauth-enforcer/1"),
            ("Authorization", basic(MTX_USER, MTX_PASSWORD)),
        ),
        b"",
    )


def srs_kick(servers: Servers, client_id: str) -> Seen:
    return Seen(
        f"DELETE /api/v1/clients/{client_id} HTTP/1.1".encode(),
        (
            ("Host", f"127.0.0.1:{servers.srs.port}"),
            ("Accept-Encoding", "identity"),
            ("Accept", "application/json"),
            ("User-Agent", "streamauth-enforcer/1"),
            ("Authorization", basic(SRS_USER, SRS_PASSWORD)),
        ),
        b"",
    )


def ams_stop(servers: Servers, stream_id: str = STREAM) -> Seen:
    return Seen(
        f"POST /LiveApp/rest/v2/broadcasts/{stream_id}/stop HTTP/1.1".encode(),
        (
            ("Host", f"127.0.0.1:{servers.ams.port}"),
            ("Accept-Encoding", "identity"),
            ("Content-Length", "0"),
            ("Accept", "application/json"),
            ("User-Agent", "streamauth-enforcer/1"),
            ("Content-Type", "application/json"),
            ("Authorization", f"Bearer {AMS_JWT}"),
        ),
        b"",
    )


def revoke(clock: FakeClock) -> None:
    clock.advance(1)
    assert call("RevokeTokensFunction", event("revoke_tokens", pathParameters={"id": STREAM})).body["success"]


def block(clock: FakeClock, blocked_type: str, sid: str = "alice") -> None:
    clock.advance(1)
    body = {"blockedType": blocked_type, "seconds": 600}
    reply = call(
        "BlockSubscriberFunction", event("block_subscriber", pathParameters={"id": STREAM, "sid": sid}, body=body)
    )
    assert reply.body["success"] is True


def subscriber_param(clock: FakeClock, sid: str = "alice") -> str:
    return f"?subscriberId={sid}&subscriberCode={code(clock)}"


# -- what is kicked when -------------------------------------------------------------------------


def test_a_revocation_kicks_token_sessions_on_mediamtx_and_srs_not_subscribers_nor_nginx(
    servers: Servers, clock: FakeClock
) -> None:
    servers.mtx.sessions["rtmpconns"].add(UUIDS[0])
    servers.mtx.sessions["rtspsessions"].add(UUIDS[1])
    servers.srs.clients.update({"c1", "c2"})
    mediamtx("rtmp", UUIDS[0], token=one_time())
    mediamtx("rtsp", UUIDS[1], token=stream_jwt(), read=True)
    srs("c1", f"?token={stream_jwt()}", play=True)
    create_subscriber(stream=STREAM, limit=2)
    srs("c2", subscriber_param(clock), play=True)
    nginx(one_time())
    assert servers.stream.filtered() == []  # admissions end nothing

    revoke(clock)
    assert servers.enforce() == {"batchItemFailures": []}
    assert sorted(servers.mtx.seen, key=lambda s: s.request_line) == [
        mediamtx_kick(servers, "rtmpconns", UUIDS[0]),
        mediamtx_kick(servers, "rtspsessions", UUIDS[1]),
    ]
    assert servers.srs.seen == [srs_kick(servers, "c1")]  # not c2: a subscriber's code is not a token
    assert servers.ams.seen == []
    assert (kick_status(UUIDS[0]), kick_status(UUIDS[1]), kick_status("c1")) == ("kicked",) * 3
    assert kick_status("c2") is None and kick_status("nginx-rtmp:publish") is None
    assert servers.sleeps == [] and dead_letters(servers.aws) == []

    # recording the kicks changed three sessions: none of that reaches the enforcer again
    recorded = servers.stream.read()
    assert len([r for r in recorded if "kickStatus" in r["dynamodb"]["NewImage"]]) == 3
    assert [r for r in recorded if any(matches(f, r) for f in template_filters())] == []


def test_the_same_change_delivered_again_kicks_nothing_twice(servers: Servers, clock: FakeClock) -> None:
    servers.srs.clients.add("c1")
    srs("c1", f"?token={stream_jwt()}", play=True)
    servers.stream.read()
    revoke(clock)
    records = servers.stream.filtered()
    assert enforce(records) == {"batchItemFailures": []}
    assert enforce(records) == {"batchItemFailures": []}
    assert servers.srs.requests() == [("DELETE", "/api/v1/clients/c1")]


def test_a_block_kicks_that_subscribers_sessions_for_the_blocked_action(servers: Servers, clock: FakeClock) -> None:
    create_subscriber(stream=STREAM, limit=3)
    create_subscriber(sid="bobby", stream=STREAM, limit=1)
    servers.srs.clients.update({"p1", "b1"})
    servers.mtx.sessions["webrtcsessions"].add(UUIDS[2])
    srs("p1", subscriber_param(clock))
    clock.advance(60)
    mediamtx("webrtc", UUIDS[2], user="alice", password=code(clock), read=True)
    clock.advance(60)
    srs("b1", subscriber_param(clock, "bobby"))
    servers.stream.read()

    block(clock, "publish")
    assert servers.enforce() == {"batchItemFailures": []}
    assert servers.srs.seen == [srs_kick(servers, "p1")]
    assert servers.mtx.seen == []  # alice's play goes on: only publishing was blocked
    assert kick_status("p1") == "kicked" and kick_status(UUIDS[2]) is None

    block(clock, "publish_play")
    assert servers.enforce() == {"batchItemFailures": []}
    assert servers.mtx.seen == [mediamtx_kick(servers, "webrtcsessions", UUIDS[2])]
    assert servers.srs.requests() == [("DELETE", "/api/v1/clients/p1")]  # p1 is not asked twice, bob never
    assert kick_status(UUIDS[2]) == "kicked" and kick_status("b1") is None


def test_deleting_a_subscriber_stops_its_ant_media_broadcast(servers: Servers, clock: FakeClock) -> None:
    create_subscriber(stream=STREAM, limit=1)
    servers.ams.live.add(STREAM)
    antmedia(f"{{subscriberId=alice, subscriberCode={code(clock)}}}")
    servers.stream.read()
    deleted = call(
        "DeleteSubscriberFunction", event("delete_subscriber", pathParameters={"id": STREAM, "sid": "alice"})
    )
    assert deleted.body["success"] is True
    assert servers.enforce() == {"batchItemFailures": []}
    assert servers.ams.seen == [ams_stop(servers)]
    assert kick_status("antmedia:publish") == "kicked"


def test_an_operator_delete_of_a_session_kicks_it_once(servers: Servers, clock: FakeClock) -> None:
    servers.mtx.sessions["srtconns"].add(UUIDS[3])
    mediamtx("srt", UUIDS[3], token=one_time())
    session_id = sessions()[UUIDS[3]].session_id
    servers.stream.read()
    ended = call("EndSessionFunction", event("end_session", pathParameters={"id": STREAM, "sessionId": session_id}))
    assert ended.body["success"] is True
    assert servers.enforce() == {"batchItemFailures": []}
    assert servers.mtx.seen == [mediamtx_kick(servers, "srtconns", UUIDS[3])]
    assert kick_status(UUIDS[3]) == "kicked"
    # the kick's own record, and the operator's retried DELETE, reach the enforcer no more
    call("EndSessionFunction", event("end_session", pathParameters={"id": STREAM, "sessionId": session_id}))
    assert servers.stream.filtered() == []
    assert len(servers.mtx.seen) == 1


def test_closing_a_stream_to_viewers_kicks_viewer_sessions(servers: Servers, clock: FakeClock) -> None:
    from streamauth.keys import get_keys
    from streamauth.logic import signing
    from streamauth.logic.viewers import viewer_claims
    from streamauth.models.viewers import ViewerTokenRequest
    from streamauth.service.viewers import viewer_service

    assert viewer_service().set_public(STREAM, True, clock() - 10)
    clock.advance(1)
    viewer = signing.encode(viewer_claims(ViewerTokenRequest(STREAM, "u1"), clock(), 600), get_keys().viewer_jwt_key)
    servers.srs.clients.update({"v1", "t1"})
    servers.mtx.sessions["hlssessions"].add(UUIDS[4])
    srs("v1", f"?token={viewer}", play=True)
    mediamtx("hls", UUIDS[4], token=viewer, read=True)  # MediaMTX >= 1.18: HLS sessions have an id
    mediamtx("hls", None, token=viewer, read=True)  # before: none, so nothing to kick it by
    srs("t1", f"?token={stream_jwt()}", play=True)
    servers.stream.read()

    clock.advance(1)
    body = {"enabled": False}
    closed = call("SetPublicViewersFunction", event("set_public_viewers", pathParameters={"id": STREAM}, body=body))
    assert closed.status == 200, closed.body
    assert servers.enforce() == {"batchItemFailures": []}
    assert servers.srs.seen == [srs_kick(servers, "v1")]  # not t1: a stream token is not a viewer JWT
    assert servers.mtx.seen == [mediamtx_kick(servers, "hlssessions", UUIDS[4])]
    assert (kick_status("v1"), kick_status(UUIDS[4]), kick_status("mediamtx:play")) == (
        "kicked",
        "kicked",
        "not_kickable",
    )
    assert dead_letters(servers.aws) == []  # a limit of the server, not a failure


def test_a_stream_ended_event_kicks_the_sessions_it_deletes(servers: Servers, clock: FakeClock) -> None:
    """StreamEnded revokes, then deletes the stream's session records before the revocation's
    record reaches the enforcer: the deletions' old images are what it kicks by."""
    from tests.integration.test_events import EVENT_TIME, consume, sample

    clock.now = EVENT_TIME - 30  # admitted before the event's time, so its revocation ends them
    servers.srs.clients.add("e1")
    servers.mtx.sessions["rtmpconns"].add(UUIDS[7])
    srs("e1", f"?token={stream_jwt()}", play=True)
    mediamtx("rtmp", UUIDS[7], token=one_time())
    servers.stream.read()
    clock.now = EVENT_TIME + 10
    assert consume(sample("stream_ended.json", streamId=STREAM))["outcome"] == "applied"
    # ended (kept, marked: their identities are never admitted again; TTL removes them later)
    assert {key: s.ended_by for key, s in sessions().items()} == {"e1": "stream_ended", UUIDS[7]: "stream_ended"}
    assert servers.enforce() == {"batchItemFailures": []}
    assert servers.srs.seen == [srs_kick(servers, "e1")]
    assert servers.mtx.seen == [mediamtx_kick(servers, "rtmpconns", UUIDS[7])]
    assert dead_letters(servers.aws) == []


# -- answers ----------------------------------------------------------------------------------------


def test_a_server_that_is_down_is_retried_then_dead_lettered_and_the_batch_does_not_fail(
    servers: Servers, clock: FakeClock
) -> None:
    servers.srs.clients.update({"c1", "c2"})
    servers.srs.fail_with.extend([503, 503, 503])
    srs("c1", f"?token={stream_jwt()}", play=True)
    srs("c2", f"?token={stream_jwt()}", play=True)
    closed_port = free_port()  # nothing listens there
    servers.register(servers.registry({"id": "srs2", "kind": "srs", "apiUrl": f"http://127.0.0.1:{closed_port}"}))
    srs("c3", f"?token={stream_jwt()}", play=True, server="srs2")
    servers.stream.read()

    revoke(clock)
    assert servers.enforce() == {"batchItemFailures": []}
    attempts = servers.srs.requests()
    assert len(attempts) == 3 and len(set(attempts)) == 1  # one session's three; the other's server is known down
    assert servers.sleeps == [0.2, 0.4, 0.2, 0.4]  # backoff before each retry, per server
    assert (kick_status("c1"), kick_status("c2"), kick_status("c3")) == (
        "failed:503",
        "failed:503",
        "failed:unreachable",
    )
    parked = sorted(dead_letters(servers.aws), key=lambda m: m["event"]["sessionId"])
    assert len(parked) == 3
    by_session = {m["event"]["sessionId"]: m for m in parked}
    c1 = by_session[sessions()["c1"].session_id]
    assert c1["reason"] == "kick failed:503"
    assert c1["event"]["serverId"] == "srs1" and c1["event"]["why"] == "revoked" and c1["event"]["trigger"] == "revoked"
    everything = json.dumps(parked)
    assert SRS_PASSWORD not in everything and MTX_PASSWORD not in everything and AMS_JWT not in everything


def test_gone_sessions_are_recorded_gone(servers: Servers, clock: FakeClock) -> None:
    """MediaMTX 404 (and an RTSPS session, which MediaMTX reports as "rtsp", found on the second
    server); SRS code 2049; Ant Media success false."""
    servers.mtx.sessions["rtspssessions"].add(UUIDS[6])
    mediamtx("rtmp", UUIDS[5], token=one_time())  # left already
    mediamtx("rtsp", UUIDS[6], token=stream_jwt(), read=True)  # came over RTSPS
    srs("gone1", f"?token={stream_jwt()}", play=True)
    antmedia(f"{{token={one_time()}}}")  # not live any more
    servers.stream.read()

    revoke(clock)
    assert servers.enforce() == {"batchItemFailures": []}
    assert sorted(servers.mtx.requests()) == [
        ("POST", f"/v3/rtmpconns/kick/{UUIDS[5]}"),
        ("POST", f"/v3/rtmpsconns/kick/{UUIDS[5]}"),
        ("POST", f"/v3/rtspsessions/kick/{UUIDS[6]}"),
        ("POST", f"/v3/rtspssessions/kick/{UUIDS[6]}"),
    ]
    assert servers.ams.seen == [ams_stop(servers)]
    assert (kick_status(UUIDS[5]), kick_status(UUIDS[6])) == ("gone", "kicked")
    assert (kick_status("gone1"), kick_status("antmedia:publish")) == ("gone", "gone")
    assert dead_letters(servers.aws) == []


def test_ant_media_play_sessions_cannot_be_kicked(servers: Servers, clock: FakeClock) -> None:
    antmedia(f"{{token={stream_jwt()}}}", play=True)
    servers.stream.read()
    revoke(clock)
    assert servers.enforce() == {"batchItemFailures": []}
    assert servers.ams.seen == []
    assert kick_status("antmedia:play") == "not_kickable"


def test_nginx_rtmp_sessions_are_never_pushed(servers: Servers, clock: FakeClock) -> None:
    """nginx-rtmp refuses them at its next on_update (test_hooks); no registry is even read."""
    nginx(one_time())
    servers.register("not json: an unusable registry would dead-letter a kick")
    servers.stream.read()
    revoke(clock)
    assert servers.enforce() == {"batchItemFailures": []}
    assert kick_status("nginx-rtmp:publish") is None and dead_letters(servers.aws) == []


def test_servers_are_found_by_id_or_as_the_only_one_of_their_kind(servers: Servers, clock: FakeClock) -> None:
    servers.srs.clients.update({"n1", "n2"})
    srs("n1", f"?token={stream_jwt()}", play=True, server=None)  # the only SRS registered: it
    srs("n2", f"?token={stream_jwt()}", play=True, server="nosuch")
    servers.stream.read()
    revoke(clock)
    assert servers.enforce() == {"batchItemFailures": []}
    assert servers.srs.requests() == [("DELETE", "/api/v1/clients/n1")]
    assert (kick_status("n1"), kick_status("n2")) == ("kicked", "unregistered")

    clock.advance(1)  # a token issued after the revocation
    servers.srs.clients.add("n3")
    servers.register(servers.registry({"id": "srs2", "kind": "srs", "apiUrl": servers.srs.url}))
    srs("n3", f"?token={one_time('play')}", play=True, server=None)  # two SRS now: which one?
    servers.stream.read()
    revoke(clock)
    assert servers.enforce() == {"batchItemFailures": []}
    assert kick_status("n3") == "unregistered" and "n3" in servers.srs.clients
    assert dead_letters(servers.aws) == []  # skipped and logged, not failed


def test_an_unusable_registry_dead_letters_the_kick(servers: Servers, clock: FakeClock) -> None:
    servers.srs.clients.add("c1")
    srs("c1", f"?token={stream_jwt()}", play=True)
    servers.register([{"id": "srs1", "kind": "srs", "apiUrl": "http://user:pw@10.0.0.6:1985"}])
    servers.stream.read()
    revoke(clock)
    assert servers.enforce() == {"batchItemFailures": []}
    assert servers.srs.seen == [] and kick_status("c1") == "failed:registry"
    (parked,) = dead_letters(servers.aws)
    assert (
        parked["reason"] == "kick failed:registry" and "apiUrl must not carry credentials" in parked["event"]["detail"]
    )
    assert "pw@" not in json.dumps(parked)


def test_a_dynamodb_throttle_during_enforcement_is_a_batch_item_failure(servers: Servers, clock: FakeClock) -> None:
    """The record is retried (a batch item failure); no server is asked, nothing is dead-lettered."""
    from streamauth.aws import dynamodb_client

    servers.srs.clients.add("c1")
    srs("c1", f"?token={stream_jwt()}", play=True)
    create_subscriber(stream=STREAM, limit=1)
    servers.stream.read()
    revoke(clock)
    clock.advance(1)
    deleted = call(
        "DeleteSubscriberFunction", event("delete_subscriber", pathParameters={"id": STREAM, "sid": "alice"})
    )
    assert deleted.body["success"] is True
    records = servers.stream.filtered()
    assert len(records) == 2  # the revocation, the deletion
    faults = Faults(dynamodb_client())
    faults.fail("Query", "throttle", times=4)  # past the SDK's retries: the revocation's first shard
    reply = enforce(records)
    assert reply == {"batchItemFailures": [{"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}]}
    assert servers.srs.seen == [] and dead_letters(servers.aws) == []
    assert enforce(records[:1]) == {"batchItemFailures": []}  # Lambda retries it: now it goes through
    assert servers.srs.requests() == [("DELETE", "/api/v1/clients/c1")]


def test_only_changes_that_end_sessions_reach_the_enforcer(servers: Servers, clock: FakeClock) -> None:
    """The template's filters, on the table's real records: tokens, codes, sessions starting,
    renewing or ending, subscribers created or unblocked pass nothing."""
    create_subscriber(stream=STREAM, limit=1)
    srs("x1", f"?token={one_time()}")
    srs("x2", subscriber_param(clock), play=True)
    unblocked = call(
        "UnblockSubscriberFunction", event("unblock_subscriber", pathParameters={"id": STREAM, "sid": "alice"})
    )
    assert unblocked.status == 200
    stop = {"server_id": "vid-0xk989d", "action": "on_unpublish", "client_id": "x1", "stream": STREAM, "param": ""}
    call("SrsHookFunction", event("hook_srs", body=json.dumps(stop), pathParameters={"hookSecret": hook_secret()}))
    every = servers.stream.read()
    assert len(every) > 5
    assert [r for r in every if any(matches(f, r) for f in template_filters())] == []
