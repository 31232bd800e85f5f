"""Typed settings: the environment a function runs with, read once, lazily.

Each setting is checked when first read; a bad one raises ConfigurationError naming it (never a
value). `SECRETS` says which environment variable holds the ARN of each Secrets Manager secret
and what the secret holds; the secrets themselves are read by `streamauth.keys`, never here.

The CloudFront signed-cookie settings (`get_cloudfront_settings`) are read apart from the
others: only the function that signs cookies has them, and only it fails on a bad one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Literal

from streamauth.errors import ConfigurationError

PublicViewersDefault = Literal["open", "closed"]


@dataclass(frozen=True)
class SecretSpec:
    """One Secrets Manager secret: the environment variable holding its ARN, the keys it must
    hold, and keys an operator may add (Ant Media's app settings). A `document` secret holds
    structured configuration instead of keys: no key rules, its own loader."""

    env: str
    keys: tuple[str, ...]
    optional: tuple[str, ...] = ()
    document: bool = False
    key_maps: tuple[str, ...] = ()  # optional {id: key} objects: each key checked as one, named "<map>.<id>"
    pointers: tuple[str, ...] = ()  # optional names of an id in a key map: not keys, never checked as keys


# name -> spec; the template's secrets (README, "Deploy and operate") mirror this table.
SECRETS: dict[str, SecretSpec] = {
    "operator": SecretSpec("OPERATOR_SECRET_ARN", ("restJwtSecret",)),
    "serviceAccounts": SecretSpec("SERVICE_ACCOUNT_SECRET_ARN", ("serviceAccountPepper",)),
    "streamJwt": SecretSpec("STREAM_JWT_SECRET_ARN", ("jwtStreamKey",)),
    "viewerJwt": SecretSpec("VIEWER_JWT_SECRET_ARN", ("viewerJwtKey",)),
    "hook": SecretSpec("HOOK_SECRET_ARN", ("hookSecret",)),
    "subscribers": SecretSpec(
        "SUBSCRIBER_SECRET_ARN",
        ("subscriberSecretKey",),
        ("publishTotpSecret", "playTotpSecret"),
        key_maps=("sealKeys",),
        pointers=("currentSealKey",),
    ),
    "push": SecretSpec("PUSH_SECRET_ARN", ("subscriberAuthKey",)),
    # the media-server registry (models/media_servers.py): {"servers": [...]}, read by the enforcer only
    "mediaServers": SecretSpec("MEDIA_SERVERS_SECRET_ARN", (), document=True),
    # the CloudFront key (models/cloudfront.py): {"privateKey": PEM, "keyPairId"}, read by the cookie signer only
    "cloudFront": SecretSpec("CLOUDFRONT_KEY_SECRET_ARN", (), document=True),
    # ES256 signing keys (models/signing_keys.py): {"keys": [{kid, alg, privateKey, notBefore, notAfter}]}, the signers'
    "signingKeys": SecretSpec("SIGNING_KEYS_SECRET_ARN", (), document=True),
    # their public parts and times: {"keys": [JWK + notBefore, notAfter]}, the verifiers' and the JWKS endpoint's
    "publicSigningKeys": SecretSpec("PUBLIC_SIGNING_KEYS_SECRET_ARN", (), document=True),
}


@dataclass(frozen=True)
class Settings:
    table_name: str
    secret_arns: Mapping[str, str]  # secret name (SECRETS) -> ARN
    time_token_period: int
    viewer_token_ttl: int
    revocation_cache_seconds: float
    secret_cache_seconds: float
    event_bus_name: str
    dead_letter_queue_url: str
    public_viewers_default: PublicViewersDefault
    allow_legacy_operator_jwt: bool
    allowed_event_sources: frozenset[str]
    jwt_expiry_ends_sessions: bool
    playback_session_seconds: int = 300
    playback_cache_seconds: int = 10
    playback_bind_address: bool = False
    # JWT algorithms per token kind, and the ES256 keys' timeline (README, "Keys: signing, publishing, rotating")
    stream_jwt_algorithm: str = "HS256"
    viewer_jwt_algorithm: str = "HS256"
    signed_token_max_seconds: int = 86_400
    jwks_cache_seconds: int = 3600
    jwt_issuer: str = "streamauth"
    mediamtx_jwt_audience: str = "mediamtx"
    ant_media_app: str = "LiveApp"  # the Ant Media application this deployment is: /<it>/rest/v2/...
    decision_log_days: int = 7  # how long the decision log keeps a decision (DecisionLogDays, TTL)


def _int_env(name: str, default: int, minimum: int) -> int:
    raw = os.environ.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"setting {name} must be an integer") from exc
    if value < minimum:
        raise ConfigurationError(f"setting {name} must be at least {minimum}")
    return value


def _choice_env(name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = os.environ.get(name, "") or default
    if value not in allowed:
        raise ConfigurationError(f"setting {name} must be one of {', '.join(allowed)}")
    return value


@cache
def get_settings() -> Settings:
    viewers = _choice_env("PUBLIC_VIEWERS_DEFAULT", "closed", ("open", "closed"))
    legacy = _choice_env("ALLOW_LEGACY_OPERATOR_JWT", "false", ("true", "false"))
    expiry_ends = _choice_env("JWT_EXPIRY_ENDS_SESSIONS", "true", ("true", "false"))
    sources = os.environ.get("ALLOWED_EVENT_SOURCES", "")
    return Settings(
        table_name=os.environ.get("TABLE_NAME", ""),
        secret_arns={name: os.environ.get(spec.env, "") for name, spec in SECRETS.items()},
        time_token_period=_int_env("TIME_TOKEN_PERIOD", 60, 1),
        viewer_token_ttl=_int_env("VIEWER_TOKEN_TTL", 600, 1),
        revocation_cache_seconds=_int_env("REVOCATION_CACHE_SECONDS", 5, 0),
        secret_cache_seconds=_int_env("SECRET_CACHE_SECONDS", 300, 0),
        event_bus_name=os.environ.get("EVENT_BUS_NAME", ""),
        dead_letter_queue_url=os.environ.get("DEAD_LETTER_QUEUE_URL", ""),
        public_viewers_default="open" if viewers == "open" else "closed",
        allow_legacy_operator_jwt=legacy == "true",
        allowed_event_sources=frozenset(s.strip() for s in sources.split(",") if s.strip()),
        jwt_expiry_ends_sessions=expiry_ends == "true",
        playback_session_seconds=_int_env("PLAYBACK_SESSION_SECONDS", 300, 30),
        playback_cache_seconds=_int_env("PLAYBACK_CACHE_SECONDS", 10, 0),
        playback_bind_address=_choice_env("PLAYBACK_BIND_ADDRESS", "false", ("true", "false")) == "true",
        stream_jwt_algorithm=_choice_env("STREAM_JWT_ALGORITHM", "HS256", JWT_ALGORITHMS),
        viewer_jwt_algorithm=_choice_env("VIEWER_JWT_ALGORITHM", "HS256", JWT_ALGORITHMS),
        signed_token_max_seconds=_int_env("SIGNED_TOKEN_MAX_SECONDS", 86_400, 60),
        jwks_cache_seconds=_int_env("JWKS_CACHE_SECONDS", 3600, 0),
        jwt_issuer=_claim_env("JWT_ISSUER", "streamauth"),
        mediamtx_jwt_audience=_claim_env("MEDIAMTX_JWT_AUDIENCE", "mediamtx"),
        ant_media_app=os.environ.get("ANT_MEDIA_APP_NAME", "").strip() or "LiveApp",
        decision_log_days=_int_env("DECISION_LOG_DAYS", 7, 1),
    )


JWT_ALGORITHMS = ("HS256", "ES256")
_CLAIM = re.compile(r"[\x21-\x7e]{1,256}")  # printable ASCII, no spaces: an iss or aud value


def _claim_env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip() or default
    if not _CLAIM.fullmatch(value):
        raise ConfigurationError(f"setting {name} must be 1-256 printable ASCII characters without spaces")
    return value


# --- CloudFront signed cookies --------------------------------------------------------------

HASH_ALGORITHMS = ("SHA1", "SHA256")
SAME_SITE = ("Lax", "Strict", "None")
_HOST = re.compile(r"(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*")
_PATH_PREFIX = re.compile(r"[A-Za-z0-9_.\-]{1,64}(?:/[A-Za-z0-9_.\-]{1,64}){0,7}")
_KEY_PAIR_ID = re.compile(r"[A-Za-z0-9]{1,128}")


@dataclass(frozen=True)
class CloudFrontSettings:
    """Where signed cookies open a stream, and what they look like (README, "CloudFront signed
    cookies"). An empty `domain` turns the feature off."""

    domain: str  # the distribution's domain in the policy's Resource (d111111abcdef8.cloudfront.net, cdn.example.com)
    key_pair_id: str  # the CloudFront public key's ID; "" when the secret names it
    path_prefix: str  # streams are under https://<domain>/<path_prefix>/<stream>/ ("" = at the root)
    cookie_domain: str  # the cookies' Domain attribute: a parent of both the API's and the CDN's host
    same_site: str  # Lax, Strict or None
    cookie_seconds: int  # the cookies' life, and the admitted session's lease
    hash_algorithm: str  # SHA1 (CloudFront's default) or SHA256 (a fourth cookie says so)

    @property
    def enabled(self) -> bool:
        return bool(self.domain)


def _host_env(name: str, *, cookie: bool = False) -> str:
    value = os.environ.get(name, "").strip().lower().rstrip(".")
    if cookie:
        value = value.removeprefix(".")  # a leading dot in a cookie's Domain means nothing (RFC 6265)
    if value and not _HOST.fullmatch(value):
        raise ConfigurationError(f"setting {name} must be a domain name (no scheme, port or path)")
    return value


@cache
def get_cloudfront_settings() -> CloudFrontSettings:
    domain = _host_env("CLOUDFRONT_DOMAIN")
    prefix = os.environ.get("CLOUDFRONT_PATH_PREFIX", "").strip("/")
    if prefix and not _PATH_PREFIX.fullmatch(prefix):
        raise ConfigurationError("setting CLOUDFRONT_PATH_PREFIX must be path segments of letters, digits, '_-.'")
    key_pair_id = os.environ.get("CLOUDFRONT_KEY_PAIR_ID", "").strip()
    if key_pair_id and not _KEY_PAIR_ID.fullmatch(key_pair_id):
        raise ConfigurationError("setting CLOUDFRONT_KEY_PAIR_ID must be a CloudFront public key ID (letters, digits)")
    cookie_domain = _host_env("CLOUDFRONT_COOKIE_DOMAIN", cookie=True) or domain
    if domain and cookie_domain != domain and not domain.endswith("." + cookie_domain):
        # the browser would send the cookies to other hosts, never to the distribution
        raise ConfigurationError("setting CLOUDFRONT_COOKIE_DOMAIN must be CLOUDFRONT_DOMAIN or a parent domain of it")
    return CloudFrontSettings(
        domain=domain,
        key_pair_id=key_pair_id,
        path_prefix=prefix,
        cookie_domain=cookie_domain,
        same_site=_choice_env("CLOUDFRONT_COOKIE_SAME_SITE", "Lax", SAME_SITE),
        cookie_seconds=_int_env("CLOUDFRONT_COOKIE_SECONDS", 300, 60),
        hash_algorithm=_choice_env("CLOUDFRONT_HASH_ALGORITHM", "SHA1", HASH_ALGORITHMS),
    )


def reset_caches() -> None:
    """Forget settings and keys (tests, and the local runner after it rewrites env)."""
    from streamauth.keys import forget_secrets

    get_settings.cache_clear()
    get_cloudfront_settings.cache_clear()
    forget_secrets()
