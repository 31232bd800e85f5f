"""Stream state use cases: revocation, public viewers, and the bounded-staleness cache every
credential check reads them through."""

from __future__ import annotations

import threading

from streamauth.models.streams import StreamState
from streamauth.store.streams import StreamStore

MAX_CACHED_STREAMS = 10_000  # bound memory in a long-lived execution environment


class StreamStates:
    """Per execution environment: a stream's state may be used up to `seconds` old (contract: at
    most 5 s), so a hot stream costs no DynamoDB request per decision."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, StreamState]] = {}

    def get(self, store: StreamStore, stream_id: str, now: float, seconds: float) -> StreamState:
        cached = self.peek(stream_id, now, seconds)
        if cached is not None:
            return cached
        state = store.state(stream_id)
        self.put(stream_id, state, now)
        return state

    def put(self, stream_id: str, state: StreamState, now: float) -> None:
        with self._lock:
            if len(self._entries) >= MAX_CACHED_STREAMS:
                self._entries.clear()
            self._entries[stream_id] = (now, state)

    def peek(self, stream_id: str, now: float, seconds: float) -> StreamState | None:
        """The cached state if it is at most `seconds` old, else None (no request)."""
        with self._lock:
            cached = self._entries.get(stream_id)
        return cached[1] if cached is not None and 0 <= now - cached[0] < seconds else None

    def forget(self, stream_id: str | None = None) -> None:
        with self._lock:
            if stream_id is None:
                self._entries.clear()
            else:
                self._entries.pop(stream_id, None)


states = StreamStates()


class StreamService:
    def __init__(self, store: StreamStore, cache_seconds: float) -> None:
        self._store = store
        self._cache_seconds = cache_seconds

    def state(self, stream_id: str, now: float) -> StreamState:
        """The stream's state, at most the cache time old."""
        return states.get(self._store, stream_id, now, self._cache_seconds)

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
        return states.get(self._store, stream_id, now, 0)

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


def stream_service() -> StreamService:
    from streamauth.settings import get_settings
    from streamauth.store import stream_store

    return StreamService(stream_store(), get_settings().revocation_cache_seconds)
