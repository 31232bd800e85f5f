"""Subscriber use cases: profiles, blocks, time codes (handed out and checked), push tokens.

Code checks (`verify`) follow one rule for the API and the media-server hooks: the current
step ±1; a step once accepted is never accepted again; a blocked subscriber's codes are
refused for the blocked action; after 5 wrong codes in a row every code is refused for
30 s, then 60 s, 120 s, ... at most 15 min; a success resets the count.
"""

from __future__ import annotations

from dataclasses import dataclass

from streamauth.errors import BadRequest, ConfigurationError
from streamauth.logic import signing, totp
from streamauth.models.common import Action
from streamauth.models.subscribers import BlockRequest, CreateSubscriberRequest, Subscriber
from streamauth.service.access import CodeCheck
from streamauth.settings import Keys, get_keys, get_settings
from streamauth.store import LeaseStore, SubscriberStore, lease_store, subscriber_store

STATE_TTL = 7 * 86_400  # verification state outlives any lockout and step window
MAX_PUSH_TIMEOUT = 30 * 86_400

# Refusal reasons (also the hooks' reason codes)
ACCEPTED = "allowed"
INVALID_CODE = "invalid_code"
BLOCKED = "blocked"
LOCKED_OUT = "locked_out"
NOT_PERMITTED = "not_permitted"
NOT_CONFIGURED = "not_configured"
MESSAGES = {
    ACCEPTED: "code accepted",
    INVALID_CODE: "the code is wrong, expired or already used",
    BLOCKED: "the subscriber is blocked for this action",
    LOCKED_OUT: "too many wrong codes: try again later",
    NOT_PERMITTED: "a play subscriber may not publish",
    NOT_CONFIGURED: "no TOTP secret is configured for unregistered subscribers of this type",
}


@dataclass(frozen=True)
class CodeResult:
    success: bool
    reason: str
    code: str | None = None

    @property
    def message(self) -> str:
        return MESSAGES[self.reason]


