"""JWTs with the algorithm pinned and time checked against the caller's clock: HS256 with a
kind's shared key, and ES256 with a published key (service/jwt_codecs.py picks the key by the
token's `alg` and `kid`; this module checks whatever key it is given, with one algorithm).

PyJWT's own exp/nbf/iat checks read the wall clock, so they are turned off and done here
with the `now` the caller passes (tests control time; nothing sleeps). The rules: `exp` and
`nbf` with a leeway of LEEWAY seconds for clocks that disagree; an `iat` more than
MAX_IAT_SKEW seconds ahead is refused, whatever the leeway (a token dated in the future would
otherwise outlive every revocation); times are numbers, and the JWTs streamauth makes carry
integers.
"""

from __future__ import annotations

import base64
from typing import Any, Protocol

ALGORITHM = "HS256"
ES256 = "ES256"
LEEWAY = 30  # seconds of clock skew tolerated on exp and nbf
MAX_IAT_SKEW = 60  # seconds an iat may lie ahead of our clock


class InvalidJwt(Exception):
    """The token is malformed, signed with another key or algorithm, expired or not yet valid."""


def encode(claims: dict[str, Any], key: Any, algorithm: str = ALGORITHM, kid: str | None = None) -> str:
    """A JWT of `claims`: HS256 with a shared key, or ES256 with a private key object and its
    `kid` (no `typ` header: every byte counts where a token rides in a stream name)."""
    import jwt

    if algorithm == ALGORITHM:
        return jwt.encode(claims, key, algorithm=ALGORITHM)
    return canonical(jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid, "typ": None}))


# P-256's group order: an ECDSA signature (r, s) verifies as (r, n - s) too, and a base64url
# signature's last character has unused bits, so one signature has several encodings that all
# verify. Tokens are made in the canonical form (low S, as Bitcoin's BIP 62 and libsecp256k1; no
# stray bits), and a presented token is known by its canonical form (logic/sessions.token_ref):
# a re-encoded twin is the same credential, for its sessions, limits and records. Twins are not
# refused: other ES256 signers (an operator's own key) make high-S signatures half of the time.
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def canonical(token: str) -> str:
    """The one encoding of a JWS's signature: re-encoded without stray bits, and an ES256
    signature with its low S. Anything that is not a three-part JWS is returned as it is."""
    parts = token.split(".")
    if len(parts) != 3:
        return token
    raw = _b64decode(parts[2])
    if raw is None:
        return token
    if len(raw) == 64 and _algorithm(parts[0]) == ES256:
        s = int.from_bytes(raw[32:], "big")
        if s > P256_ORDER // 2:
            raw = raw[:32] + (P256_ORDER - s).to_bytes(32, "big")
    return f"{parts[0]}.{parts[1]}.{base64.urlsafe_b64encode(raw).rstrip(b'=').decode()}"


def _algorithm(segment: str) -> object:
    import json

    decoded = _b64decode(segment)
    try:
        found = json.loads(decoded) if decoded else None
    except ValueError:
        return None
    return found.get("alg") if isinstance(found, dict) else None


def _b64decode(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        return None


def header(token: str) -> dict[str, Any]:
    """The token's unverified header, or InvalidJwt when it is not a JWS."""
    import jwt

    try:
        found = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidJwt(type(exc).__name__) from exc
    except (ValueError, TypeError) as exc:
        raise InvalidJwt("malformed") from exc
    if not isinstance(found, dict):
        raise InvalidJwt("malformed")
    return found


class Decoder(Protocol):
    """A token kind's verifier: picks the key by the token's header (service/jwt_codecs.py)."""

    def decode(
        self, token: str, now: float, *, require: tuple[str, ...] = (), audience: str | None = None
    ) -> dict[str, Any]: ...


def decode_with(
    key: str | Decoder, token: str, now: float, *, require: tuple[str, ...] = (), audience: str | None = None
) -> dict[str, Any]:
    """`decode` with an HS256 key, or through a kind's Decoder."""
    if isinstance(key, str):
        return decode(token, key, now, require=require, audience=audience)
    return key.decode(token, now, require=require, audience=audience)


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


def decode(
    token: str,
    key: Any,
    now: float,
    *,
    require: tuple[str, ...] = (),
    audience: str | None = None,
    algorithm: str = ALGORITHM,
) -> dict[str, Any]:
    """Verified claims, or InvalidJwt. `exp`, `nbf` and `iat` are checked when present. `key` is
    the HS256 key, or (algorithm ES256) a public key object."""
    import jwt

    try:
        found = jwt.get_unverified_header(token)
        if found.get("alg") != algorithm:
            raise InvalidJwt("unexpected algorithm")
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=audience,
            options={
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": audience is not None,
                "require": list(require),
            },
        )
    except jwt.PyJWTError as exc:
        raise InvalidJwt(type(exc).__name__) from exc
    except (ValueError, TypeError) as exc:  # odd inputs PyJWT does not wrap
        raise InvalidJwt("malformed") from exc
    for name in ("exp", "nbf", "iat"):
        if name in claims and (isinstance(claims[name], bool) or not isinstance(claims[name], int | float)):
            raise InvalidJwt(f"{name} is not a number")
    if "exp" in claims and now >= claims["exp"] + LEEWAY:
        raise InvalidJwt("expired")
    if "nbf" in claims and now < claims["nbf"] - LEEWAY:
        raise InvalidJwt("not yet valid")
    if "iat" in claims and claims["iat"] > now + MAX_IAT_SKEW:
        raise InvalidJwt("issued in the future")
    return claims


def issued_at(claims: dict[str, Any]) -> int | None:
    """A verified token's `iat` in whole seconds, or None when it has none."""
    iat = claims.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        return None
    return int(iat)
