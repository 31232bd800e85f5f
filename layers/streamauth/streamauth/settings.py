"""Typed settings and keys.

Settings come from the environment, read once, lazily. Keys live in Secrets Manager, ONE
SECRET PER PURPOSE (see `SECRETS`), so each function can read only the keys it needs: the
operator signing key only where operator credentials are checked, the hook secret only in
the hooks, and so on. A secret is fetched on first use of one of its keys (never at import
time) and re-read every `secret_cache_seconds`, so a rotation reaches every function.

Every key is checked when its secret is loaded: at least 32 bytes, and different from every
other key this process holds; otherwise ConfigurationError names the keys (never a value).
`check_all_keys` applies the same rule across every secret (the local runner at start-up,
and `make check-keys` for a deployed stack, which can read them all).

Two secrets are documents, not keys: the media-server registry (`mediaServers`, URLs and
API credentials of the servers the session enforcer ends sessions on) and the CloudFront
signing key (`cloudFront`, an RSA private key in PEM, models/cloudfront.py). They are fetched
and refreshed by the same key ring, but parsed by their own loaders (`secret_document`) and kept
out of the key checks, which apply to symmetric keys only.

Two more documents hold the ES256 signing keys (README, "Keys: signing, publishing, rotating"):
`signingKeys`, the private keys, read only by the functions that sign, and written by the
rotation function; `publicSigningKeys`, their public parts and times, read by the functions that
verify and by the public JWKS endpoint, so no verifier holds a key that signs.

The subscribers secret may also hold `sealKeys` ({kid: 32 random bytes, base64}) and
`currentSealKey` (a kid of sealKeys): the AES-GCM keys of sealed secrets (logic/sealing.py). Each
seal key is a key like any other (32+ bytes, unlike every other); `currentSealKey` names one.

The CloudFront signed-cookie settings (`get_cloudfront_settings`) are read apart from the
others: only the function that signs cookies has them, and only it fails on a bad one.
"""

from __future__ import annotations

import hmac
import json
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, TypeVar

from streamauth.errors import ConfigurationError, StoreUnavailable

MIN_KEY_BYTES = 32
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
POINTERS: frozenset[str] = frozenset(p for spec in SECRETS.values() for p in spec.pointers)
KEY_MAP_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}")  # an id in a key map (sealKeys): starts with a letter
SECRET_OF_KEY: dict[str, str] = {key: name for name, spec in SECRETS.items() for key in (*spec.keys, *spec.optional)}


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


# --- keys ---------------------------------------------------------------------------------


def check_keys(keys: Mapping[str, str]) -> None:
    """Every key at least MIN_KEY_BYTES bytes and no two equal, else ConfigurationError naming
    them (never a value). Keys of one kind must never verify as another's."""
    short = sorted(name for name, value in keys.items() if len(value.encode()) < MIN_KEY_BYTES)
    if short:
        raise ConfigurationError(f"keys shorter than {MIN_KEY_BYTES} bytes: {', '.join(short)}")
    names = sorted(keys)
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            if hmac.compare_digest(keys[first].encode(), keys[second].encode()):
                raise ConfigurationError(f"keys {first} and {second} are equal: every key must differ")


