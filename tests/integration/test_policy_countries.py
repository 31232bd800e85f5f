"""Country rules through the offline database (logic/geo.py), through the real handlers, at
admission and at renew: a media server's hook carries no country header, so the client address
it reports (nginx-rtmp's `addr`, MediaMTX's `ip`: the server's own view of the connection) is
looked up; where a front sets `CloudFront-Viewer-Country` (HLS behind CloudFront, the CloudFront
route) the header wins.

End-to-end tests run on loopback addresses, which no registry assigns a country, so this is where
a public address proves the database path: long-standing allocations whose registry country does
not move (tests/unit/test_geo.py): 81.2.69.142 GB, 8.8.8.8 US, 2001:67c:2e8::1 NL."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Aws, FakeClock
from tests.integration.test_cloudfront import cdn, keys  # noqa: F401  (the CloudFront deployment's fixtures)
from tests.integration.test_hooks import hook, one_time
from tests.integration.test_playback import PLAYLIST, SEGMENT, check, cookie_of, play_token
from tests.integration.test_policies import cloudfront, issue, nginx, put_policy
from tests.unit.test_hook_parsers import MEDIAMTX_PUBLISH

GB, US, NL = "81.2.69.142", "8.8.8.8", "2001:67c:2e8::1"


def test_nginx_admission_judges_the_servers_addr_by_its_country(aws: Aws, clock: FakeClock) -> None:
    put_policy("cam1", {"allowCountries": ["GB"]})
    assert nginx(one_time(), addr=GB).status == 200
    refused = nginx(one_time(), addr=US)
    assert refused.status == 403 and refused.body["reason"] == "country_not_allowed"
    # loopback has no country: an allow list refuses the unknown
    assert nginx(one_time(), addr="127.0.0.1").body["reason"] == "country_not_allowed"
    # the client's own appended addr is not the server's
    assert nginx(one_time(), addr=US, extra=f"&addr={GB}").body["reason"] == "country_not_allowed"


def test_a_deny_list_refuses_its_country_and_admits_the_unknown(aws: Aws, clock: FakeClock) -> None:
    put_policy("cam1", {"denyCountries": ["US"]})
    assert nginx(one_time(), addr=US).body["reason"] == "country_not_allowed"
    assert nginx(one_time(), addr=GB).status == 200
    assert nginx(one_time(), addr="127.0.0.2").status == 200


def test_a_country_rule_ends_a_session_at_its_next_renew(aws: Aws, clock: FakeClock) -> None:
    token = one_time()
    assert nginx(token, addr=GB).status == 200
    assert nginx(token, addr=GB, call_="update_publish").status == 200
    put_policy("cam1", {"denyCountries": ["GB"]})
    renew = nginx(token, addr=GB, call_="update_publish")
    assert renew.status == 403 and renew.body["reason"] == "country_not_allowed"


def test_a_jwts_own_country_rule_is_judged_at_admission_and_renew(aws: Aws, clock: FakeClock) -> None:
    token = issue("IssueJwtTokenFunction", "issue_jwt_token", allowCountries="GB")
    assert nginx(token, addr=US).body["reason"] == "country_not_allowed"
    assert nginx(token, addr=GB).status == 200
    assert nginx(token, addr=GB, call_="update_publish").status == 200
    # the stream's policy narrows it further; the session's next renew is refused
    put_policy("cam1", {"denyCountries": ["GB"]})
    assert nginx(token, addr=GB, call_="update_publish").body["reason"] == "country_not_allowed"


def test_mediamtx_reports_an_ipv6_client_looked_up_the_same_way(aws: Aws, clock: FakeClock) -> None:
    put_policy("cam1", {"allowCountries": ["NL"]})

    def mediamtx(ip: str) -> Any:
        body = MEDIAMTX_PUBLISH.replace('"ip":"127.0.0.1"', f'"ip":"{ip}"').replace("abc123", one_time())
        return hook("MediaMtxHookFunction", "hook_mediamtx", body)

    assert mediamtx(NL).status == 200
    assert mediamtx(US).body["reason"] == "country_not_allowed"
    assert mediamtx("::1").body["reason"] == "country_not_allowed"


def test_sharing_counts_countries_from_the_database(aws: Aws, clock: FakeClock) -> None:
    """`sharing.countries`: the same JWT from a second country within the window is suspected."""
    put_policy("cam1", {"sharing": {"countries": 1, "action": "refuse"}})
    token = issue("IssueJwtTokenFunction", "issue_jwt_token", type="play")
    assert nginx(token, addr=GB, call_="play", client=1).status == 200
    assert nginx(token, addr="81.2.69.143", call_="play", client=2).status == 200  # another address, same country
    abroad = nginx(token, addr=US, call_="play", client=3)
    assert abroad.status == 403 and abroad.body["reason"] == "sharing_suspected"


def test_hls_uses_the_database_without_a_header_and_the_header_wins(aws: Aws, clock: FakeClock) -> None:
    put_policy("cam1", {"allowCountries": ["GB"]})
    reply = check(f"{PLAYLIST}?token={play_token()}", ip=GB)
    assert reply.status == 200
    assert check(SEGMENT, cookie_of(reply), ip=GB).status == 200
    copied = check(SEGMENT, cookie_of(reply), ip=US)  # the cookie copied abroad: judged per request
    assert copied.status == 403 and copied.body["reason"] == "country_not_allowed"
    assert check(f"{PLAYLIST}?token={play_token()}", ip=US).body["reason"] == "country_not_allowed"
    # a front that sets the header (CloudFront) names the viewer's country: it wins over the address's
    behind = {"CloudFront-Viewer-Country": "GB"}
    assert check(f"{PLAYLIST}?token={play_token()}", ip=US, **behind).status == 200
    behind = {"CloudFront-Viewer-Country": "FR"}
    assert check(f"{PLAYLIST}?token={play_token()}", ip=GB, **behind).body["reason"] == "country_not_allowed"


@pytest.mark.usefixtures("cdn")
def test_cloudfront_looks_up_the_source_address_when_no_header_names_a_country(clock: FakeClock) -> None:
    from tests.integration.test_cloudfront import one_time as play

    put_policy("cam1", {"allowCountries": ["GB"]})
    assert cloudfront(GB, {}, play())[0] == 200
    status, body = cloudfront(US, {}, play())
    assert status == 403 and body["reason"] == "country_not_allowed"
    assert cloudfront(US, {"CloudFront-Viewer-Country": "GB"}, play())[0] == 200
