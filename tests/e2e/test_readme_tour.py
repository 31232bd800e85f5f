"""The README's curl tour, run verbatim (but for the port) against the running local API."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from tests.conftest import ROOT, issue_over_http

pytestmark = pytest.mark.e2e


def tour_script(name: str = "tour") -> str:
    readme = (ROOT / "README.md").read_text()
    block = re.search(rf"<!-- {name}:start -->\s*```sh\n(.*?)```\s*<!-- {name}:end -->", readme, re.S)
    assert block, f"README lost its {name} block"
    return block.group(1)


def run_tour(name: str, local_api: str) -> list[Any]:
    if shutil.which("jq") is None or shutil.which("make") is None:
        pytest.fail("the README tours need jq and make (installed by .ci/run)")
    script = tour_script(name).replace("API=http://127.0.0.1:3000", f"API={local_api}")
    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    return [json.loads(line) for line in run.stdout.splitlines() if line.strip()]


def test_readme_starts_with_the_two_commands() -> None:
    lines = [line for line in (ROOT / "README.md").read_text().splitlines() if line.strip()]
    commands = [line.split("#")[0].strip() for line in lines[2:4]]
    assert commands == ["make run", "make test"]


def test_readme_tour(local_api: str) -> None:
    replies = run_tour("tour", local_api)
    listed, first, second, jwt_ok, revoked, after, bad, unauth = replies
    assert len(listed) == 1 and listed[0]["streamId"] == "stream1" and listed[0]["type"] == "publish"
    assert first["success"] is True
    assert second["success"] is False
    assert jwt_ok["success"] is True
    assert revoked["success"] is True
    assert after == []
    assert bad["errorId"] == 400 and bad["field"] == "expireDate"
    assert unauth["success"] is False and unauth["errorId"] == 401


def test_fifty_concurrent_validations_over_http_one_success(local_api: str, operator_header: dict[str, str]) -> None:
    token = issue_over_http(local_api, operator_header, "race", "publish")
    body = {"tokenId": token, "streamId": "race", "type": "publish"}

    def attempt(_: int) -> bool:
        reply = requests.post(
            f"{local_api}/v2/broadcasts/validate-token", json=body, headers=operator_header, timeout=60
        )
        assert reply.status_code == 200, reply.text
        success: bool = reply.json()["success"]
        return success

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(attempt, range(50)))
    assert results.count(True) == 1


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/v2/broadcasts/s1/token?expireDate=1&type=play", 400),
        ("GET", "/v2/broadcasts/s1/tokens/list/0/-1", 400),
        ("POST", "/v2/broadcasts/validate-token", 415),  # not application/json
        ("GET", "/nowhere", 404),
        ("PATCH", "/v2/broadcasts/s1/tokens", 404),
    ],
)
def test_errors_are_json(local_api: str, operator_header: dict[str, str], method: str, path: str, status: int) -> None:
    reply = requests.request(method, local_api + path, headers=operator_header, data=b"\xff\xfe", timeout=30)
    assert reply.status_code == status
    assert reply.headers["Content-Type"].startswith("application/json")
    assert reply.json()["success"] is False


def test_authorizer_refusals_are_401_json(local_api: str) -> None:
    for header in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Token abc"}, {"Authorization": "Basic x"}):
        reply = requests.get(f"{local_api}/v2/broadcasts/s1/tokens/list/0/1", headers=header, timeout=30)
        assert reply.status_code == 401, header
        assert reply.json()["errorId"] == 401


def test_readme_reactive_tour(local_api: str) -> None:
    me, issue_status, list_status, viewer_me, viewer_status, missing, accounts, rotated, deleted = run_tour(
        "tour-reactive", local_api
    )
    assert me["type"] == "serviceAccount" and me["name"] == "encoder-fleet" and me["scopes"] == ["tokens:write"]
    assert (issue_status, list_status) == (200, 403)
    assert viewer_me["type"] == "viewer" and viewer_me["stream_id"] == "6935357a-8d71-45f2-9a0f-ddaed705b43a"
    assert viewer_me["sub"] == "AB35457a-8d71-45f2-BE2F-ddaed705b43a"
    assert viewer_status == 403
    assert missing["errorId"] == 400 and missing["field"] == "unique_user_identifier"
    assert any(a["name"] == "encoder-fleet" for a in accounts) and all("key" not in a for a in accounts)
    assert rotated is True
    assert deleted["success"] is True


def test_readme_subscriber_tour(local_api: str) -> None:
    got, first, replay, blocked, unblocked, listed, push, removed = run_tour("tour-subscribers", local_api)
    assert got["subscriberId"] == "alice" and got["type"] == "publish" and "b32Secret" not in got
    assert first["success"] is True
    assert replay["success"] is False
    assert blocked["success"] is True and unblocked["success"] is True
    assert [s["subscriberId"] for s in listed] == ["alice"]
    assert push["success"] is True and push["dataId"].count(".") == 2
    assert removed["success"] is True
