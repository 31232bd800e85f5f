"""Stream token use cases: orchestrate pure logic and the store; time comes in as `now`."""

from __future__ import annotations

import threading
import uuid

from streamauth.logic import signing
from streamauth.logic.tokens import (
    check_stream_jwt,
    issued_before_revocation,
    jwt_issued_at_ms,
    new_token_id,
    stream_jwt_claims,
)
from streamauth.models.common import Action
from streamauth.models.tokens import Token, TokenRequest, ValidateRequest
from streamauth.settings import get_keys, get_settings
from streamauth.store import TokenStore, token_store


class RevocationCache:
    """Per execution environment: JWT checks may use a stream's revocation time up to
    `seconds` old (contract: at most 5 s), so a hot stream costs no DynamoDB request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, int | None]] = {}

    def get(self, stream_id: str, now: float, seconds: float) -> tuple[bool, int | None]:
        with self._lock:
            cached = self._entries.get(stream_id)
        if cached is not None and 0 <= now - cached[0] < seconds:
            return True, cached[1]
        return False, None

    def put(self, stream_id: str, now: float, revoked_at_ms: int | None) -> None:
        with self._lock:
            if len(self._entries) > 10_000:  # bound memory in a long-lived container
                self._entries.clear()
            self._entries[stream_id] = (now, revoked_at_ms)

    def forget(self, stream_id: str | None = None) -> None:
        with self._lock:
            if stream_id is None:
                self._entries.clear()
            else:
                self._entries.pop(stream_id, None)


revocations = RevocationCache()


class TokenService:
    def __init__(
        self, store: TokenStore, jwt_stream_key: str, revocation_cache_seconds: float, viewer_jwt_key: str = ""
    ) -> None:
        self._store = store
        self._key = jwt_stream_key
        self._viewer_key = viewer_jwt_key
        self._cache_seconds = revocation_cache_seconds

    def issue_one_time(self, request: TokenRequest, now: float) -> Token:
        token = Token(new_token_id(), request.stream_id, request.expire_date, request.type, request.room_id)
        self._store.put(token, int(now * 1000))
        return token

    def issue_jwt(self, request: TokenRequest, now: float) -> Token:
        jwt = signing.encode(stream_jwt_claims(request, now), self._key)
        return Token(jwt, request.stream_id, request.expire_date, request.type, request.room_id)

    def validate(self, request: ValidateRequest, now: float) -> bool:
        """Ant Media's validate-token; JWT stream tokens are accepted too (not consumed)."""
        if signing.looks_like_jwt(request.token_id):
            return self.jwt_is_valid(request.token_id, request.stream_id, request.type, now)
        if request.room_id is None:
            return self.consume(request.stream_id, request.token_id, request.type, now)
        # Ant Media keeps conference-room tokens: check, do not consume.
        revoked_at = self._store.revoked_at_ms(request.stream_id)
        found = self._store.get(request.stream_id, request.token_id)
        if found is None:
            return False
        token, created_at_ms, consumed = found
        return (
            not consumed
            and token.type == request.type
            and token.room_id == request.room_id
            and token.expire_date > now
            and not issued_before_revocation(created_at_ms, revoked_at)
        )

    def consume(self, stream_id: str, token_id: str, action: Action, now: float) -> bool:
        """Use a one-time token: true for exactly one caller, however many race."""
        revoked_at = self._store.revoked_at_ms(stream_id)
        return self._store.consume(stream_id, token_id, action, now, revoked_at, uuid.uuid4().hex)

    def jwt_is_valid(self, token: str, stream_id: str, action: Action, now: float) -> bool:
        try:
            claims = check_stream_jwt(token, self._key, stream_id, action, now)
        except signing.InvalidJwt:
            return False
        return not issued_before_revocation(jwt_issued_at_ms(claims), self._cached_revoked_at(stream_id, now))

    def viewer_jwt_is_valid(self, token: str, stream_id: str, now: float) -> bool:
        """A public viewer JWT grants play of its own stream only, until the stream's tokens are revoked."""
        from streamauth.logic.viewers import check_viewer_jwt

        try:
            claims = check_viewer_jwt(token, self._viewer_key, now)
        except signing.InvalidJwt:
            return False
        if claims["stream_id"] != stream_id:
            return False
        return not issued_before_revocation(jwt_issued_at_ms(claims), self._cached_revoked_at(stream_id, now))

    def list(self, stream_id: str, offset: int, size: int, now: float) -> list[Token]:
        revoked_at = self._store.revoked_at_ms(stream_id)
        return self._store.list_live(stream_id, now, revoked_at, offset, size)

    def revoke_all(self, stream_id: str, now: float) -> None:
        self._store.revoke_all(stream_id, int(now * 1000))
        revocations.forget(stream_id)

    def _cached_revoked_at(self, stream_id: str, now: float) -> int | None:
        hit, revoked_at = revocations.get(stream_id, now, self._cache_seconds)
        if not hit:
            revoked_at = self._store.revoked_at_ms(stream_id)
            revocations.put(stream_id, now, revoked_at)
        return revoked_at


def token_service() -> TokenService:
    """Built on first use, from cached settings, keys (rotation-aware) and client."""
    keys = get_keys()
    return TokenService(
        token_store(), keys.jwt_stream_key, get_settings().revocation_cache_seconds, keys.viewer_jwt_key
    )
