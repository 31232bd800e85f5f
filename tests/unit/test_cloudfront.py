"""CloudFront signed cookies: the pure parts against CloudFront's documented format, and the settings."""

from __future__ import annotations

import json

import pytest

from streamauth.errors import ConfigurationError
from streamauth.logic import cloudfront, signing
from streamauth.models.policies import Policy, parse_policy
from streamauth.settings import CloudFrontSettings, get_cloudfront_settings

# CloudFront's guide, "Set signed cookies using a custom policy", example 1: the CloudFront-Policy
# value it shows, and the policy that value encodes (the guide's JSON, whitespace removed).
DOCUMENTED_COOKIE = (
    "eyJTdGF0ZW1lbnQiOlt7IlJlc291cmNlIjoiaHR0cDovL2QxMTExMTFhYmNkZWY4LmNsb3VkZnJvbnQubmV0L2dhbWVfZG93bmxvYWQuemlw"
    "IiwiQ29uZGl0aW9uIjp7IklwQWRkcmVzcyI6eyJBV1M6U291cmNlSXAiOiIxOTIuMC4yLjAvMjQifSwiRGF0ZUxlc3NUaGFuIjp7IkFXUzpF"
    "cG9jaFRpbWUiOjE0MjY1MDAwMDB9fX1dfQ__"
)
DOCUMENTED_POLICY = {
    "Statement": [
        {
            "Resource": "http://d111111abcdef8.cloudfront.net/game_download.zip",
            "Condition": {"IpAddress": {"AWS:SourceIp": "192.0.2.0/24"}, "DateLessThan": {"AWS:EpochTime": 1426500000}},
        }
    ]
}


def test_the_encoding_reproduces_the_guides_example_cookie() -> None:
    """The guide's example policy, whitespace removed, encodes to exactly the value it shows."""
    document = json.dumps(DOCUMENTED_POLICY, separators=(",", ":")).encode()
    assert cloudfront.encode(document) == DOCUMENTED_COOKIE


def test_the_policy_is_one_whitespace_free_statement_with_an_unquoted_expiry() -> None:
    bound = cloudfront.policy("https://d.example/hls/cam1/*", 1800000300, "203.0.113.10/32")
    assert bound == (
        b'{"Statement":[{"Resource":"https://d.example/hls/cam1/*","Condition":'
        b'{"DateLessThan":{"AWS:EpochTime":1800000300},"IpAddress":{"AWS:SourceIp":"203.0.113.10/32"}}}]}'
    )
    unbound = json.loads(cloudfront.policy("https://d.example/hls/cam1/*", 5, None))
    assert unbound["Statement"][0]["Condition"] == {"DateLessThan": {"AWS:EpochTime": 5}}


def test_the_encoding_never_holds_characters_a_cookie_or_query_cannot() -> None:
    for size in range(1, 40):
        value = cloudfront.encode(bytes(range(256))[:size] * 3)
        assert not set(value) & set("+=/ ;,\n")


@pytest.mark.parametrize(
    ("address", "cidr"),
    [
        ("203.0.113.10", "203.0.113.10/32"),
        ("::ffff:198.51.100.7", "198.51.100.7/32"),
        ("2001:db8::1", None),  # CloudFront's IpAddress takes IPv4 only
        ("unknown", None),
        ("", None),
        (None, None),
    ],
)
def test_only_ipv4_addresses_can_be_bound(address: str | None, cidr: str | None) -> None:
    assert cloudfront.source_ip_cidr(address) == cidr


def _policies(*bodies: dict[str, object]) -> list[Policy | None]:
    return [None, *(parse_policy(body) for body in bodies)]


def test_the_access_policies_compile_into_the_conditions_cloudfront_enforces() -> None:
    """notBefore -> DateGreaterThan (the latest), maxSessionSeconds -> DateLessThan no later than
    now plus it (the shortest), allowCidrs -> IpAddress: the narrowest IPv4 network holding the
    viewer (every policy's list holds it: the verdict admitted it)."""
    now, expires = 1_800_000_000.5, 1_800_000_300
    stream = {"notBefore": 1_799_999_000, "maxSessionSeconds": 200, "allowCidrs": ["203.0.113.0/24", "2001:db8::/32"]}
    credential = {"notBefore": 1_799_999_900, "maxSessionSeconds": 120, "allowCidrs": ["203.0.113.0/28"]}
    compiled = cloudfront.compile_policies(_policies(stream, credential), expires, now, "203.0.113.10", None)
    assert compiled == cloudfront.Conditions(1_800_000_120, 1_799_999_900, "203.0.113.0/28")
    # a longer maxSessionSeconds never lengthens the cookies
    assert (
        cloudfront.compile_policies(_policies({"maxSessionSeconds": 900}), expires, now, None, None).expires == expires
    )
    # no policy: the expiry alone, as before
    assert cloudfront.compile_policies([None, None], expires, now, "203.0.113.10", None) == cloudfront.Conditions(
        expires
    )


