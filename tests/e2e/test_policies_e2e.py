"""Access policies with real software (README "Access policies"): nginx-rtmp (the README's
block, tests/e2e/rtmp.py) and ffmpeg publishing and playing from two loopback addresses, and
the README's nginx HLS block serving players that name an `Origin` and a CDN's country.

The second address is 127.0.0.2, loopback only: Debian's ffmpeg 5.1 cannot pick its source
address, so its connections from 127.0.0.2 go through a relay that opens them from that
address (rtmp.py `relay_from`): nginx-rtmp reports `addr=127.0.0.2`, as the sessions list
shows (test_the_second_address_is_what_nginx_rtmp_reports).

Every refusal is checked where an operator would look: the stream's decision log names the
reason and the address. Countries come through the CDN's header here: a loopback address is in
no country database (logic/geo.py), so a country looked up from the client's address is tested
with the addresses media servers report (tests/integration/test_policy_countries.py)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from tests.conftest import issue_over_http, running_local_api
from tests.e2e.rtmp import NGINX_AVAILABLE, play_args, publish_args, relay_from, start_nginx
from tests.e2e.test_hls import nginx_origin, publishing
from tests.e2e.test_push_local import Bus, observe_bus, wait_for

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not NGINX_AVAILABLE, reason="needs Debian's nginx, libnginx-mod-rtmp and ffmpeg"),
]

ONE, TWO = "127.0.0.1", "127.0.0.2"
NOTIFY_UPDATE = 3  # seconds: notify_update_timeout, short so a sharing end is seen soon
KICK_BOUND = NOTIFY_UPDATE + 2  # as tests/e2e/test_live_revocation.py bounds a kick
PLAYER_PAGE, FOREIGN_PAGE = "https://player.example.com", "https://copycat.example.net"


@dataclass
class Site:
    api: str
    operator: dict[str, str] = field(repr=False)
    rtmp: dict[str, str]  # the `live` application's URL as reached from each address
    bus: Bus

    def token(self, stream: str, action: str, kind: str = "token", **policy: str) -> str:
        return issue_over_http(self.api, self.operator, stream, action, kind, **policy)

    def put_policy(self, stream: str, policy: dict[str, Any]) -> None:
        """The stream's policy, set before the stream is first used (hooks cache a stream's state
        for RevocationCacheSeconds)."""
        reply = requests.put(
            f"{self.api}/v2/broadcasts/{stream}/policy", json=policy, headers=self.operator, timeout=30
        )
        assert reply.status_code == 200, reply.text

    def decisions(self, stream: str, reason: str) -> list[dict[str, Any]]:
        reply = requests.get(
            f"{self.api}/v2/broadcasts/{stream}/decisions", params={"reason": reason}, headers=self.operator, timeout=30
        )
        assert reply.status_code == 200, reply.text
        found: list[dict[str, Any]] = reply.json()["decisions"]
        return found

    def refused(self, stream: str, reason: str) -> list[str]:
        """The addresses the stream's decision log says were refused for `reason`."""
        return [d["address"] for d in self.decisions(stream, reason) if d["allowed"] is False]

    def sessions(self, stream: str) -> list[dict[str, Any]]:
        reply = requests.get(f"{self.api}/v2/broadcasts/{stream}/sessions", headers=self.operator, timeout=30)
        assert reply.status_code == 200, reply.text
        found: list[dict[str, Any]] = reply.json()
        return found

    def url(self, source: str, stream: str, credential: str) -> str:
        return f"{self.rtmp[source]}/{stream}?token={credential}"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, operator_header: dict[str, str]) -> Iterator[Site]:
    """A local API of its own (its event bus observed), and nginx-rtmp renewing every
    NOTIFY_UPDATE seconds, reached directly from 127.0.0.1 and through the relay from 127.0.0.2."""
    home = tmp_path_factory.mktemp("policies-e2e")
    with (
        running_local_api(home / "local-api.log", home / "iam") as api,
        start_nginx(api.url, tmp_path_factory.mktemp("policies-nginx"), update_timeout=NOTIFY_UPDATE) as rtmp,
        relay_from(TWO, rtmp) as relayed,
    ):
        yield Site(api.url, operator_header, {ONE: rtmp, TWO: relayed}, observe_bus(api.log))


def play(url: str) -> subprocess.CompletedProcess[str]:
    """Read one second of the stream; exit status 0 only when nginx-rtmp admitted the play."""
    return subprocess.run(play_args(url), capture_output=True, text=True, timeout=60)


