"""The README's HLS block against a hostile viewer, with real nginx and ffmpeg: a local API of
its own with `PlaybackBindClientAddress=true`, a second client on 127.0.0.2 (loopback only),
and curl sending what a browser would not (two playback cookies, a raw `..` path).

Each test is a finding of the "one admission model" review that this block once let through:
a bound cookie played from another address while its owner kept nginx's cache warm; two
cookies made a public alias (nginx keyed its cache on the first, the hook read the last); a
raw URI put attributes into the cookie's `Path`."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.conftest import ROOT, issue_over_http, running_local_api
from tests.e2e.rtmp import NGINX_AVAILABLE
from tests.e2e.test_hls import nginx_origin, publishing

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not NGINX_AVAILABLE or shutil.which("curl") is None, reason="needs nginx, libnginx-mod-rtmp, ffmpeg and curl"
    ),
]

OWNER, OTHER = "127.0.0.1", "127.0.0.2"
STREAM = "hardened1"


@dataclass
class Origin:
    api: str
    operator: dict[str, str]
    http: str
    playlist: str

    def get(self, path: str, source: str = OWNER, *headers: str, raw_path: bool = False) -> tuple[int, str]:
        """(status, response headers) of curl fetching `path` from the `source` address."""
        command = ["curl", "-sS", "-o", "/dev/null", "-D", "-", "--interface", source, "--max-time", "20"]
        if raw_path:
            command.append("--path-as-is")
        for header in headers:
            command += ["-H", header]
        done = subprocess.run([*command, self.http + path], capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        status_line = done.stdout.splitlines()[0]
        return int(status_line.split()[1]), done.stdout

    def session_cookie(self) -> str:
        """A fresh viewer's playback cookie (`streamauth_playback=...`), opened from OWNER."""
        token = issue_over_http(self.api, self.operator, STREAM, "play")
        status, headers = self.get(f"{self.playlist}?token={token}")
        assert status == 200, headers
        return cookie_of(headers)

    def segment(self, cookie: str) -> str:
        status, _ = self.get(self.playlist, OWNER, f"Cookie: {cookie}")
        assert status == 200
        return self.playlist.rsplit("/", 1)[0] + "/0.ts"


def cookie_of(headers: str) -> str:
    line = next((h for h in headers.splitlines() if h.lower().startswith("set-cookie:")), None)
    assert line is not None, headers
    return line.split(":", 1)[1].strip().split(";", 1)[0]


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory, operator_header: dict[str, str]) -> Iterator[Origin]:
    home = tmp_path_factory.mktemp("hls-hardening")
    bound = {"STREAMAUTH_PARAMETERS": "PlaybackBindClientAddress=true"}
    with (
        running_local_api(home / "local-api.log", home / "iam", **bound) as api,
        nginx_origin(api.url, home / "nginx") as (rtmp, http, _),
        publishing(api.url, operator_header, rtmp, http, STREAM) as playlist,
    ):
        yield Origin(api.url, operator_header, http, playlist)


def test_the_second_loopback_address_is_usable(origin: Origin) -> None:
    """What the rest stands on: curl reaches nginx from 127.0.0.2, and nginx sees that address."""
    status, _ = origin.get(origin.playlist, OTHER)
    assert status == 403  # refused for want of a credential, not unreachable


def test_a_bound_cookie_plays_only_from_its_address_while_its_owner_keeps_the_cache_warm(origin: Origin) -> None:
    cookie = origin.session_cookie()
    for _ in range(3):
        # the owner's allow is in nginx's cache (10 s) for the owner's address only
        assert origin.get(origin.playlist, OWNER, f"Cookie: {cookie}")[0] == 200
        assert origin.get(origin.playlist, OTHER, f"Cookie: {cookie}")[0] == 403


@pytest.mark.parametrize("lines", [1, 2], ids=["one-cookie-line", "two-cookie-lines"])
def test_two_playback_cookies_are_refused_and_make_no_alias(origin: Origin, lines: int) -> None:
    cookie = origin.session_cookie()
    alias = "streamauth_playback=free-for-all"
    headers = [f"Cookie: {alias}; {cookie}"] if lines == 1 else [f"Cookie: {alias}", f"Cookie: {cookie}"]
    assert origin.get(origin.playlist, OWNER, *headers)[0] == 400
    for source in (OWNER, OTHER):  # the alias alone plays nowhere: no cached allow was keyed on it
        assert origin.get(origin.playlist, source, f"Cookie: {alias}")[0] == 403
    assert origin.get(origin.playlist, OWNER, f"Cookie: {cookie}")[0] == 200  # the real one still plays


def test_a_raw_uri_puts_no_attribute_into_the_cookie(origin: Origin) -> None:
    token = issue_over_http(origin.api, origin.operator, STREAM, "play")
    injected = f"/hls/{STREAM}/x;Domain=localhost;SameSite=None;Max-Age=31536000/../index.m3u8?token={token}"
    status, headers = origin.get(injected, OWNER, raw_path=True)
    assert status == 403, headers  # malformed_request: auth_request passes 403 on (a 400 would be nginx's 500)
    assert "set-cookie" not in headers.lower()
    # nothing was consumed: the same token opens the plain playlist, with a cookie for the stream's directory
    status, headers = origin.get(f"{origin.playlist}?token={token}")
    assert status == 200
    line = next(h for h in headers.splitlines() if h.lower().startswith("set-cookie:"))
    assert f"Path=/hls/{STREAM}/" in line and "Domain" not in line and "Max-Age=31536000" not in line


def test_the_block_refuses_two_cookies_before_its_cache() -> None:
    from tests.e2e.test_hls import readme_block

    block = readme_block()
    assert block.index("if ($streamauth_cookie_twice)") < block.index("auth_request /_streamauth;")
    assert "$remote_addr" in block.split("proxy_cache_key", 1)[1].split(";", 1)[0]
    assert (ROOT / "README.md").read_text().count("test_hls_hardening.py") >= 1
