"""ES256 signing keys over time: which key is next, current or previous, what a rotation does,
and the P-256 operations (`cryptography`, imported on first use: only the functions that sign or
verify ES256 tokens ship it, in the crypto layer).

A key's times decide its state at `now` (models/signing_keys.py holds them):
- next: `now < notBefore`: published in the JWKS, never signs, and a token naming it is refused;
- current: the newest key whose `notBefore` has passed: it signs;
- previous: an older one whose `notAfter` has not passed: it still verifies (its tokens live on);
- retired: `now >= notAfter`: gone from the JWKS, its tokens refused.

A rotation (`plan`) drops retired keys and, when no next key waits, adds one that signs `lead`
seconds from now; the key it will replace gets `notAfter` = that moment + `grace`. So every key is
published at least `lead` before it signs (verifiers' JWKS caches have it by then) and verifies
for `grace` after it stops signing (its last token has expired by then). The very first key (an
empty set) signs at once: nothing was signed before it.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Literal, Protocol, TypeVar, cast

from streamauth.logic.signing import LEEWAY
from streamauth.models.signing_keys import PrivateSigningKey, PublicSigningKey

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey, EllipticCurvePublicKey

KeyState = Literal["next", "current", "previous", "retired"]
# MediaMTX pulls the JWKS again hourly, whatever Cache-Control says (internal/auth/manager.go jwksRefreshPeriod)
MEDIAMTX_JWKS_REFRESH = 3600


class Timed(Protocol):
    @property
    def kid(self) -> str: ...
    @property
    def not_before(self) -> int: ...
    @property
    def not_after(self) -> int | None: ...


K = TypeVar("K", bound=Timed)


def retired(key: Timed, now: float) -> bool:
    return key.not_after is not None and now >= key.not_after


def current(keys: Sequence[K], now: float) -> K | None:
    """The key that signs at `now`: the newest one whose notBefore has passed, not retired."""
    live = [k for k in keys if k.not_before <= now and not retired(k, now)]
    return max(live, key=lambda k: k.not_before) if live else None


def state(keys: Sequence[Timed], kid: str, now: float) -> KeyState | None:
    """The state of key `kid` at `now`, or None when the set has no such key."""
    key = next((k for k in keys if k.kid == kid), None)
    if key is None:
        return None
    if retired(key, now):
        return "retired"
    if now < key.not_before:
        return "next"
    signer = current(keys, now)
    return "current" if signer is not None and signer.kid == kid else "previous"


def verifying_key(keys: Sequence[K], kid: str, now: float) -> K | None:
    """The key a token naming `kid` is checked with: current or previous; never a next key
    (it has signed nothing yet) nor a retired one."""
    if state(keys, kid, now) in ("current", "previous"):
        return next(k for k in keys if k.kid == kid)
    return None


def published(keys: Sequence[K], now: float) -> list[K]:
    """The keys the JWKS lists at `now`: next, current and previous; newest first."""
    return sorted((k for k in keys if not retired(k, now)), key=lambda k: k.not_before, reverse=True)


def schedule(keys: Sequence[K], now: float) -> list[tuple[K, KeyState]]:
    """The keys the JWKS lists at `now` (newest first), each with its state then."""
    return [(k, cast(KeyState, state(keys, k.kid, now))) for k in published(keys, now)]


@dataclass(frozen=True)
class Timeline:
    """How far ahead a new key is published (`lead`), and how long a replaced key still verifies
    (`grace`), in seconds."""

    lead: int
    grace: int

    @classmethod
    def of(cls, jwks_cache_seconds: int, secret_cache_seconds: float, max_token_seconds: int) -> Timeline:
        """lead: the longest a verifier caches the JWKS (JwksCacheSeconds, and MediaMTX's fixed hour)
        plus how stale a function's copy of the keys may be, plus the longest token lifetime (the
        issue's rule); grace: a stale signer's last token (secret cache + longest lifetime) + leeway."""
        cache = int(secret_cache_seconds)
        verifier_cache = max(jwks_cache_seconds, MEDIAMTX_JWKS_REFRESH)
        return cls(lead=verifier_cache + cache + max_token_seconds, grace=cache + max_token_seconds + LEEWAY)


def plan(
    keys: Sequence[PrivateSigningKey],
    now: int,
    timeline: Timeline,
    generate: Callable[[int], PrivateSigningKey],
) -> list[PrivateSigningKey]:
    """The key set after a rotation at `now`: retired keys dropped; a first key signing at once
    when none signs; else, unless a next key already waits, a new next key signing `lead` from
    now. Every key but the newest then ends `grace` after its successor starts signing."""
    kept = [k for k in keys if not retired(k, now)]
    had_signer = current(kept, now) is not None
    if not had_signer:
        kept.append(generate(now))
    elif not any(k.not_before > now for k in kept):
        kept.append(generate(now + timeline.lead))
    kept.sort(key=lambda k: k.not_before)
    for index, key in enumerate(kept[:-1]):
        if key.not_after is None:
            kept[index] = replace(key, not_after=kept[index + 1].not_before + timeline.grace)
    return kept


# -- P-256 ---------------------------------------------------------------------------------------


def new_kid() -> str:
    """8 url-safe characters (48 random bits): short, since tokens carry it in their header."""
    return secrets.token_urlsafe(6)


def generate_key(not_before: int) -> PrivateSigningKey:
    """A new P-256 key signing from `not_before`."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return PrivateSigningKey(new_kid(), not_before, None, pem)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_of(key: PrivateSigningKey) -> PublicSigningKey:
    """The key's public parts (RFC 7518 6.2.1: x and y, 32 bytes each), with its times."""
    numbers = load_private(key.private_key).public_key().public_numbers()
    x, y = _b64url(numbers.x.to_bytes(32, "big")), _b64url(numbers.y.to_bytes(32, "big"))
    return PublicSigningKey(key.kid, key.not_before, key.not_after, x, y)


@lru_cache(maxsize=16)
def load_private(pem: str) -> EllipticCurvePrivateKey:
    """A P-256 private key from PEM; ValueError when it is not one."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError("not an unencrypted private key in PEM") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("not a P-256 key")
    return key


@lru_cache(maxsize=16)
def load_public(x: str, y: str) -> EllipticCurvePublicKey:
    """A P-256 public key from its JWK coordinates; ValueError when they are not a point on it."""
    from cryptography.hazmat.primitives.asymmetric import ec

    def number(text: str) -> int:
        return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")

    return ec.EllipticCurvePublicNumbers(number(x), number(y), ec.SECP256R1()).public_key()
