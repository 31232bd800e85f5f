"""Push enforcement on a developer's machine: `python -m localapi run` (make run) feeds the
table's stream to the session enforcer and the change publisher as Lambda's event-source mapping
would (localapi/streams.py), so a change made over the public API ends a session admitted
through the SRS, MediaMTX or Ant Media hook on that server (fakes speaking their documented
kick APIs, tests/media_servers.py), and the change is announced on the event bus.

This module runs a local API of its own: its media-server registry (MediaServersSecret) names
the fakes, in a secrets file of its own ($STREAMAUTH_LOCAL_SECRETS), never the developer's
.local/secrets.json."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from localapi import keys
from localapi import template as tpl
from localapi.streams import moto_endpoint
from tests.conftest import ROOT, running_local_api
from tests.media_servers import FakeAntMedia, FakeMediaMtx, FakeSrs

pytestmark = pytest.mark.e2e

KICK_WAIT = 15.0  # seconds: the batching window is 1 s; a cold enforcer worker took 4 s on a busy 2-core machine
MTX_USER, MTX_PASSWORD = "streamauth", "mtx-api-secret"
SRS_USER, SRS_PASSWORD = "admin", "srs-api-secret"
AMS_JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzdHJlYW1hdXRoIn0.c2lnbmF0dXJl"
OBSERVER = "push-local-observer"  # the rule (and queue) that keeps what the change publisher puts on the bus


def wait_for(what: str, found: Callable[[], Any], seconds: float = KICK_WAIT, log: Path | None = None) -> Any:
    """Poll until `found()` is truthy (and return it), at most `seconds`; on failure the runner's
    account of its stream feed (`log`) is in the message."""
    deadline = time.monotonic() + seconds
    while True:
        value = found()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds:g} s" + (f"\n{_streams_log(log)}" if log else ""))
        time.sleep(0.1)


@dataclass
class Bus:
    """What a running local API puts on its event bus: a rule sends every `streamauth` event to an
    SQS queue of the runner's moto, read as a subscriber of the bus would (observe_bus)."""

    sqs: Any  # a boto3 client on the runner's moto
    queue: str
    observed: list[dict[str, Any]] = field(default_factory=list)

    def published(self, detail_type: str, **detail: Any) -> list[dict[str, Any]]:
        """The events of that type (and detail) the change publisher put on the bus so far."""
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
                "Messages", []
            )
            if not messages:
                break
            for message in messages:
                self.observed.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=message["ReceiptHandle"])
        return [
            e
            for e in self.observed
            if e["detail-type"] == detail_type and all(e["detail"].get(k) == v for k, v in detail.items())
        ]


def observe_bus(log: Path) -> Bus:
    """An observer of the event bus of the local API whose output is `log` (from now on)."""
    import boto3

    moto = wait_for("the stream feed", lambda: moto_endpoint(log.read_text()), 60)  # printed once it runs
    aws = {"region_name": "us-east-1", "endpoint_url": moto}
    aws.update(aws_access_key_id="testing", aws_secret_access_key="testing")
    events, sqs = boto3.client("events", **aws), boto3.client("sqs", **aws)  # type: ignore[call-overload]
    queue = sqs.create_queue(QueueName=OBSERVER)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = tpl.parameter_defaults()["EventBusName"]
    events.put_rule(Name=OBSERVER, EventBusName=bus, EventPattern=json.dumps({"source": ["streamauth"]}))
    events.put_targets(Rule=OBSERVER, EventBusName=bus, Targets=[{"Id": "observed", "Arn": queue_arn}])
    return Bus(sqs, queue)


