"""Push enforcement: end sessions on media servers that have no renew hook (SRS, MediaMTX,
Ant Media) when a change ends their admission.

nginx-rtmp re-decides every session on its on_update and drops the refused ones itself. The
others never ask again, so a change that ends admissions (a revocation, a stream closed to
viewers, a subscriber blocked or deleted, a session ended over the API) reaches them here:
the change's stream record (store/triggers.py) names the sessions it may affect, the
session rules decide which it does affect (SessionService.recheck, the same rules a renew
applies), and each is ended through its registered server's own API (logic/kicks.py),
tried up to KICK_ATTEMPTS times, the outcome recorded on the session (kickStatus) and a kick
that still fails dead-lettered with its reason. A server that stays down is not waited for
again in the same batch. DynamoDB failures raise: the stream record is retried.

A session's lease says nothing for a server without a renew hook (nothing renews it): every
record still in the table is a candidate, and the server's answer tells whether it was still
there ("gone"). What DynamoDB's TTL has already removed cannot be kicked.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from streamauth.errors import ConfigurationError
from streamauth.logic import kicks
from streamauth.media_api import Reply, Unreachable
from streamauth.models.media_servers import PUSH_KINDS, MediaServer, Registry
from streamauth.models.sessions import Session
from streamauth.service.sessions import SessionService
from streamauth.service.streams import StreamService
from streamauth.store import SessionStore
from streamauth.store.triggers import Trigger, trigger

KICK_ATTEMPTS = 3
BACKOFF_SECONDS = 0.2  # then 0.4: a restarting API gets a moment, the batch is not held long


@dataclass(frozen=True)
class Kick:
    """What happened to one session: its kick status (logic/kicks.py) and why it was ended."""

    stream_id: str
    session_id: str
    server: str
    server_id: str | None
    why: str
    status: str
    requests: int  # HTTP requests sent for it


class Enforcer:
    """One per batch of stream records: servers found down are remembered for the batch."""

    def __init__(
        self,
        sessions: SessionService,
        streams: StreamService,
        store: SessionStore,
        registry: Callable[[], Registry],
        send: Callable[[kicks.KickRequest], Reply],
        dead_letter: Callable[[Any, str], None],
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._sessions = sessions
        self._streams = streams
        self._store = store
        self._load_registry = registry
        self._send = send
        self._dead_letter = dead_letter
        self._sleep = sleep
        self._registry: Registry | str | None = None  # loaded at the first kick; a str: why it cannot be
        self._down: dict[str, str] = {}  # server id -> the failure that stopped it, this batch

    def handle(self, record: dict[str, Any], now: float) -> list[Kick]:
        """End the sessions one stream record's change ends; what happened to each."""
        found = trigger(record)
        if found is None:
            return []
        return [self._kick(session, why, found, now) for session, why in self._affected(found, now)]

    def _affected(self, found: Trigger, now: float) -> list[tuple[Session, str]]:
        """The sessions on push servers the change ends, and why (a renew's reason code)."""
        if found.kind == "session":
            session = self._store.get(found.stream_id, found.session_id or "")
            if session is None or session.ended_by is None or not _pending(session):
                return []
            return [(session, f"ended_by_{session.ended_by}")]
        if found.kind == "removed":
            from streamauth.store.sessions import session_of_item

            candidates = [session_of_item(found.item or {})]
        elif found.kind == "subscriber":
            candidates = self._store.of_subscriber(found.stream_id, found.subscriber_id or "")
        else:
            # a stream's revocation or close ends credentials, never a subscriber's code
            candidates = [s for s in self._store.of_stream(found.stream_id) if s.credential.kind != "subscriber"]
        pending = [s for s in candidates if _pending(s)]
        # decide on the change itself (one read), not on a stream state cached before it
        fresh = found.kind in ("stream", "removed") and any(s.credential.kind != "subscriber" for s in pending)
        state = self._streams.fresh_state(found.stream_id, now) if fresh else None
        affected: list[tuple[Session, str]] = []
        for session in pending:
            why = self._sessions.recheck(session, now, state)
            if why is not None:
                affected.append((session, why))
        return affected

    def _server(self, session: Session) -> MediaServer | str:
        if self._registry is None:
            try:
                self._registry = self._load_registry()
            except ConfigurationError as exc:
                self._registry = f"registry: {exc.message}"
        if isinstance(self._registry, str):
            return self._registry
        return self._registry.server_for(session.server, session.server_id)

    def _kick(self, session: Session, why: str, found: Trigger, now: float) -> Kick:
        server = self._server(session)
        sent = 0
        request: kicks.KickRequest | None = None
        if isinstance(server, str):
            status = f"{kicks.FAILED}registry" if server.startswith("registry:") else kicks.UNREGISTERED
            detail = server
        else:
            plan = kicks.plan(server, session)
            detail = plan.not_kickable or ""
            if plan.not_kickable is not None:
                status = kicks.NOT_KICKABLE
            elif server.id in self._down:
                status, detail = self._down[server.id], f"server {server.id} failed earlier in this batch"
            else:
                status, sent, request = self._try(server, plan)
        self._store.record_kick(session, status, now)
        kick = Kick(session.stream_id, session.session_id, session.server, session.server_id, why, status, sent)
        if status.startswith(kicks.FAILED):
            self._dead_letter(
                {
                    "kind": "SessionKick",
                    "streamId": session.stream_id,
                    "sessionId": session.session_id,
                    "server": session.server,
                    "serverId": server.id if isinstance(server, MediaServer) else session.server_id,
                    "why": why,
                    "trigger": found.why,
                    "request": request.describe() if request is not None else None,  # never its headers
                    "detail": detail,
                },
                f"kick {status}",
            )
        return kick

    def _try(self, server: MediaServer, plan: kicks.Plan) -> tuple[str, int, kicks.KickRequest]:
        """Each request of the plan while the server says "not here"; the status, requests sent,
        and the request that settled it."""
        sent = 0
        status = kicks.GONE
        request = plan.requests[0]
        for request in plan.requests:
            verdict, tries = self._attempt(server, request)
            sent += tries
            status = verdict.status
            if status != kicks.GONE:
                break
        return status, sent, request

    def _attempt(self, server: MediaServer, request: kicks.KickRequest) -> tuple[kicks.Verdict, int]:
        verdict = kicks.Verdict(f"{kicks.FAILED}unreachable", retry=True)
        for attempt in range(KICK_ATTEMPTS):
            if attempt:
                self._sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
            try:
                reply = self._send(request)
                verdict = kicks.verdict(server.kind, reply.status, reply.body)
            except Unreachable as exc:
                verdict = kicks.Verdict(f"{kicks.FAILED}{exc.reason}", retry=True)
            if not verdict.retry:
                return verdict, attempt + 1
        self._down[server.id] = verdict.status
        return verdict, KICK_ATTEMPTS


def pause(seconds: float) -> None:
    """The backoff between attempts (tests replace it)."""
    time.sleep(seconds)


def _pending(session: Session) -> bool:
    """On a server without a renew hook, and not already ended there (or known unendable)."""
    return session.server in PUSH_KINDS and session.kick_status not in kicks.FINAL


def enforcer() -> Enforcer:
    from streamauth import media_api
    from streamauth.keys import secret_document
    from streamauth.models.media_servers import parse_registry
    from streamauth.service.events import dead_letter
    from streamauth.service.sessions import session_service
    from streamauth.service.streams import stream_service
    from streamauth.store import session_store

    return Enforcer(
        session_service(),
        stream_service(),
        session_store(),
        lambda: secret_document("mediaServers", parse_registry),
        media_api.send,
        dead_letter,
        pause,
    )
