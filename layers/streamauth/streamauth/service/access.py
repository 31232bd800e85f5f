"""The ONE stream-access decision every media-server adapter calls.

`decide` admits or refuses a publish/play with a reason code (documented in the README,
"Media servers") and records the admitted session in the same DynamoDB request that uses
the credential; `renew` re-decides a live session; `end` frees it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from streamauth.errors import StoreUnavailable
from streamauth.logic.signing import looks_like_jwt
from streamauth.models.hooks import HookRequest
from streamauth.models.sessions import CredentialRef
from streamauth.service.sessions import SessionService, session_service
from streamauth.service.subscribers import CodeResult, SubscriberService, subscriber_service
from streamauth.service.tokens import TokenService, token_service
from streamauth.service.viewers import ViewerService, viewer_service

# Reason codes: logged and counted on every refusal, never with the token or code itself.
ALLOWED = "allowed"
MISSING_CREDENTIALS = "missing_credentials"
INVALID_TOKEN = "invalid_token"
INVALID_CODE = "invalid_code"
CONNECTION_LIMIT = "connection_limit"
CLAIM_ATTEMPTS = 3  # a slot taken between the look and the write: look again


@dataclass(frozen=True)
class Decision:
    allow: bool
    reason: str
    session_id: str | None = None


class AccessService:
    def __init__(
        self, tokens: TokenService, viewers: ViewerService, subscribers: SubscriberService, sessions: SessionService
    ) -> None:
        self._tokens = tokens
        self._viewers = viewers
        self._subscribers = subscribers
        self._sessions = sessions

    def decide(self, request: HookRequest, now: float) -> Decision:
        credentials = request.credentials
        if credentials.token:
            return self._token(request, credentials.token, now)
        if credentials.subscriber_id and credentials.subscriber_code:
            return self._subscriber(request, credentials.subscriber_id, credentials.subscriber_code, now)
        return Decision(False, MISSING_CREDENTIALS)

    def _token(self, request: HookRequest, token: str, now: float) -> Decision:
        if looks_like_jwt(token):
            credential: CredentialRef | None = self._tokens.stream_jwt(token, request.stream_id, request.action, now)
            if credential is None and request.action == "play":
                credential = self._viewers.check(token, request.stream_id, now)
            if credential is None:
                return Decision(False, INVALID_TOKEN)
            session = self._sessions.new(request, credential, None, now)
            self._sessions.record(session, now)
            return Decision(True, ALLOWED, session.session_id)
        reference = self._tokens.one_time_ref(token)
        if reference is None:
            return Decision(False, INVALID_TOKEN)
        session = self._sessions.new(request, reference, None, now)
        also = [self._sessions.put_item(session, now)]
        client = (
            f"{request.server}|{request.client_ip}|{request.action}"
            if request.asks_twice and request.client_ip
            else None
        )
        used = self._tokens.consume(request.stream_id, token, request.action, now, also, client)
        if used is None:
            return Decision(False, INVALID_TOKEN)
        if used.account is not None:  # learnt from the token as it was used: renews check it
            # if this write fails the admission still stands (the token and its account were
            # good); only this session's renews will not see the account's deletion
            with contextlib.suppress(StoreUnavailable):
                self._sessions.set_account(session, used.account)
        return Decision(True, ALLOWED, session.session_id)

    def _subscriber(self, request: HookRequest, subscriber_id: str, code: str, now: float) -> Decision:
        checked = self._subscribers.check(
            request.stream_id, subscriber_id, code, request.action, now, request.client_ip
        )
        if isinstance(checked, CodeResult):
            return Decision(False, _hook_reason(checked))
        for _ in range(CLAIM_ATTEMPTS):
            try:
                claim = self._sessions.claim(request, subscriber_id, checked.subscriber, now)
                if claim is None:
                    break
                session, item = claim
                result, slot_taken = self._subscribers.accept(checked, now, [item])
            except StoreUnavailable:
                with contextlib.suppress(StoreUnavailable):  # the store failed us, not the client: no guess
                    self._subscribers.release(checked)
                raise
            if not slot_taken:
                return Decision(result.success, result.reason if not result.success else ALLOWED, session.session_id)
            if checked.subscriber is None or checked.subscriber.concurrent_connections_limit == 1:
                break  # the one slot is held by a live session: no other to try
        self._subscribers.release(checked)
        return Decision(False, CONNECTION_LIMIT)

    def renew(self, request: HookRequest, now: float) -> Decision:
        renewal = self._sessions.renew(request, now)
        return Decision(renewal.renewed, ALLOWED if renewal.renewed else renewal.reason)

    def end(self, request: HookRequest) -> bool:
        return self._sessions.end(request)


def _hook_reason(result: CodeResult) -> str:
    return INVALID_CODE if result.reason == "not_configured" else result.reason


def access_service() -> AccessService:
    return AccessService(token_service(), viewer_service(), subscriber_service(), session_service())