@dataclass
class PushApi:
    url: str
    operator: dict[str, str]
    hooks: str  # .../hooks/<hook secret>
    srs: FakeSrs
    mtx: FakeMediaMtx
    ams: FakeAntMedia
    bus: Bus
    log: Path

    def published(self, detail_type: str, **detail: Any) -> list[dict[str, Any]]:
        return self.bus.published(detail_type, **detail)

    def get(self, path: str, **params: str) -> requests.Response:
        return requests.get(f"{self.url}{path}", params=params, headers=self.operator, timeout=30)

    def token(self, stream: str, action: str) -> str:
        reply = self.get(f"/v2/broadcasts/{stream}/token", expireDate=str(int(time.time()) + 600), type=action)
        assert reply.status_code == 200, reply.text
        token: str = reply.json()["tokenId"]
        return token

    def hook(self, kind: str, server: str, body: dict[str, Any]) -> None:
        reply = requests.post(f"{self.hooks}/{kind}", params={"server": server}, json=body, timeout=30)
        assert reply.status_code == 200, reply.text
        assert reply.json().get("allow") is True, reply.text

    def sessions(self, stream: str) -> list[dict[str, Any]]:
        reply = self.get(f"/v2/broadcasts/{stream}/sessions")
        assert reply.status_code == 200, reply.text
        found: list[dict[str, Any]] = reply.json()
        return found


def _localapi(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "localapi", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


@pytest.fixture(scope="module")
def push_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PushApi]:
    srs = FakeSrs(username=SRS_USER, password=SRS_PASSWORD)
    mtx = FakeMediaMtx(username=MTX_USER, password=MTX_PASSWORD)
    ams = FakeAntMedia(jwt=AMS_JWT)
    registry = [
        {"id": "srs1", "kind": "srs", "apiUrl": srs.url, "username": SRS_USER, "password": SRS_PASSWORD},
        {"id": "mtx1", "kind": "mediamtx", "apiUrl": mtx.url, "username": MTX_USER, "password": MTX_PASSWORD},
        {"id": "ams1", "kind": "antmedia", "apiUrl": f"{ams.url}/LiveApp", "authorization": f"Bearer {AMS_JWT}"},
    ]
    home = tmp_path_factory.mktemp("push-local")
    secrets_file = home / "secrets.json"  # the rest of the deployment's secrets are made on first use
    secrets_file.write_text(json.dumps({"MediaServersSecret": json.dumps({"servers": registry})}))
    secrets_file.chmod(0o600)
    try:
        with running_local_api(home / "local-api.log", home / "iam", **{keys.SECRETS_ENV: str(secrets_file)}) as api:
            log = api.log
            operator = {"Authorization": f"Bearer {_localapi(api.env, 'admin-token')}"}
            hooks = _localapi(api.env, "hook-url", "--base", api.url)
            bus = observe_bus(log)
            yield PushApi(api.url, operator, hooks, srs, mtx, ams, bus, log)
            dead = bus.sqs.get_queue_url(QueueName="streamauth-local-dlq")["QueueUrl"]
            parked = bus.sqs.receive_message(QueueUrl=dead, MaxNumberOfMessages=10).get("Messages", [])
            # no kick failed, no batch gave up (the runner's log says why, if one did)
            assert parked == [], f"dead-lettered: {[m['Body'] for m in parked]}\n{_streams_log(log)}"
    finally:
        for fake in (srs, mtx, ams):
            fake.close()


def _streams_log(log: Path) -> str:
    """What the runner said about the stream feed and the functions it feeds (errors first)."""
    lines = log.read_text().splitlines()
    wanted = ("streams:", "ChangePublisherFunction", "SessionEnforcerFunction", "Traceback", "Error")
    return "\n".join([line for line in lines if any(w in line for w in wanted)][-60:])


def srs_body(stream: str, client_id: str, param: str) -> dict[str, Any]:
    return {
        "server_id": "vid-0xk989d",
        "service_id": "0n19d1c2",
        "action": "on_publish",
        "client_id": client_id,
        "ip": "10.0.0.9",
        "vhost": "__defaultVhost__",
        "app": "live",
        "tcUrl": "rtmp://10.0.0.6:1935/live",
        "stream": stream,
        "param": param,
        "stream_url": f"/live/{stream}",
    }


