"""Session use cases: record what was admitted, re-decide on every renew, end on done, list.

Every admitted publish or play is a session (models/sessions.py), written in the same
request as the credential it used; a subscriber's sessions are its connection leases. A
renew (nginx-rtmp's on_update) checks the credential again: a revoked token, an expired JWT
(a setting), a closed stream, a blocked or deleted subscriber, or a session that ended or
expired is refused, and the server drops the client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from streamauth.logic.sessions import credential_ref, session_key, slot_of, subscriber_session_id
from streamauth.models.common import Action
from streamauth.models.hooks import HookRequest, PresentedCredentials
from streamauth.models.sessions import CredentialRef, Session
from streamauth.models.streams import StreamState
from streamauth.models.subscribers import Subscriber
from streamauth.service.issuers import Issuers, issuers
from streamauth.service.streams import StreamService, stream_service
from streamauth.service.viewers import ViewerService, viewer_service
from streamauth.settings import get_settings
from streamauth.store import SessionStore, SubscriberStore, session_store, subscriber_store

LEASE_SECONDS = 90  # nginx-rtmp's on_update (notify_update_timeout 30 s) renews well within it

OPERATOR_ENDED = "operator"

# Why a renew is refused (the hooks' reason codes)
SESSION_NOT_FOUND = "session_not_found"
REVOKED = "revoked"
EXPIRED = "expired"
STREAM_CLOSED = "stream_closed"
SUBSCRIBER_DELETED = "subscriber_deleted"
ACCOUNT_DELETED = "account_deleted"  # the service account that issued the token was deleted
BLOCKED = "blocked"


def presented_ref(credentials: PresentedCredentials) -> str:
    """What identifies the credential a session was admitted with, from what the client presents
    (the same on the admit, update and done calls): a token's hash, or the subscriber."""
    if credentials.token:
        return "token:" + credential_ref(credentials.token)
    return "subscriber:" + (credentials.subscriber_id or "")


@dataclass(frozen=True)
class Renewal:
    renewed: bool
    reason: str  # "renewed", or why not


