"""Each JWT kind's signer and verifier: the algorithm it signs with (a setting per kind), the
keys it verifies with, and what an ES256 token of the kind must say.

- JWT stream token: signs with `StreamJwtAlgorithm` (HS256 by default: Ant Media clients verify
  with the shared key); verifies HS256 with jwtStreamKey, ES256 by kid, and an ES256 one must
  carry no `aud` (every other ES256 kind carries one: none passes as a stream token, and the
  token stays short enough for nginx-rtmp's 255 bytes).
- viewer JWT: signs with `ViewerJwtAlgorithm` (HS256); verifies HS256 with viewerJwtKey, ES256 by
  kid; `aud` streamauth:viewer either way.
- MediaMTX token: ES256 always (MediaMTX verifies it with the JWKS, not streamauth).

A token's `alg` header picks the path, and each path has one algorithm and one kind of key: an
HS256 token is checked with the kind's shared key only, an ES256 one with the published key its
`kid` names only (never a next key, never a retired one), anything else is refused. ES256 keys
come from two documents: signers read the private keys (`signingKeys`), verifiers only the
public ones (`publicSigningKeys`). A kid not in a verifier's copy makes it read the document
again (at most every FRESH_SECONDS), so a key published since its last read is found.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from streamauth.errors import BadRequest, ConfigurationError
from streamauth.keys import get_keys, secret_document, secret_metadata
from streamauth.logic import keyset, signing
from streamauth.models.signing_keys import (
    PrivateSigningKey,
    PublicSigningKey,
    parse_public_keys,
    parse_rotation,
    parse_signing_keys,
)
from streamauth.settings import get_settings

FRESH_SECONDS = 30.0
NO_KEY = (
    "no ES256 signing key yet: the rotation function fills SigningKeysSecret on the stack's first"
    " rotation (README, Keys: signing, publishing, rotating)"
)


def private_keys(fresh: bool = False) -> tuple[PrivateSigningKey, ...]:
    return secret_document("signingKeys", parse_signing_keys, FRESH_SECONDS if fresh else None)


def public_keys(fresh: bool = False) -> tuple[PublicSigningKey, ...]:
    return secret_document("publicSigningKeys", parse_public_keys, FRESH_SECONDS if fresh else None)


def key_schedule(now: float) -> dict[str, Any]:
    """GET /api/v1/signing-keys: the published keys (the JWKS's, newest first), each with its
    state (logic/keyset.py) and times; `nextKeySignsAt`: when the next key starts signing (null:
    none waits, and the next rotation publishes one `lead` ahead of signing); `nextRotationAt`
    and `rotationDays`: Secrets Manager's schedule of SigningKeysSecret (DescribeSecret, its
    metadata: only Secrets Manager knows its last rotation, from which it counts)."""
    listed = keyset.schedule(public_keys(), now)
    upcoming = [key.not_before for key, state in listed if state == "next"]
    rotation = parse_rotation(secret_metadata("signingKeys"))
    return {
        "keys": [
            {"kid": key.kid, "state": state, "notBefore": key.not_before, "notAfter": key.not_after}
            for key, state in listed
        ],
        "nextKeySignsAt": min(upcoming) if upcoming else None,
        "nextRotationAt": rotation.next_at,
        "rotationDays": rotation.every_days,
    }


@dataclass(frozen=True)
class JwtCodec:
    kind: str
    algorithm: str  # what it signs with: HS256 or ES256
    hmac_key: Callable[[], str] | None  # the kind's HS256 key (None: the kind has none)
    max_seconds: int  # the longest an ES256 token of this kind may live
    es256_audience: str | None = None  # the aud an ES256 token of this kind carries, and must carry
    refuses_audience: bool = False  # an ES256 token of this kind carries no aud (another kind's does)
    signing_keys: Callable[[bool], tuple[PrivateSigningKey, ...]] = private_keys
    verifying_keys: Callable[[bool], tuple[PublicSigningKey, ...]] = public_keys

    def sign(self, claims: dict[str, Any], now: float, expiry_field: str = "expireDate") -> str:
        if self.algorithm == signing.ALGORITHM:
            if self.hmac_key is None:
                raise ConfigurationError(f"{self.kind} tokens have no HS256 key")
            return signing.encode(claims, self.hmac_key())
        expires = claims.get("exp")
        if isinstance(expires, int) and expires > now + self.max_seconds:
            raise BadRequest(
                expiry_field, f"must be at most {self.max_seconds} s ahead for ES256 tokens (SignedTokenMaxSeconds)"
            )
        key = keyset.current(self.signing_keys(False), now) or keyset.current(self.signing_keys(True), now)
        if key is None:
            raise ConfigurationError(NO_KEY)
        if self.es256_audience is not None:
            claims = {**claims, "aud": self.es256_audience}
        try:
            private = keyset.load_private(key.private_key)
        except ValueError as exc:
            raise ConfigurationError(f"signing key {key.kid} cannot be loaded: {exc}") from exc
        return signing.encode(claims, private, signing.ES256, key.kid)

    def read_keys(self, signs: bool) -> None:
        """Read the keys this codec's tokens most likely need (a SnapStart restore reads them
        before its first request): the HS256 key, or the ES256 private or public key set, as
        the kind's algorithm setting says. Held and refreshed as every read of them is."""
        if self.algorithm == signing.ALGORITHM and self.hmac_key is not None:
            self.hmac_key()
        elif signs:
            self.signing_keys(False)
        else:
            self.verifying_keys(False)

    def decode(
        self, token: str, now: float, *, require: tuple[str, ...] = (), audience: str | None = None
    ) -> dict[str, Any]:
        """Verified claims (signing.decode's rules), or signing.InvalidJwt."""
        found = signing.header(token)
        algorithm = found.get("alg")
        if algorithm == signing.ALGORITHM and self.hmac_key is not None:
            return signing.decode(token, self.hmac_key(), now, require=require, audience=audience)
        if algorithm != signing.ES256:
            raise signing.InvalidJwt("unexpected algorithm")
        kid = found.get("kid")
        if not isinstance(kid, str):
            raise signing.InvalidJwt("no kid")
        keys = self.verifying_keys(False)
        if all(k.kid != kid for k in keys):
            keys = self.verifying_keys(True)  # published since this copy was read?
        key = keyset.verifying_key(keys, kid, now)
        if key is None:
            raise signing.InvalidJwt("unknown, not yet signing, or retired key")
        try:
            public = keyset.load_public(key.x, key.y)
        except ValueError as exc:
            raise signing.InvalidJwt("unusable key") from exc
        claims = signing.decode(
            token, public, now, require=require, audience=self.es256_audience or audience, algorithm=signing.ES256
        )
        if self.refuses_audience and "aud" in claims:
            raise signing.InvalidJwt("another kind of token")
        return claims


def stream_codec() -> JwtCodec:
    settings = get_settings()
    keys = get_keys()
    return JwtCodec(
        "stream",
        settings.stream_jwt_algorithm,
        lambda: keys.jwt_stream_key,
        settings.signed_token_max_seconds,
        refuses_audience=True,
    )


def viewer_codec() -> JwtCodec:
    settings = get_settings()
    keys = get_keys()
    return JwtCodec("viewer", settings.viewer_jwt_algorithm, lambda: keys.viewer_jwt_key, settings.viewer_token_ttl)


def mediamtx_codec() -> JwtCodec:
    settings = get_settings()
    return JwtCodec("mediamtx", signing.ES256, None, settings.signed_token_max_seconds)


def timeline() -> keyset.Timeline:
    """The deployment's key timeline (logic/keyset.py), from its settings."""
    settings = get_settings()
    longest = max(settings.signed_token_max_seconds, settings.viewer_token_ttl)
    return keyset.Timeline.of(settings.jwks_cache_seconds, settings.secret_cache_seconds, longest)
