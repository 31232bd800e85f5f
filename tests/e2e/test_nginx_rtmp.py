"""A real nginx with libnginx-mod-rtmp asks the local API; a real ffmpeg publishes and plays.

Skipped only when nginx's RTMP module or ffmpeg is absent; .ci/run installs both.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator

import pytest
import requests

from tests.conftest import issue_over_http
from tests.e2e.rtmp import NGINX_AVAILABLE, play_args, publish_args, start_nginx

pytestmark = pytest.mark.e2e

if not NGINX_AVAILABLE:
    pytest.skip("needs Debian's nginx, libnginx-mod-rtmp and ffmpeg", allow_module_level=True)


@pytest.fixture(scope="module")
def rtmp(local_api: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with start_nginx(local_api, tmp_path_factory.mktemp("nginx")) as url:
        yield url


def _publish_args(url: str, seconds: int) -> list[str]:
    return publish_args(url, seconds)


def _publish(url: str, seconds: int = 2) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_publish_args(url, seconds), capture_output=True, text=True, timeout=60)


def _play(url: str) -> subprocess.CompletedProcess[str]:
    """Read one second of the stream, as a viewer's player would."""
    return subprocess.run(play_args(url), capture_output=True, text=True, timeout=60)


def test_publish_with_fresh_one_time_token_then_replay_refused(
    rtmp: str, local_api: str, operator_header: dict[str, str]
) -> None:
    token = issue_over_http(local_api, operator_header, "cam1", "publish")
    first = _publish(f"{rtmp}/cam1?token={token}")
    assert first.returncode == 0, first.stderr
    replay = _publish(f"{rtmp}/cam1?token={token}")
    assert replay.returncode != 0


@pytest.mark.parametrize("case", ["no-token", "other-stream", "play-token", "injected-name"])
def test_publish_refused(rtmp: str, local_api: str, operator_header: dict[str, str], case: str) -> None:
    if case == "no-token":
        url = f"{rtmp}/cam2"
    elif case == "other-stream":
        url = f"{rtmp}/cam2?token={issue_over_http(local_api, operator_header, 'cam3', 'publish')}"
    elif case == "play-token":
        url = f"{rtmp}/cam2?token={issue_over_http(local_api, operator_header, 'cam2', 'play')}"
    else:  # a token for cam3 smuggled with a second name=
        url = f"{rtmp}/cam2?token={issue_over_http(local_api, operator_header, 'cam3', 'publish')}&name=cam3"
    assert _publish(url).returncode != 0


def test_play_with_jwt_stream_token(rtmp: str, local_api: str, operator_header: dict[str, str]) -> None:
    publish_token = issue_over_http(local_api, operator_header, "live1", "publish")
    play_jwt = issue_over_http(local_api, operator_header, "live1", "play", kind="jwt-token")
    assert len(f"live1?token={play_jwt}") < 255  # nginx-rtmp cuts name+args at 255 bytes
    publisher = subprocess.Popen(
        _publish_args(f"{rtmp}/live1?token={publish_token}", 8),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(2)  # let the publisher start before reading
        player = _play(f"{rtmp}/live1?token={play_jwt}")
        assert player.returncode == 0, player.stderr
        refused = _play(f"{rtmp}/live1?token=nope")
        assert refused.returncode != 0
    finally:
        publisher.wait(timeout=30)


def test_subscriber_publishes_with_its_totp_code_and_is_refused_when_blocked(
    rtmp: str, local_api: str, operator_header: dict[str, str]
) -> None:
    from streamauth.logic import totp

    secret = totp.new_b32_secret()
    created = requests.post(
        f"{local_api}/v2/broadcasts/cam9/subscribers",
        json={"subscriberId": "encoder1", "type": "publish", "b32Secret": secret, "totpExpiryPeriodSeconds": 10},
        headers=operator_header,
        timeout=30,
    )
    assert created.json()["success"] is True

    def code() -> str:
        return totp.totp(totp.b32_key(secret), time.time(), 10)

    ok = _publish(f"{rtmp}/cam9?subscriberId=encoder1&subscriberCode={code()}")
    assert ok.returncode == 0, ok.stderr
    blocked = requests.put(
        f"{local_api}/v2/broadcasts/cam9/subscribers/encoder1/block",
        json={"blockedType": "publish", "seconds": 300},
        headers=operator_header,
        timeout=30,
    )
    assert blocked.json()["success"] is True
    # refused for the block, before the code is even looked at
    assert _publish(f"{rtmp}/cam9?subscriberId=encoder1&subscriberCode={code()}").returncode != 0
    assert _publish(f"{rtmp}/cam9?subscriberId=encoder1&subscriberCode=000000").returncode != 0
