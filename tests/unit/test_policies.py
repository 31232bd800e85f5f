"""Access policies: the model (parse, validate, the compact form) and the one rule's policy part
(logic/admission.py `policy_verdict`, through `verdict`), pure: no store, time passed in."""

from __future__ import annotations

from typing import Any

import pytest

from streamauth.errors import BadRequest
from streamauth.logic.admission import Facts, Reason, Rules, policy_verdict, renew_verdict, verdict
from streamauth.models.policies import (
    Client,
    Policy,
    country_of,
    origin_of,
    parse_address,
    parse_policy,
    parse_policy_query,
    policy_from_compact,
    policy_text,
)
from streamauth.models.sessions import CredentialRef
from streamauth.models.streams import StreamState
from streamauth.models.subscribers import Subscriber

NOW = 1_800_000_000.0
RTMP = Client("203.0.113.7", protocol="rtmp")


def policy(**fields: Any) -> Policy:
    return parse_policy(fields)


# -- the model ---------------------------------------------------------------------------------
def test_a_full_policy_parses_and_reads_back_in_both_forms() -> None:
    given = {
        "allowCidrs": ["203.0.113.0/24", "2001:db8::/32", "198.51.100.9"],
        "denyCidrs": ["203.0.113.128/25"],
        "allowCountries": ["de", "FR"],
        "denyCountries": ["RU"],
        "allowOrigins": ["https://Player.Example.com", "https://*.example.org:8443", "http://localhost:8080/"],
        "notBefore": 1_800_000_000,
        "maxSessionSeconds": 3600,
        "protocols": ["hls", "rtmp"],
        "maxSessions": 2,
        "bindOnFirstUse": 1,
        "sharing": {"addresses": 3, "windowSeconds": 600, "action": "end"},
    }
    parsed = parse_policy(given, stream=True)
    assert parsed.to_dict() == {
        "allowCidrs": ["203.0.113.0/24", "2001:db8::/32", "198.51.100.9/32"],
        "denyCidrs": ["203.0.113.128/25"],
        "allowCountries": ["DE", "FR"],
        "denyCountries": ["RU"],
        "allowOrigins": ["https://player.example.com", "https://*.example.org:8443", "http://localhost:8080"],
        "notBefore": 1_800_000_000,
        "maxSessionSeconds": 3600,
        "protocols": ["rtmp", "hls"],
        "maxSessions": 2,
        "bindOnFirstUse": 1,
        "sharing": {"addresses": 3, "countries": None, "windowSeconds": 600, "action": "end", "blockSeconds": 300},
    }
    assert policy_from_compact(parsed.compact()) == parsed
    assert policy_from_compact(parsed.compact_json()) == parsed
    assert parse_policy(parsed.to_dict(), stream=True) == parsed


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"allowCidrs": ["10.0.0.1/24"]}, "allowCidrs", "did you mean 10.0.0.0/24"),  # host bits: no silent widening
        ({"allowCidrs": ["10.0.0.0/33"]}, "allowCidrs", "CIDR"),
        ({"denyCidrs": ["example.com"]}, "denyCidrs", "CIDR"),
        ({"allowCidrs": "10.0.0.0/8"}, "allowCidrs", "JSON list"),  # a JSON body's list is a list (the spec's)
        ({"allowOrigins": ""}, "allowOrigins", "JSON list"),  # not the empty list either
        ({"allowCidrs": [1]}, "allowCidrs", "list of strings"),
        ({"allowCidrs": ["10.0.0.0/8", ""]}, "allowCidrs", "empty entry"),
        ({"allowCidrs": [f"10.0.{i}.0/24" for i in range(51)]}, "allowCidrs", "at most 50"),
        ({"allowCountries": ["Germany"]}, "allowCountries", "alpha-2"),
        ({"allowCountries": ["D1"]}, "allowCountries", "alpha-2"),
        ({"allowCountries": ["DE"], "denyCountries": ["de"]}, "denyCountries", "also in allowCountries"),
        ({"allowOrigins": ["example.com"]}, "allowOrigins", "origin"),
        ({"allowOrigins": ["https://example.com/player"]}, "allowOrigins", "origin"),
        ({"allowOrigins": ["https://user@example.com"]}, "allowOrigins", "origin"),
        ({"allowOrigins": ["ftp://example.com"]}, "allowOrigins", "origin"),
        ({"allowOrigins": ["https://exa mple.com"]}, "allowOrigins", "host"),
        ({"allowOrigins": [f"https://h{i}.example.com" for i in range(11)]}, "allowOrigins", "at most 10"),
        ({"protocols": ["rtmp", "dash"]}, "protocols", "not one of"),
        ({"allowCountries": ["DE", " FR"]}, "allowCountries", "spaces around it"),  # as written: not trimmed
        ({"protocols": ["rtmp", "hls "]}, "protocols", "spaces around it"),
        ({"allowCidrs": ["10.0.0.0/255.0.0.0"]}, "allowCidrs", "CIDR"),  # a netmask: CIDR notation only
        ({"allowCidrs": ["::ffff:10.0.0.1"]}, "allowCidrs", "CIDR"),
        ({"allowOrigins": ["https://example.com:0"]}, "allowOrigins", "origin"),
        ({"notBefore": "1800000000"}, "notBefore", "JSON number"),
        ({"notBefore": 1_800_000_000_000}, "notBefore", "milliseconds"),
        ({"maxSessionSeconds": 0}, "maxSessionSeconds", "at least 1"),
        ({"maxSessionSeconds": True}, "maxSessionSeconds", "JSON number"),
        ({"maxSesionSeconds": 60}, "policy.maxSesionSeconds", "not a policy field"),  # a typo must not admit
    ],
)
def test_bad_policies_are_a_400_naming_the_field(fields: dict[str, Any], field: str, says: str) -> None:
    # a policy inside a body (a subscriber's, a viewer token's `policy`): named within it
    with pytest.raises(BadRequest) as raised:
        parse_policy(fields)
    assert raised.value.field == (field if field.startswith("policy.") else f"policy.{field}")
    assert says in raised.value.message and not raised.value.message.startswith(f"policy.{field}: {field}:")
    # a stream's body (PUT .../policy) is the policy itself: its fields named bare
    with pytest.raises(BadRequest) as raised:
        parse_policy(fields, "body", stream=True)
    assert raised.value.field == field.replace("policy.", "body.")
    assert says in raised.value.message