def test_revoking_a_streams_tokens_kicks_its_srs_client(push_api: PushApi) -> None:
    stream = "push-srs1"
    push_api.srs.clients.add("c1")
    push_api.hook("srs", "srs1", srs_body(stream, "c1", f"?token={push_api.token(stream, 'publish')}"))
    wait_for(
        "SessionStarted announced", lambda: push_api.published("SessionStarted", streamId=stream), log=push_api.log
    )
    assert push_api.srs.seen == []  # an admission ends nothing

    revoked = requests.delete(f"{push_api.url}/v2/broadcasts/{stream}/tokens", headers=push_api.operator, timeout=30)
    assert revoked.status_code == 200, revoked.text
    wait_for("SRS asked to kick c1", lambda: push_api.srs.requests(), log=push_api.log)
    (kick,) = push_api.srs.seen
    assert (kick.method, kick.path) == ("DELETE", "/api/v1/clients/c1")
    assert kick.header("Authorization") == "Basic " + base64.b64encode(f"{SRS_USER}:{SRS_PASSWORD}".encode()).decode()
    assert push_api.srs.clients == set()  # the fake ended it
    (announced,) = wait_for(
        "TokensRevoked announced", lambda: push_api.published("TokensRevoked", streamId=stream), log=push_api.log
    )
    assert announced["source"] == "streamauth" and isinstance(announced["detail"]["revokedAtMs"], int)
    assert push_api.published("TokenConsumed", streamId=stream)  # the one-time token, at the admission
    assert len(push_api.srs.seen) == 1  # once, not again when its kick was recorded


def test_blocking_a_subscriber_kicks_its_mediamtx_connection(push_api: PushApi) -> None:
    from streamauth.logic import totp

    stream, connection = "push-mtx1", str(uuid.uuid4())
    secret = totp.new_b32_secret()
    created = requests.post(
        f"{push_api.url}/v2/broadcasts/{stream}/subscribers",
        json={"subscriberId": "alice", "type": "publish", "b32Secret": secret},
        headers=push_api.operator,
        timeout=30,
    )
    assert created.json()["success"] is True, created.text
    push_api.mtx.sessions["rtmpconns"].add(connection)
    body = {
        "user": "alice",
        "password": totp.totp(totp.b32_key(secret), time.time(), 60),
        "token": "",
        "ip": "10.0.0.9",
        "action": "publish",
        "path": stream,
        "protocol": "rtmp",
        "id": connection,
        "query": "",
        "userAgent": "ffmpeg",
    }
    push_api.hook("mediamtx", "mtx1", body)
    wait_for(
        "SessionStarted announced", lambda: push_api.published("SessionStarted", streamId=stream), log=push_api.log
    )
    assert push_api.mtx.seen == []

    blocked = requests.put(
        f"{push_api.url}/v2/broadcasts/{stream}/subscribers/alice/block",
        json={"blockedType": "publish", "seconds": 600},
        headers=push_api.operator,
        timeout=30,
    )
    assert blocked.json()["success"] is True, blocked.text
    wait_for("MediaMTX asked to kick the connection", lambda: push_api.mtx.requests(), log=push_api.log)
    assert push_api.mtx.requests() == [("POST", f"/v3/rtmpconns/kick/{connection}")]
    assert push_api.mtx.sessions["rtmpconns"] == set()
    (announced,) = wait_for(
        "SubscriberBlocked announced", lambda: push_api.published("SubscriberBlocked", streamId=stream)
    )
    assert announced["detail"]["subscriberId"] == "alice" and announced["detail"]["blockedType"] == "publish"


def test_ending_a_session_over_the_api_stops_its_ant_media_broadcast(push_api: PushApi) -> None:
    stream = "push-ams1"
    push_api.ams.live.add(stream)
    body = {"appName": "LiveApp", "name": stream, "streamId": stream, "mode": "publish", "metaData": ""}
    body["queryParams"] = f"{{token={push_api.token(stream, 'publish')}}}"
    push_api.hook("antmedia", "ams1", body)
    (session,) = push_api.sessions(stream)
    assert session["server"] == "antmedia" and session["serverId"] == "ams1"
    wait_for(
        "SessionStarted announced", lambda: push_api.published("SessionStarted", streamId=stream), log=push_api.log
    )
    assert push_api.ams.seen == []

    ended = requests.delete(
        f"{push_api.url}/v2/broadcasts/{stream}/sessions/{session['sessionId']}", headers=push_api.operator, timeout=30
    )
    assert ended.status_code == 200, ended.text
    wait_for("Ant Media asked to stop the broadcast", lambda: push_api.ams.requests(), log=push_api.log)
    assert push_api.ams.requests() == [("POST", f"/LiveApp/rest/v2/broadcasts/{stream}/stop")]
    assert push_api.ams.seen[0].header("Authorization") == f"Bearer {AMS_JWT}"
    assert push_api.ams.live == set()
