"""The ONE stream-access decision every enforcement point calls: the media-server hooks, HTTP/HLS
playback and CloudFront playback.

`decide` admits or refuses a publish/play with a reason (logic/admission.py `Reason`, the one
rule's verdict) and records the admitted session in the same DynamoDB request that uses the
credential; `renew` re-decides a live session; `end` frees it.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass, replace

from streamauth.errors import StoreUnavailable
from streamauth.logic.admission import HOOK_REASON, Reason
from streamauth.logic.sessions import credential_ref
from streamauth.logic.signing import looks_like_jwt
from streamauth.models.hooks import HookRequest
from streamauth.models.sessions import CredentialRef
from streamauth.service.admission import Judge, judge
from streamauth.service.sessions import SessionService, session_service
from streamauth.service.streams import StreamService, stream_service
from streamauth.service.subscribers import CodeResult, SubscriberService, subscriber_service
from streamauth.service.tokens import TokenService, token_service
from streamauth.service.viewers import ViewerService, viewer_service

CLAIM_ATTEMPTS = 3  # a slot taken between the look and the write: look again


@dataclass(frozen=True)
class Decision:
    allow: bool
    reason: Reason
    session_id: str | None = None


class AccessService:
    def __init__(
        self,
        tokens: TokenService,
        viewers: ViewerService,
        subscribers: SubscriberService,
        sessions: SessionService,
        streams: StreamService,
        judge: Judge,
    ) -> None:
        self._tokens = tokens
        self._viewers = viewers
        self._subscribers = subscribers
        self._sessions = sessions
        self._streams = streams
        self._judge = judge

    def decide(self, request: HookRequest, now: float, *, fresh: bool = False) -> Decision:
        """Admit or refuse. `fresh`: judge JWTs against the stream's state as stored now, not the
        bounded-staleness cache (CloudFront, which never asks again)."""
        credentials = request.credentials
        if credentials.token:
            return self._token(request, credentials.token, now, fresh)
        if credentials.subscriber_id and credentials.subscriber_code:
            return self._subscriber(request, credentials.subscriber_id, credentials.subscriber_code, now)
        return Decision(False, Reason.MISSING_CREDENTIALS)

    def _token(self, request: HookRequest, token: str, now: float, fresh: bool) -> Decision:
        if looks_like_jwt(token):
            credential: CredentialRef | None = self._tokens.stream_jwt(token, request.stream_id, request.action, now)
            if credential is None and request.action == "play":
                credential = self._viewers.check(token, request.stream_id, now)
            if credential is None:
                return Decision(False, Reason.INVALID_TOKEN)
            state = self._streams.fresh_state(request.stream_id, now) if fresh else None
            reason = self._judge.admit(credential, request.stream_id, request.action, now, state)
            if reason is not Reason.ALLOWED:
                return Decision(False, reason)
            session = self._sessions.new(request, credential, None, now)
            if not self._sessions.record(session, now):
                return Decision(False, Reason.SESSION_ENDED)
            return Decision(True, Reason.ALLOWED, session.session_id)
        reference = self._tokens.one_time_ref(token)
        if reference is None:
            return Decision(False, Reason.INVALID_TOKEN)
        session = self._sessions.new(request, reference, None, now)
        client = None
        if request.asks_twice and request.client_ip:  # the one client such a server authenticates twice
            client = "\n".join((request.server, request.server_id or "", request.client_ip, request.stream_id))
        used = self._tokens.consume(request.stream_id, token, request.action, now, session, client)
        if used.reason is not Reason.ALLOWED:
            return Decision(False, used.reason)
        if used.account is not None:  # learnt from the token as it was used: renews check it
            # if this write fails the admission still stands (the token and its account were
            # good); only this session's renews will not see the account's deletion
            with contextlib.suppress(StoreUnavailable):
                self._sessions.set_account(session, used.account)
        return Decision(True, Reason.ALLOWED, session.session_id)

    def _subscriber(self, request: HookRequest, subscriber_id: str, code: str, now: float) -> Decision:
        checked = self._subscribers.check(
            request.stream_id, subscriber_id, code, request.action, now, request.client_ip
        )
        if isinstance(checked, CodeResult):
            return Decision(False, HOOK_REASON.get(checked.reason, checked.reason))
        if request.server_session is None:
            # a server that names no session of its own (Ant Media): every admission is a session
            # of its own, so a fresh code never silently reuses a live session's slot
            request = replace(request, server_session="admission:" + credential_ref(uuid.uuid4().hex))
        for _ in range(CLAIM_ATTEMPTS):
            try:
                session = self._sessions.claim(request, subscriber_id, checked.subscriber, now)
                if session is None:
                    break
                result, slot_taken = self._subscribers.accept(checked, now, session)
            except StoreUnavailable:
                with contextlib.suppress(StoreUnavailable):  # the store failed us, not the client: no guess
                    self._subscribers.release(checked)
                raise
            if not slot_taken:
                return Decision(result.success, result.reason, session.session_id if result.success else None)
            if checked.subscriber is None or checked.subscriber.concurrent_connections_limit == 1:
                break  # the one slot is held by a live (or ended) session: no other to try
        self._subscribers.release(checked)
        return Decision(False, Reason.CONNECTION_LIMIT)

    def renew(self, request: HookRequest, now: float) -> Decision:
        renewal = self._sessions.renew(request, now)
        return Decision(renewal.renewed, Reason.ALLOWED if renewal.renewed else renewal.reason)

    def end(self, request: HookRequest) -> bool:
        return self._sessions.end(request)


def access_service() -> AccessService:
    return AccessService(
        token_service(), viewer_service(), subscriber_service(), session_service(), stream_service(), judge()
    )
