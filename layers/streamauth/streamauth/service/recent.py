"""What an execution environment read from the store lately, each value usable up to an age its
caller sets: the bounded-staleness cache that stream states and service-account standings are
read through (contract: at most 5 s), so a hot key costs no DynamoDB request per decision."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")
MAX_ENTRIES = 10_000  # bound memory in a long-lived execution environment


class Recent(Generic[V]):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, V]] = {}

    def get(self, key: str, now: float, seconds: float, load: Callable[[], V]) -> V:
        """The value if read at most `seconds` ago, else `load()` (remembered as read at `now`);
        `seconds=0` always loads."""
        cached = self.peek(key, now, seconds)
        if cached is not None:
            return cached
        value = load()
        self.put(key, value, now)
        return value

    def put(self, key: str, value: V, now: float) -> None:
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = (now, value)

    def peek(self, key: str, now: float, seconds: float) -> V | None:
        """The value if read at most `seconds` ago, else None (no request)."""
        with self._lock:
            cached = self._entries.get(key)
        return cached[1] if cached is not None and 0 <= now - cached[0] < seconds else None

    def forget(self, key: str | None = None) -> None:
        with self._lock:
            if key is None:
                self._entries.clear()
            else:
                self._entries.pop(key, None)
