"""CloudFront signed cookies through the real function (GET /v2/broadcasts/{id}/playback): a play
credential in, CloudFront's Set-Cookie headers out, admitted once by the one access decision.

What the cookies say is checked INDEPENDENTLY of the code that made them: the key pair is made
with openssl as CloudFront's guide makes it (`openssl genrsa`, `openssl rsa -pubout`), the policy
is decoded here with CloudFront's base64 alphabet and compared with the structure the guide
documents, and the signature is verified by `openssl dgst -verify` with the public key.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, T0, Aws, FakeClock, LambdaContext, call, event, load_function
from tests.integration.test_hooks import SECRET, create_subscriber
from tests.unit.test_cloudfront import DOCUMENTED_COOKIE, DOCUMENTED_POLICY

DOMAIN = "d111111abcdef8.cloudfront.net"
KEY_PAIR_ID = "K2JCJMDEHXQW5F"  # the form of a CloudFront public key ID (the guide's example)
CLIENT = "203.0.113.10"
FUTURE = int(T0) + 3600

# -- an independent reading of what the function answered --------------------------------------


def cloudfront_b64decode(value: str) -> bytes:
    """CloudFront's alphabet back to standard base64 (the guide: + → -, = → _, / → ~), strictly."""
    return base64.b64decode(value.translate(str.maketrans("-_~", "+=/")), validate=True)


@dataclass
class SetCookie:
    name: str
    value: str
    attributes: dict[str, str]  # lower-cased attribute name -> value ("" for flags)


def parse_set_cookie(header: str) -> SetCookie:
    first, *rest = header.split(";")
    name, _, value = first.strip().partition("=")
    attributes = {}
    for part in rest:
        key, _, val = part.strip().partition("=")
        attributes[key.lower()] = val
    return SetCookie(name, value, attributes)


@dataclass
class Answer:
    status: int
    body: Any
    cookies: list[SetCookie]
    raw: dict[str, Any]

    def cookie(self, name: str) -> SetCookie:
        (found,) = [c for c in self.cookies if c.name == name]
        return found

    @property
    def policy_bytes(self) -> bytes:
        return cloudfront_b64decode(self.cookie("CloudFront-Policy").value)

    @property
    def policy(self) -> Any:
        return json.loads(self.policy_bytes)

    @property
    def signature(self) -> bytes:
        return cloudfront_b64decode(self.cookie("CloudFront-Signature").value)


def playback(stream: str = "cam1", ip: str | None = CLIENT, **query: str | list[str]) -> Answer:
    multi = {name: value if isinstance(value, list) else [value] for name, value in query.items()}
    evt = event(
        "cloudfront_playback",
        pathParameters={"id": stream},
        queryStringParameters={name: values[-1] for name, values in multi.items()} or None,
        multiValueQueryStringParameters=multi or None,
    )
    evt["requestContext"]["identity"]["sourceIp"] = ip
    raw = load_function("CloudFrontPlaybackFunction").lambda_handler(evt, LambdaContext())
    headers = raw.get("multiValueHeaders") or {}
    assert "Set-Cookie" not in (raw.get("headers") or {})  # each cookie its own header, never folded
    cookies = [parse_set_cookie(h) for h in headers.get("Set-Cookie", [])]
    assert headers["Content-Type"] == ["application/json"] and headers["Cache-Control"] == ["no-store"]
    return Answer(raw["statusCode"], json.loads(raw["body"]), cookies, raw)