class SubscriberService:
    def __init__(self, store: SubscriberStore, leases: LeaseStore, keys: Keys, period: int) -> None:
        self._store = store
        self._leases = leases
        self._keys = keys
        self._period = period

    # -- profiles -------------------------------------------------------------------------
    def create(self, request: CreateSubscriberRequest) -> str | None:
        """Store the subscriber; returns the secret when streamauth generated it (shown once)."""
        generated = None if request.b32_secret else totp.new_b32_secret()
        secret = request.b32_secret or generated or ""
        self._store.put(request.subscriber, totp.seal(secret, self._keys.subscriber_secret_key))
        return generated

    def get(self, stream_id: str, subscriber_id: str, now: float) -> Subscriber | None:
        found = self._store.get(stream_id, subscriber_id)
        if found is None:
            return None
        return found[0].with_connections(self._leases.live_count(stream_id, subscriber_id, now))

    def list(self, stream_id: str, offset: int, size: int, now: float) -> list[Subscriber]:
        subscribers = self._store.list(stream_id, offset, size)
        if not subscribers:
            return []
        counts = self._leases.live_counts(stream_id, now)
        return [s.with_connections(counts.get(s.subscriber_id, 0)) for s in subscribers]

    def delete(self, stream_id: str, subscriber_id: str) -> bool:
        return self._store.delete(stream_id, subscriber_id)

    def delete_all(self, stream_id: str) -> int:
        return self._store.delete_all(stream_id)

    def block(self, stream_id: str, subscriber_id: str, request: BlockRequest, now: float) -> bool:
        until_ms = int(now * 1000) + request.seconds * 1000
        return self._store.set_block(stream_id, subscriber_id, request.blocked_type, until_ms)

    def unblock(self, stream_id: str, subscriber_id: str) -> bool:
        return self._store.set_block(stream_id, subscriber_id, None, 0)

    # -- codes ----------------------------------------------------------------------------
    def _key_and_period(
        self, stream_id: str, subscriber_id: str, action: Action | None, found: tuple[Subscriber, str] | None
    ) -> tuple[bytes, int] | None:
        if found is not None:
            subscriber, sealed = found
            try:
                secret = totp.unseal(sealed, self._keys.subscriber_secret_key)
            except totp.SealError as exc:  # e.g. the subscriberSecretKey was changed
                raise ConfigurationError("this subscriber's secret cannot be read with the current key") from exc
            return totp.b32_key(secret), subscriber.totp_expiry_period_seconds or self._period
        if action is None:
            raise BadRequest("type", "is required for a subscriber that is not registered")
        setting = self._keys.publish_totp_secret if action == "publish" else self._keys.play_totp_secret
        if not setting:
            return None
        return totp.derived_key(setting, subscriber_id, stream_id, action), self._period

    def current_code(self, stream_id: str, subscriber_id: str, action: Action | None, now: float) -> CodeResult:
        keyed = self._key_and_period(stream_id, subscriber_id, action, self._store.get(stream_id, subscriber_id))
        if keyed is None:
            return CodeResult(False, NOT_CONFIGURED)
        key, period = keyed
        return CodeResult(True, ACCEPTED, totp.totp(key, now, period))

    def verify(
        self, stream_id: str, subscriber_id: str, code: str, action: Action, now: float
    ) -> tuple[CodeResult, Subscriber | None]:
        """At most 2 DynamoDB requests (3 on the wrong code that starts a lockout)."""
        found, state = self._store.get_with_state(stream_id, subscriber_id)
        subscriber = found[0] if found else None
        if state.locked(now):
            return CodeResult(False, LOCKED_OUT), subscriber
        if subscriber is not None:
            if not subscriber.may(action):
                return CodeResult(False, NOT_PERMITTED), subscriber
            if subscriber.is_blocked(action, now):
                return CodeResult(False, BLOCKED), subscriber
        keyed = self._key_and_period(stream_id, subscriber_id, action, found)
        if keyed is None:
            return CodeResult(False, NOT_CONFIGURED), None
        key, period = keyed
        expires = int(now) + STATE_TTL
        step = totp.matching_step(key, code, now, period, state.last_step)
        if step is not None and self._store.accept_step(stream_id, subscriber_id, step, expires):
            return CodeResult(True, ACCEPTED), subscriber
        after = self._store.record_failure(stream_id, subscriber_id, expires)
        if after.failures >= totp.MAX_FAILURES:
            until_ms = int(now * 1000) + totp.lockout_seconds(after.lockouts + 1) * 1000
            self._store.lock(stream_id, subscriber_id, after.failures, until_ms, expires)
        return CodeResult(False, INVALID_CODE), subscriber


def subscriber_service() -> SubscriberService:
    return SubscriberService(subscriber_store(), lease_store(), get_keys(), get_settings().time_token_period)


def verify_for_access(stream_id: str, subscriber_id: str, code: str, action: Action, now: float) -> CodeCheck:
    """The media-server hooks' subscriber check (see streamauth.service.access)."""
    result, subscriber = subscriber_service().verify(stream_id, subscriber_id, code, action, now)
    reason = INVALID_CODE if result.reason == NOT_CONFIGURED else result.reason
    limit = subscriber.concurrent_connections_limit if subscriber is not None else None
    return CodeCheck(result.success, reason, limit)


def verify_subscriber_code(stream_id: str, subscriber_id: str, code: str, action: Action, now: float) -> CodeResult:
    """The layer function the issue names: accepted or why not."""
    return subscriber_service().verify(stream_id, subscriber_id, code, action, now)[0]


def push_token(subscriber_id: str, timeout_seconds: int, now: float) -> str:
    """Ant Media's push-notification subscriber token: HS256 with its own key."""
    key = get_keys().subscriber_auth_key
    if not key:
        raise ConfigurationError("no subscriber authentication key")
    claims = {"subscriberId": subscriber_id, "iat": int(now), "exp": int(now) + timeout_seconds}
    return signing.encode(claims, key)