def keys_from_secret(name: str, secret_string: str) -> dict[str, str]:
    """The keys one secret holds (its required keys, and optional ones that are set)."""
    spec = SECRETS[name]
    if spec.document:
        raise ConfigurationError(f"the {name} secret holds configuration, not keys")
    try:
        data = json.loads(secret_string)
    except ValueError as exc:
        raise ConfigurationError(f"the {name} secret is not JSON") from exc
    if not isinstance(data, dict):
        raise ConfigurationError(f"the {name} secret is not a JSON object")
    found: dict[str, str] = {}
    for key in spec.keys:
        value = data.get(key)
        if not isinstance(value, str) or not value:
            raise ConfigurationError(f"the {name} secret has no {key}")
        found[key] = value
    for key in spec.optional:
        value = data.get(key)
        if value is not None and (not isinstance(value, str) or not value):
            raise ConfigurationError(f"the {name} secret's {key} must be a non-empty string")
        if value:
            found[key] = value
    for mapping in spec.key_maps:
        entries = data.get(mapping)
        if entries is None:
            continue
        if not isinstance(entries, dict):
            raise ConfigurationError(f"the {name} secret's {mapping} must be an object of id: key")
        for key_id, value in entries.items():
            if not KEY_MAP_ID.fullmatch(key_id):
                raise ConfigurationError(f"the {name} secret's {mapping} ids are 1-32 letters, digits, '_', '-'")
            if not isinstance(value, str) or not value:
                raise ConfigurationError(f"the {name} secret's {mapping}.{key_id} must be a non-empty string")
            found[f"{mapping}.{key_id}"] = value
    for pointer in spec.pointers:
        value = data.get(pointer)
        if value is None:
            continue
        if not isinstance(value, str) or not any(f"{m}.{value}" in found for m in spec.key_maps):
            raise ConfigurationError(f"the {name} secret's {pointer} must name an id of {', '.join(spec.key_maps)}")
        found[pointer] = value
    check_keys(only_keys(found))
    return found


def only_keys(found: Mapping[str, str]) -> dict[str, str]:
    """The keys of what a secret holds: without its pointers (ids of keys, not keys)."""
    return {name: value for name, value in found.items() if name not in POINTERS}


def check_all_keys(secret_strings: Mapping[str, str]) -> None:
    """The start-up check across every secret (local runner, `make check-keys`)."""
    keys: dict[str, str] = {}
    for name, secret_string in secret_strings.items():
        if not SECRETS[name].document:  # configuration (the media-server registry) holds no keys
            keys.update(only_keys(keys_from_secret(name, secret_string)))
    check_keys(keys)


SecretFetcher = Callable[[str], str]
Parsed = TypeVar("Parsed")


def _secrets_manager(operation: str, arn: str) -> dict[str, Any]:
    """One Secrets Manager call on secret `arn`, its failures mapped once for every caller."""
    from botocore.exceptions import BotoCoreError, ClientError

    from streamauth.aws import secrets_client  # lazy: only the first load pays the import

    try:
        reply: dict[str, Any] = getattr(secrets_client(), operation)(SecretId=arn)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("ResourceNotFoundException", "DecryptionFailure"):
            raise ConfigurationError(f"a secret cannot be read ({code})") from exc
        # Throttling, service errors, and AccessDenied (the function's policy lacks this secret,
        # which AWS answers the same way): the caller gets a 503, the log names the reason.
        raise StoreUnavailable("the secret store is unavailable, retry later") from exc
    except BotoCoreError as exc:
        raise StoreUnavailable("the secret store is unavailable, retry later") from exc
    return reply


def _fetch_secret_string(arn: str) -> str:
    return str(_secrets_manager("get_secret_value", arn).get("SecretString", ""))


def secret_metadata(name: str) -> dict[str, Any]:
    """Secrets Manager's DescribeSecret of secret `name` (SECRETS): its rotation schedule and
    versions, never its value. Not cached: each call asks."""
    arn = get_settings().secret_arns.get(name, "")
    if not arn:
        raise ConfigurationError(f"setting {SECRETS[name].env} is not set")
    return _secrets_manager("describe_secret", arn)


