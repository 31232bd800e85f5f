"""Subscriber use cases: profiles, blocks, time codes (handed out and checked), push tokens.

Code checks follow one rule for the API and the media-server hooks: the current step ±1; a
step once accepted is never accepted again (a replay, not a wrong guess); a blocked
subscriber's codes are refused for the blocked action; at most 5 wrong codes are evaluated
in a row, whatever the concurrency, then every code is refused for 30 s, then 60 s, 120 s,
... at most 15 min; a success resets the count. For a subscriber that is not stored (its
secret derived from the app's TOTP setting) the guess budget is per stream and per client
address, so changing the subscriberId gains nothing.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass, replace

from streamauth.errors import BadRequest, ConfigurationError, StoreUnavailable
from streamauth.keys import Keys, get_keys
from streamauth.logic import sealing, signing, totp
from streamauth.logic.admission import Facts, Reason, Rules, verdict
from streamauth.models.common import Action
from streamauth.models.sessions import CredentialRef, Session
from streamauth.models.streams import StreamState
from streamauth.models.subscribers import BlockRequest, CreateSubscriberRequest, Subscriber
from streamauth.settings import get_settings
from streamauth.store import SessionStore, SubscriberStore, session_store, subscriber_store
from streamauth.store.subscribers import NotReserved, Outcome, Reserved, guesses_key, profile_key

STATE_TTL = 7 * 86_400  # replay and guess state outlives any lockout and step window
MAX_PUSH_TIMEOUT = 30 * 86_400
UNKNOWN_ADDRESS = "unknown"

ACCEPTED, INVALID_CODE, REPLAYED = Reason.ALLOWED, Reason.INVALID_CODE, Reason.REPLAYED
BLOCKED, LOCKED_OUT, NOT_PERMITTED, NOT_CONFIGURED = (
    Reason.BLOCKED,
    Reason.LOCKED_OUT,
    Reason.NOT_PERMITTED,
    Reason.NOT_CONFIGURED,
)
MESSAGES = {
    ACCEPTED: "code accepted",
    INVALID_CODE: "the code is wrong or expired",
    REPLAYED: "the code was already used",
    BLOCKED: "the subscriber is blocked for this action",
    LOCKED_OUT: "too many wrong codes: try again later",
    NOT_PERMITTED: "a play subscriber may not publish",
    NOT_CONFIGURED: "no TOTP secret is configured for unregistered subscribers of this type",
}


@dataclass(frozen=True)
class CodeResult:
    success: bool
    reason: Reason
    code: str | None = None

    @property
    def message(self) -> str:
        return MESSAGES[self.reason]


@dataclass(frozen=True)
class Pending:
    """A code that matched a step, with its guess reserved: accept it (with whatever must be
    written with it) or release the guess."""

    stream_id: str
    subscriber_id: str
    action: Action
    subscriber: Subscriber | None  # None: not stored (derived secret)
    reserved: Reserved
    step: int
    attempt_id: str
    reseal: tuple[str, str] | None = None  # (stored blob, the same secret sealed anew): written with the acceptance
    client: str | None = None  # a client its server authenticates twice (store/subscribers.accept_code)


def standing(subscriber: Subscriber, action: Action, now: float) -> Reason:
    """The one admission rule (logic/admission.py) for a stored subscriber's code, now."""
    credential = CredentialRef("subscriber", subscriber.subscriber_id, subscriber_id=subscriber.subscriber_id)
    return verdict(credential, action, Facts(StreamState(), subscriber, subscriber_stored=True), Rules(), now)


