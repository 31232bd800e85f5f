"""HLS and DASH playback sessions: the first request of a viewer (its playlist or manifest)
carries a play credential and is admitted once, through the one access decision (a one-time
token is consumed once, not per segment); it is answered with a short-lived playback session
token that nginx hands the player as a cookie. Later playlist reloads and segments are admitted
by that session alone, re-checked against the session record and a fresh read of the stream
(one DynamoDB request), and nginx may reuse an allow for `cache_seconds`: a viewer costs
streamauth O(1) checks per cache period, not one per segment. Revoking the stream's tokens,
closing it, blocking the subscriber or ending the session ends playback within that time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from streamauth.keys import Keys, get_keys
from streamauth.logic import signing
from streamauth.logic.admission import Reason
from streamauth.logic.playback import check_playback_token, cookie_header, playback_claims, playback_key
from streamauth.models.hooks import HTTP, HookRequest, client_of
from streamauth.models.playback import COOKIE, PlaybackRequest
from streamauth.service.access import AccessService, access_service
from streamauth.service.sessions import SessionService, session_service
from streamauth.settings import get_settings
from streamauth.store import SessionStore, session_store


@dataclass(frozen=True)
class PlaybackDecision:
    allow: bool
    reason: Reason
    cookie: str | None = None  # a Set-Cookie value nginx hands the player
    cache_seconds: int = 0  # how long nginx may answer the same session from its cache


class PlaybackService:
    def __init__(
        self,
        access: AccessService,
        sessions: SessionService,
        store: SessionStore,
        keys: Keys,
        lifetime: int,
        cache_seconds: int,
        bind_address: bool,
    ) -> None:
        self._access = access
        self._sessions = sessions
        self._store = store
        self._keys = keys
        self._lifetime = lifetime
        self._cache_seconds = cache_seconds
        self._bind_address = bind_address

    def check(self, request: PlaybackRequest, now: float, secure: bool) -> PlaybackDecision:
        if self._bind_address and request.client_ip is None:  # binding never fails open
            return PlaybackDecision(False, Reason.ADDRESS_NOT_BINDABLE)
        key = playback_key(self._keys.hook_secret)
        if request.session_token is not None:
            try:
                claims = check_playback_token(request.session_token, key, request.stream_id, request.client_ip, now)
            except signing.InvalidJwt:
                claims = None
            if claims is not None:
                return self._by_session(request, claims["sid"], int(claims["exp"]), key, now, secure)
        if not request.is_playlist:
            return PlaybackDecision(False, Reason.SESSION_REQUIRED)  # a copied segment URL admits nobody
        if not request.credentials.token and not (
            request.credentials.subscriber_id and request.credentials.subscriber_code
        ):
            return PlaybackDecision(
                False, Reason.INVALID_SESSION if request.session_token else Reason.MISSING_CREDENTIALS
            )
        hook = HookRequest(
            HTTP,
            "admit",
            request.stream_id,
            ("play",),
            request.credentials,
            uuid.uuid4().hex,  # every playback admission is a session of its own
            request.client_ip,
            lease_seconds=self._lifetime,
            country=request.country,
            origin=request.origin,
        )
        decision = self._access.decide(hook, now)
        if not decision.allow or decision.session_id is None:
            return PlaybackDecision(False, decision.reason)
        return PlaybackDecision(True, Reason.ALLOWED, self._cookie(request, decision.session_id, key, now, secure))

    def _by_session(
        self, request: PlaybackRequest, session_id: str, expires: int, key: str, now: float, secure: bool
    ) -> PlaybackDecision:
        session, state = self._store.get_with_stream_state(request.stream_id, session_id)
        client = None
        if session is not None:  # this request's client; its origin and country as admitted unless it names them
            client = client_of(
                HTTP,
                None,
                request.client_ip,
                request.country or session.country,
                request.origin or session.origin,
                "play",
            )
        reason = self._sessions.recheck(session, now, state, client)
        if reason is not None:
            if session is not None and reason not in (Reason.SESSION_NOT_FOUND, Reason.SESSION_ENDED):
                self._store.end(session.stream_id, session.session_id, session.session_key)
            return PlaybackDecision(False, reason)
        assert session is not None
        if expires - now > self._lifetime / 2:
            return PlaybackDecision(True, Reason.ALLOWED, cache_seconds=self._cache_seconds)
        # Past half its life: extend the lease and hand the player a fresh session token.
        if not self._store.renew(session, int(now) + self._lifetime, now):
            return PlaybackDecision(False, Reason.SESSION_NOT_FOUND)
        return PlaybackDecision(True, Reason.RENEWED, self._cookie(request, session_id, key, now, secure))

    def _cookie(self, request: PlaybackRequest, session_id: str, key: str, now: float, secure: bool) -> str:
        ip = request.client_ip if self._bind_address else None
        token = signing.encode(playback_claims(session_id, request.stream_id, now, self._lifetime, ip), key)
        return cookie_header(COOKIE, token, request.cookie_path, self._lifetime, secure)


def playback_service() -> PlaybackService:
    settings = get_settings()
    return PlaybackService(
        access_service(),
        session_service(),
        session_store(),
        get_keys(),
        settings.playback_session_seconds,
        settings.playback_cache_seconds,
        settings.playback_bind_address,
    )
