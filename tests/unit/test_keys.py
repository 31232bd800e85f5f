"""Keys you can rotate: the v2 seal (AES-256-GCM bound to its item, a kid in the blob) and the
ES256 key set's states and rotation plan, on a controlled clock."""

from __future__ import annotations

import base64
import json
import secrets

import pytest

from streamauth.errors import ConfigurationError
from streamauth.keys import keys_from_secret
from streamauth.logic import keyset, sealing, totp
from streamauth.logic.totp import SealError
from streamauth.models.signing_keys import PrivateSigningKey, parse_public_keys, parse_signing_keys

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
LEGACY = "s" * 64


def b64key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


# -- the v2 seal -----------------------------------------------------------------------------


def test_a_v2_seal_round_trips_with_a_fresh_nonce_and_its_kid_in_the_blob() -> None:
    keys = sealing.SealKeys.of({"k1": b64key()}, "k1", LEGACY)
    sealed = sealing.seal(SECRET, keys, "cam1", "alice")
    version, kid, nonce, body = sealed.split(".")
    assert (version, kid) == ("v2", "k1") and SECRET not in sealed
    assert len(base64.urlsafe_b64decode(nonce + "==")) == 12  # 96-bit nonce
    assert len(base64.urlsafe_b64decode(body + "==")) == len(SECRET) + 16  # ciphertext + GCM tag
    assert sealing.unseal(sealed, keys, "cam1", "alice") == SECRET
    assert sealing.seal(SECRET, keys, "cam1", "alice") != sealed


@pytest.mark.parametrize(("stream", "subscriber"), [("cam2", "alice"), ("cam1", "bob"), ("cam1alice", "")])
def test_a_blob_is_bound_to_its_subscriber_item(stream: str, subscriber: str) -> None:
    """Associated data = the item's key: copied onto another subscriber it does not open."""
    keys = sealing.SealKeys.of({}, None, LEGACY)
    sealed = sealing.seal(SECRET, keys, "cam1", "alice")
    with pytest.raises(SealError, match="bad tag"):
        sealing.unseal(sealed, keys, stream, subscriber)


def test_tampering_and_a_forged_kid_are_refused() -> None:
    keys = sealing.SealKeys.of({"k1": b64key(), "k2": b64key()}, "k1", LEGACY)
    sealed = sealing.seal(SECRET, keys, "cam1", "alice")
    version, kid, nonce, body = sealed.split(".")
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    for bad in (f"{version}.{kid}.{nonce}.{flipped}", f"{version}.k2.{nonce}.{body}", f"v3.{kid}.{nonce}.{body}"):
        with pytest.raises(SealError):
            sealing.unseal(bad, keys, "cam1", "alice")
    with pytest.raises(SealError, match="no longer holds"):
        sealing.unseal(f"{version}.gone.{nonce}.{body}", keys, "cam1", "alice")


def test_v1_blobs_are_read_and_marked_for_resealing() -> None:
    keys = sealing.SealKeys.of({}, None, LEGACY)
    old = totp.seal(SECRET, LEGACY)
    assert sealing.unseal(old, keys, "cam1", "alice") == SECRET
    assert sealing.needs_reseal(old, keys)
    assert not sealing.needs_reseal(sealing.seal(SECRET, keys, "cam1", "alice"), keys)


def test_rotating_the_seal_key_keeps_every_blob_readable_and_reseals_to_the_new_kid() -> None:
    """Kid 0 (derived from subscriberSecretKey) seals on a new stack; an operator adds k1 and makes
    it current: blobs under 0 still open, and are the ones to re-seal."""
    before = sealing.SealKeys.of({}, None, LEGACY)
    under_zero = sealing.seal(SECRET, before, "cam1", "alice")
    assert under_zero.startswith("v2.0.")
    after = sealing.SealKeys.of({"k1": b64key()}, "k1", LEGACY)
    assert sealing.unseal(under_zero, after, "cam1", "alice") == SECRET
    assert sealing.needs_reseal(under_zero, after)
    assert sealing.seal(SECRET, after, "cam1", "alice").startswith("v2.k1.")


def test_seal_keys_must_be_32_bytes_and_the_secret_checks_them_as_keys() -> None:
    with pytest.raises(ConfigurationError, match="sealKeys.k1 must be 32 random bytes"):
        sealing.SealKeys.of({"k1": base64.b64encode(b"x" * 31).decode()}, "k1", LEGACY)
    good = b64key()
    held = keys_from_secret(
        "subscribers", json.dumps({"subscriberSecretKey": LEGACY, "sealKeys": {"k1": good}, "currentSealKey": "k1"})
    )
    assert held == {"subscriberSecretKey": LEGACY, "sealKeys.k1": good, "currentSealKey": "k1"}
    bad: list[tuple[dict[str, object], str]] = [
        ({"sealKeys": {"k1": LEGACY}}, "sealKeys.k1 and subscriberSecretKey are equal"),
        ({"sealKeys": {"k1": "short"}}, "shorter than 32 bytes: sealKeys.k1"),
        ({"sealKeys": {"0": good}}, "ids are 1-32 letters"),  # 0 is the derived key's
        ({"sealKeys": {"k1": good}, "currentSealKey": "k2"}, "currentSealKey must name an id"),
        ({"sealKeys": ["k1"]}, "must be an object"),
    ]
    for extra, message in bad:
        with pytest.raises(ConfigurationError) as caught:
            keys_from_secret("subscribers", json.dumps({"subscriberSecretKey": LEGACY, **extra}))
        assert message in caught.value.message and good not in caught.value.message