@pytest.mark.parametrize(
    ("bodies", "address", "bound", "source_ip"),
    [
        ([{"allowCidrs": ["203.0.113.0/24"]}], "203.0.113.10", "203.0.113.10/32", "203.0.113.10/32"),  # narrower
        ([{"allowCidrs": ["203.0.113.0/24"]}], "::ffff:203.0.113.10", None, "203.0.113.0/24"),
        ([{"allowCidrs": ["198.51.100.0/24", "203.0.113.0/24"]}], "203.0.113.10", None, "203.0.113.0/24"),
        (
            [{"allowCidrs": ["0.0.0.0/1", "203.0.113.0/24"]}, {"allowCidrs": ["203.0.0.0/16"]}],
            "203.0.113.9",
            None,
            "203.0.113.0/24",
        ),
        ([{"allowCidrs": ["2001:db8::/32"]}], "2001:db8::1", None, None),  # IPv6: CloudFront cannot take it
        ([{"denyCidrs": ["198.51.100.0/24"]}], "203.0.113.10", None, None),  # no negated condition
        ([{"allowCountries": ["DE"], "allowOrigins": ["https://a.example"]}], "203.0.113.10", None, None),
        ([{"allowCidrs": ["203.0.113.0/24"]}], None, None, None),
    ],
)
def test_ip_address_is_one_ipv4_network_or_none(
    bodies: list[dict[str, object]], address: str | None, bound: str | None, source_ip: str | None
) -> None:
    assert cloudfront.compile_policies(_policies(*bodies), 5, 0, address, bound).source_ip == source_ip


def test_date_greater_than_is_written_only_when_a_policy_sets_it() -> None:
    document = cloudfront.policy("https://d.example/hls/cam1/*", 1800000300, "203.0.113.0/24", 1799999000)
    assert document == (
        b'{"Statement":[{"Resource":"https://d.example/hls/cam1/*","Condition":{"DateLessThan":'
        b'{"AWS:EpochTime":1800000300},"DateGreaterThan":{"AWS:EpochTime":1799999000},'
        b'"IpAddress":{"AWS:SourceIp":"203.0.113.0/24"}}}]}'
    )


def test_resource_prefix_with_and_without_a_path_prefix() -> None:
    assert cloudfront.resource_prefix("d.example", "hls", "cam1") == "https://d.example/hls/cam1/"
    assert cloudfront.resource_prefix("d.example", "", "cam1") == "https://d.example/cam1/"


def test_a_jwts_expiry_is_read_only_when_it_is_a_number() -> None:
    key = "k" * 48
    assert cloudfront.jwt_expiry(signing.encode({"exp": 1234}, key)) == 1234
    assert cloudfront.jwt_expiry(signing.encode({"sub": "x"}, key)) is None
    assert cloudfront.jwt_expiry(signing.encode({"exp": "1234"}, key)) is None
    assert cloudfront.jwt_expiry("a.!!!.c") is None and cloudfront.jwt_expiry("opaque") is None


def _settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> CloudFrontSettings:

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_cloudfront_settings.cache_clear()
    try:
        return get_cloudfront_settings()
    finally:
        get_cloudfront_settings.cache_clear()


def test_settings_default_to_off(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DOMAIN", "PATH_PREFIX", "COOKIE_DOMAIN", "KEY_PAIR_ID", "COOKIE_SAME_SITE", "COOKIE_SECONDS"):
        monkeypatch.delenv(f"CLOUDFRONT_{name}", raising=False)
    monkeypatch.delenv("CLOUDFRONT_HASH_ALGORITHM", raising=False)
    settings = _settings(monkeypatch)
    assert not settings.enabled
    assert (settings.same_site, settings.cookie_seconds, settings.hash_algorithm) == ("Lax", 300, "SHA1")


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"CLOUDFRONT_DOMAIN": "https://d.example"}, "CLOUDFRONT_DOMAIN"),
        ({"CLOUDFRONT_DOMAIN": "d.example/hls"}, "CLOUDFRONT_DOMAIN"),
        ({"CLOUDFRONT_DOMAIN": "d.example", "CLOUDFRONT_PATH_PREFIX": "hls/*"}, "CLOUDFRONT_PATH_PREFIX"),
        ({"CLOUDFRONT_DOMAIN": "d.example", "CLOUDFRONT_KEY_PAIR_ID": "K1; Domain=x"}, "CLOUDFRONT_KEY_PAIR_ID"),
        ({"CLOUDFRONT_DOMAIN": "video.example.com", "CLOUDFRONT_COOKIE_DOMAIN": "ample.com"}, "COOKIE_DOMAIN"),
        ({"CLOUDFRONT_DOMAIN": "d.example", "CLOUDFRONT_COOKIE_SECONDS": "10"}, "CLOUDFRONT_COOKIE_SECONDS"),
        ({"CLOUDFRONT_DOMAIN": "d.example", "CLOUDFRONT_HASH_ALGORITHM": "MD5"}, "CLOUDFRONT_HASH_ALGORITHM"),
        ({"CLOUDFRONT_DOMAIN": "d.example", "CLOUDFRONT_COOKIE_SAME_SITE": "lax"}, "CLOUDFRONT_COOKIE_SAME_SITE"),
    ],
)
def test_bad_settings_are_named(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigurationError, match=named):
        _settings(monkeypatch, **env)


def test_a_cookie_domain_is_the_distributions_or_a_parent(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(monkeypatch, CLOUDFRONT_DOMAIN="Video.Example.com.", CLOUDFRONT_COOKIE_DOMAIN=".example.com")
    assert settings.domain == "video.example.com" and settings.cookie_domain == "example.com"
    assert _settings(monkeypatch, CLOUDFRONT_COOKIE_DOMAIN="").cookie_domain == "video.example.com"
