"""The README's shell blocks, run verbatim against a local API on a port that is not 3000 (they
take PORT and API from the environment): the tours, whose every reply is checked, and every
other block a reader would paste — the quick start with real nginx-rtmp and ffmpeg where they
are installed. Blocks marked `<!-- needs: aws -->` (or another service the test cannot run)
say so, and are not run; `<!-- not-run: why -->` says why not."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from localapi.runtime import free_port
from tests.conftest import ROOT, issue_over_http
from tests.e2e.rtmp import NGINX_AVAILABLE

pytestmark = pytest.mark.e2e
README = ROOT / "README.md"
TOURS = ("tour", "tour-subscribers", "tour-reactive")  # run and checked reply by reply below
# What a marker may say a block needs that the test cannot provide: an AWS account, a MediaMTX.
NOT_HERE = ("needs: aws", "needs: mediamtx")


@dataclass(frozen=True)
class Block:
    marker: str  # the HTML comment just above the block, without <!-- -->, or ""
    body: str
    line: int


def shell_blocks() -> list[Block]:
    """Every ```sh block of the README, in order, with the comment above it."""
    readme = README.read_text()
    found = []
    for match in re.finditer(r"```sh\n(.*?)```", readme, re.S):
        before = readme[: match.start()].rstrip("\n").rsplit("\n", 1)[-1].strip()
        marker = before[4:-3].strip() if before.startswith("<!--") and before.endswith("-->") else ""
        found.append(Block(marker, match.group(1), readme.count("\n", 0, match.start()) + 1))
    return found


def local_env(local_api: str, tmp: Path) -> dict[str, str]:
    """What a reader's shell has: PORT (and API) of the running local API; RTMP_PORT and TMPDIR
    keep the quick start's nginx apart from anything else on the machine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    env.update(PORT=str(urlsplit(local_api).port), API=local_api, RTMP_PORT=str(free_port()), TMPDIR=str(tmp))
    return env


def run_block(body: str, env: dict[str, str], timeout: int = 120) -> subprocess.CompletedProcess[str]:
    """A block as pasted into bash, but stopping at the first failed command (-e, pipefail)."""
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", body], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def tour_script(name: str = "tour") -> str:
    readme = README.read_text()
    block = re.search(rf"<!-- {name}:start -->\s*```sh\n(.*?)```\s*<!-- {name}:end -->", readme, re.S)
    assert block, f"README lost its {name} block"
    return block.group(1)


def run_tour(name: str, local_api: str, tmp: Path | None = None) -> list[Any]:
    if shutil.which("jq") is None or shutil.which("make") is None:
        pytest.fail("the README tours need jq and make (installed by .ci/run)")
    run = run_block(tour_script(name), local_env(local_api, tmp or Path("/tmp")))
    assert run.returncode == 0, run.stderr
    return [json.loads(line) for line in run.stdout.splitlines() if line.strip()]


def test_every_shell_block_takes_api_from_the_environment_and_stops_on_a_failed_call() -> None:
    blocks = shell_blocks()
    assert len(blocks) >= 10
    for block in blocks:
        where = f"README line {block.line}"
        assert "curl -s " not in block.body, f"{where}: a silent curl hides failures (curl -fsS)"
        assert "jq -r '.[0]" not in block.body and ".[0].id" not in block.body, f"{where}: touches what it did not make"
        assert "API=http://127.0.0.1:3000" not in block.body, f"{where}: API must come from the environment"
        if "$API" in block.body and "needs: aws" not in block.marker:
            assert "API=${API:-http://127.0.0.1:${PORT:-3000}}" in block.body, f"{where}: defines no API"
        for line in block.body.splitlines():
            if re.search(r"\bcurl\b", line) and "-f" not in line.split("curl", 1)[1].split('"')[0]:
                assert "-sS" in line, f"{where}: {line.strip()[:60]}: -f, or -sS where the error is the point"


def test_every_shell_block_runs_verbatim(local_api: str, tmp_path: Path) -> None:
    """In README order, each alone (as a reader pastes one), against the local API on its port."""
    env = local_env(local_api, tmp_path)
    ran: dict[str, str] = {}
    skipped = []
    for block in shell_blocks():
        if any(block.marker == f"{tour}:start" for tour in TOURS):
            continue  # the tour tests below run these and check every reply
        serves = re.search(r"^\s*make (run|test)\b", block.body, re.M)  # the two commands: they serve, or run this
        if serves or block.marker.startswith("not-run") or any(need in block.marker for need in NOT_HERE):
            skipped.append(block.line)
            continue
        if ("nginx" in block.marker or "ffmpeg" in block.marker) and not NGINX_AVAILABLE:
            skipped.append(block.line)
            continue
        run = run_block(block.body, env)
        assert run.returncode == 0, f"README line {block.line}:\n{block.body}\n--- stderr:\n{run.stderr[-3000:]}"
        assert "null" not in run.stdout.split(), f"README line {block.line} printed null:\n{run.stdout}"
        ran[block.marker or f"line {block.line}"] = run.stdout
    checked = ran["quickstart-check"].splitlines()
    assert json.loads(checked[0])["docs"] == f"{local_api}/docs"
    assert checked[1] == f"{local_api}/hooks/<hook secret>"
    if NGINX_AVAILABLE:
        streamed = ran["quickstart-stream needs: nginx ffmpeg"].splitlines()
        assert streamed == ["played with the play token", "refused: the play token was used", "refused: no token"]
    assert any('"delivered"' in out for out in ran.values())  # make put-event reached this API, on its port
    assert skipped, "the AWS blocks are marked, not run"
    # `make put-event` revoked stream1 through the end of its second (an EventBridge time has whole
    # seconds: service/events.py): the tours after this test issue stream1 tokens, in the next one
    time.sleep(1.05 - time.time() % 1)


def test_readme_has_a_table_of_contents_naming_every_section() -> None:
    readme = README.read_text()
    contents = readme.split("## Contents", 1)[1].split("\n## ", 1)[0]
    body = re.sub(r"```.*?```", "", readme.split("## Contents", 1)[1].split("\n## ", 1)[1], flags=re.S)
    headings = re.findall(r"^#{2,3} (.+)$", "## " + body, re.M)
    assert headings and all(f"[{title}](#" in contents for title in headings), [
        t for t in headings if f"[{t}](#" not in contents
    ]
    for section in ("Quick start", "Troubleshooting", "Deploy to AWS", "Operate", "Reference"):
        assert f"[{section}" in contents, section


def test_every_refusal_reason_has_its_cause_and_fix_in_troubleshooting() -> None:
    from streamauth.errors import Unauthorized
    from streamauth.logic.admission import Reason

    troubleshooting = README.read_text().split("## Troubleshooting", 1)[1].split("\n## ", 1)[0]
    rows = {m.group(1) for m in re.finditer(r"^\| `(\w+)` \|[^|]+\|[^|]+\|$", troubleshooting, re.M)}
    refusals = {r.value for r in Reason} - {"allowed", "renewed", "ended", "ignored", "not_configured"}
    assert refusals <= rows, refusals - rows
    for reason in Unauthorized.REASONS:
        assert f'"reason": "{reason}"' in troubleshooting, reason
    assert "/aws/lambda/" in troubleshooting and "filter message" in troubleshooting  # a Logs Insights query


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
        ("GET", "/v2/broadcasts/s1/tokens/list/0/ten", 400),  # a size Ant Media cannot read either
        ("POST", "/v2/broadcasts/validate-token", 415),  # not application/json
        ("GET", "/nowhere", 404),
        ("PATCH", "/v2/broadcasts/s1/tokens", 405),
    ],
)
def test_errors_are_json(local_api: str, operator_header: dict[str, str], method: str, path: str, status: int) -> None:
    reply = requests.request(method, local_api + path, headers=operator_header, data=b"\xff\xfe", timeout=30)
    assert reply.status_code == status
    assert reply.headers["Content-Type"].startswith("application/json")
    assert reply.json()["success"] is False


def test_a_wrong_method_is_405_naming_the_allowed_ones(local_api: str) -> None:
    reply = requests.patch(f"{local_api}/v2/broadcasts/s1/tokens", timeout=30)
    assert reply.status_code == 405 and reply.headers["Allow"] == "DELETE"
    assert "DELETE" in reply.json()["message"]


def test_authorizer_refusals_are_401_json_saying_why(local_api: str) -> None:
    from localapi import keys
    from streamauth.auth import REFUSALS
    from streamauth.logic import signing

    rest = keys.key_of(keys.local_secret_strings(), "restJwtSecret")
    expired = signing.encode({"sub": "x", "exp": int(time.time()) - 120}, rest)
    other = signing.encode({"sub": "x", "exp": int(time.time()) + 120}, "another-key-" + "0" * 40)
    cases = [
        ({}, "missing"),
        ({"Authorization": "Bearer nope"}, "malformed"),
        ({"Authorization": "Token abc"}, "malformed"),
        ({"Authorization": "Basic x"}, "malformed"),
        ({"Authorization": f"Bearer {expired}"}, "expired"),
        ({"Authorization": f"Bearer {other}"}, "not_accepted"),
        ({"Authorization": "Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"}, "not_accepted"),
    ]
    for header, reason in cases:
        reply = requests.get(f"{local_api}/v2/broadcasts/s1/tokens/list/0/1", headers=header, timeout=30)
        assert reply.status_code == 401, header
        body = reply.json()
        assert body["errorId"] == 401 and body["success"] is False
        assert body["reason"] == reason, (header, body)
        assert body["message"] == REFUSALS[reason]


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
