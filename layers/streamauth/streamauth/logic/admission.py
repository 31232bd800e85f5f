"""The ONE admission rule: may this credential publish or play this stream now? Pure.

Every enforcement point asks it: the media-server hooks (admission and renew), HTTP/HLS playback,
CloudFront playback, validate-token (rooms), push enforcement. Callers gather the facts (the
credential as a reference, the stream's state, the subscriber as stored, the issuing service
account's standing, the session) and get back a `Reason`: ALLOWED, or why not. The store's
condition expressions state the parts a write must hold atomically (a token unused, of the
type, not expired; a slot free); tests/unit/test_admission.py checks them against this rule on
the same cases.

Reason codes are defined here and nowhere else: logged, counted as metrics, returned by the
hooks and listed in the README's troubleshooting table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from streamauth.models.common import Action
from streamauth.models.sessions import CredentialRef, Session
from streamauth.models.streams import StreamState, Viewers, issued_before
from streamauth.models.subscribers import Subscriber

LEEWAY = 30  # seconds of clock skew tolerated on a JWT's exp and nbf: at admission, renew and push alike


class Reason(StrEnum):
    ALLOWED = "allowed"
    RENEWED = "renewed"
    ENDED = "ended"  # a stop report freed the session
    IGNORED = "ignored"  # a call with nothing to decide, or a stop naming no session
    # what the client presented
    MISSING_CREDENTIALS = "missing_credentials"
    INVALID_TOKEN = "invalid_token"
    INVALID_CODE = "invalid_code"
    REPLAYED = "replayed"
    LOCKED_OUT = "locked_out"
    NOT_PERMITTED = "not_permitted"  # a play subscriber may not publish
    NOT_CONFIGURED = "not_configured"  # no TOTP secret for unregistered subscribers of this type
    # what changed since it was issued
    REVOKED = "revoked"
    EXPIRED = "expired"
    STREAM_CLOSED = "stream_closed"
    BLOCKED = "blocked"
    SUBSCRIBER_DELETED = "subscriber_deleted"
    ACCOUNT_DELETED = "account_deleted"
    # sessions
    CONNECTION_LIMIT = "connection_limit"
    SESSION_NOT_FOUND = "session_not_found"
    SESSION_ENDED = "session_ended"  # ended over the API or by StreamEnded: the same identity is not admitted again
    SESSION_REQUIRED = "session_required"  # an HLS/DASH segment without a playback session
    INVALID_SESSION = "invalid_session"
    ADDRESS_NOT_BINDABLE = "address_not_bindable"  # binding is on and the request has no usable address
    # the media server itself
    WRONG_HOOK_SECRET = "wrong_hook_secret"


# What a hook answers for a refusal the client cannot act on differently (no secret configured).
HOOK_REASON = {Reason.NOT_CONFIGURED: Reason.INVALID_CODE}


@dataclass(frozen=True)
class Rules:
    """The deployment's settings the rule depends on."""

    viewers_default: Viewers = "closed"
    viewer_grace_ms: int = 0  # a viewer JWT minted within this much after a close is still dead
    jwt_expiry_ends_sessions: bool = True  # a JWT's exp ends the sessions it admitted (renew, push)


@dataclass(frozen=True)
class Facts:
    """What is known now about a credential, beyond the credential itself. `subscriber`: the
    stored subscriber for kind "subscriber" (None: deleted, or never stored when `stored` is
    False); `account_stands`: whether the issuing service account (if any) still exists."""

    state: StreamState
    subscriber: Subscriber | None = None
    subscriber_stored: bool = False  # the credential names a stored subscriber (a limit, a block)
    account_stands: bool = True


def expired(expires_at: int | None, now: float) -> bool:
    """A JWT's `exp` has passed, with the one leeway."""
    return expires_at is not None and now >= expires_at + LEEWAY


def verdict(credential: CredentialRef, action: Action, facts: Facts, rules: Rules, now: float) -> Reason:
    """May `credential` (already verified: signature, stream, type) publish/play now?"""
    state = facts.state
    if credential.kind == "subscriber":
        if not facts.subscriber_stored:
            return Reason.ALLOWED  # a derived-secret subscriber: nothing stored to revoke
        subscriber = facts.subscriber
        if subscriber is None:
            return Reason.SUBSCRIBER_DELETED
        if credential.issued_at_ms is not None and subscriber.created_at_ms > credential.issued_at_ms:
            return Reason.SUBSCRIBER_DELETED  # deleted and created anew since: another subscriber
        if not subscriber.may(action):
            return Reason.NOT_PERMITTED
        if subscriber.is_blocked(action, now):
            return Reason.BLOCKED
        return Reason.ALLOWED
    if credential.kind == "viewer":
        if state.revoked(credential.issued_at_ms):
            return Reason.REVOKED
        if not state.open_to_viewers(rules.viewers_default):
            return Reason.STREAM_CLOSED
        closed_until = (
            None if state.viewers_closed_at_ms is None else state.viewers_closed_at_ms + rules.viewer_grace_ms
        )
        if issued_before(credential.issued_at_ms, closed_until):
            return Reason.STREAM_CLOSED
    elif state.revoked(credential.issued_at_ms):
        return Reason.REVOKED
    if credential.account is not None and not facts.account_stands:
        return Reason.ACCOUNT_DELETED
    if credential.kind in ("jwt", "viewer") and expired(credential.expires_at, now):
        return Reason.EXPIRED
    return Reason.ALLOWED


def renew_verdict(credential: CredentialRef, action: Action, facts: Facts, rules: Rules, now: float) -> Reason:
    """The same rule for a session already admitted; a JWT's expiry ends it only where the
    deployment says so (JwtExpiryEndsSessions)."""
    if credential.kind in ("jwt", "viewer") and not rules.jwt_expiry_ends_sessions:
        credential = CredentialRef(
            credential.kind,
            credential.ref,
            credential.issued_at_ms,
            None,
            credential.subscriber_id,
            credential.account,
        )
    return verdict(credential, action, facts, rules, now)


def session_verdict(session: Session | None, now: float) -> Reason | None:
    """A session a renew or a playback request names: gone, ended or lapsed → refused; None while
    it stands (its credential is then judged by `verdict`)."""
    if session is None or not session.live(now):
        return Reason.SESSION_NOT_FOUND
    if session.ended_by is not None:
        return Reason.SESSION_ENDED
    return None
