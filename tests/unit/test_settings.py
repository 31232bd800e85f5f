"""Keys: one secret per purpose, each key long enough and unlike every other, never printed."""

from __future__ import annotations

import json

import pytest

from streamauth.errors import ConfigurationError
from streamauth.keys import SECRET_OF_KEY, check_all_keys, check_keys, keys_from_secret
from streamauth.settings import SECRETS

LONG = "a" * 40


def test_each_secret_holds_its_own_keys() -> None:
    assert keys_from_secret("hook", json.dumps({"hookSecret": LONG})) == {"hookSecret": LONG}
    found = keys_from_secret("subscribers", json.dumps({"subscriberSecretKey": LONG, "publishTotpSecret": "b" * 32}))
    assert found == {"subscriberSecretKey": LONG, "publishTotpSecret": "b" * 32}
    assert len(SECRET_OF_KEY) == sum(len(s.keys) + len(s.optional) for s in SECRETS.values())  # no key in two


@pytest.mark.parametrize(
    ("name", "secret", "named"),
    [
        ("hook", "not json", "not JSON"),
        ("hook", "[]", "not a JSON object"),
        ("hook", json.dumps({}), "hookSecret"),
        ("hook", json.dumps({"hookSecret": "short"}), "hookSecret"),
        ("subscribers", json.dumps({"subscriberSecretKey": LONG, "playTotpSecret": "short"}), "playTotpSecret"),
        ("subscribers", json.dumps({"subscriberSecretKey": LONG, "playTotpSecret": LONG}), "playTotpSecret"),
    ],
)
def test_bad_secrets_are_configuration_errors_naming_the_key(name: str, secret: str, named: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        keys_from_secret(name, secret)
    assert named in caught.value.message
    assert LONG not in caught.value.message  # names, never values


def test_equal_keys_across_secrets_are_refused_by_name() -> None:
    """The attack: pin restJwtSecret equal to jwtStreamKey, and a client-signed stream token
    would verify as an operator credential."""
    strings = {
        "operator": json.dumps({"restJwtSecret": LONG}),
        "streamJwt": json.dumps({"jwtStreamKey": LONG}),
        "hook": json.dumps({"hookSecret": "h" * 40}),
    }
    with pytest.raises(ConfigurationError) as caught:
        check_all_keys(strings)
    assert "jwtStreamKey" in caught.value.message and "restJwtSecret" in caught.value.message
    assert LONG not in caught.value.message


def test_a_key_under_32_bytes_is_refused_even_if_its_characters_are_many_bytes() -> None:
    check_keys({"a": "é" * 16, "b": "x" * 32})  # 32 bytes in UTF-8: long enough
    with pytest.raises(ConfigurationError, match="shorter than 32 bytes: a"):
        check_keys({"a": "x" * 31, "b": "y" * 32})


def test_the_media_server_registry_is_configuration_read_through_the_key_ring(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a key: no key rules, its own loader; fetched and refreshed like the keys."""
    from streamauth import keys, settings

    registry = json.dumps({"servers": [{"id": "srs1", "kind": "srs", "apiUrl": "http://10.0.0.6:1985"}]})
    with pytest.raises(ConfigurationError, match="configuration, not keys"):
        keys_from_secret("mediaServers", registry)
    check_all_keys({"hook": json.dumps({"hookSecret": LONG}), "mediaServers": '{"servers": []}'})  # skipped, not short

    fetched: list[str] = []

    def fetch(arn: str) -> str:
        fetched.append(arn)
        return registry

    monkeypatch.setenv("MEDIA_SERVERS_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:1:secret:registry")
    monkeypatch.setenv("SECRET_CACHE_SECONDS", "300")
    settings.reset_caches()
    ring = keys._KeyRing(fetch)
    first = ring.document("mediaServers", json.loads)
    assert first["servers"][0]["id"] == "srs1" and ring.document("mediaServers", json.loads) is first
    assert fetched == ["arn:aws:secretsmanager:us-east-1:1:secret:registry"]  # once per cache period
    ring.forget()
    ring.document("mediaServers", json.loads)
    assert len(fetched) == 2
    with pytest.raises(ConfigurationError, match="keys, not configuration"):
        ring.document("hook", json.loads)
    monkeypatch.delenv("MEDIA_SERVERS_SECRET_ARN")
    settings.reset_caches()
    with pytest.raises(ConfigurationError, match="MEDIA_SERVERS_SECRET_ARN is not set"):
        keys._KeyRing(fetch).document("mediaServers", json.loads)
    settings.reset_caches()
