"""The ONE stream-access decision every media-server adapter calls.

`decide` admits or refuses a publish/play with a reason code (documented in the README,
"Media servers"); `session_event` keeps connection leases true when sessions end or renew.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from streamauth.logic.signing import looks_like_jwt
from streamauth.models.common import Action
from streamauth.models.hooks import AccessRequest, SessionEvent
from streamauth.service.tokens import TokenService, token_service
from streamauth.store.leases import LeaseStore

LEASE_SECONDS = 90  # nginx-rtmp's on_update (notify_update_timeout 30 s) renews well within it

# Reason codes: logged and counted on every refusal, never with the token or code itself.
ALLOWED = "allowed"
MISSING_CREDENTIALS = "missing_credentials"
INVALID_TOKEN = "invalid_token"
INVALID_CODE = "invalid_code"
CONNECTION_LIMIT = "connection_limit"
REASONS = (ALLOWED, MISSING_CREDENTIALS, INVALID_TOKEN, INVALID_CODE, CONNECTION_LIMIT)


@dataclass(frozen=True)
class Decision:
    allow: bool
    reason: str


@dataclass(frozen=True)
class CodeCheck:
    """What the subscriber check answers: accepted or why not, and the connection limit."""

    accepted: bool
    reason: str
    connection_limit: int | None  # None: not a stored subscriber, no limit to enforce


class SubscriberVerifier(Protocol):
    def __call__(self, stream_id: str, subscriber_id: str, code: str, action: Action, now: float) -> CodeCheck: ...


class AccessService:
    def __init__(self, tokens: TokenService, leases: LeaseStore, verify_code: SubscriberVerifier) -> None:
        self._tokens = tokens
        self._leases = leases
        self._verify_code = verify_code

    def decide(self, request: AccessRequest, now: float) -> Decision:
        credentials = request.credentials
        if credentials.token:
            return self._token(request, credentials.token, now)
        if credentials.subscriber_id and credentials.subscriber_code:
            return self._subscriber(request, credentials.subscriber_id, credentials.subscriber_code, now)
        return Decision(False, MISSING_CREDENTIALS)

    def _token(self, request: AccessRequest, token: str, now: float) -> Decision:
        if looks_like_jwt(token):
            valid = self._tokens.jwt_is_valid(token, request.stream_id, request.action, now) or (
                request.action == "play" and self._tokens.viewer_jwt_is_valid(token, request.stream_id, now)
            )
        else:
            valid = self._tokens.consume(request.stream_id, token, request.action, now)
        return Decision(valid, ALLOWED if valid else INVALID_TOKEN)

    def _subscriber(self, request: AccessRequest, subscriber_id: str, code: str, now: float) -> Decision:
        check = self._verify_code(request.stream_id, subscriber_id, code, request.action, now)
        if not check.accepted:
            return Decision(False, check.reason or INVALID_CODE)
        if check.connection_limit is None or request.session_id is None:
            return Decision(True, ALLOWED)
        expires = int(now) + LEASE_SECONDS
        if self._leases.renew(request.session_id, expires):  # re-auth of a live session
            return Decision(True, ALLOWED)
        if self._leases.acquire(
            request.stream_id, subscriber_id, request.session_id, check.connection_limit, now, expires
        ):
            return Decision(True, ALLOWED)
        return Decision(False, CONNECTION_LIMIT)

    def session_event(self, event: SessionEvent, now: float) -> bool:
        if event.kind == "renew":
            return self._leases.renew(event.session_id, int(now) + LEASE_SECONDS)
        return self._leases.release(event.session_id)


def _verify_subscriber(stream_id: str, subscriber_id: str, code: str, action: Action, now: float) -> CodeCheck:
    # Imported on use: token-only decisions never load the subscriber code.
    from streamauth.service.subscribers import verify_for_access

    verify: Callable[[str, str, str, Action, float], CodeCheck] = verify_for_access
    return verify(stream_id, subscriber_id, code, action, now)


def access_service() -> AccessService:
    from streamauth.store import lease_store

    return AccessService(token_service(), lease_store(), _verify_subscriber)