def test_a_policy_must_be_an_object() -> None:
    values: tuple[object, ...] = (None, [], "allowCidrs", 3)
    for value in values:
        with pytest.raises(BadRequest) as raised:
            parse_policy(value)
        assert raised.value.field == "policy"


def test_query_form_is_comma_separated_and_absent_when_nothing_is_named() -> None:
    assert parse_policy_query({"expireDate": "1", "type": "play"}) is None
    assert parse_policy_query({"allowCidrs": ""}) is None
    found = parse_policy_query({"allowCidrs": "203.0.113.0/24,2001:db8::/32", "maxSessionSeconds": "600"})
    assert found is not None and [str(n) for n in found.allow_cidrs] == ["203.0.113.0/24", "2001:db8::/32"]
    assert found.max_session_seconds == 600
    with pytest.raises(BadRequest) as raised:
        parse_policy_query({"maxSessionSeconds": "10m"})
    assert raised.value.field == "maxSessionSeconds"
    with pytest.raises(BadRequest) as raised:
        parse_policy_query({"protocols": "rtmp, hls"})  # entries as written: no spaces
    assert raised.value.field == "protocols" and "spaces around it" in raised.value.message


def test_a_query_list_is_at_most_2500_characters() -> None:
    """openapi.yaml's maxLength on each policy query parameter, the parser's rule too: ten origins
    of long (valid) host names are within the count and past the length."""
    origins = ",".join(f"https://{'.'.join(['a' * 63] * 4)}.com" for _ in range(10))
    with pytest.raises(BadRequest) as raised:
        parse_policy_query({"allowOrigins": origins})
    assert raised.value.field == "allowOrigins" and "2500 characters" in raised.value.message
    assert parse_policy_query({"allowOrigins": origins[:2500].rsplit(",", 1)[0]}) is not None


def test_compact_form_refuses_what_is_not_a_policy() -> None:
    for bad in ("not json", "[]", '{"zz": 1}', '{"a": "300.0.0.0/8"}', 7):
        with pytest.raises(BadRequest):
            policy_from_compact(bad)
    assert policy_text(Policy()) is None and policy_text(None) is None