# -- the ES256 key set over time ------------------------------------------------------------------

T = 1_800_000_000
TIMELINE = keyset.Timeline.of(jwks_cache_seconds=3600, secret_cache_seconds=300, max_token_seconds=86_400)


class Keys:
    """Fake keys (no cryptography needed for the state machine): kids k1, k2, ..."""

    def __init__(self) -> None:
        self.made = 0

    def __call__(self, not_before: int) -> PrivateSigningKey:
        self.made += 1
        return PrivateSigningKey(f"k{self.made}", not_before, None, "-----BEGIN PRIVATE KEY-----")


def states(keys: list[PrivateSigningKey], now: int) -> dict[str, str | None]:
    return {k.kid: keyset.state(keys, k.kid, now) for k in keys}


def test_the_timeline_follows_the_issue() -> None:
    """Published JWKS cache (at least MediaMTX's hour) + secret cache + longest token before it
    signs; verifies a stale signer's last token past its successor's start."""
    assert TIMELINE.lead == 3600 + 300 + 86_400
    assert TIMELINE.grace == 300 + 86_400 + 30
    assert keyset.Timeline.of(60, 300, 600).lead == 3600 + 300 + 600  # MediaMTX pulls hourly whatever the header


def test_next_current_previous_retired_by_the_clock() -> None:
    make = Keys()
    first = keyset.plan([], T, TIMELINE, make)  # the stack's first rotation: signs at once
    assert states(first, T) == {"k1": "current"}
    second = keyset.plan(first, T + 30 * 86_400, TIMELINE, make)
    now = T + 30 * 86_400
    assert states(second, now) == {"k1": "current", "k2": "next"}
    k1, k2 = second
    assert k2.not_before == now + TIMELINE.lead and k1.not_after == k2.not_before + TIMELINE.grace
    assert keyset.current(second, now) == k1 and keyset.verifying_key(second, "k2", now) is None  # never signed
    switch = k2.not_before
    assert states(second, switch - 1) == {"k1": "current", "k2": "next"}
    assert states(second, switch) == {"k1": "previous", "k2": "current"}
    assert keyset.verifying_key(second, "k1", switch + TIMELINE.grace - 1) == k1  # its last tokens still live
    assert states(second, switch + TIMELINE.grace) == {"k1": "retired", "k2": "current"}
    assert keyset.verifying_key(second, "k1", switch + TIMELINE.grace) is None
    assert [k.kid for k in keyset.published(second, switch + TIMELINE.grace)] == ["k2"]
    assert [k.kid for k in keyset.published(second, now)] == ["k2", "k1"]  # newest first
    assert keyset.state(second, "nope", now) is None


def test_a_rotation_is_idempotent_while_a_next_key_waits_and_drops_retired_keys() -> None:
    make = Keys()
    keys = keyset.plan([], T, TIMELINE, make)
    keys = keyset.plan(keys, T + 86_400, TIMELINE, make)
    again = keyset.plan(keys, T + 86_400 + 60, TIMELINE, make)  # Secrets Manager retried: nothing new
    assert [k.kid for k in again] == ["k1", "k2"] and make.made == 2
    later = T + 86_400 + TIMELINE.lead + TIMELINE.grace + 1
    rotated = keyset.plan(again, later, TIMELINE, make)
    assert [k.kid for k in rotated] == ["k2", "k3"]  # k1 retired and dropped; k2 current; k3 next
    assert states(rotated, later) == {"k2": "current", "k3": "next"}


def test_no_signer_left_gets_one_at_once() -> None:
    """A set whose only key retired (an operator's mistake) signs again after a rotation."""
    gone = [PrivateSigningKey("old", T - 100, T - 1, "-----BEGIN PRIVATE KEY-----")]
    fixed = keyset.plan(gone, T, TIMELINE, Keys())
    assert [k.kid for k in fixed] == ["k1"] and keyset.current(fixed, T) is not None


def test_real_keys_their_public_parts_and_documents() -> None:
    private = keyset.generate_key(T)
    public = keyset.public_of(private)
    assert public.jwk()["kty"] == "EC" and public.jwk()["use"] == "sig" and public.jwk()["alg"] == "ES256"
    assert "d" not in public.jwk() and private.private_key not in json.dumps(public.to_dict())
    document = json.dumps({"keys": [private.to_dict()]})
    assert parse_signing_keys(document) == (private,)
    assert parse_public_keys(json.dumps({"keys": [public.to_dict()]})) == (public,)
    assert "PRIVATE" not in repr(private)
    for broken, named in [
        ({"keys": [{**private.to_dict(), "alg": "HS256"}]}, "alg must be ES256"),
        ({"keys": [private.to_dict(), private.to_dict()]}, "names a kid twice"),
        ({"keys": [{**private.to_dict(), "notAfter": T - 1}]}, "notAfter must be after"),
        ({"keys": [{**private.to_dict(), "notBefore": True}]}, "notBefore must be unix seconds"),
        ({"keys": [{**private.to_dict(), "privateKey": "x"}]}, "privateKey must be a private key"),
        ({"key": []}, '{"keys": [...]}'),
    ]:
        with pytest.raises(ConfigurationError) as caught:
            parse_signing_keys(json.dumps(broken))
        assert named in caught.value.message and "BEGIN" not in caught.value.message
    with pytest.raises(ConfigurationError, match="P-256 coordinate"):
        parse_public_keys(json.dumps({"keys": [{**public.to_dict(), "x": "AAAA"}]}))