class _KeyRing:
    """The secrets this process has loaded, each with the time it was fetched (`monotonic`: a
    parameter, so tests move it)."""

    def __init__(self, fetch: SecretFetcher, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._fetch = fetch
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._loaded: dict[str, tuple[float, dict[str, str]]] = {}
        self._documents: dict[str, tuple[float, object]] = {}

    def _secret_string(self, name: str) -> str:
        arn = get_settings().secret_arns.get(name, "")
        if not arn:
            raise ConfigurationError(f"setting {SECRETS[name].env} is not set")
        return self._fetch(arn)

    def secret(self, name: str) -> dict[str, str]:
        settings = get_settings()
        with self._lock:
            cached = self._loaded.get(name)
            if cached is not None and self._monotonic() - cached[0] < settings.secret_cache_seconds:
                return cached[1]
            keys = keys_from_secret(name, self._secret_string(name))
            others = {k: v for other, (_, held) in self._loaded.items() if other != name for k, v in held.items()}
            check_keys(only_keys({**others, **keys}))
            self._loaded[name] = (self._monotonic(), keys)
            return keys

    def key(self, key: str) -> str | None:
        return self.secret(SECRET_OF_KEY[key]).get(key)

    def document(self, name: str, parse: Callable[[str], Parsed], max_age: float | None = None) -> Parsed:
        """A configuration secret, parsed by `parse` (which raises ConfigurationError when it is
        malformed), fetched and refreshed like the keys; with `max_age`, a copy older than that
        is fetched again (a key set that lacks the key a token names: at most that often)."""
        if not SECRETS[name].document:
            raise ConfigurationError(f"the {name} secret holds keys, not configuration")
        with self._lock:
            cached = self._documents.get(name)
            limit = get_settings().secret_cache_seconds
            limit = limit if max_age is None else min(limit, max_age)
            if cached is not None and self._monotonic() - cached[0] < limit:
                return cached[1]  # type: ignore[return-value]  # stored by this method with the same parser
            parsed = parse(self._secret_string(name))
            self._documents[name] = (self._monotonic(), parsed)
            return parsed

    def forget(self) -> None:
        with self._lock:
            self._loaded.clear()
            self._documents.clear()


_ring = _KeyRing(_fetch_secret_string)


def _required(key: str) -> str:
    value = _ring.key(key)
    if value is None:  # unreachable for required keys: keys_from_secret checked them
        raise ConfigurationError(f"no {key}")
    return value


class Keys:
    """Every key by name; reading one loads its secret (once per cache period). Never log or
    return an instance's values."""

    @property
    def rest_jwt_secret(self) -> str:
        return _required("restJwtSecret")

    @property
    def service_account_pepper(self) -> str:
        return _required("serviceAccountPepper")

    @property
    def jwt_stream_key(self) -> str:
        return _required("jwtStreamKey")

    @property
    def viewer_jwt_key(self) -> str:
        return _required("viewerJwtKey")

    @property
    def hook_secret(self) -> str:
        return _required("hookSecret")

    @property
    def subscriber_secret_key(self) -> str:
        return _required("subscriberSecretKey")

    @property
    def subscriber_auth_key(self) -> str:
        return _required("subscriberAuthKey")

    @property
    def publish_totp_secret(self) -> str | None:
        return _ring.key("publishTotpSecret")

    @property
    def play_totp_secret(self) -> str | None:
        return _ring.key("playTotpSecret")

    def seal_keys(self) -> tuple[dict[str, str], str | None]:
        """The sealed secrets' AES-GCM keys by id (base64, as the secret holds them: `sealKeys`)
        and the id `currentSealKey` names (None: the key derived from subscriberSecretKey)."""
        held = _ring.secret("subscribers")
        prefix = "sealKeys."
        keys = {name.removeprefix(prefix): value for name, value in held.items() if name.startswith(prefix)}
        return keys, held.get("currentSealKey")

    def __repr__(self) -> str:  # keep keys out of tracebacks and logs
        return "Keys(<redacted>)"


_keys = Keys()


def get_keys() -> Keys:
    """The deployment's keys, each secret loaded on first use and refreshed (rotation)."""
    return _keys


def secret_document(name: str, parse: Callable[[str], Parsed], max_age: float | None = None) -> Parsed:
    """A configuration secret (a `document` in SECRETS, e.g. the media-server registry), parsed
    on first use and refreshed every `secret_cache_seconds` (or `max_age`, when shorter) like the
    keys. Never log it."""
    return _ring.document(name, parse, max_age)


def forget_secrets() -> None:
    """Forget every secret held (SnapStart's restore: streamauth/priming.py); settings stay."""
    _ring.forget()


def held_secrets() -> int:
    """How many secrets this process holds (the SnapStart test: none before a snapshot)."""
    return len(_ring._loaded) + len(_ring._documents)


def reset_caches() -> None:
    """Forget settings and keys (tests, and the local runner after it rewrites env)."""
    get_settings.cache_clear()
    get_cloudfront_settings.cache_clear()
    _ring.forget()
