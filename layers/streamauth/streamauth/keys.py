"""Keys and the other secrets: fetched from Secrets Manager, checked, held and refreshed.

Keys live in Secrets Manager, ONE SECRET PER PURPOSE (`settings.SECRETS`), so each function can
read only the keys it needs: the operator signing key only where operator credentials are
checked, the hook secret only in the hooks, and so on. A secret is fetched on first use of one
of its keys (never at import time) and re-read every `secret_cache_seconds`, so a rotation
reaches every function.

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
"""

from __future__ import annotations

import hmac
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from streamauth.errors import ConfigurationError, StoreUnavailable
from streamauth.settings import SECRETS, get_settings

MIN_KEY_BYTES = 32
POINTERS: frozenset[str] = frozenset(p for spec in SECRETS.values() for p in spec.pointers)
KEY_MAP_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}")  # an id in a key map (sealKeys): starts with a letter
SECRET_OF_KEY: dict[str, str] = {key: name for name, spec in SECRETS.items() for key in (*spec.keys, *spec.optional)}


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
