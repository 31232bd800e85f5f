"""The ES256 signing keys' two documents, as their Secrets Manager secrets hold them.

- `signingKeys` (SigningKeysSecret, the signers' and the rotation function's):
  {"keys": [{"kid", "alg": "ES256", "privateKey": PEM (PKCS #8, P-256), "notBefore": unix, "notAfter": unix|null}]}
- `publicSigningKeys` (PublicSigningKeysSecret, the verifiers' and the JWKS endpoint's): the same keys'
  public JWKs with their times: {"keys": [{"kty": "EC", "crv": "P-256", "x", "y", "kid", "alg", "use",
  "notBefore", "notAfter"}]}

A key signs from `notBefore`; `notAfter` is the moment its last token can no longer be valid (set
when its successor is planned; null while it has none). Which key is next, current or previous
follows from these times (logic/keyset.py). The stack creates both secrets as `{"keys": []}`;
the rotation function fills them. Parsing needs no `cryptography`: a PEM is loaded when it signs.
A malformed document is a ConfigurationError naming the entry and field, never a key.

When Secrets Manager next rotates `signingKeys` is its own record (the stack's RotationSchedule,
every SigningRotationDays days counted from the last rotation or value written): `RotationSchedule`,
from DescribeSecret's metadata.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from streamauth.errors import ConfigurationError

ALGORITHM = "ES256"
CURVE = "P-256"
KID = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_KEYS = 20
_B64URL = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class PrivateSigningKey:
    kid: str
    not_before: int
    not_after: int | None
    private_key: str = field(repr=False)  # PEM; never log or return it
    alg: str = ALGORITHM

    def to_dict(self) -> dict[str, Any]:
        return {
            "kid": self.kid,
            "alg": self.alg,
            "privateKey": self.private_key,
            "notBefore": self.not_before,
            "notAfter": self.not_after,
        }


@dataclass(frozen=True)
class PublicSigningKey:
    kid: str
    not_before: int
    not_after: int | None
    x: str  # base64url, 32 bytes
    y: str
    alg: str = ALGORITHM

    def jwk(self) -> dict[str, str]:
        """The key as the JWKS publishes it (RFC 7517/7518): public parts only."""
        return {"kty": "EC", "crv": CURVE, "x": self.x, "y": self.y, "kid": self.kid, "alg": self.alg, "use": "sig"}

    def to_dict(self) -> dict[str, Any]:
        return {**self.jwk(), "notBefore": self.not_before, "notAfter": self.not_after}


def _integer(entry: dict[str, Any], name: str, where: str, *, nullable: bool = False) -> int | None:
    value = entry.get(name)
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(f"{where}.{name} must be unix seconds{' or null' if nullable else ''}")
    return value


def _times(entry: dict[str, Any], where: str) -> tuple[str, int, int | None]:
    kid = entry.get("kid")
    if not isinstance(kid, str) or not KID.fullmatch(kid):
        raise ConfigurationError(f"{where}.kid must be 1-64 letters, digits, '_' or '-'")
    if entry.get("alg") != ALGORITHM:
        raise ConfigurationError(f"{where}.alg must be {ALGORITHM}")
    not_before = _integer(entry, "notBefore", where)
    not_after = _integer(entry, "notAfter", where, nullable=True)
    assert not_before is not None
    if not_after is not None and not_after <= not_before:
        raise ConfigurationError(f"{where}.notAfter must be after its notBefore")
    return kid, not_before, not_after


def _entries(secret_string: str, name: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(secret_string)
    except ValueError as exc:
        raise ConfigurationError(f"the {name} secret is not JSON") from exc
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise ConfigurationError(f'the {name} secret must be {{"keys": [...]}}')
    entries: list[Any] = data["keys"]
    if len(entries) > MAX_KEYS:
        raise ConfigurationError(f"the {name} secret holds more than {MAX_KEYS} keys")
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ConfigurationError(f"{name}.keys[{index}] must be a JSON object")
    return entries


def _distinct(kids: list[str], name: str) -> None:
    twice = sorted({kid for kid in kids if kids.count(kid) > 1})
    if twice:
        raise ConfigurationError(f"the {name} secret names a kid twice: {', '.join(twice)}")


def parse_signing_keys(secret_string: str) -> tuple[PrivateSigningKey, ...]:
    """The `signingKeys` secret's keys (PEMs unparsed), or ConfigurationError naming what is wrong."""
    keys = []
    for index, entry in enumerate(_entries(secret_string, "signingKeys")):
        where = f"signingKeys.keys[{index}]"
        kid, not_before, not_after = _times(entry, where)
        pem = entry.get("privateKey")
        if not isinstance(pem, str) or "PRIVATE KEY-----" not in pem:
            raise ConfigurationError(f"{where}.privateKey must be a private key in PEM")
        keys.append(PrivateSigningKey(kid, not_before, not_after, pem))
    _distinct([k.kid for k in keys], "signingKeys")
    return tuple(keys)


def _coordinate(entry: dict[str, Any], name: str, where: str) -> str:
    value = entry.get(name)
    try:
        ok = isinstance(value, str) and bool(_B64URL.fullmatch(value)) and len(_b64decode(value)) == 32
    except (binascii.Error, ValueError):
        ok = False
    if not ok:
        raise ConfigurationError(f"{where}.{name} must be a P-256 coordinate (32 bytes, base64url)")
    return str(value)


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def parse_public_keys(secret_string: str) -> tuple[PublicSigningKey, ...]:
    """The `publicSigningKeys` secret's keys, or ConfigurationError naming what is wrong."""
    keys = []
    for index, entry in enumerate(_entries(secret_string, "publicSigningKeys")):
        where = f"publicSigningKeys.keys[{index}]"
        kid, not_before, not_after = _times(entry, where)
        if entry.get("kty") != "EC" or entry.get("crv") != CURVE:
            raise ConfigurationError(f"{where} must be an EC key on {CURVE}")
        x, y = _coordinate(entry, "x", where), _coordinate(entry, "y", where)
        keys.append(PublicSigningKey(kid, not_before, not_after, x, y))
    _distinct([k.kid for k in keys], "publicSigningKeys")
    return tuple(keys)


def signing_keys_document(keys: tuple[PrivateSigningKey, ...] | list[PrivateSigningKey]) -> str:
    return json.dumps({"keys": [k.to_dict() for k in keys]})


def public_keys_document(keys: tuple[PublicSigningKey, ...] | list[PublicSigningKey]) -> str:
    return json.dumps({"keys": [k.to_dict() for k in keys]})


@dataclass(frozen=True)
class RotationSchedule:
    """Secrets Manager's schedule of a secret: the next rotation (unix seconds; Secrets Manager
    picks the hour within that UTC day) and the days between rotations; both None when rotation
    is not enabled (the local API, whose keys rotate by hand: make rotate-keys)."""

    next_at: int | None
    every_days: int | None


def parse_rotation(metadata: Mapping[str, Any]) -> RotationSchedule:
    """DescribeSecret's answer (botocore's: NextRotationDate a datetime) as a RotationSchedule."""
    if not metadata.get("RotationEnabled"):
        return RotationSchedule(None, None)
    when = metadata.get("NextRotationDate")
    days = (metadata.get("RotationRules") or {}).get("AutomaticallyAfterDays")
    return RotationSchedule(
        int(when.timestamp()) if isinstance(when, datetime) else None,
        days if isinstance(days, int) and not isinstance(days, bool) and days > 0 else None,
    )
