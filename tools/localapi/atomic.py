"""Make moto's DynamoDB apply each request atomically, as DynamoDB does.

DynamoDB evaluates a ConditionExpression and applies the write as one atomic step per item;
moto checks and writes in plain Python with no lock, so two threads can both pass the same
condition. Serialising moto's DynamoDB requests restores the guarantee streamauth relies on
(one-time tokens consumed exactly once), for the local runner and for the tests alike.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

_LOCK = threading.RLock()


def install() -> None:
    """Lock each request whole, at moto's DynamoDB request handler, not at its backend: the
    handler deep-copies items too (update_item's "before" image), and a copy taken while
    another thread writes the same item fails with "dictionary changed size"."""
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action
    if getattr(original, "_streamauth_atomic", False):
        return

    def locked(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return original(*args, **kwargs)

    functools.update_wrapper(locked, original)
    locked._streamauth_atomic = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = locked  # type: ignore[method-assign]