def openssl_verifies(keys: Keys, policy: bytes, signature: bytes, digest: str = "sha1") -> bool:
    """`openssl dgst -<digest> -verify pub.pem -signature sig.bin policy.json`, as a reader of
    CloudFront's guide would check a signature by hand."""
    (keys.directory / "policy.json").write_bytes(policy)
    (keys.directory / "sig.bin").write_bytes(signature)
    done = subprocess.run(
        ["openssl", "dgst", f"-{digest}", "-verify", "pub.pem", "-signature", "sig.bin", "policy.json"],
        cwd=keys.directory,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode == 0 and "Verified OK" in done.stdout


# -- the key pair and the deployment -----------------------------------------------------------


@dataclass
class Keys:
    directory: Path
    private_pem: str  # PKCS #8, as OpenSSL 3's genrsa writes it
    traditional_pem: str  # the same key as PKCS #1 ("BEGIN RSA PRIVATE KEY")


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    """The key pair, made as CloudFront's guide makes it: openssl genrsa 2048, openssl rsa -pubout."""
    directory = tmp_path_factory.mktemp("cloudfront-keys")
    subprocess.run(
        ["openssl", "genrsa", "-out", "private_key.pem", "2048"], cwd=directory, check=True, capture_output=True
    )
    subprocess.run(
        ["openssl", "rsa", "-pubout", "-in", "private_key.pem", "-out", "pub.pem"],
        cwd=directory,
        check=True,
        capture_output=True,
    )
    traditional = subprocess.run(
        ["openssl", "rsa", "-traditional", "-in", "private_key.pem"], cwd=directory, check=True, capture_output=True
    ).stdout.decode()
    return Keys(directory, (directory / "private_key.pem").read_text(), traditional)


def put_key(aws: Aws, value: dict[str, Any] | str) -> None:
    """What an operator does (README): put-secret-value on CloudFrontKeySecret."""
    from streamauth.settings import reset_caches

    text = value if isinstance(value, str) else json.dumps(value)
    aws.client("secretsmanager").put_secret_value(SecretId=aws.secret_arns["CloudFrontKeySecret"], SecretString=text)
    reset_caches()


@pytest.fixture
def cdn(aws: Aws, clock: FakeClock, keys: Keys, monkeypatch: pytest.MonkeyPatch) -> Iterator[Keys]:
    """The deployment with CloudFront set up: the domain and key ID as template parameters, the
    private key in the secret."""
    from streamauth.settings import reset_caches

    monkeypatch.setenv("CLOUDFRONT_DOMAIN", DOMAIN)
    monkeypatch.setenv("CLOUDFRONT_KEY_PAIR_ID", KEY_PAIR_ID)
    put_key(aws, {"privateKey": keys.private_pem, "keyPairId": ""})
    yield keys
    reset_caches()


def setting(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    from streamauth.settings import reset_caches

    monkeypatch.setenv(name, value)
    reset_caches()


def one_time(stream: str = "cam1", action: str = "play") -> str:
    from streamauth.models.tokens import TokenRequest
    from streamauth.service.tokens import token_service

    return token_service().issue_one_time(TokenRequest(stream, FUTURE, action, None), T0 - 1).token_id  # type: ignore[arg-type]


def stream_jwt(stream: str = "cam1", action: str = "play", expires: int = FUTURE) -> str:
    from streamauth.models.tokens import TokenRequest
    from streamauth.service.tokens import token_service

    return token_service().issue_jwt(TokenRequest(stream, expires, action, None), T0 - 1).token_id  # type: ignore[arg-type]


def sessions(stream: str = "cam1") -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = call(
        "ListSessionsFunction", event("list_sessions", pathParameters={"id": stream})
    ).body
    return listed


# -- the cookies ------------------------------------------------------------------------------


def test_the_tests_decoder_reads_the_guides_own_example() -> None:
    """The decoder this file checks the function with is right about CloudFront's format."""
    assert json.loads(cloudfront_b64decode(DOCUMENTED_COOKIE)) == DOCUMENTED_POLICY


def test_a_play_token_gets_cloudfronts_three_cookies_with_a_verifiable_custom_policy(cdn: Keys) -> None:
    answer = playback(token=one_time())
    assert answer.status == 200, answer.body
    assert answer.body == {
        "success": True,
        "expires": int(T0) + 300,
        "resource": f"https://{DOMAIN}/hls/cam1/",
        "sessionId": answer.body["sessionId"],
    }
    assert [c.name for c in answer.cookies] == ["CloudFront-Policy", "CloudFront-Signature", "CloudFront-Key-Pair-Id"]
    for cookie in answer.cookies:
        assert cookie.attributes == {
            "path": "/hls/cam1/",  # this stream's directory: other streams' cookies are kept apart
            "domain": DOMAIN,
            "max-age": "300",
            "httponly": "",
            "secure": "",
            "samesite": "Lax",
        }
    # the policy: one statement, the stream's prefix, an unquoted epoch expiry, no whitespace
    assert answer.policy == {
        "Statement": [
            {
                "Resource": f"https://{DOMAIN}/hls/cam1/*",
                "Condition": {"DateLessThan": {"AWS:EpochTime": int(T0) + 300}},
            }
        ]
    }
    assert not any(c in answer.policy_bytes for c in b" \t\r\n")
    assert b'"AWS:EpochTime":1800000300' in answer.policy_bytes
    assert answer.cookie("CloudFront-Key-Pair-Id").value == KEY_PAIR_ID
    # the signature: RSA-SHA1 over exactly the policy bytes, by the public key's openssl
    assert len(answer.signature) == 256  # a 2048-bit RSA signature
    assert openssl_verifies(cdn, answer.policy_bytes, answer.signature)
    tampered = answer.policy_bytes.replace(b"cam1", b"cam2")
    assert not openssl_verifies(cdn, tampered, answer.signature)  # the check can fail
    alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_~")
    assert all(set(c.value) <= alphabet for c in answer.cookies)  # nothing a cookie value cannot hold


def test_a_bound_session_names_the_client_address_and_only_ipv4_can_be_bound(
    cdn: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    setting(monkeypatch, "PLAYBACK_BIND_ADDRESS", "true")
    answer = playback(token=one_time(), ip=CLIENT)
    assert answer.status == 200
    condition = answer.policy["Statement"][0]["Condition"]
    assert condition == {
        "DateLessThan": {"AWS:EpochTime": int(T0) + 300},
        "IpAddress": {"AWS:SourceIp": f"{CLIENT}/32"},
    }
    assert openssl_verifies(cdn, answer.policy_bytes, answer.signature)
    # CloudFront's IpAddress takes IPv4 only: an IPv6 caller is refused before its token is used
    token = one_time()
    refused = playback(token=token, ip="2001:db8::1")
    assert refused.status == 403 and refused.body["reason"] == "address_not_bindable" and refused.cookies == []
    assert playback(token=token, ip="::ffff:198.51.100.7").policy["Statement"][0]["Condition"]["IpAddress"] == {
        "AWS:SourceIp": "198.51.100.7/32"
    }


def test_sha256_adds_the_fourth_cookie_and_signs_with_it(cdn: Keys, monkeypatch: pytest.MonkeyPatch) -> None:
    setting(monkeypatch, "CLOUDFRONT_HASH_ALGORITHM", "SHA256")
    answer = playback(token=one_time())
    assert [c.name for c in answer.cookies] == [
        "CloudFront-Policy",
        "CloudFront-Signature",
        "CloudFront-Key-Pair-Id",
        "CloudFront-Hash-Algorithm",
    ]
    assert answer.cookie("CloudFront-Hash-Algorithm").value == "SHA256"
    assert openssl_verifies(cdn, answer.policy_bytes, answer.signature, "sha256")
    assert not openssl_verifies(cdn, answer.policy_bytes, answer.signature, "sha1")


def test_cookie_domain_path_prefix_and_same_site_follow_the_parameters(
    cdn: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    setting(monkeypatch, "CLOUDFRONT_DOMAIN", "video.example.com")
    setting(monkeypatch, "CLOUDFRONT_COOKIE_DOMAIN", ".example.com")  # API at api.example.com: a parent of both
    setting(monkeypatch, "CLOUDFRONT_PATH_PREFIX", "/live/hls/")
    setting(monkeypatch, "CLOUDFRONT_COOKIE_SAME_SITE", "None")
    answer = playback(token=one_time())
    assert answer.policy["Statement"][0]["Resource"] == "https://video.example.com/live/hls/cam1/*"
    assert answer.body["resource"] == "https://video.example.com/live/hls/cam1/"
    attributes = answer.cookie("CloudFront-Policy").attributes
    assert attributes["domain"] == "example.com" and attributes["path"] == "/live/hls/cam1/"
    assert attributes["samesite"] == "None" and "secure" in attributes
    setting(monkeypatch, "CLOUDFRONT_COOKIE_DOMAIN", "other.com")  # would never reach the distribution
    token = one_time()
    broken = playback(token=token)
    assert broken.status == 500 and "CLOUDFRONT_COOKIE_DOMAIN" in broken.body["message"]
    setting(monkeypatch, "CLOUDFRONT_COOKIE_DOMAIN", "")
    assert playback(token=token).status == 200  # the misconfiguration used nothing


def test_the_secrets_key_pair_id_wins_and_a_pkcs1_key_works_too(
    aws: Aws, cdn: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    put_key(aws, {"privateKey": cdn.traditional_pem, "keyPairId": "K3NEWKEYROTATED"})
    answer = playback(token=one_time())
    assert answer.cookie("CloudFront-Key-Pair-Id").value == "K3NEWKEYROTATED"
    assert openssl_verifies(cdn, answer.policy_bytes, answer.signature)


# -- admission: the one access decision ---------------------------------------------------------


def test_a_one_time_token_is_consumed_once_and_its_grant_is_a_listed_session(cdn: Keys, clock: FakeClock) -> None:
    token = one_time()
    first = playback(token=token)
    assert first.status == 200
    again = playback(token=token)
    assert again.status == 403 and again.body == {
        "success": False,
        "message": "play refused: invalid_token",
        "reason": "invalid_token",
        "dataId": None,
        "errorId": 403,
    }
    assert again.cookies == []
    (session,) = sessions()
    assert session["sessionId"] == first.body["sessionId"]
    assert session["server"] == "cloudfront" and session["action"] == "play" and session["clientIp"] == CLIENT
    assert session["expiresAt"] == first.body["expires"]  # the session lives as long as the cookies
    assert session["credential"]["kind"] == "token"
    clock.advance(301)
    assert sessions() == []


def test_a_revocation_landing_as_the_token_is_used_gets_no_cookie_and_no_session(
    cdn: Keys, aws: Aws, clock: FakeClock
) -> None:
    """The token is used first, then the stream's revocation read: one landing in between is
    seen, and the session written with the token's use is withdrawn."""
    from tests.integration.test_sharding import revoke_on_first_read

    token = one_time()
    landed = revoke_on_first_read(aws, clock, "cam1")
    refused = playback(token=token)
    assert landed and refused.status == 403 and refused.body["reason"] == "revoked"
    assert refused.cookies == [] and sessions() == []


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ({}, "missing_credentials"),
        ({"subscriberId": "alice"}, "missing_credentials"),
        ({"token": "nope"}, "invalid_token"),
        ({"token": "other-stream"}, "invalid_token"),
        ({"token": "publish"}, "invalid_token"),
        ({"token": "jwt-other-stream"}, "invalid_token"),
        ({"token": "jwt-publish"}, "invalid_token"),
    ],
)
def test_refusals_are_403_with_the_reason_and_no_cookie(cdn: Keys, query: dict[str, str], reason: str) -> None:
    made = {
        "other-stream": lambda: one_time("cam2"),
        "publish": lambda: one_time(action="publish"),
        "jwt-other-stream": lambda: stream_jwt("cam2"),
        "jwt-publish": lambda: stream_jwt(action="publish"),
    }
    if query.get("token") in made:
        query = {"token": made[query["token"]]()}
    answer = playback(**query)
    assert answer.status == 403 and answer.body["reason"] == reason and answer.cookies == []
    assert sessions() == []


def test_a_jwt_admits_again_renewing_its_session_and_its_expiry_bounds_the_cookies(
    cdn: Keys, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = stream_jwt(expires=int(T0) + 120)
    first = playback(token=token)
    assert first.status == 200
    assert first.body["expires"] == int(T0) + 120  # capped at its exp (JwtExpiryEndsSessions)
    assert first.policy["Statement"][0]["Condition"]["DateLessThan"]["AWS:EpochTime"] == int(T0) + 120
    clock.advance(30)
    again = playback(token=token)  # a JWT is not used up: the player refreshes its cookies
    assert again.status == 200 and again.body["sessionId"] == first.body["sessionId"]
    elsewhere = playback(token=token, ip="198.51.100.20")  # the same credential from another address
    assert elsewhere.status == 200 and elsewhere.body["sessionId"] != first.body["sessionId"]
    assert len(sessions()) == 2
    setting(monkeypatch, "JWT_EXPIRY_ENDS_SESSIONS", "false")
    assert playback(token=token).body["expires"] == int(clock()) + 300


def test_a_viewer_jwt_admits_while_its_stream_is_open_and_a_revocation_stops_new_cookies(
    cdn: Keys, clock: FakeClock
) -> None:
    body = {"enabled": True}
    opened = event("set_public_viewers", pathParameters={"id": "cam1"}, body=body)
    assert call("SetPublicViewersFunction", opened).status == 200
    clock.advance(1)
    minted = event("create_viewer_token", body={"stream_id": "cam1", "unique_user_identifier": "u1"})
    viewer = call("CreateViewerTokenFunction", minted).body["token"]
    answer = playback(token=viewer)
    assert answer.status == 200 and answer.body["expires"] == int(clock()) + 300
    clock.advance(1)
    assert call("RevokeTokensFunction", event("revoke_tokens", pathParameters={"id": "cam1"})).body["success"]
    assert playback(token=viewer).body["reason"] == "revoked"


def test_a_subscriber_holds_a_connection_slot_for_the_cookies_life(cdn: Keys, clock: FakeClock) -> None:
    from streamauth.logic import totp

    def code() -> str:
        return totp.totp(totp.b32_key(SECRET), clock(), 60)

    create_subscriber(limit=1)
    assert playback(subscriberId="alice", subscriberCode=code()).status == 200
    clock.advance(60)
    refreshed = playback(subscriberId="alice", subscriberCode=code())  # the same player, before expiry
    assert refreshed.status == 200 and refreshed.body["expires"] == int(clock()) + 300
    (session,) = sessions()
    assert session["sessionId"] == "alice~0" and session["expiresAt"] == refreshed.body["expires"]
    clock.advance(60)  # a second viewer: the one slot is held by the first one's cookies
    assert playback(subscriberId="alice", subscriberCode=code(), ip="198.51.100.20").body["reason"] == (
        "connection_limit"
    )
    clock.advance(300)  # those cookies have expired, and the session with them
    assert playback(subscriberId="alice", subscriberCode=code(), ip="198.51.100.20").status == 200
    assert playback(subscriberId="alice", subscriberCode="000000").body["reason"] == "invalid_code"


def test_a_subscriber_with_a_limit_of_two_gets_two_grants_at_once(cdn: Keys, clock: FakeClock) -> None:
    from streamauth.logic import totp
    from streamauth.settings import reset_caches

    create_subscriber("bobby", limit=2)
    reset_caches()  # as in Lambda: this function reads the subscriber seal key itself
    for address, expected in (("198.51.100.1", 200), ("198.51.100.2", 200), ("198.51.100.3", 403)):
        code = totp.totp(totp.b32_key(SECRET), clock(), 60)
        answer = playback(subscriberId="bobby", subscriberCode=code, ip=address)
        assert answer.status == expected, answer.body
        clock.advance(60)  # each grant with a fresh code
    assert answer.body["reason"] == "connection_limit"
    assert sorted(s["sessionId"] for s in sessions()) == ["bobby~0", "bobby~1"]


def test_the_first_of_repeated_query_fields_is_the_credential(cdn: Keys) -> None:
    answer = playback(token=[one_time(), "appended"])
    assert answer.status == 200


def test_dynamodb_requests_per_admission(cdn: Keys) -> None:
    from streamauth.aws import dynamodb_client
    from streamauth.service.streams import states

    token, jwt_token = one_time(), stream_jwt()
    seen: list[str] = []
    dynamodb_client().meta.events.register("before-call.dynamodb.*", lambda model, **_: seen.append(model.name))
    assert playback(token=token).status == 200
    # consume the token and record the session (one transaction), then confirm the token was
    # not revoked meanwhile (one strongly consistent BatchGetItem of it and its stream; the
    # stream's item is in no transaction, where a crowd's admissions would conflict on it)
    assert seen == ["TransactWriteItems", "BatchGetItem"]
    seen.clear()
    states.forget()
    assert playback(token=jwt_token).status == 200
    assert seen == ["GetItem", "PutItem"]  # the stream's revocation time, then the session
    seen.clear()
    assert playback(token=jwt_token).status == 200
    # CloudFront never asks again, so a grant never trusts a cached state: a revocation or a
    # close refuses new cookies at once (one strongly consistent read per grant)
    assert seen == ["GetItem", "PutItem"]


# -- access policies compiled into the cookies ------------------------------------------------------


def stream_policy(body: dict[str, Any], stream: str = "cam1") -> None:
    evt = event("set_stream_policy", pathParameters={"id": stream}, body=body)
    assert call("SetStreamPolicyFunction", evt).status == 200


def test_a_policys_times_and_allowed_network_are_compiled_into_the_cookies(cdn: Keys, clock: FakeClock) -> None:
    """What CloudFront can enforce on every request it is told: notBefore as DateGreaterThan,
    maxSessionSeconds as an earlier DateLessThan, allowCidrs as IpAddress (the network holding the
    viewer); the cookies and the reply's expiry say the same."""
    stream_policy(
        {
            "notBefore": int(T0) - 10,
            "maxSessionSeconds": 120,
            "allowCidrs": ["198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"],
            "denyCidrs": ["203.0.113.128/25"],
            "denyCountries": ["RU"],
        }
    )
    answer = playback(token=one_time(), ip=CLIENT)
    assert answer.status == 200, answer.body
    assert answer.policy["Statement"][0]["Condition"] == {
        "DateLessThan": {"AWS:EpochTime": int(T0) + 120},
        "DateGreaterThan": {"AWS:EpochTime": int(T0) - 10},
        "IpAddress": {"AWS:SourceIp": "203.0.113.0/24"},
    }
    assert answer.body["expires"] == int(T0) + 120
    assert {c.attributes["max-age"] for c in answer.cookies} == {"120"}
    assert openssl_verifies(cdn, answer.policy_bytes, answer.signature)
    # what CloudFront cannot say was judged at this grant: a denied network, a country
    assert playback(token=one_time(), ip="203.0.113.200").body["reason"] == "address_not_allowed"


def test_the_narrowest_network_of_every_policy_and_a_bound_address_narrower_still(
    cdn: Keys, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamauth.models.policies import parse_policy
    from streamauth.models.tokens import TokenRequest
    from streamauth.service.tokens import token_service

    stream_policy({"allowCidrs": ["203.0.113.0/24"]})
    own = parse_policy({"allowCidrs": ["203.0.113.0/28"], "maxSessionSeconds": 60})
    token = token_service().issue_jwt(TokenRequest("cam1", FUTURE, "play", None, policy=own), T0 - 1).token_id
    condition = playback(token=token, ip=CLIENT).policy["Statement"][0]["Condition"]
    assert condition == {
        "DateLessThan": {"AWS:EpochTime": int(T0) + 60},
        "IpAddress": {"AWS:SourceIp": "203.0.113.0/28"},
    }
    setting(monkeypatch, "PLAYBACK_BIND_ADDRESS", "true")
    bound = playback(token=token, ip=CLIENT).policy["Statement"][0]["Condition"]
    assert bound["IpAddress"] == {"AWS:SourceIp": f"{CLIENT}/32"}  # the viewer's own: narrower than /28


def test_an_ipv6_viewers_network_cannot_be_written_and_is_judged_at_the_grant(cdn: Keys) -> None:
    """CloudFront's IpAddress takes IPv4 only: an IPv6 viewer that the policy admits gets cookies
    without it (the policy was judged at the grant); one it refuses gets none."""
    stream_policy({"allowCidrs": ["2001:db8::/32"]})
    answer = playback(token=one_time(), ip="2001:db8::7")
    assert answer.status == 200 and "IpAddress" not in answer.policy["Statement"][0]["Condition"]
    refused = playback(token=one_time(), ip="2001:db9::7")
    assert refused.status == 403 and refused.body["reason"] == "address_not_allowed" and refused.cookies == []


def test_a_subscribers_policy_is_compiled_too(cdn: Keys, clock: FakeClock) -> None:
    from streamauth.logic import totp
    from streamauth.settings import reset_caches

    body = {"subscriberId": "carol", "type": "play", "b32Secret": SECRET, "policy": {"allowCidrs": ["203.0.113.8/29"]}}
    created = call("CreateSubscriberFunction", event("create_subscriber", pathParameters={"id": "cam1"}, body=body))
    assert created.body["success"] is True
    reset_caches()  # as in Lambda: this function reads the subscriber seal key itself
    answer = playback(subscriberId="carol", subscriberCode=totp.totp(totp.b32_key(SECRET), clock(), 60))
    assert answer.status == 200, answer.body
    assert answer.policy["Statement"][0]["Condition"]["IpAddress"] == {"AWS:SourceIp": "203.0.113.8/29"}


# -- input and configuration ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stream", "query", "field"),
    [
        ("bad*id", {"token": "x"}, "id"),
        ("cam1", {"token": "a b"}, "token"),
        ("cam1", {"token": "x" * 5000}, "token"),
        ("cam1", {"subscriberId": "alice", "subscriberCode": "12ab56"}, "subscriberCode"),
        ("cam1", {"subscriberId": "a", "subscriberCode": "123456"}, "subscriberId"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(cdn: Keys, stream: str, query: dict[str, str], field: str) -> None:
    answer = playback(stream, **query)
    assert answer.status == 400 and answer.body["field"] == field and answer.cookies == []


def test_without_a_cloudfront_domain_the_route_is_off_and_uses_nothing(
    aws: Aws, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = one_time()
    answer = playback(token=token)  # the template's default: CloudFrontDomain ""
    assert answer.status == 404 and "CloudFrontDomain" in answer.body["message"] and answer.cookies == []
    setting(monkeypatch, "CLOUDFRONT_DOMAIN", DOMAIN)
    setting(monkeypatch, "CLOUDFRONT_KEY_PAIR_ID", KEY_PAIR_ID)
    assert playback(token=token).status == 500  # no key yet; and still the token was not used


@pytest.mark.parametrize(
    ("secret", "named"),
    [
        (None, "no privateKey"),  # as the stack creates it: {"privateKey": "", "keyPairId": ""}
        ({"privateKey": "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n"}, "privateKey is not"),
        ("not json", "not JSON"),
        ({"privateKey": "pem", "keyPairId": "K1;Domain=evil"}, "keyPairId"),
    ],
)
def test_a_missing_or_bad_key_is_a_500_naming_it_and_uses_no_credential(
    aws: Aws, cdn: Keys, monkeypatch: pytest.MonkeyPatch, secret: dict[str, str] | str | None, named: str
) -> None:
    put_key(aws, secret if secret is not None else {"privateKey": "", "keyPairId": ""})
    token = one_time()
    answer = playback(token=token)
    assert answer.status == 500 and named in answer.body["message"] and "cloudFront secret" in answer.body["message"]
    assert "BEGIN" not in answer.body["message"] and answer.cookies == []
    put_key(aws, {"privateKey": cdn.private_pem})
    assert playback(token=token).status == 200  # nothing was consumed by the failed call


def test_no_key_pair_id_anywhere_is_a_500_naming_the_parameter(cdn: Keys, monkeypatch: pytest.MonkeyPatch) -> None:
    setting(monkeypatch, "CLOUDFRONT_KEY_PAIR_ID", "")
    answer = playback(token=one_time())
    assert answer.status == 500 and "CloudFrontKeyPairId" in answer.body["message"]


def test_the_templates_secret_starts_without_key_material(aws: Aws) -> None:
    value = aws.client("secretsmanager").get_secret_value(SecretId=aws.secret_arns["CloudFrontKeySecret"])
    assert json.loads(value["SecretString"]) == {"privateKey": "", "keyPairId": ""}


def test_cryptography_is_this_functions_own_dependency_imported_on_first_use() -> None:
    """The layer stays small and every other cold start untouched: cryptography is in the crypto
    layer (layers/crypto, attached to the functions that need it, this one among them), not the
    shared layer's, and importing the handler does not import it (the first signature does)."""
    from localapi import template as tpl

    layer = (ROOT / "layers/streamauth/requirements.txt").read_text()
    assert "cryptography" not in layer and "cryptography" not in (ROOT / "layers/streamauth/pyproject.toml").read_text()
    crypto = (ROOT / "layers/crypto/requirements.txt").read_text()
    assert any(line.startswith("cryptography") for line in crypto.splitlines())
    assert "CryptoLayer" in tpl.functions()["CloudFrontPlaybackFunction"].layers
    assert list((ROOT / "functions").glob("*/requirements.txt")) == []
    code = (
        "import sys; import app; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'cryptography', 'cffi', 'moto'}))"
    )
    path = [str(ROOT / "functions/cloudfront_playback"), str(ROOT / "layers/streamauth")]
    done = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path[:0] = {path!r}; " + code],
        capture_output=True,
        text=True,
        check=True,
        env={"POWERTOOLS_SERVICE_NAME": "streamauth", "AWS_DEFAULT_REGION": "us-east-1", "PATH": ""},
    )
    assert done.stdout.strip() == "[]"
