"""Stream state use cases: revocation, public viewers, and the bounded-staleness cache every
credential check reads them through."""

from __future__ import annotations

from streamauth.models.policies import Policy
from streamauth.models.streams import StreamState
from streamauth.service.recent import Recent
from streamauth.store.streams import StreamStore

# Per execution environment: a stream's state may be used up to the cache time old.
states: Recent[StreamState] = Recent()


class StreamService:
    def __init__(self, store: StreamStore, cache_seconds: float) -> None:
        self._store = store
        self._cache_seconds = cache_seconds

    def state(self, stream_id: str, now: float) -> StreamState:
        """The stream's state, at most the cache time old."""
        return states.get(stream_id, now, self._cache_seconds, lambda: self._store.state(stream_id))

    def remember(self, stream_id: str, state: StreamState, now: float) -> None:
        """Cache a state the caller read fresh (strongly consistent) at `now`."""
        states.put(stream_id, state, now)

    def cached_state(self, stream_id: str, now: float) -> StreamState | None:
        """The stream's state if this environment holds it at most the cache time old (no
        request), else None."""
        return states.peek(stream_id, now, self._cache_seconds)

    def fresh_state(self, stream_id: str, now: float) -> StreamState:
        """The stream's state as stored now (one strongly consistent read, which refreshes the
        cache too)."""
        return states.get(stream_id, now, 0, lambda: self._store.state(stream_id))

    def revoke(self, stream_id: str, at_ms: int) -> bool:
        """Every token of the stream issued at or before `at_ms` dies (stored and JWT, viewer JWTs
        too). False: a revocation at least as late already stood (acknowledged, nothing changed)."""
        applied = self._store.revoke(stream_id, at_ms)
        states.forget(stream_id)
        return applied

    def set_viewers(self, stream_id: str, open_: bool, at_ms: int) -> bool:
        """Open or close to public viewers; closing ends viewer JWTs already minted. False: a
        newer open/close stood."""
        applied = self._store.set_viewers(stream_id, open_, at_ms)
        states.forget(stream_id)
        return applied

    def policy(self, stream_id: str, now: float) -> Policy | None:
        """The stream's access policy as stored now (a fresh read)."""
        return self.fresh_state(stream_id, now).policy

    def set_policy(self, stream_id: str, policy: Policy | None, at_ms: int) -> bool:
        """Attach the stream's access policy (None or an empty one: remove it). Admissions and
        renews judge it within the cache time. False: a newer change stood."""
        applied = self._store.set_policy(stream_id, policy, at_ms)
        states.forget(stream_id)
        return applied


def stream_service() -> StreamService:
    from streamauth.settings import get_settings
    from streamauth.store import stream_store

    return StreamService(stream_store(), get_settings().revocation_cache_seconds)
