"""Subscribers' TOTP secrets at rest: the v2 seal, AES-256-GCM from `cryptography` (imported on
first use: only the functions that seal or unseal ship it, in the crypto layer).

    v2.<kid>.<nonce>.<ciphertext || tag>        (nonce and ciphertext base64url, no padding)

- a fresh 96-bit random nonce per seal (NIST SP 800-38D 8.2.2: safe for 2^32 seals per key);
- the associated data binds the blob to its subscriber (stream id and subscriber id, written as
  the item key they had before a stream's subscribers were sharded: the shard is placement, not
  identity, so moving an item between shards needs no re-seal), and to its version and kid: a
  blob copied onto another subscriber, or given another kid, does not open;
- `kid` names the key in the subscribers secret's `sealKeys` ({kid: 32 random bytes, base64});
  `currentSealKey` names the one that seals. Without them, kid `0` is a key derived from
  `subscriberSecretKey` (HMAC-SHA256 as a KDF), so a new stack seals with v2 from its first
  subscriber. Rotating: add a key and make it current; every kid stays readable while it is in
  the secret; blobs under another kid (and v1 blobs) are re-sealed on the subscriber's next write.

v1 blobs (logic/totp.py, HMAC encrypt-then-MAC under `subscriberSecretKey`) are still read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from streamauth.errors import ConfigurationError
from streamauth.logic import totp
from streamauth.logic.totp import SealError

VERSION = "v2"
DERIVED_KID = "0"  # the key derived from subscriberSecretKey (sealKeys ids start with a letter)
KEY_BYTES = 32
NONCE_BYTES = 12


@dataclass(frozen=True)
class SealKeys:
    """The keys sealed secrets are opened with (kid -> 32 bytes), the kid that seals, and the v1
    key. Never log or return an instance's values."""

    current: str
    keys: Mapping[str, bytes] = field(repr=False)
    legacy: str = field(repr=False)  # subscriberSecretKey: v1 blobs, and kid 0

    @classmethod
    def of(cls, encoded: Mapping[str, str], current: str | None, legacy: str) -> SealKeys:
        """From the secret's `sealKeys` (base64 text), `currentSealKey` and `subscriberSecretKey`;
        ConfigurationError names a key that is not 32 bytes of base64 (never its value)."""
        keys = {DERIVED_KID: derived_key(legacy)}
        for kid, text in encoded.items():
            try:
                raw = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
            except (binascii.Error, ValueError):
                raw = b""
            if len(raw) != KEY_BYTES:
                raise ConfigurationError(f"sealKeys.{kid} must be {KEY_BYTES} random bytes in base64")
            keys[kid] = raw
        return cls(current or DERIVED_KID, keys, legacy)


def derived_key(legacy: str) -> bytes:
    """Kid 0: a 256-bit key derived from subscriberSecretKey, never equal to v1's subkeys."""
    return hmac.new(legacy.encode(), b"streamauth/seal/v2/key/0", hashlib.sha256).digest()


def associated_data(kid: str, stream_id: str, subscriber_id: str) -> bytes:
    """What a blob is bound to: version, kid, and the subscriber (stream and subscriber id)."""
    return f"{VERSION}.{kid}\x00STREAM#{stream_id}\x00SUB#{subscriber_id}".encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def seal(secret: str, keys: SealKeys, stream_id: str, subscriber_id: str) -> str:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    kid = keys.current
    if kid not in keys.keys:
        raise ConfigurationError(f"currentSealKey {kid} is not in sealKeys")
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(keys.keys[kid]).encrypt(nonce, secret.encode(), associated_data(kid, stream_id, subscriber_id))
    return f"{VERSION}.{kid}.{_b64(nonce)}.{_b64(sealed)}"


def unseal(blob: str, keys: SealKeys, stream_id: str, subscriber_id: str) -> str:
    """The secret of a v2 blob (or a v1 one); SealError when it was tampered with, moved to
    another subscriber, or sealed under a key the secret no longer holds."""
    if blob.startswith("v1."):
        return totp.unseal(blob, keys.legacy)
    parts = blob.split(".")
    if len(parts) != 4 or parts[0] != VERSION:
        raise SealError("unknown version")
    _, kid, nonce_text, sealed_text = parts
    key = keys.keys.get(kid)
    if key is None:
        raise SealError("sealed under a key the secret no longer holds")
    try:
        nonce, sealed = _unb64(nonce_text), _unb64(sealed_text)
    except (binascii.Error, ValueError) as exc:
        raise SealError("malformed") from exc
    if len(nonce) != NONCE_BYTES:
        raise SealError("malformed")
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        plain = AESGCM(key).decrypt(nonce, sealed, associated_data(kid, stream_id, subscriber_id))
    except InvalidTag as exc:
        raise SealError("bad tag") from exc
    return plain.decode()


def needs_reseal(blob: str, keys: SealKeys) -> bool:
    """Whether the next write should seal this blob again: v1, or another kid than the current."""
    return not blob.startswith(f"{VERSION}.{keys.current}.")
