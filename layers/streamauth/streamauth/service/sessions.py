"""Session use cases: record what was admitted, re-decide on every renew, end on done, list.

Every admitted publish or play is a session (models/sessions.py), written in the same
request as the credential it used; a subscriber's sessions are its connection leases. A
renew (nginx-rtmp's on_update) checks the credential again: a revoked token, an expired JWT
(a setting), a closed stream, a blocked or deleted subscriber, or a session that ended or
expired is refused, and the server drops the client.
"""

from __future__ import annotations

from dataclasses import dataclass

from streamauth.logic.admission import Reason
from streamauth.logic.sessions import credential_owner, session_key, slot_of, subscriber_session_id, token_ref
from streamauth.models.common import Action
from streamauth.models.hooks import HookRequest, PresentedCredentials, client_of
from streamauth.models.policies import Client, Policy
from streamauth.models.sessions import CredentialRef, Session
from streamauth.models.streams import StreamState
from streamauth.models.subscribers import Subscriber
from streamauth.service.admission import Judge, judge
from streamauth.store import SessionStore, session_store

LEASE_SECONDS = 90  # nginx-rtmp's on_update (notify_update_timeout 30 s) renews well within it

OPERATOR_ENDED = "operator"
STREAM_ENDED = "stream_ended"
SHARING_ENDED = "sharing"  # a sharing policy's action ended the credential's sessions
MAX_CLAIM_FAILURES = 64


def claim_attempts(cap: int | None) -> int:
    """How often an admission looks for a free slot: a slot write fails only when another
    session took that slot since the look, so cap + 1 attempts admit exactly `cap` however many
    race (bounded: past 64 racers for one credential the rest are refused)."""
    return 1 if cap is None else min(cap, MAX_CLAIM_FAILURES) + 1


def presented_ref(credentials: PresentedCredentials) -> str:
    """What identifies the credential a session was admitted with, from what the client presents
    (the same on the admit, update and done calls): a token's hash, or the subscriber."""
    if credentials.token:
        return "token:" + token_ref(credentials.token)
    return "subscriber:" + (credentials.subscriber_id or "")


@dataclass(frozen=True)
class Renewal:
    renewed: bool
    reason: Reason  # RENEWED, or why not
    session_id: str | None = None  # the session the renew named, when found (the decision log's)