class SessionService:
    def __init__(
        self,
        store: SessionStore,
        streams: StreamService,
        viewers: ViewerService,
        subscribers: SubscriberStore,
        jwt_expiry_ends_sessions: bool,
        issuers: Issuers,
    ) -> None:
        self._store = store
        self._streams = streams
        self._viewers = viewers
        self._subscribers = subscribers
        self._jwt_expiry_ends = jwt_expiry_ends_sessions
        self._issuers = issuers

    @staticmethod
    def key(hook: HookRequest, action: Action) -> str:
        return session_key(hook.server, hook.server_session, hook.stream_id, action, presented_ref(hook.credentials))

    def new(self, hook: HookRequest, credential: CredentialRef, session_id: str | None, now: float) -> Session:
        key = self.key(hook, hook.action)
        now_ms = int(now * 1000)
        return Session(
            session_id=session_id or key,
            session_key=key,
            stream_id=hook.stream_id,
            action=hook.action,
            server=hook.server,
            server_session=hook.server_session,
            client_ip=hook.client_ip,
            credential=credential,
            started_at_ms=now_ms,
            last_seen_at_ms=now_ms,
            expires_at=int(now) + (hook.lease_seconds or LEASE_SECONDS),
            protocol=hook.protocol,
            kick_id=hook.kick_id,
            server_id=hook.server_id,
        )

    def put_item(self, session: Session, now: float) -> dict[str, Any]:
        return self._store.put_item(session, now)

    def record(self, session: Session, now: float) -> bool:
        return self._store.put(session, now)

    def claim(
        self, hook: HookRequest, subscriber_id: str, subscriber: Subscriber | None, now: float
    ) -> tuple[Session, dict[str, Any]] | None:
        """The session a subscriber's admission writes (with its code's acceptance): a free
        connection slot (free, expired, or this session's own) under the subscriber's limit, or
        None when all are held by live sessions. Limit 1 (Ant Media's default) costs no read."""
        credential = CredentialRef("subscriber", subscriber_id, subscriber_id=subscriber_id)
        key = self.key(hook, hook.action)
        if subscriber is None:  # not stored: no limit to enforce
            session = self.new(hook, credential, subscriber_session_id(subscriber_id, key), now)
            return session, self._store.put_item(session, now)
        limit = subscriber.concurrent_connections_limit
        slot: int | None = 0
        if limit > 1:  # which slot is free (limit 1 has one: its write's condition decides)
            held = {
                s.session_key: slot_of(s.session_id)
                for s in self._store.of_subscriber(hook.stream_id, subscriber_id)
                if s.live(now)
            }
            slot = held.get(key)  # a re-admission of this very session keeps its slot
            if slot is None:
                slot = next((n for n in range(limit) if n not in held.values()), None)
        if slot is None:
            return None
        session = self.new(hook, credential, subscriber_session_id(subscriber_id, slot), now)
        return session, self._store.put_item(session, now)

    def set_account(self, session: Session, account: str) -> None:
        """Record the service account that issued the session's one-time token."""
        self._store.set_account(session.stream_id, session.session_id, account)

    def find(self, hook: HookRequest, action: Action) -> Session | None:
        """The session this hook names: the same server identity, stream, action and credential."""
        key = self.key(hook, action)
        if _is_subscriber(hook):
            for session in self._store.of_subscriber(hook.stream_id, hook.credentials.subscriber_id or ""):
                if session.session_key == key:
                    return session
            return None
        return self._store.get(hook.stream_id, key)

    def renew(self, hook: HookRequest, now: float) -> Renewal:
        """Re-decide a live session on the server's update call; a refusal ends it. A token
        session and its stream's state are read fresh in ONE request (not the cache: a
        revocation must end the session at this very renew); a subscriber's in a query."""
        state: StreamState | None = None
        if _is_subscriber(hook):
            session = self.find(hook, hook.action)
        else:
            session, state = self._store.get_with_stream_state(hook.stream_id, self.key(hook, hook.action))
        if session is None or not session.live(now):
            return Renewal(False, SESSION_NOT_FOUND)
        reason = self.recheck(session, now, state)
        if reason is not None:
            self._store.end(session.stream_id, session.session_id, session.session_key)
            return Renewal(False, reason)
        expires = int(now) + LEASE_SECONDS
        if not self._store.renew(session, expires, now):
            return Renewal(False, SESSION_NOT_FOUND)  # ended or taken over meanwhile
        return Renewal(True, "renewed")

    def recheck(self, session: Session, now: float, state: StreamState | None = None) -> str | None:
        """Why the session's credential no longer admits it, or None while it still does; against
        `state` when the caller read it, else the stream's cached state (and the issuing service
        account's standing likewise: read fresh along with a fresh state)."""
        credential = session.credential
        fresh = state is not None
        if credential.kind == "subscriber":
            if slot_of(session.session_id) is None:
                return None  # not stored: nothing was revoked
            found = self._subscribers.get(session.stream_id, credential.subscriber_id or "")
            if found is None:
                return SUBSCRIBER_DELETED
            return BLOCKED if found[0].is_blocked(session.action, now) else None
        state = state or self._streams.state(session.stream_id, now)
        if credential.kind == "viewer":
            if not self._viewers.alive_in(state, _seconds(credential.issued_at_ms)):
                return REVOKED if state.revoked(credential.issued_at_ms) else STREAM_CLOSED
        elif state.revoked(credential.issued_at_ms):
            return REVOKED
        if credential.account is not None and not self._issuers.stands(credential.account, now, fresh=fresh):
            return ACCOUNT_DELETED
        expirable = credential.kind in ("jwt", "viewer") and self._jwt_expiry_ends
        if expirable and credential.expires_at is not None and now >= credential.expires_at:
            return EXPIRED
        return None

    def end(self, hook: HookRequest) -> bool:
        """The server says the session ended (done/stop/unpublish): free it. Only the session this
        hook names, so a done call naming another stream or credential frees nothing."""
        for action in hook.actions:
            if not _is_subscriber(hook):  # a token session's id is its identity: one conditional delete
                key = self.key(hook, action)
                if self._store.end(hook.stream_id, key, key):
                    return True
                continue
            session = self.find(hook, action)
            if session is not None:
                return self._store.end(session.stream_id, session.session_id, session.session_key)
        return False

    def list(self, stream_id: str, now: float) -> list[Session]:
        live = [s for s in self._store.of_stream(stream_id) if s.live(now)]
        return sorted(live, key=lambda s: (s.started_at_ms, s.session_id))

    def end_by_id(self, stream_id: str, session_id: str, now: float) -> bool:
        """End a live session (the operator's DELETE): False when there is none. Its lease ends at
        once (its next renew is refused) and the record says who ended it, for the enforcer that
        tells a media server without a renew hook to drop it. Read first, so a retried write
        still reports the truth."""
        session = self._store.get(stream_id, session_id)
        if session is None or not session.live(now):
            return False
        return self._store.mark_ended(session, OPERATOR_ENDED, now)

    def live_count(self, stream_id: str, subscriber_id: str, now: float) -> int:
        return sum(1 for s in self._store.of_subscriber(stream_id, subscriber_id) if s.live(now))

    def end_stream(self, stream_id: str) -> int:
        return self._store.end_stream(stream_id)


def _is_subscriber(hook: HookRequest) -> bool:
    """Admitted with a subscriber code (its sessions live in the subscriber's partition)."""
    return hook.credentials.token is None and bool(hook.credentials.subscriber_id)


def _seconds(ms: int | None) -> int | None:
    return None if ms is None else ms // 1000


def session_service() -> SessionService:
    return SessionService(
        session_store(),
        stream_service(),
        viewer_service(),
        subscriber_store(),
        get_settings().jwt_expiry_ends_sessions,
        issuers(),
    )
