"""Keys: derived per purpose from one master secret, optionally pinned, never printed."""

from __future__ import annotations

import json

import pytest

from streamauth.errors import ConfigurationError
from streamauth.settings import DERIVED_KEYS, keys_from_secret

MASTER = "a" * 64


def test_every_purpose_gets_its_own_key() -> None:
    keys = keys_from_secret(json.dumps({"master": MASTER}))
    values = [
        keys.rest_jwt_secret,
        keys.jwt_stream_key,
        keys.subscriber_auth_key,
        keys.viewer_jwt_key,
        keys.hook_secret,
    ]
    assert len(set(values)) == len(values)
    assert all(len(v) >= 32 for v in values)
    assert keys.publish_totp_secret is None and keys.play_totp_secret is None


def test_pinned_keys_win_and_repr_hides_them() -> None:
    pinned = "p" * 40
    keys = keys_from_secret(json.dumps({"master": MASTER, "jwtStreamKey": pinned, "publishTotpSecret": "abc"}))
    assert keys.jwt_stream_key == pinned
    assert keys.publish_totp_secret == "abc"
    assert pinned not in repr(keys) and MASTER not in repr(keys)


@pytest.mark.parametrize(
    "secret",
    [
        "not json",
        "[]",
        json.dumps({}),
        json.dumps({"master": "short"}),
        json.dumps({"master": MASTER, "jwtStreamKey": "short"}),
    ],
)
def test_bad_secrets_are_configuration_errors(secret: str) -> None:
    with pytest.raises(ConfigurationError):
        keys_from_secret(secret)


def test_derived_key_names_are_unique() -> None:
    assert len(set(DERIVED_KEYS)) == len(DERIVED_KEYS)
