"""Public viewer JWTs: minted for anyone (rate-limited, per-stream switch), checked per stream."""

from __future__ import annotations

from streamauth.errors import Forbidden, RateLimited
from streamauth.logic import signing
from streamauth.logic.viewers import viewer_claims
from streamauth.models.viewers import ViewerTokenRequest
from streamauth.settings import get_keys, get_settings
from streamauth.store import ViewerStore, viewer_store
from streamauth.store.viewers import ALLOWED, CLOSED

STREAM_PER_MINUTE = 600  # viewer tokens per stream per minute
CALLER_PER_MINUTE = 30  # viewer tokens per caller address per minute


class ViewerService:
    def __init__(self, store: ViewerStore, key: str, lifetime: int) -> None:
        self._store = store
        self._key = key
        self._lifetime = lifetime

    def mint(self, request: ViewerTokenRequest, caller: str, now: float) -> str:
        outcome = self._store.admit(request.stream_id, caller, int(now // 60), STREAM_PER_MINUTE, CALLER_PER_MINUTE)
        if outcome == CLOSED:
            raise Forbidden(f"stream {request.stream_id} is not open to public viewers")
        if outcome != ALLOWED:
            raise RateLimited("too many viewer tokens requested, retry in a minute")
        return signing.encode(viewer_claims(request, now, self._lifetime), self._key)

    def set_public(self, stream_id: str, enabled: bool) -> None:
        self._store.set_public(stream_id, enabled)


def viewer_service() -> ViewerService:
    return ViewerService(viewer_store(), get_keys().viewer_jwt_key, get_settings().viewer_token_ttl)
