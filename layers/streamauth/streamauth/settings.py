"""Typed settings: environment read once, lazily; secrets fetched from Secrets Manager and cached.

The deployment keeps ONE Secrets Manager secret (generated at deploy time) holding
`{"master": "<random>"}`. Every key streamauth needs is derived from it per purpose, so
tokens of one kind can never verify as another. An operator may pin a key by adding it to
the same secret (e.g. `"jwtStreamKey": "..."` to share it with clients that sign their own
JWT stream tokens); the publish/play TOTP secrets exist only when added that way.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
import time
from dataclasses import dataclass
from functools import cache

from streamauth.errors import ConfigurationError, StoreUnavailable

# Keys derived from the master secret unless pinned in the secret itself.
DERIVED_KEYS = (
    "restJwtSecret",
    "jwtStreamKey",
    "subscriberAuthKey",
    "viewerJwtKey",
    "hookSecret",
    "serviceAccountPepper",
    "subscriberSecretKey",
)
# Keys that exist only when an operator sets them (Ant Media's app settings).
OPTIONAL_KEYS = ("publishTotpSecret", "playTotpSecret")
MIN_KEY_LENGTH = 32


@dataclass(frozen=True)
class Settings:
    table_name: str
    secret_arn: str
    time_token_period: int
    viewer_token_ttl: int
    revocation_cache_seconds: float
    secret_cache_seconds: float
    event_bus_name: str
    dead_letter_queue_url: str


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


@cache
def get_settings() -> Settings:
    return Settings(
        table_name=os.environ.get("TABLE_NAME", ""),
        secret_arn=os.environ.get("SECRET_ARN", ""),
        time_token_period=_int_env("TIME_TOKEN_PERIOD", 60, 1),
        viewer_token_ttl=_int_env("VIEWER_TOKEN_TTL", 600, 1),
        revocation_cache_seconds=_int_env("REVOCATION_CACHE_SECONDS", 5, 0),
        secret_cache_seconds=_int_env("SECRET_CACHE_SECONDS", 300, 0),
        event_bus_name=os.environ.get("EVENT_BUS_NAME", ""),
        dead_letter_queue_url=os.environ.get("DEAD_LETTER_QUEUE_URL", ""),
    )


@dataclass(frozen=True)
class Keys:
    """Every key, resolved. Never log or return an instance."""

    rest_jwt_secret: str
    jwt_stream_key: str
    subscriber_auth_key: str
    viewer_jwt_key: str
    hook_secret: str
    service_account_pepper: str
    subscriber_secret_key: str
    publish_totp_secret: str | None
    play_totp_secret: str | None

    def __repr__(self) -> str:  # keep keys out of tracebacks and logs
        return "Keys(<redacted>)"


def derive(master: str, purpose: str) -> str:
    return hmac.new(master.encode(), f"streamauth/{purpose}".encode(), hashlib.sha256).hexdigest()


def keys_from_secret(secret_string: str) -> Keys:
    try:
        data = json.loads(secret_string)
    except ValueError as exc:
        raise ConfigurationError("the streamauth secret is not JSON") from exc
    if not isinstance(data, dict):
        raise ConfigurationError("the streamauth secret is not a JSON object")
    master = data.get("master")
    if not isinstance(master, str) or len(master) < MIN_KEY_LENGTH:
        raise ConfigurationError(f"the streamauth secret needs a 'master' of at least {MIN_KEY_LENGTH} characters")
    resolved: dict[str, str | None] = {}
    for name in DERIVED_KEYS:
        pinned = data.get(name)
        if pinned is not None and (not isinstance(pinned, str) or len(pinned) < MIN_KEY_LENGTH):
            raise ConfigurationError(f"secret key {name} must be a string of at least {MIN_KEY_LENGTH} characters")
        resolved[name] = pinned or derive(master, name)
    for name in OPTIONAL_KEYS:
        value = data.get(name)
        resolved[name] = value if isinstance(value, str) and value else None
    return Keys(
        rest_jwt_secret=str(resolved["restJwtSecret"]),
        jwt_stream_key=str(resolved["jwtStreamKey"]),
        subscriber_auth_key=str(resolved["subscriberAuthKey"]),
        viewer_jwt_key=str(resolved["viewerJwtKey"]),
        hook_secret=str(resolved["hookSecret"]),
        service_account_pepper=str(resolved["serviceAccountPepper"]),
        subscriber_secret_key=str(resolved["subscriberSecretKey"]),
        publish_totp_secret=resolved["publishTotpSecret"],
        play_totp_secret=resolved["playTotpSecret"],
    )


_keys_lock = threading.Lock()
_keys_cache: tuple[float, Keys] | None = None


def get_keys() -> Keys:
    """The deployment's keys, fetched once and refreshed every `secret_cache_seconds` (rotation)."""
    global _keys_cache
    settings = get_settings()
    with _keys_lock:
        cached = _keys_cache
        if cached is not None and time.monotonic() - cached[0] < settings.secret_cache_seconds:
            return cached[1]
        if not settings.secret_arn:
            raise ConfigurationError("setting SECRET_ARN is not set")
        from botocore.exceptions import BotoCoreError, ClientError

        from streamauth.aws import secrets_client  # lazy: only the first call pays the import

        try:
            reply = secrets_client().get_secret_value(SecretId=settings.secret_arn)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("ResourceNotFoundException", "AccessDeniedException", "DecryptionFailure"):
                raise ConfigurationError("the streamauth secret cannot be read") from exc
            raise StoreUnavailable("the secret store is unavailable, retry later") from exc
        except BotoCoreError as exc:
            raise StoreUnavailable("the secret store is unavailable, retry later") from exc
        keys = keys_from_secret(reply.get("SecretString", ""))
        _keys_cache = (time.monotonic(), keys)
        return keys


def reset_caches() -> None:
    """Forget settings and keys (tests, and the local runner after it rewrites env)."""
    global _keys_cache
    get_settings.cache_clear()
    with _keys_lock:
        _keys_cache = None
