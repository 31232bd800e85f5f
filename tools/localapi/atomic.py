"""Make moto's DynamoDB apply each request atomically, as DynamoDB does.

DynamoDB evaluates a ConditionExpression and applies the write as one atomic step per item;
moto checks and writes in plain Python with no lock, so two threads can both pass the same
condition. Serialising moto's write operations restores the guarantee streamauth relies on
(one-time tokens consumed exactly once), for the local runner and for the tests alike.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

_LOCK = threading.RLock()
# Reads too: moto's transactions deep-copy the tables to roll back, which must not
# interleave with another thread's access to the same dicts.
_WRITES = (
    "put_item",
    "update_item",
    "delete_item",
    "transact_write_items",
    "batch_write_item",
    "get_item",
    "query",
    "scan",
    "batch_get_item",
    "transact_get_items",
)


def install() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    for name in _WRITES:
        original = getattr(DynamoDBBackend, name)
        if getattr(original, "_streamauth_atomic", False):
            continue

        def locked(*args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with _LOCK:
                return __original(*args, **kwargs)

        functools.update_wrapper(locked, original)
        locked._streamauth_atomic = True  # type: ignore[attr-defined]
        setattr(DynamoDBBackend, name, locked)