def test_addresses_as_servers_report_them() -> None:
    assert str(parse_address("::ffff:203.0.113.7")) == "203.0.113.7"  # a dual-stack socket's IPv4 client
    assert str(parse_address("fe80::1%eth0")) == "fe80::1"
    assert str(parse_address("[2001:db8::1]")) == "2001:db8::1"
    for junk in (None, "", "unknown", "203.0.113.7:1935", "203.0.113.7, 10.0.0.1"):
        assert parse_address(junk) is None


def test_origins_and_countries_from_headers() -> None:
    assert origin_of("https://Player.Example.com") == "https://player.example.com"
    assert origin_of("https://example.com:443") == "https://example.com"
    assert origin_of(None, "https://example.com:8443/watch?v=1") == "https://example.com:8443"
    assert origin_of("null", "https://example.com/x") == "https://example.com"  # an opaque origin names none
    assert origin_of("null") is None and origin_of("javascript:alert(1)") is None and origin_of("") is None
    assert origin_of("https://example.com:99999") is None
    assert country_of("de") == "DE" and country_of("DEU") is None and country_of("1A") is None


# -- the rule ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "client", "reason"),
    [
        ({"allowCidrs": ["203.0.113.0/24"]}, RTMP, Reason.ALLOWED),
        ({"allowCidrs": ["198.51.100.0/24"]}, RTMP, Reason.ADDRESS_NOT_ALLOWED),
        ({"allowCidrs": ["203.0.113.0/24"], "denyCidrs": ["203.0.113.0/29"]}, RTMP, Reason.ADDRESS_NOT_ALLOWED),
        ({"denyCidrs": ["2001:db8::/32"]}, RTMP, Reason.ALLOWED),  # another family never matches
        ({"allowCidrs": ["2001:db8::/32"]}, Client("2001:db8::5", protocol="rtmp"), Reason.ALLOWED),
        ({"allowCidrs": ["203.0.113.0/24"]}, Client("::ffff:203.0.113.7", protocol="rtmp"), Reason.ALLOWED),
        ({"allowCidrs": ["203.0.113.0/24"]}, Client(None, protocol="rtmp"), Reason.ADDRESS_NOT_ALLOWED),
        ({"denyCidrs": ["10.0.0.0/8"]}, Client("garbage", protocol="rtmp"), Reason.ADDRESS_NOT_ALLOWED),
        ({"allowCountries": ["DE"]}, Client("203.0.113.7", "DE"), Reason.ALLOWED),
        ({"allowCountries": ["DE"]}, Client("203.0.113.7", "FR"), Reason.COUNTRY_NOT_ALLOWED),
        ({"allowCountries": ["DE"]}, RTMP, Reason.COUNTRY_NOT_ALLOWED),  # unknown: an allow list refuses
        ({"denyCountries": ["RU"]}, Client("203.0.113.7", "RU"), Reason.COUNTRY_NOT_ALLOWED),
        ({"denyCountries": ["RU"]}, RTMP, Reason.ALLOWED),  # unknown: a deny list cannot match
        (
            {"allowOrigins": ["https://*.example.com"]},
            Client(origin="https://a.example.com", browser=True),
            Reason.ALLOWED,
        ),
        (
            {"allowOrigins": ["https://*.example.com"]},
            Client(origin="https://example.com", browser=True),
            Reason.ORIGIN_NOT_ALLOWED,
        ),
        (
            {"allowOrigins": ["https://*.example.com"]},
            Client(origin="https://evilexample.com", browser=True),
            Reason.ORIGIN_NOT_ALLOWED,
        ),
        (
            {"allowOrigins": ["https://*.example.com"]},
            Client(origin="http://a.example.com", browser=True),
            Reason.ORIGIN_NOT_ALLOWED,
        ),
        ({"allowOrigins": ["https://example.com"]}, Client(origin=None, browser=True), Reason.ORIGIN_NOT_ALLOWED),
        ({"allowOrigins": ["https://example.com"]}, RTMP, Reason.ALLOWED),  # RTMP has no page: not judged
        ({"protocols": ["hls"]}, RTMP, Reason.PROTOCOL_NOT_ALLOWED),
        ({"protocols": ["rtmp"]}, RTMP, Reason.ALLOWED),
        ({"protocols": ["rtmp"]}, Client("203.0.113.7"), Reason.PROTOCOL_NOT_ALLOWED),  # unknown protocol
        ({"notBefore": int(NOW) + 1}, RTMP, Reason.NOT_YET_VALID),
        ({"notBefore": int(NOW)}, RTMP, Reason.ALLOWED),
    ],
)
def test_each_rule(fields: dict[str, Any], client: Client, reason: Reason) -> None:
    assert policy_verdict([policy(**fields)], client, NOW) is reason