class SessionService:
    def __init__(self, store: SessionStore, judge: Judge) -> None:
        self._store = store
        self._judge = judge

    @staticmethod
    def key(hook: HookRequest, action: Action) -> str:
        """The session's ONE identity: the media server (its registered id, or the kind's default),
        the server's own id for the session, the stream, the action and the credential."""
        return session_key(
            hook.server,
            hook.server_id,
            hook.server_session,
            hook.stream_id,
            action,
            presented_ref(hook.credentials),
        )

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
            country=hook.country,
            origin=hook.origin,
        )

    def record(self, session: Session, now: float) -> bool:
        """Record an admitted session; False when its identity was ended (never revived)."""
        return self._store.put(session, now)

    def claim(
        self, hook: HookRequest, subscriber_id: str, subscriber: Subscriber | None, cap: int | None, now: float
    ) -> Session | None:
        """The session a subscriber's admission writes (with its code's acceptance): a free
        connection slot (free, expired, or this very session's) under its `cap` (logic/admission.py
        session_cap: its concurrentConnectionsLimit and the policies' maxSessions), or None when all
        are held by live sessions. The credential's issue time is the admission's: a subscriber
        deleted and created anew after it is another subscriber, whose sessions these are not."""
        credential = CredentialRef(
            "subscriber", subscriber_id, issued_at_ms=int(now * 1000), subscriber_id=subscriber_id
        )
        key = self.key(hook, hook.action)
        if subscriber is None or cap is None:  # not stored: no limit to enforce
            return self.new(hook, credential, subscriber_session_id(subscriber_id, key), now)
        slot = self._free_slot(hook.stream_id, subscriber_id, key, cap, now)
        return None if slot is None else self.new(hook, credential, subscriber_session_id(subscriber_id, slot), now)

    def _free_slot(self, stream_id: str, owner: str, key: str, cap: int, now: float) -> int | None:
        """A slot of `owner`'s for the session `key`: its own when it holds one, else the first
        free one, None when every slot is held by a live
        session. A cap of 1 has one slot: no read, its write's condition decides."""
        if cap == 1:
            return 0
        held = {
            s.session_key: slot_of(s.session_id) for s in self._store.of_subscriber(stream_id, owner) if s.live(now)
        }
        slot = held.get(key)  # a re-admission of this very session keeps its slot
        if slot is not None:
            return slot
        return next((n for n in range(cap) if n not in held.values()), None)

    def place(
        self, hook: HookRequest, credential: CredentialRef, cap: int | None, now: float
    ) -> Session | None | Reason:
        """Record a counted JWT's (or viewer JWT's) session in its credential's partition, in one
        of `cap` slots as a subscriber's connections are (None: no cap, its identity is its
        slot): the session written (no request more than an uncounted one: its write is the
        slot; a cap above 1 reads the credential's sessions first), None when every slot is held
        by a live session, or SESSION_ENDED when this identity was ended."""
        owner = credential_owner(credential.ref)
        key = self.key(hook, hook.action)
        for _ in range(claim_attempts(cap)):
            slot: int | str | None = key if cap is None else self._free_slot(hook.stream_id, owner, key, cap, now)
            if slot is None:
                return None
            session = self.new(hook, credential, subscriber_session_id(owner, slot), now)
            outcome = self._store.claim(session, now)
            if outcome == "claimed":
                return session
            if outcome == "ended":
                return Reason.SESSION_ENDED
            if cap is None or cap == 1:
                return None
        return None

    def end_credential(self, stream_id: str, owner: str, now: float) -> int:
        """End every live session of one credential's partition (a subscriber's, a counted JWT's)
        as the operator's DELETE does (the enforcer kicks them on push servers)."""
        ended = 0
        for session in self._store.of_subscriber(stream_id, owner):
            if session.live(now) and session.ended_by is None:
                ended += self._store.mark_ended(session, SHARING_ENDED, now)
        return ended

    def set_issued(self, session: Session, account: str | None, policy: Policy | None) -> None:
        """Record what the session's one-time token carried, learnt as it was used: the service
        account that issued it and its own access policy (its renews judge both again)."""
        self._store.set_issued(session.stream_id, session.session_id, account, policy)

    def find(self, hook: HookRequest, action: Action) -> Session | None:
        """The session this hook names: the same server, server identity, stream, action and
        credential. A server that sends no identity of its own (Ant Media) names its oldest live
        session with that credential: each of its stop reports frees one."""
        key = self.key(hook, action)
        if not _is_subscriber(hook):
            return self._store.get(hook.stream_id, key) or self._counted(hook, key)
        mine = self._store.of_subscriber(hook.stream_id, hook.credentials.subscriber_id or "")
        if hook.server_session is None:
            same = [
                s
                for s in mine
                if (s.server, s.server_id, s.action) == (hook.server, hook.server_id, action) and s.ended_by is None
            ]
            return min(same, key=lambda s: (s.started_at_ms, s.session_id), default=None)
        return next((s for s in mine if s.session_key == key), None)

    def renew(self, hook: HookRequest, now: float) -> Renewal:
        """Re-decide a live session on the server's update call; a refusal ends it. A token
        session and its stream's state are read fresh in ONE request (not the cache: a
        revocation must end the session at this very renew); a subscriber's in a query."""
        state: StreamState | None = None
        if _is_subscriber(hook):
            session = self.find(hook, hook.action)
        else:
            key = self.key(hook, hook.action)
            session, state = self._store.get_with_stream_state(hook.stream_id, key)
            session = session or self._counted(hook, key)
        reason = self.recheck(session, now, state)
        if reason is not None:
            if session is not None and reason not in (Reason.SESSION_NOT_FOUND, Reason.SESSION_ENDED):
                self._store.end(session.stream_id, session.session_id, session.session_key)
            return Renewal(False, reason, session.session_id if session is not None else None)
        assert session is not None
        if not self._store.renew(session, int(now) + LEASE_SECONDS, now):
            return Renewal(False, Reason.SESSION_NOT_FOUND, session.session_id)  # ended or taken over meanwhile
        return Renewal(True, Reason.RENEWED, session.session_id)

    def recheck(
        self, session: Session | None, now: float, state: StreamState | None = None, client: Client | None = None
    ) -> Reason | None:
        """Why the session no longer stands (gone, ended, or its credential no longer admitted by
        the one rule, the access policies and the session's age included), or None while it does;
        against `state` when the caller read it fresh, else the stream's cached state; `client`:
        who asks now (an HLS request), else the client as admitted."""
        if session is None:
            return Reason.SESSION_NOT_FOUND
        if session.ended_by is not None:
            return Reason.SESSION_ENDED
        if not session.live(now):
            return Reason.SESSION_NOT_FOUND
        reason = self._judge.renew(
            session.credential,
            session.stream_id,
            session.action,
            now,
            state,
            stored_subscriber=slot_of(session.session_id) is not None,
            client=client or session_client(session),
            started_at_ms=session.started_at_ms,
        )
        return None if reason is Reason.ALLOWED else reason

    def end(self, hook: HookRequest) -> bool:
        """The server says the session ended (done/stop/unpublish): free it. Only the session this
        hook names, so a done call naming another server, stream or credential frees nothing."""
        for action in hook.actions:
            if not _is_subscriber(hook):  # a token session's id is its identity: one conditional delete
                key = self.key(hook, action)
                if self._store.end(hook.stream_id, key, key):
                    return True
                counted = self._counted(hook, key)  # else it is a counted JWT's, in its partition
                if counted is not None and self._store.end(counted.stream_id, counted.session_id, key):
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
        once (its next renew is refused), the record says who ended it (for the enforcer that
        tells a media server without a renew hook to drop it), and its identity is never
        admitted again. Read first, so a retried write still reports the truth."""
        session = self._store.get(stream_id, session_id)
        if session is None or not session.live(now):
            return False
        return self._store.mark_ended(session, OPERATOR_ENDED, now)

    def end_stream(self, stream_id: str, at: float, now: float, state: StreamState) -> int:
        """The stream ended at `at` (StreamEnded's own time; `state`: the stream as stored after
        its revocation): end the sessions admitted up to then and those whose credential the
        revocation killed, as the operator's DELETE does (the enforcer kicks those on push
        servers). A session admitted after it on a credential that still stands (a subscriber, a
        token issued after the event) belongs to a later broadcast and stays."""
        at_ms = int(at * 1000)
        ended = 0
        for session in self._store.of_stream(stream_id):
            if not session.live(now) or session.ended_by is not None:
                continue
            if session.started_at_ms <= at_ms or self.recheck(session, now, state) is not None:
                ended += self._store.mark_ended(session, STREAM_ENDED, now)
        return ended

    def _counted(self, hook: HookRequest, key: str) -> Session | None:
        """A counted JWT's session (in its credential's partition: `place`), found by its identity;
        only a hook presenting a JWT can name one (one Query, only when its identity is no
        session of its own)."""
        token = hook.credentials.token
        if not token or "." not in token:
            return None
        owner = credential_owner(token_ref(token))
        return next((s for s in self._store.of_subscriber(hook.stream_id, owner) if s.session_key == key), None)


def session_client(session: Session) -> Client:
    """The client a session was admitted for, as its record keeps it."""
    return client_of(
        session.server, session.protocol, session.client_ip, session.country, session.origin, session.action
    )


def _is_subscriber(hook: HookRequest) -> bool:
    """Admitted with a subscriber code (its sessions live in the subscriber's partition)."""
    return hook.credentials.token is None and bool(hook.credentials.subscriber_id)


def session_service() -> SessionService:
    return SessionService(session_store(), judge())
