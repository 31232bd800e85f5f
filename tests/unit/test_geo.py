"""A client's country without a network call (logic/geo.py): the offline database (iptocc, the
Regional Internet Registries' delegations) and the rule that a trusted header wins over it. Unit
tests run with sockets refused (tests/unit/conftest.py): every lookup here is offline.

The public addresses are long-standing registry allocations whose country does not move: Google's
resolvers (ARIN, US), the RIPE NCC's own networks (NL), 81.2.69.142 (RIPE, GB; MaxMind's own test
address), APNIC's 1.0.16.0/20 (JP)."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys

import pytest

from streamauth.logic.admission import Reason, policy_verdict
from streamauth.logic.geo import address_country, client_country
from streamauth.models.policies import Client, parse_address, parse_policy
from tests.conftest import ROOT

NOW = 1_800_000_000.0
GB, US, NL = "81.2.69.142", "8.8.8.8", "2001:67c:2e8::1"


@pytest.mark.parametrize(
    ("address", "country"),
    [
        (GB, "GB"),
        (US, "US"),
        ("1.0.16.1", "JP"),
        ("193.0.6.139", "NL"),
        (NL, "NL"),  # IPv6
        ("2001:4860:4860::8888", "US"),
        ("::ffff:81.2.69.142", "GB"),  # a dual-stack socket's IPv4 client is its IPv4 address
        ("[2001:67c:2e8::1]", "NL"),
    ],
)
def test_public_addresses_map_to_their_registrys_country(address: str, country: str) -> None:
    assert address_country(parse_address(address)) == country
    assert client_country(Client(address)) == country


# every special-purpose block (RFC 6890 and its successors): no registry assigns one a country
NOT_GLOBAL = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",  # carrier-grade NAT
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "::/128",
    "::1/128",
    "64:ff9b::/96",
    "100::/64",
    "2001:db8::/32",
    "fc00::/7",
    "fe80::/10",
    "ff00::/8",
]


@pytest.mark.parametrize("network", NOT_GLOBAL)
def test_private_loopback_and_other_special_addresses_have_no_country(network: str) -> None:
    """logic/geo.py asks the database instead of `is_global` (13 us a new address): this holds
    the database to it at each block's first, middle and last address."""
    net = ipaddress.ip_network(network)
    for address in (net[0], net[net.num_addresses // 2], net[-1]):
        assert address_country(address) is None, address


@pytest.mark.parametrize(
    "junk", [None, "", "unknown", "81.2.69.142:1935", "81.2.69.142, 8.8.8.8", "999.1.1.1", "GB", "8.8.8.8 "]
)
def test_a_malformed_address_has_no_country(junk: str | None) -> None:
    assert client_country(Client(junk)) is None


def test_the_trusted_header_wins_over_the_database() -> None:
    assert client_country(Client(GB, "FR")) == "FR"
    assert client_country(Client("127.0.0.1", "DE")) == "DE"  # a header names what no database could
    assert client_country(Client(None, "DE")) == "DE"


@pytest.mark.parametrize(
    ("fields", "client", "reason"),
    [
        ({"allowCountries": ["GB"]}, Client(GB), Reason.ALLOWED),
        ({"allowCountries": ["GB", "NL"]}, Client(NL), Reason.ALLOWED),
        ({"allowCountries": ["GB"]}, Client(US), Reason.COUNTRY_NOT_ALLOWED),
        ({"denyCountries": ["US"]}, Client(US), Reason.COUNTRY_NOT_ALLOWED),
        ({"denyCountries": ["US"]}, Client(GB), Reason.ALLOWED),
        # unknown (loopback, private, no address): an allow list refuses it, a deny list cannot match it
        ({"allowCountries": ["GB"]}, Client("127.0.0.1"), Reason.COUNTRY_NOT_ALLOWED),
        ({"allowCountries": ["GB"]}, Client("10.0.0.7"), Reason.COUNTRY_NOT_ALLOWED),
        ({"allowCountries": ["GB"]}, Client(None), Reason.COUNTRY_NOT_ALLOWED),
        ({"denyCountries": ["US"]}, Client("127.0.0.1"), Reason.ALLOWED),
        # the header wins: a GB address behind a CDN that says FR is FR
        ({"allowCountries": ["GB"]}, Client(GB, "FR"), Reason.COUNTRY_NOT_ALLOWED),
        ({"denyCountries": ["US"]}, Client(US, "DE"), Reason.ALLOWED),
    ],
)
def test_country_rules_are_judged_through_the_database(
    fields: dict[str, list[str]], client: Client, reason: Reason
) -> None:
    assert policy_verdict([parse_policy(fields)], client, NOW) is reason


def test_every_policy_is_judged_against_the_one_country() -> None:
    stream, credential = parse_policy({"denyCountries": ["US"]}), parse_policy({"allowCountries": ["GB"]})
    assert policy_verdict([stream, credential], Client(GB), NOW) is Reason.ALLOWED
    assert policy_verdict([stream, credential], Client(NL), NOW) is Reason.COUNTRY_NOT_ALLOWED


_LOADED = """
import json, sys
sys.path.insert(0, {layer!r})
from streamauth.logic.admission import policy_verdict
from streamauth.models.policies import Client, parse_policy
seen = []
for fields, client in {cases!r}:
    policy_verdict([parse_policy(fields)], Client(*client), 1.8e9)
    seen.append("iptocc" in sys.modules)
print(json.dumps(seen))
"""


def test_the_database_is_loaded_only_when_a_country_rule_needs_it() -> None:
    """A cold start pays nothing for it: importing the rule, judging a policy with no country
    rule, or one whose client's country a header gave, loads no database; the first country rule
    without a header does."""
    cases = [
        ({"allowCidrs": ["0.0.0.0/0"], "protocols": ["rtmp"]}, (GB, None, None, "rtmp")),
        ({"allowCountries": ["GB"]}, (GB, "GB")),
        ({"denyCountries": ["US"]}, (None, "DE")),
        ({"allowCountries": ["GB"]}, (GB,)),
    ]
    code = _LOADED.format(layer=str(ROOT / "layers/streamauth"), cases=cases)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == [False, False, False, True]
