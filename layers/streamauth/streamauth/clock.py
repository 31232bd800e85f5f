"""Time as a parameter: the layer asks `now()`; tests replace the clock instead of sleeping."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Clock = Callable[[], float]

_clock: Clock = time.time


def now() -> float:
    """Current unix time in seconds (float)."""
    return _clock()


def set_clock(clock: Clock) -> None:
    global _clock
    _clock = clock


@contextmanager
def use_clock(clock: Clock) -> Iterator[None]:
    """Run a block with another clock, e.g. `with use_clock(lambda: 1_700_000_000.0): ...`."""
    previous = _clock
    set_clock(clock)
    try:
        yield
    finally:
        set_clock(previous)
