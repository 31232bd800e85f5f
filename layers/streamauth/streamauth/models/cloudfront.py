"""CloudFront signed cookies: what a player asks (GET /v2/broadcasts/{id}/playback with a play
credential in its query), and the signing key's secret. Every field is validated before it
reaches a check: a bad one is a 400 naming it; a bad secret is a ConfigurationError naming what
is wrong (never a value).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from streamauth.errors import ConfigurationError
from streamauth.models.common import parse_stream_id
from streamauth.models.hooks import PresentedCredentials, credentials_of
from streamauth.models.policies import country_of, origin_of

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

CREDENTIAL_FIELDS = ("token", "subscriberId", "subscriberCode")
_KEY_PAIR_ID = re.compile(r"[A-Za-z0-9]{1,128}")
_ADDRESS = re.compile(r"[0-9A-Fa-f.:]{2,45}")
SECRET_HELP = 'put {"privateKey": "<PEM>", "keyPairId": "<public key ID>"} in it (README, "CloudFront signed cookies")'


@dataclass(frozen=True)
class CloudFrontPlaybackRequest:
    stream_id: str
    credentials: PresentedCredentials
    client_ip: str | None  # the caller's address as API Gateway saw it
    country: str | None = None  # CloudFront-Viewer-Country: set by the edge-optimized API's CloudFront
    origin: str | None = None  # the player page's Origin (or Referer's origin)


def parse_cloudfront_playback(
    stream_id: object,
    query: Mapping[str, Sequence[str]] | None,
    source_ip: str | None,
    country: str | None = None,
    origin: str | None = None,
    referer: str | None = None,
) -> CloudFrontPlaybackRequest:
    """The request from its path parameter, its query (each credential field's FIRST value),
    API Gateway's source address (anything that is not an address is no address: never
    X-Forwarded-For, which the client writes), the viewer's country and its page's origin."""
    fields = {name: values[0] for name, values in (query or {}).items() if name in CREDENTIAL_FIELDS and values}
    address = source_ip if source_ip and _ADDRESS.fullmatch(source_ip) else None
    return CloudFrontPlaybackRequest(
        parse_stream_id(stream_id), credentials_of(fields), address, country_of(country), origin_of(origin, referer)
    )


@dataclass(frozen=True)
class SigningKey:
    """The CloudFront key the cookies are signed with. Never log or return it."""

    private_key: RSAPrivateKey
    key_pair_id: str | None  # the public key's ID when the secret names it (it then wins over the setting)

    def __repr__(self) -> str:
        return "SigningKey(<redacted>)"


def load_private_key(pem: str) -> RSAPrivateKey:
    """An RSA private key from PEM (PKCS #1 `BEGIN RSA PRIVATE KEY`, as CloudFront's guide makes
    it with openssl genrsa, or PKCS #8), unencrypted; ValueError saying why not. `cryptography`
    is imported here, on first use: the signing function's own dependency, not the layer's."""
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(pem.encode("utf-8"), password=None)
    except (ValueError, TypeError) as exc:  # malformed, encrypted, unsupported
        raise ValueError("not an unencrypted private key in PEM") from exc
    if not isinstance(key, RSAPrivateKey):
        raise ValueError("not an RSA key")
    return key


def parse_signing_key(secret_string: str) -> SigningKey:
    """The `cloudFront` secret: {"privateKey": PEM of an RSA private key, "keyPairId": optional}.
    The stack creates it with both empty (a template holds no key): that is "not set up"."""
    try:
        data = json.loads(secret_string)
    except ValueError as exc:
        raise ConfigurationError(f"the cloudFront secret is not JSON: {SECRET_HELP}") from exc
    if not isinstance(data, dict):
        raise ConfigurationError(f"the cloudFront secret is not a JSON object: {SECRET_HELP}")
    pem = data.get("privateKey")
    if not isinstance(pem, str) or not pem.strip():
        raise ConfigurationError(f"the cloudFront secret has no privateKey: {SECRET_HELP}")
    key_pair_id = data.get("keyPairId") or None
    if key_pair_id is not None and (not isinstance(key_pair_id, str) or not _KEY_PAIR_ID.fullmatch(key_pair_id)):
        raise ConfigurationError(
            "the cloudFront secret's keyPairId must be a CloudFront public key ID (letters, digits)"
        )
    try:
        private_key = load_private_key(pem)
    except ValueError as exc:
        raise ConfigurationError(
            f"the cloudFront secret's privateKey is {exc} (it must be an unencrypted RSA private key in PEM)"
        ) from exc
    return SigningKey(private_key, key_pair_id)