def test_without_a_client_only_times_are_judged() -> None:
    """validate-token and viewer checks name no client: a client rule cannot be judged there."""
    assert policy_verdict([policy(allowCidrs=["10.0.0.0/8"], protocols=["hls"])], None, NOW) is Reason.ALLOWED
    assert policy_verdict([policy(notBefore=int(NOW) + 60)], None, NOW) is Reason.NOT_YET_VALID


def test_max_session_seconds_counts_from_the_sessions_start() -> None:
    limit = policy(maxSessionSeconds=600)
    started = int((NOW - 600) * 1000)
    assert policy_verdict([limit], RTMP, NOW, None) is Reason.ALLOWED  # at admission: no age
    assert policy_verdict([limit], RTMP, NOW, started) is Reason.ALLOWED  # exactly its limit
    assert policy_verdict([limit], RTMP, NOW + 0.001, started) is Reason.SESSION_TOO_LONG


def test_a_credentials_policy_only_narrows_its_streams() -> None:
    """Both apply: a credential cannot widen what its stream allows, whatever it says."""
    stream = policy(allowCidrs=["203.0.113.0/24"])
    wider = policy(allowCidrs=["0.0.0.0/0"])
    narrower = policy(allowCidrs=["203.0.113.0/28"])
    outside = Client("203.0.113.200", protocol="rtmp")
    assert policy_verdict([stream, wider], Client("198.51.100.1", protocol="rtmp"), NOW) is Reason.ADDRESS_NOT_ALLOWED
    assert policy_verdict([stream, narrower], outside, NOW) is Reason.ADDRESS_NOT_ALLOWED
    assert policy_verdict([stream, narrower], RTMP, NOW) is Reason.ALLOWED


def test_the_verdict_judges_every_policy_for_every_kind_of_credential() -> None:
    stream = StreamState(policy=policy(allowCidrs=["203.0.113.0/24"]))
    away = Client("198.51.100.1", protocol="rtmp")
    for kind in ("token", "jwt", "subscriber"):
        credential = CredentialRef(kind, "ref", issued_at_ms=int(NOW * 1000), subscriber_id="alice")  # type: ignore[arg-type]
        assert verdict(credential, "play", Facts(stream, client=RTMP), Rules(), NOW) is Reason.ALLOWED
        assert verdict(credential, "play", Facts(stream, client=away), Rules(), NOW) is Reason.ADDRESS_NOT_ALLOWED
    own = CredentialRef("jwt", "ref", int(NOW * 1000), policy=policy(protocols=["hls"]))
    assert verdict(own, "play", Facts(stream, client=RTMP), Rules(), NOW) is Reason.PROTOCOL_NOT_ALLOWED
    subscriber = Subscriber("alice", "cam1", "play", policy=policy(denyCidrs=["203.0.113.7/32"]))
    facts = Facts(stream, subscriber, subscriber_stored=True, client=RTMP)
    assert verdict(CredentialRef("subscriber", "alice", subscriber_id="alice"), "play", facts, Rules(), NOW) is (
        Reason.ADDRESS_NOT_ALLOWED
    )


def test_the_credentials_own_standing_is_judged_first() -> None:
    """A revoked token from a refused address is `revoked`: what the operator did, not where."""
    state = StreamState(revoked_at_ms=int(NOW * 1000), policy=policy(allowCidrs=["10.0.0.0/8"]))
    credential = CredentialRef("token", "ref", issued_at_ms=int(NOW * 1000) - 1)
    assert verdict(credential, "play", Facts(state, client=RTMP), Rules(), NOW) is Reason.REVOKED


def test_renew_keeps_the_credentials_policy_when_expiry_does_not_end_sessions() -> None:
    credential = CredentialRef(
        "jwt", "ref", int(NOW * 1000), expires_at=int(NOW) - 3600, policy=policy(maxSessionSeconds=60)
    )
    facts = Facts(StreamState(), client=RTMP, started_at_ms=int((NOW - 61) * 1000))
    rules = Rules(jwt_expiry_ends_sessions=False)
    assert renew_verdict(credential, "play", facts, rules, NOW) is Reason.SESSION_TOO_LONG
