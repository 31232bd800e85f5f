"""/console, the operator console, in headless Chromium as an operator uses it (as
tests/e2e/test_docs_browser.py drives Swagger UI), with real nginx-rtmp and ffmpeg
(tests/e2e/rtmp.py, as tests/e2e/test_live_revocation.py): sign in; create a subscriber and see
its TOTP secret once, as text and as the QR code of its otpauth:// URI; publish with its code;
see the session appear; block the subscriber; see the session end and the refusal in the
decision log (or the console's message that this API has none yet); unblock it and end its new
session from the console; revoke a stream's tokens and see its sessions go; delete the
subscriber. And: the stream's policy saved (and refused: not JSON, a field the API refuses) and
removed; the next pages of tokens and decisions; a session ended, and one already gone ("Nothing
changed"); service accounts created, rotated and deleted, each key shown once; the signing keys
and their next scheduled rotation. Each step asserts what the page shows and, where it matters,
what the API then holds. Every action goes through the API with the signed-in credential (a
`read`-only service account is shown the API's 403), nothing comes from another origin, no URL
ever holds the credential. Screenshots of each view: .build/console-screenshots/; the
page's weight and first render: .build/console-page.json."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests

from tests.conftest import ROOT, issue_over_http
from tests.e2e.rtmp import NGINX_AVAILABLE, hook_url, publish_args, start_nginx
from tests.e2e.test_hls import BROWSER_READY, CHROMIUM, NODE, NPM_PREFIX

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not BROWSER_READY, reason="needs node, Debian's chromium and `make browser`"),
]

SHOTS = ROOT / ".build" / "console-screenshots"
MEASURED = ROOT / ".build" / "console-page.json"
QR_ENCODER = ROOT / "functions" / "console" / "static" / "uqr.mjs"
QR_DECODER = NPM_PREFIX / "node_modules" / "qr"  # `make browser`: reads the QR back
NOTIFY_UPDATE = 3  # seconds: nginx-rtmp's on_update period, short so a block drops a session soon
EXPECTED_STATUS = "Failed to load resource: the server responded with a status of"
PAGE = 50  # the console's page of a list


class Console:
    """The browser driver (tests/e2e/browser/console.mjs): one JSON command a line."""

    def __init__(self, url: str) -> None:
        assert NODE is not None
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [NODE, str(ROOT / "tests" / "e2e" / "browser" / "console.mjs"), str(NPM_PREFIX), url, str(SHOTS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "CHROMIUM": CHROMIUM or ""},
        )
        self.selector = selectors.DefaultSelector()
        assert self.process.stdout is not None
        self.selector.register(self.process.stdout, selectors.EVENT_READ)

    def do(self, step: str, timeout: float = 60, **arguments: Any) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"do": step, **arguments}) + "\n")
        self.process.stdin.flush()
        if not self.selector.select(timeout):
            raise AssertionError(f"the console driver did not answer {step} within {timeout} s")
        line = self.process.stdout.readline()
        if not line:
            stderr = self.process.stderr.read() if self.process.stderr else ""
            raise AssertionError(f"the console driver exited during {step}: {stderr[-2000:]}")
        answer: dict[str, Any] = json.loads(line)
        assert answer.pop("ok"), f"{step}: {answer['error']} (see {SHOTS}/failed-{step}.png)"
        return answer

    def close(self) -> dict[str, Any]:
        try:
            return self.do("close")
        finally:
            assert self.process.stdin is not None
            self.process.stdin.close()
            self.process.wait(timeout=30)


@contextmanager
def console(local_api: str) -> Iterator[Console]:
    driver = Console(f"{local_api}/console")
    try:
        yield driver
    finally:
        if driver.process.poll() is None:
            driver.process.kill()
            driver.process.wait()


@pytest.fixture(scope="module")
def rtmp(local_api: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not NGINX_AVAILABLE:
        pytest.skip("needs Debian's nginx, libnginx-mod-rtmp and ffmpeg")
    with start_nginx(local_api, tmp_path_factory.mktemp("nginx-console"), update_timeout=NOTIFY_UPDATE) as url:
        yield url


def _token(operator_header: dict[str, str]) -> str:
    return operator_header["Authorization"].removeprefix("Bearer ")


def _code(secret: str, at: float) -> str:
    from streamauth.logic import totp

    return totp.totp(totp.b32_key(secret), at, 60)


def _ended(process: subprocess.Popen[bytes], seconds: float) -> bool:
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return False
    return True


def _played(local_api: str, stream: str, token: str, client: int) -> str:
    """A player admitted with `token` as nginx-rtmp's on_play asks (no nginx needed): its session id."""
    reply = requests.post(
        f"{hook_url(local_api)}/nginx-rtmp",
        data={
            "app": "live",
            "call": "play",
            "name": stream,
            "addr": "127.0.0.1",
            "clientid": str(client),
            "token": token,
        },
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    return str(reply.json()["reason"])


def _sessions(local_api: str, headers: dict[str, str], stream: str) -> list[dict[str, Any]]:
    reply = requests.get(f"{local_api}/v2/broadcasts/{stream}/sessions", headers=headers, timeout=30)
    assert reply.status_code == 200, reply.text
    found: list[dict[str, Any]] = reply.json()
    return found


def _all_decisions(local_api: str, headers: dict[str, str], stream: str) -> list[dict[str, Any]]:
    """Every decision about `stream`, page after page (`next`), as the API lists them."""
    found: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": PAGE}
    while True:
        reply = requests.get(
            f"{local_api}/v2/broadcasts/{stream}/decisions", params=params, headers=headers, timeout=30
        )
        assert reply.status_code == 200, reply.text
        found += reply.json()["decisions"]
        if not reply.json()["next"]:
            return found
        params["next"] = reply.json()["next"]


def _quiet(report: dict[str, Any]) -> None:
    """Nothing from another origin, no URL with the credential, no console error but the
    refusals the test provoked (Chromium logs a failed fetch's status)."""
    assert report["foreign"] == []
    assert report["leaked"] == []
    assert [e for e in report["consoleErrors"] if not e.startswith(EXPECTED_STATUS)] == []


def test_an_operator_sees_a_subscriber_publish_blocks_it_and_revokes_a_streams_tokens(
    local_api: str, operator_header: dict[str, str], rtmp: str
) -> None:
    if not QR_ENCODER.is_file():
        pytest.skip("needs `make console-ui` (npm): the QR encoder")
    stream, subscriber = "console1", "console-cam"
    requests.delete(f"{local_api}/v2/broadcasts/{stream}/subscribers/{subscriber}", headers=operator_header, timeout=30)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        with console(local_api) as browser:
            browser.do("open")
            who = browser.do("signIn", credential=_token(operator_header))["who"]
            assert who == "Signed in as operator admin (scopes: all)"
            browser.do("stream", id=stream)
            browser.do("view", name="stream", screenshot="02-stream")

            # A subscriber: its secret shown once, as text and as its otpauth URI's QR code.
            created = browser.do("createSubscriber", id=subscriber, screenshot="03-subscriber-secret-once")
            secret = created["secret"]
            assert created["qrMatches"] and created["focused"] and created["goneAfterDone"]
            if QR_DECODER.is_dir():  # read back from the page's pixels by another library
                assert created["decoded"] == created["uri"]
            assert created["uri"].startswith(f"otpauth://totp/streamauth%3A{stream}%2F{subscriber}?secret={secret}&")
            assert "period=60" in created["uri"] and "issuer=streamauth" in created["uri"]
            stored = requests.get(
                f"{local_api}/v2/broadcasts/{stream}/subscribers/{subscriber}", headers=operator_header, timeout=30
            )
            assert stored.status_code == 200 and secret not in stored.text  # never shown again
            now = time.time()
            shown = browser.do("currentCode", id=subscriber)["code"]
            assert shown in {_code(secret, now + step) for step in (-60, 0, 60)}  # the secret shown is the one kept

            # It publishes with its code through nginx-rtmp; the live-sessions view, open before,
            # shows it by itself (its auto-refresh).
            assert browser.do("view", name="sessions")["body"].count("No live sessions.") == 1
            url = f"{rtmp}/{stream}?subscriberId={subscriber}&subscriberCode={_code(secret, time.time())}"
            publisher = subprocess.Popen(publish_args(url, 120), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            processes.append(publisher)
            seen = browser.do(
                "waitSession", containing=f"subscriber {subscriber}", present=True, screenshot="04-session-live"
            )
            assert seen["rows"] == 1 and "publish" in seen["body"] and "nginx-rtmp" in seen["body"]
            about = browser.do("sessionDecisions")  # that session's own decisions, from its row
            assert about["heading"].startswith("Decisions about ") and about["errors"] == 0

            # Blocked: dropped at its next renew, the session leaves the view by itself.
            browser.do("block", id=subscriber, screenshot="05-subscriber-blocked")
            assert _ended(publisher, NOTIFY_UPDATE + 10), "still publishing after the block"
            gone = browser.do(
                "waitSession", containing=f"subscriber {subscriber}", present=False, screenshot="06-session-ended"
            )
            assert gone["rows"] == 0
            again = subprocess.run(
                publish_args(
                    f"{rtmp}/{stream}?subscriberId={subscriber}&subscriberCode={_code(secret, time.time())}", 2
                ),
                capture_output=True,
                timeout=60,
            )
            assert again.returncode != 0  # refused: blocked

            # The refusal and its reason, if this API keeps a decision log yet.
            decisions = browser.do("decisions", subscriberId=subscriber, reason="blocked", screenshot="07-decisions")
            if decisions["missing"]:
                assert "no decision log yet" in decisions["body"]
            else:
                assert decisions["found"], decisions["body"]

            # Unblocked in the console: the API holds no block, and it publishes again (with the
            # next step's code: a step once accepted is never accepted again).
            unblocked = browser.do("unblock", id=subscriber, screenshot="07b-subscriber-unblocked")
            assert f"{subscriber} is unblocked" in unblocked["status"] and "\tno\t" in unblocked["row"]
            profile = requests.get(
                f"{local_api}/v2/broadcasts/{stream}/subscribers/{subscriber}", headers=operator_header, timeout=30
            ).json()
            assert profile["blockedType"] is None and profile["blockedUntilUnitTimeStampMs"] == 0
            browser.do("view", name="sessions")
            url = f"{rtmp}/{stream}?subscriberId={subscriber}&subscriberCode={_code(secret, time.time() + 60)}"
            publisher = subprocess.Popen(publish_args(url, 120), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            processes.append(publisher)
            browser.do("waitSession", containing=f"subscriber {subscriber}", present=True)

            # Ended in the console: its row goes at once, nginx-rtmp drops it at its next renew.
            ended = browser.do(
                "endSession", containing=f"subscriber {subscriber}", screenshot="07c-session-ended-by-operator"
            )
            assert ended["rows"] == 0 and "No live sessions." in ended["body"]
            assert _ended(publisher, NOTIFY_UPDATE + 10), "still publishing after the operator ended it"
            live = requests.get(f"{local_api}/v2/broadcasts/{stream}/sessions", headers=operator_header, timeout=30)
            assert live.status_code == 200 and live.json() == []

            # A publish token issued in the console, a publisher using it, then every token of
            # the stream revoked from the console: the session goes.
            token = browser.do("issueTokens", kinds=["token"], type="publish")["issued"][0]
            browser.do("view", name="sessions")
            publisher = subprocess.Popen(
                publish_args(f"{rtmp}/{stream}?token={token}", 120),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            processes.append(publisher)
            browser.do("waitSession", containing="token", present=True, screenshot="08-token-session-live")
            revoked = browser.do("revoke", screenshot="09-stream-revoked")
            assert any("Revoke every token of console1" in d for d in revoked["dialogs"])
            assert _ended(publisher, NOTIFY_UPDATE + 10), "still publishing after the revocation"
            browser.do("waitSession", containing="token", present=False, screenshot="10-sessions-after-revoke")

            # Deleted in the console (after its confirm): the row goes, and so does the API's record.
            deleted = browser.do("deleteSubscriber", id=subscriber, screenshot="10b-subscriber-deleted")
            assert any(f"Delete subscriber {subscriber} of {stream}?" in d for d in deleted["dialogs"])
            record = requests.get(
                f"{local_api}/v2/broadcasts/{stream}/subscribers/{subscriber}", headers=operator_header, timeout=30
            )
            assert record.status_code == 404, record.text
            assert f"{subscriber} is deleted." in deleted["body"] and f"\n{subscriber}\t" not in deleted["body"]
            _quiet(browser.close())
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        requests.delete(
            f"{local_api}/v2/broadcasts/{stream}/subscribers/{subscriber}", headers=operator_header, timeout=30
        )


def test_every_view_signs_in_either_way_and_the_apis_scopes_apply(
    local_api: str, operator_header: dict[str, str]
) -> None:
    stream = "console2"
    account = f"console-read-{int(time.time() * 1000)}"
    with console(local_api) as browser:
        measured = browser.do("open")
        MEASURED.parent.mkdir(exist_ok=True)
        MEASURED.write_text(json.dumps(measured, indent=2) + "\n")
        for load in (measured["first"], measured["warm"]):
            assert load["bytes"] > 0 and load["firstContentfulPaintMs"] is not None
            assert all(f == "/console" or f.startswith("/console/") for f in load["files"])  # nothing else

        assert browser.do("a11y") == {"unlabelled": [], "nameless": [], "lowContrast": []}

        # Keyboard: the skip link, the credential's field, the sign-in button, each with a ring.
        order = browser.do("tabOrder", count=3)["order"]
        assert [(o["tag"], o["id"] or o["text"]) for o in order] == [
            ("a", "Skip to the console"),
            ("input", "credential"),
            ("button", "Sign in"),
        ]
        assert all(o["outline"] != "none" for o in order)
        refused = browser.do("signIn", credential="not-a-credential", expectError=True)
        assert "Sign out and sign in again" in refused["error"] and refused["storedAfter"] == 0

        browser.do("signIn", credential=_token(operator_header))
        browser.do("stream", id=stream)
        for name, shot in [("stream", "11-stream"), ("sessions", "12-sessions-empty"), ("keys", "13-signing-keys")]:
            browser.do("view", name=name, screenshot=shot)
            assert browser.do("a11y") == {"unlabelled": [], "nameless": [], "lowContrast": []}, name
        keys = browser.do("view", name="keys")["body"]
        jwks = requests.get(f"{local_api}/.well-known/jwks.json", timeout=30).json()["keys"]
        assert jwks and all(k["kid"] in keys for k in jwks)
        # each key's state from GET /api/v1/signing-keys, in its row (innerText: cells tab-separated)
        schedule = requests.get(f"{local_api}/api/v1/signing-keys", headers=operator_header, timeout=30).json()
        assert [k["kid"] for k in schedule["keys"]] == [k["kid"] for k in jwks]
        assert all(f"{k['kid']}\t{k['state']}\t" in keys for k in schedule["keys"]), keys
        # the next scheduled rotation: none on the local API (no RotationSchedule: make rotate-keys) ...
        assert schedule["nextRotationAt"] is None and schedule["rotationDays"] is None
        assert "Next scheduled rotation\nnone scheduled on this API: rotate by hand with make rotate-keys" in keys
        # ... and a deployed stack's, Secrets Manager's date, as the API would answer it there
        due = int(time.time()) + 12 * 86_400
        deployed = browser.do(
            "keysScheduled", nextRotationAt=due, rotationDays=30, screenshot="13b-signing-keys-scheduled"
        )
        day = time.strftime("%Y-%m-%d", time.gmtime(due))
        assert f"Next scheduled rotation\n{day} (UTC), at an hour Secrets Manager picks that day" in deployed["body"]
        assert "Rotates every\n30 days (SigningRotationDays), counted from the last rotation" in deployed["body"]

        # The stream's access policy: saved from the JSON typed in (the API then holds it and the
        # page shows it as stored), a malformed one refused in the page, one the API refuses shown
        # with its field, and removed after its confirm.
        policy_url = f"{local_api}/v2/broadcasts/{stream}/policy"
        saved = browser.do(
            "savePolicy", policy='{"allowCidrs": ["127.0.0.0/8"], "maxSessions": 5}', screenshot="11b-policy-saved"
        )
        assert not saved["error"] and f"{stream}'s access policy is saved" in saved["news"], saved
        stored = requests.get(policy_url, headers=operator_header, timeout=30).json()["policy"]
        assert stored["allowCidrs"] == ["127.0.0.0/8"] and stored["maxSessions"] == 5
        assert json.loads(saved["shown"]) == stored
        not_json = browser.do("savePolicy", policy='{"allowCidrs": ', screenshot="11c-policy-not-json")
        assert not_json["error"] and "The policy is not JSON" in not_json["news"]
        refused = browser.do("savePolicy", policy='{"maxSessions": -1}')
        assert refused["error"] and "maxSessions" in refused["news"] and "Correct the field" in refused["news"]
        assert requests.get(policy_url, headers=operator_header, timeout=30).json()["policy"] == stored  # unchanged
        removed = browser.do("removePolicy", screenshot="11d-policy-removed")
        assert removed["shown"] == "" and any(f"Remove {stream}'s access policy?" in d for d in removed["dialogs"])
        assert requests.get(policy_url, headers=operator_header, timeout=30).json()["policy"] is None

        opened = browser.do("openClose")
        assert "is open" in opened["opened"] and "is closed" in opened["closed"]
        # the Stream view shows the stored state (GET …/public-viewers), read again after each change
        assert opened["before"] == "no (the deployment's default: never opened or closed)"
        assert (opened["shownOpen"], opened["shownClosed"]) == ("yes", "no")
        viewer = requests.post(
            f"{local_api}/api/v1/tokens", json={"stream_id": stream, "unique_user_identifier": "u1"}, timeout=30
        )
        assert viewer.status_code == 403  # closed again, by the console

        issued = browser.do("issueTokens", kinds=["token", "jwt-token"], type="play", screenshot="14-tokens")
        one_time, jwt = issued["issued"]
        assert any(one_time in row for row in issued["listed"]) and jwt.count(".") == 2

        # More live tokens than a page: the first PAGE, then the rest under "Next 50 tokens".
        for _ in range(PAGE + 4):
            issue_over_http(local_api, operator_header, stream, "play")
        paged = browser.do("nextPage", name="tokens", button=f"Next {PAGE} tokens", screenshot="14b-tokens-next-page")
        listed = [
            t["tokenId"]
            for offset in (0, PAGE)
            for t in requests.get(
                f"{local_api}/v2/broadcasts/{stream}/tokens/list/{offset}/{PAGE}", headers=operator_header, timeout=30
            ).json()
        ]
        assert (paged["before"], paged["after"]) == (PAGE, len(listed)) == (PAGE, PAGE + 5)
        assert sorted(row.split("\t")[0] for row in paged["rows"]) == sorted(listed)  # each once, none missing
        assert not paged["stillMore"] and f"{PAGE + 5} live stored tokens: no more." in paged["body"]

        # A live session (a player admitted by the hook, as nginx-rtmp asks), ended in the console.
        # One already ended elsewhere while its row was still drawn: the page says nothing changed.
        first = issue_over_http(local_api, operator_header, stream, "play")
        assert _played(local_api, stream, first, 1) == "allowed"
        (live,) = _sessions(local_api, operator_header, stream)
        browser.do("waitSession", containing=live["sessionId"], present=True)
        browser.do("pauseSessions", paused=True)
        ended = requests.delete(
            f"{local_api}/v2/broadcasts/{stream}/sessions/{live['sessionId']}", headers=operator_header, timeout=30
        )
        assert ended.json()["success"] is True
        stale = browser.do("endSession", containing=live["sessionId"], expectError=True, screenshot="12b-session-gone")
        assert stale["alert"].startswith("Nothing changed: no live session") and "Reload the view" in stale["alert"]
        browser.do("pauseSessions", paused=False)
        second = issue_over_http(local_api, operator_header, stream, "play")
        assert _played(local_api, stream, second, 2) == "allowed"
        (live,) = _sessions(local_api, operator_header, stream)
        browser.do("waitSession", containing=live["sessionId"], present=True, screenshot="12c-session-live")
        gone = browser.do("endSession", containing=live["sessionId"], screenshot="12d-session-ended")
        assert gone["rows"] == 0 and "The session is ended" in gone["body"]
        assert _sessions(local_api, operator_header, stream) == []
        browser.do("view", name="subscribers")
        assert browser.do("a11y") == {"unlabelled": [], "nameless": [], "lowContrast": []}
        browser.do("createSubscriber", id="console-viewer")

        # A service account with `read` only: its key shown once; signed in with it, the console
        # lists, and a block is the API's 403 as text saying what to do.
        key = browser.do("createAccount", name=account, scopes=["read"], screenshot="15-service-account-key")["key"]
        assert len(key) == 40
        browser.do("view", name="accounts", screenshot="16-service-accounts")
        assert browser.do("a11y") == {"unlabelled": [], "nameless": [], "lowContrast": []}
        browser.do("signOut")
        who = browser.do("signIn", credential=key)["who"]
        assert who == f"Signed in as service account {account} (scopes: read)"
        browser.do("stream", id=stream)
        refusal = browser.do("blockRefused", id="console-viewer")["alert"]
        assert "lacks the 'subscribers:write' scope" in refusal and "Sign in with a credential that has it" in refusal
        browser.do("view", name="subscribers", screenshot="17-forbidden")
        stored = browser.do("signOut")["stored"]
        assert "streamauth.console.credential" not in stored

        # Back as the operator: rotate the account's key (the new one shown once, and it is the
        # key the API now takes), delete it (its row and the API's record go). (The old key was
        # used, so the gateway's authorizer cache may take it for 60 s more: not asserted here.)
        browser.do("signIn", credential=_token(operator_header))
        accounts_url = f"{local_api}/api/v1/service-accounts"
        rotated = browser.do("rotateAccount", name=account, screenshot="16b-service-account-rotated")
        assert len(rotated["key"]) == 40 and rotated["key"] != key and rotated["goneAfterDone"]
        assert f"{account} has a new key." in rotated["news"]
        assert any(f"Rotate {account}'s key?" in d for d in rotated["dialogs"])
        me = requests.get(
            f"{local_api}/api/v1/users/me", headers={"Authorization": f"Token {rotated['key']}"}, timeout=30
        )
        assert me.status_code == 200 and me.json()["name"] == account
        listed_accounts = requests.get(accounts_url, headers=operator_header, timeout=30).text
        assert account in listed_accounts and key not in listed_accounts and rotated["key"] not in listed_accounts
        deleted = browser.do("deleteAccount", name=account, screenshot="16c-service-account-deleted")
        assert f"{account} is deleted." in deleted["body"]
        assert any(f"Delete {account}?" in d for d in deleted["dialogs"])
        assert account not in requests.get(accounts_url, headers=operator_header, timeout=30).text

        # More decisions than a page (refused validations of tokens streamauth never made):
        # the newest PAGE, then the older ones under "Older decisions", as the API pages them.
        for n in range(PAGE + 5):
            requests.post(
                f"{local_api}/v2/broadcasts/validate-token",
                json={"tokenId": f"never-made-{n:04d}", "streamId": stream, "type": "play"},
                headers=operator_header,
                timeout=30,
            )
        browser.do("view", name="decisions", screenshot="18-decisions")
        older = browser.do("nextPage", name="decisions", button="Older decisions", screenshot="18b-decisions-older")
        every = _all_decisions(local_api, operator_header, stream)
        assert PAGE + 5 <= len(every) <= 2 * PAGE, len(every)  # two pages: what one click shows
        assert (older["before"], older["after"]) == (PAGE, len(every)) and not older["stillMore"]
        assert "No older decisions." in older["body"]
        assert sum("\tinvalid_token\t" in r for r in older["rows"]) >= PAGE + 5
        _quiet(browser.close())
    requests.delete(f"{local_api}/v2/broadcasts/{stream}/subscribers", headers=operator_header, timeout=30)
    requests.delete(f"{local_api}/v2/broadcasts/{stream}/tokens", headers=operator_header, timeout=30)