class SubscriberService:
    def __init__(self, store: SubscriberStore, sessions: SessionStore, keys: Keys, period: int) -> None:
        self._store = store
        self._sessions = sessions  # a subscriber's live sessions are its connections
        self._keys = keys
        self._period = period

    # -- profiles -------------------------------------------------------------------------
    def create(self, request: CreateSubscriberRequest, now: float) -> None:
        """Store (or replace) the subscriber, its secret sealed. Without a secret its codes are the
        app's (derived, as for one not stored); without a period it keeps the app's of now
        (`TimeTokenPeriod`), as Ant Media's addSubscriber."""
        subscriber = request.subscriber
        if subscriber.totp_expiry_period_seconds is None:
            subscriber = replace(subscriber, totp_expiry_period_seconds=self._period)
        sealed = ""
        if request.b32_secret:
            sealed = sealing.seal(request.b32_secret, self._seal_keys(), subscriber.stream_id, subscriber.subscriber_id)
        self._store.put(subscriber, sealed, int(now * 1000))

    def _seal_keys(self) -> sealing.SealKeys:
        encoded, current = self._keys.seal_keys()
        return sealing.SealKeys.of(encoded, current, self._keys.subscriber_secret_key)

    def _unseal(self, sealed: str, stream_id: str, subscriber_id: str) -> str:
        try:
            return sealing.unseal(sealed, self._seal_keys(), stream_id, subscriber_id)
        except totp.SealError as exc:  # e.g. its seal key was taken out of the secret
            raise ConfigurationError("this subscriber's secret cannot be read with the current key") from exc

    def _resealed(self, stream_id: str, subscriber_id: str, sealed: str) -> tuple[str, str] | None:
        """A blob not sealed with the current key (v1, or an older kid), with the same secret sealed
        with it: written with the subscriber's next accepted code."""
        keys = self._seal_keys()
        if not sealed or not sealing.needs_reseal(sealed, keys):
            return None
        return sealed, sealing.seal(self._unseal(sealed, stream_id, subscriber_id), keys, stream_id, subscriber_id)

    def _connections(self, subscriber: Subscriber, now: float) -> Subscriber:
        sessions = self._sessions.of_subscriber(subscriber.stream_id, subscriber.subscriber_id)
        return subscriber.with_connections(sum(1 for session in sessions if session.live(now)))

    def get(self, stream_id: str, subscriber_id: str, now: float) -> Subscriber | None:
        """The subscriber with its live connection count (its live sessions)."""
        found = self._store.get(stream_id, subscriber_id)
        return None if found is None else self._connections(found[0], now)

    def delete(self, stream_id: str, subscriber_id: str, at: float) -> Outcome:
        return self._store.delete(stream_id, subscriber_id, int(at * 1000))

    def delete_all(self, stream_id: str) -> int:
        return self._store.delete_all(stream_id)

    def block(self, stream_id: str, subscriber_id: str, request: BlockRequest, at: float) -> Outcome:
        """Block from `at` (the intent's time) for the request's seconds (0: a block ends now); a
        subscriber that is not stored is stored with its block, so its derived codes are refused."""
        at_ms = int(at * 1000)
        return self._store.set_block(
            stream_id, subscriber_id, request.blocked_type, at_ms + request.seconds * 1000, at_ms, create=True
        )

    def unblock(self, stream_id: str, subscriber_id: str, at: float) -> Outcome:
        return self._store.set_block(stream_id, subscriber_id, None, 0, int(at * 1000))

    # -- codes ----------------------------------------------------------------------------
    def _key_and_period(
        self, stream_id: str, subscriber_id: str, action: Action | None, found: tuple[Subscriber, str] | None
    ) -> tuple[bytes, int] | None:
        if found is not None and found[1]:
            subscriber, sealed = found
            secret = self._unseal(sealed, stream_id, subscriber_id)
            return totp.b32_key(secret), subscriber.totp_expiry_period_seconds or self._period
        # not stored, or stored without a secret: the app's secret for the action (Ant Media's getTOTP)
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

    def _reserve(
        self, stream_id: str, subscriber_id: str, action: Action, now: float, address: str, attempt_id: str
    ) -> Reserved | CodeResult:
        """A guess reserved on the subscriber's profile, or (not stored) on the stream's counter
        for the client address; or the refusal that makes a guess pointless."""
        outcome = self._store.reserve_guess(
            profile_key(stream_id, subscriber_id), attempt_id, now, action=action, expires=None
        )
        if isinstance(outcome, NotReserved) and not outcome.found:  # not stored: the address's budget
            key = guesses_key(stream_id, address)
            outcome = self._store.reserve_guess(key, attempt_id, now, action=None, expires=int(now) + STATE_TTL)
        if isinstance(outcome, Reserved):
            return outcome
        subscriber = outcome.subscriber
        if subscriber is not None:  # refused by the rule, not for a wrong guess: the one rule says why
            reason = standing(subscriber, action, now)
            if reason is not Reason.ALLOWED:
                return CodeResult(False, reason)
        counter = outcome.counter
        ends_ms = totp.lockout_ends_ms(counter.failures, counter.lockouts, counter.attempt_at_ms)
        if ends_ms is not None and now * 1000 >= ends_ms:  # the lockout has run its course
            restarted = self._store.restart_after_lockout(outcome.key, counter, attempt_id, now)
            if restarted is not None:
                return restarted
        return CodeResult(False, LOCKED_OUT)

    def check(
        self,
        stream_id: str,
        subscriber_id: str,
        code: str,
        action: Action,
        now: float,
        address: str | None,
        client: str | None = None,
    ) -> Pending | CodeResult:
        """Reserve a guess (ONE request, which also reads the profile), then evaluate the code: a
        refusal, or a Pending match to accept. A wrong code keeps its guess counted. `client`: the
        identity of a client its server authenticates twice, whose code may be accepted once more."""
        attempt_id = uuid.uuid4().hex
        reserved = self._reserve(stream_id, subscriber_id, action, now, address or UNKNOWN_ADDRESS, attempt_id)
        if isinstance(reserved, CodeResult):
            return reserved
        subscriber = reserved.subscriber
        found = (subscriber, reserved.sealed_secret or "") if subscriber is not None else None
        try:
            keyed = self._key_and_period(stream_id, subscriber_id, action, found)
            reseal = self._resealed(stream_id, subscriber_id, found[1]) if found is not None else None
        except Exception:
            self._store.release_guess(reserved, attempt_id)
            raise
        if keyed is None:
            self._store.release_guess(reserved, attempt_id)
            return CodeResult(False, NOT_CONFIGURED)
        key, period = keyed
        step = totp.matching_step(key, code, now, period)
        if step is None:
            return CodeResult(False, INVALID_CODE)  # a wrong guess: it stays counted
        again = client is not None and step == reserved.counter.last_step  # the store decides if it may
        if subscriber is not None and step <= reserved.counter.last_step and not again:
            self._store.release_guess(reserved, attempt_id)
            return CodeResult(False, REPLAYED)
        return Pending(stream_id, subscriber_id, action, subscriber, reserved, step, attempt_id, reseal, client)

    def accept(self, pending: Pending, now: float, session: Session | None = None) -> tuple[CodeResult, bool]:
        """Accept a pending code, recording `session` with it in ONE transaction. Returns (result,
        session_failed): when the session could not be recorded (e.g. its connection slot was
        taken meanwhile) nothing was written and the guess stays reserved, for the caller to try
        again or release."""
        refused = self._store.accept_code(
            pending.stream_id,
            pending.subscriber_id,
            pending.reserved,
            pending.step,
            pending.attempt_id,
            now,
            action=pending.action if pending.subscriber is not None else None,
            expires=int(now) + STATE_TTL,
            reseal=pending.reseal,
            session=session,
            client=pending.client,
        )
        if refused is None:
            return CodeResult(True, ACCEPTED), False
        if refused.also_failed:
            return CodeResult(False, INVALID_CODE), True
        self._store.release_guess(pending.reserved, pending.attempt_id)
        if pending.subscriber is not None and refused.current is None:
            return CodeResult(False, INVALID_CODE), False  # deleted meanwhile
        if refused.current is not None and standing(refused.current, pending.action, now) is Reason.BLOCKED:
            return CodeResult(False, BLOCKED), False
        return CodeResult(False, REPLAYED), False

    def release(self, pending: Pending) -> None:
        self._store.release_guess(pending.reserved, pending.attempt_id)

    def verify(
        self, stream_id: str, subscriber_id: str, code: str, action: Action, now: float, address: str | None
    ) -> CodeResult:
        """Is this code accepted (and so used)? 2 DynamoDB requests for a stored subscriber (a wrong
        code: 1); 3 for one that is not stored."""
        checked = self.check(stream_id, subscriber_id, code, action, now, address)
        if isinstance(checked, CodeResult):
            return checked
        try:
            return self.accept(checked, now)[0]
        except StoreUnavailable:
            with contextlib.suppress(StoreUnavailable):  # the store failed us, not the client: no guess
                self.release(checked)
            raise

    def list(self, stream_id: str, offset: int, size: int, now: float) -> list[Subscriber]:
        return [self._connections(subscriber, now) for subscriber in self._store.list(stream_id, offset, size)]


def subscriber_service() -> SubscriberService:
    return SubscriberService(subscriber_store(), session_store(), get_keys(), get_settings().time_token_period)


def push_token(subscriber_id: str, timeout_seconds: int, now: float) -> str:
    """Ant Media's push-notification subscriber token: HS256 with its own key."""
    claims = {"subscriberId": subscriber_id, "iat": int(now), "exp": int(now) + timeout_seconds}
    return signing.encode(claims, get_keys().subscriber_auth_key)
