"""`make put-event` against the running local API: the state change is visible at once."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import requests

from tests.conftest import ROOT

pytestmark = pytest.mark.e2e


def test_put_event_revokes_stream_tokens_at_once(local_api: str, operator_header: dict[str, str]) -> None:
    issued = requests.get(
        f"{local_api}/v2/broadcasts/stream1/token",
        params={"expireDate": str(int(time.time()) + 600), "type": "play"},
        headers=operator_header,
        timeout=30,
    ).json()["tokenId"]
    time.sleep(0.01)  # the revocation must come after the token, as in life
    delivered = subprocess.run(
        [sys.executable, "-m", "localapi", "put-event", "events/revoke_stream_tokens.json", "--api", local_api],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert '"outcome": "applied"' in delivered.stdout
    listed = requests.get(
        f"{local_api}/v2/broadcasts/stream1/tokens/list/0/50", headers=operator_header, timeout=30
    ).json()
    assert issued not in [t["tokenId"] for t in listed]
    reply = requests.post(
        f"{local_api}/v2/broadcasts/validate-token",
        json={"tokenId": issued, "streamId": "stream1", "type": "play"},
        headers=operator_header,
        timeout=30,
    )
    assert reply.json()["success"] is False


def test_malformed_event_is_dead_lettered(local_api: str) -> None:
    reply = requests.post(
        f"{local_api}/_local/events",
        json={"DetailType": "BlockSubscriber", "Source": "streamauth.commands", "Detail": '{"streamId": "s1"}'},
        timeout=30,
    ).json()
    assert reply["delivered"][0]["result"]["outcome"] == "dead-lettered"
    assert reply["delivered"][0]["result"]["reason"].startswith("detail.subscriberId")


def test_a_put_events_time_is_honoured_so_a_late_delivery_is_ignored(
    local_api: str, operator_header: dict[str, str]
) -> None:
    """Reproduce a delayed delivery: an UnblockSubscriber dated before a block made over HTTP."""
    created = requests.post(
        f"{local_api}/v2/broadcasts/late1/subscribers",
        json={"subscriberId": "carol", "type": "publish"},
        headers=operator_header,
        timeout=30,
    )
    assert created.json()["success"] is True
    blocked = requests.put(
        f"{local_api}/v2/broadcasts/late1/subscribers/carol/block",
        json={"blockedType": "publish", "seconds": 600},
        headers=operator_header,
        timeout=30,
    )
    assert blocked.json()["success"] is True
    late = {
        "Source": "streamauth.commands",
        "DetailType": "UnblockSubscriber",
        "Detail": '{"streamId": "late1", "subscriberId": "carol"}',
        "Time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 120)),
    }
    reply = requests.post(f"{local_api}/_local/events", json=late, timeout=30).json()
    assert reply["delivered"][0]["result"]["outcome"] == "stale"
    got = requests.get(f"{local_api}/v2/broadcasts/late1/subscribers/carol", headers=operator_header, timeout=30)
    assert got.json()["blockedType"] == "publish"


def test_commands_from_a_source_the_deployment_does_not_allow_are_not_delivered(local_api: str) -> None:
    entry = {"Source": "com.example.anyone", "DetailType": "RevokeStreamTokens", "Detail": '{"streamId": "s1"}'}
    assert requests.post(f"{local_api}/_local/events", json=entry, timeout=30).json() == {"delivered": []}