def spawn(args: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def live_sessions(site: Site, stream: str, count: int) -> list[dict[str, Any]]:
    """The stream's sessions, once at least `count` are listed."""

    def listed() -> list[dict[str, Any]] | None:
        sessions = site.sessions(stream)
        return sessions if len(sessions) >= count else None

    found: list[dict[str, Any]] = wait_for(f"{count} live sessions on {stream}", listed)
    return found


@contextmanager
def published(site: Site, stream: str) -> Iterator[subprocess.Popen[bytes]]:
    """`stream` published from 127.0.0.1 with a one-time publish token (no policy of its own)
    while the block runs, once its session is listed."""
    publisher = spawn(publish_args(site.url(ONE, stream, site.token(stream, "publish")), 120))
    try:
        live_sessions(site, stream, 1)
        yield publisher
    finally:
        publisher.kill()
        publisher.wait(timeout=10)


# -- the second address ---------------------------------------------------------------------------
def test_the_second_address_is_what_nginx_rtmp_reports(site: Site) -> None:
    """What the rest stands on: ffmpeg through the relay is admitted, as 127.0.0.2."""
    token = site.token("second1", "publish")
    publisher = spawn(publish_args(site.url(TWO, "second1", token), 120))
    try:
        (session,) = live_sessions(site, "second1", 1)
        assert session["clientIp"] == TWO
    finally:
        publisher.kill()
        publisher.wait(timeout=10)


# -- CIDR ----------------------------------------------------------------------------------------
def test_a_publish_token_allowing_127_0_0_1_publishes_from_there_only(site: Site) -> None:
    """The credential's policy (`?allowCidrs=` at issue): refused from 127.0.0.2 with the
    reason in the decision log; and the refusal spent nothing, so the same one-time token then
    publishes from 127.0.0.1."""
    token = site.token("cidr1", "publish", allowCidrs=f"{ONE}/32")
    refused = subprocess.run(publish_args(site.url(TWO, "cidr1", token), 2), capture_output=True, timeout=60)
    assert refused.returncode != 0
    assert site.refused("cidr1", "address_not_allowed") == [TWO]
    admitted = subprocess.run(publish_args(site.url(ONE, "cidr1", token), 2), capture_output=True, timeout=60)
    assert admitted.returncode == 0, admitted.stderr
    assert site.refused("cidr1", "address_not_allowed") == [TWO]  # and nothing more


def test_a_stream_policy_denying_127_0_0_2_refuses_its_player_and_not_127_0_0_1s(site: Site) -> None:
    """The stream's policy (PUT …/policy `denyCidrs`) judged on nginx-rtmp's `on_play`: one
    JWT (reusable) plays from 127.0.0.1 and is refused from 127.0.0.2."""
    site.put_policy("cidr2", {"denyCidrs": [f"{TWO}/32"]})
    with published(site, "cidr2"):
        jwt = site.token("cidr2", "play", "jwt-token")
        assert (first := play(site.url(ONE, "cidr2", jwt))).returncode == 0, first.stderr
        assert play(site.url(TWO, "cidr2", jwt)).returncode != 0
        assert (again := play(site.url(ONE, "cidr2", jwt))).returncode == 0, again.stderr
    assert site.refused("cidr2", "address_not_allowed") == [TWO]


# -- bind on first use ---------------------------------------------------------------------------
@pytest.mark.parametrize("first", [ONE, TWO], ids=["first-127.0.0.1", "first-127.0.0.2"])
def test_bind_on_first_use_admits_only_the_address_that_used_the_jwt_first(site: Site, first: str) -> None:
    """`bindOnFirstUse=1` on a play JWT: whichever address plays first is the only one it admits
    afterwards (`bound_elsewhere` for the other); run both ways, so neither address is refused
    for being itself."""
    other = TWO if first == ONE else ONE
    stream = f"bind-{first.rsplit('.', 1)[1]}"
    with published(site, stream):
        jwt = site.token(stream, "play", "jwt-token", bindOnFirstUse="1")
        assert (bound := play(site.url(first, stream, jwt))).returncode == 0, bound.stderr
        assert play(site.url(other, stream, jwt)).returncode != 0
        assert (again := play(site.url(first, stream, jwt))).returncode == 0, again.stderr
    assert site.refused(stream, "bound_elsewhere") == [other]


# -- sharing -------------------------------------------------------------------------------------
def test_one_jwt_played_from_two_addresses_is_suspected_and_its_running_session_is_ended(site: Site) -> None:
    """A stream's sharing policy (`addresses: 1`: a second distinct address within the window is
    past it; action `end`): the play from 127.0.0.2 raises CredentialSharingSuspected with the
    evidence and is refused, the session already playing from 127.0.0.1 is ended and nginx-rtmp
    drops it at its next renew, and the JWT admits no new session. The publisher (another
    credential) streams on, so the player stopping is its kick, not the stream's end."""
    stream = "share1"
    site.put_policy(stream, {"sharing": {"addresses": 1, "windowSeconds": 600, "action": "end"}})
    with published(site, stream) as publisher:
        jwt = site.token(stream, "play", "jwt-token")
        watcher = spawn(play_args(site.url(ONE, stream, jwt), 120))
        try:
            live_sessions(site, stream, 2)
            assert play(site.url(TWO, stream, jwt)).returncode != 0
            since = time.monotonic()
            try:
                watcher.wait(timeout=KICK_BOUND + 10)
            except subprocess.TimeoutExpired:
                raise AssertionError("the shared JWT's session still plays") from None
            kicked = time.monotonic() - since
        finally:
            watcher.kill()
            watcher.wait(timeout=10)
        assert kicked <= KICK_BOUND, kicked
        assert publisher.poll() is None
        (suspected,) = wait_for(
            "CredentialSharingSuspected announced",
            lambda: site.bus.published("CredentialSharingSuspected", streamId=stream),
        )
        detail = suspected["detail"]
        assert detail["credentialKind"] == "jwt" and detail["action"] == "end"
        assert detail["addresses"] == [ONE, TWO] and detail["addressCount"] == 2
        assert jwt not in str(suspected)
        assert play(site.url(ONE, stream, jwt)).returncode != 0  # refused new sessions for the window
        assert [s["clientIp"] for s in site.sessions(stream)] == [ONE]  # the publisher's only
    assert site.refused(stream, "sharing_suspected") == [ONE, TWO]  # newest first
    assert site.refused(stream, "session_ended") == [ONE]  # the watcher's renew, refused


# -- HLS: origins and the CDN's country ----------------------------------------------------------
@dataclass
class Hls:
    site: Site
    http: str
    playlist: str
    stream: str

    def get(self, path: str, **headers: str) -> requests.Response:
        return requests.get(f"{self.http}{path}", headers=headers, timeout=20)


@pytest.fixture(scope="module")
def hls(site: Site, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hls]:
    """The README's nginx HLS block on the module's local API, a stream published through it."""
    stream = "policy-hls"
    with (
        nginx_origin(site.api, tmp_path_factory.mktemp("policies-hls")) as (rtmp, http, _),
        publishing(site.api, site.operator, rtmp, http, stream) as playlist,
    ):
        yield Hls(site, http, playlist, stream)


def test_hls_plays_on_the_allowed_page_only(hls: Hls) -> None:
    """A play JWT with `allowOrigins`: a player on the listed page (its `Origin`, or its
    `Referer` when it sends no Origin) plays, segments too; a foreign page, or a request naming
    no page, is refused `origin_not_allowed`; a session opened on the listed page and then
    asked for from a foreign page is refused at that request."""
    jwt = hls.site.token(hls.stream, "play", "jwt-token", allowOrigins=PLAYER_PAGE)
    opened = hls.get(f"{hls.playlist}?token={jwt}", Origin=PLAYER_PAGE)
    assert opened.status_code == 200 and "#EXTM3U" in opened.text
    cookie = opened.headers["Set-Cookie"].split(";", 1)[0]
    segment = next(line for line in opened.text.splitlines() if line.endswith(".ts"))
    segment_path = hls.playlist.rsplit("/", 1)[0] + "/" + segment
    assert hls.get(segment_path, Origin=PLAYER_PAGE, Cookie=cookie).status_code == 200
    # nginx's cached allow for that cookie, address and stream stands for its page too (the page
    # is in the block's cache key): the same cookie from a foreign page is judged, and refused
    assert hls.get(segment_path, Origin=FOREIGN_PAGE, Cookie=cookie).status_code == 403
    assert hls.get(f"{hls.playlist}?token={jwt}", Referer=f"{PLAYER_PAGE}/watch?v=1").status_code == 200

    assert hls.get(f"{hls.playlist}?token={jwt}", Origin=FOREIGN_PAGE).status_code == 403
    assert hls.get(f"{hls.playlist}?token={jwt}").status_code == 403
    # a fresh session's cookie, first presented from a foreign page (no allow of nginx's cache
    # stands for it yet: the cache reuses an allow per cookie and address for PlaybackCacheSeconds)
    fresh = hls.get(f"{hls.playlist}?token={jwt}", Origin=PLAYER_PAGE)
    assert fresh.status_code == 200
    carried = fresh.headers["Set-Cookie"].split(";", 1)[0]
    assert hls.get(segment_path, Origin=FOREIGN_PAGE, Cookie=carried).status_code == 403
    assert hls.site.refused(hls.stream, "origin_not_allowed") == [ONE] * 4


def test_hls_country_rule_through_the_cdn_header(hls: Hls) -> None:
    """A play JWT with `allowCountries=DE`, judged on the country a CDN in front of the README's
    block names (`CloudFront-Viewer-Country`, which the block's auth_request passes on): DE plays,
    FR and no country are refused `country_not_allowed`."""
    jwt = hls.site.token(hls.stream, "play", "jwt-token", allowCountries="DE")
    opened = hls.get(f"{hls.playlist}?token={jwt}", **{"CloudFront-Viewer-Country": "DE"})
    assert opened.status_code == 200
    # the country is in the block's cache key: DE's cached allow does not answer for FR
    cookie = opened.headers["Set-Cookie"].split(";", 1)[0]
    assert hls.get(hls.playlist, Cookie=cookie, **{"CloudFront-Viewer-Country": "DE"}).status_code == 200  # cached
    assert hls.get(hls.playlist, Cookie=cookie, **{"CloudFront-Viewer-Country": "FR"}).status_code == 403
    assert hls.get(f"{hls.playlist}?token={jwt}", **{"CloudFront-Viewer-Country": "FR"}).status_code == 403
    assert hls.get(f"{hls.playlist}?token={jwt}").status_code == 403
    assert hls.site.refused(hls.stream, "country_not_allowed") == [ONE] * 3
