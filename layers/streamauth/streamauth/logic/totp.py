"""TOTP (RFC 6238: HMAC-SHA1, 6 digits, T0 = 0), the verification window, the brute-force
lockout policy, and sealing subscribers' secrets at rest. Pure: time and keys come in."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

DIGITS = 6
WINDOW = 1  # steps accepted either side of the current one
MAX_FAILURES = 5  # wrong codes in a row before a lockout
LOCKOUT_FIRST = 30  # seconds; doubles with each further lockout
LOCKOUT_MAX = 900  # seconds (15 min) at most


def hotp(key: bytes, counter: int) -> str:
    """RFC 4226: HMAC-SHA1 of the counter, dynamic truncation, 6 digits.

    Written out (12 lines) rather than taken from pyotp, whose classes refuse keys under
    112 bits and periods over 120 s; Ant Media allows both (16-character secrets)."""
    digest = hmac.new(key, counter.to_bytes(8, "big"), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(value % 10**DIGITS).zfill(DIGITS)


def totp(key: bytes, at: float, period: int) -> str:
    """RFC 6238: the HOTP of the time step at unix time `at`."""
    return hotp(key, step(at, period))


def step(at: float, period: int) -> int:
    return int(at) // period


def b32_key(b32_secret: str) -> bytes:
    return base64.b32decode(b32_secret)


def derived_key(secret_from_settings: str, subscriber_id: str, stream_id: str, action: str) -> bytes:
    """An unregistered subscriber's key (contract, Ant Media): the bytes of settings secret +
    subscriberId + streamId + type, padded with 'X' to a multiple of 8."""
    text = secret_from_settings + subscriber_id + stream_id + action
    text += "X" * (-len(text) % 8)
    return text.encode()


def new_b32_secret() -> str:
    """160 random bits, base32 (32 characters), as RFC 4226 recommends."""
    import pyotp

    return pyotp.random_base32(length=32)


def matching_step(key: bytes, code: str, now: float, period: int) -> int | None:
    """The step (current, or one either side) whose code is `code`; whether it was already
    accepted is for the caller's replay check. `code` is 6 ASCII digits (validated before)."""
    current = step(now, period)
    for candidate in (current, current - WINDOW, current + WINDOW):
        if hmac.compare_digest(totp(key, candidate * period, period).encode(), code.encode()):
            return candidate
    return None


def lockout_seconds(lockouts: int) -> int:
    """Length of the `lockouts`-th lockout (1-based): 30 s, 60 s, 120 s, ... capped at 900 s."""
    return int(min(LOCKOUT_FIRST * 2 ** max(0, lockouts - 1), LOCKOUT_MAX))


def lockout_ends_ms(failures: int, lockouts: int, attempt_at_ms: int) -> int | None:
    """When the lockout a guess counter stands in ends (unix ms), or None when it is not in one.
    A counter at MAX_FAILURES is locked from its fifth guess for the next lockout's length."""
    if failures < MAX_FAILURES:
        return None
    return attempt_at_ms + lockout_seconds(lockouts + 1) * 1000


# --- secrets at rest: the v1 seal (read only) ----------------------------------------------
# Sealed by earlier versions with HMAC-SHA256 only: a keystream HMAC(enc_key, nonce || counter)
# XORed with the secret (a PRF in counter mode), then a tag HMAC(mac_key, nonce || ciphertext)
# (encrypt-then-MAC), keys derived from `subscriberSecretKey`. New secrets are sealed with v2,
# AES-256-GCM (logic/sealing.py), which reads v1 blobs here and re-seals them on the next write.
_SEAL_VERSION = "v1"


def _subkeys(key: str) -> tuple[bytes, bytes]:
    root = key.encode()
    return hmac.new(root, b"seal/enc", hashlib.sha256).digest(), hmac.new(root, b"seal/mac", hashlib.sha256).digest()


def _keystream(enc_key: bytes, nonce: bytes, length: int) -> bytes:
    blocks = (hmac.new(enc_key, nonce + i.to_bytes(4, "big"), hashlib.sha256).digest() for i in range(length // 32 + 1))
    return b"".join(blocks)[:length]


def seal(secret: str, key: str) -> str:
    enc_key, mac_key = _subkeys(key)
    nonce = secrets.token_bytes(16)
    plain = secret.encode()
    cipher = bytes(a ^ b for a, b in zip(plain, _keystream(enc_key, nonce, len(plain)), strict=True))
    tag = hmac.new(mac_key, nonce + cipher, hashlib.sha256).digest()[:16]
    parts = (base64.urlsafe_b64encode(p).decode() for p in (nonce, cipher, tag))
    return ".".join((_SEAL_VERSION, *parts))


class SealError(Exception):
    """A sealed secret was tampered with or sealed under another key."""


def unseal(sealed: str, key: str) -> str:
    try:
        version, *encoded = sealed.split(".")
        nonce, cipher, tag = (base64.urlsafe_b64decode(p) for p in encoded)
    except ValueError as exc:
        raise SealError("malformed") from exc
    if version != _SEAL_VERSION:
        raise SealError("unknown version")
    enc_key, mac_key = _subkeys(key)
    if not hmac.compare_digest(tag, hmac.new(mac_key, nonce + cipher, hashlib.sha256).digest()[:16]):
        raise SealError("bad tag")
    return bytes(a ^ b for a, b in zip(cipher, _keystream(enc_key, nonce, len(cipher)), strict=True)).decode()
