"""Make moto's DynamoDB apply each request atomically, as DynamoDB does.

DynamoDB evaluates a ConditionExpression and applies the write as one atomic step per item;
moto checks and writes in plain Python with no lock, so two threads can both pass the same
condition. Serialising moto's DynamoDB requests restores the guarantee streamauth relies on
(one-time tokens consumed exactly once), for the local runner and for the tests alike.

It also refuses what DynamoDB refuses and moto takes: a request naming an ExpressionAttributeValue
or Name that none of its expressions uses is a ValidationException in DynamoDB (a 5xx of ours in
AWS), so `make run`, the e2e runs and the in-process tests all answer it as DynamoDB does.

A TransactWriteItems that fails is undone as DynamoDB undoes it, but by putting back only
what it could have changed (the items it names and the table's stream), not by restoring a
deep copy of the whole table that moto takes before each of the transaction's actions: that
copy (every item and every stream record ever written) made each transaction slower and
larger than the one before, and kept each copy alive for good (see runtime.untrack_models).
"""

from __future__ import annotations

import copy
import functools
import json
import re
import threading
from typing import Any

_LOCK = threading.RLock()
LOCK = _LOCK  # held by every DynamoDB request: localapi.state snapshots under it
_STATE = threading.local()  # .backed_up: the running transaction keeps its own, smaller backup


def install() -> None:
    _lock_requests()
    _roll_back_only_what_transactions_touch()


_PLACEHOLDER_FIELDS = (
    "UpdateExpression",
    "ConditionExpression",
    "KeyConditionExpression",
    "FilterExpression",
    "ProjectionExpression",
)


def unused_placeholders(operation: str, params: dict[str, Any]) -> set[str]:
    """The ExpressionAttributeValues and Names one DynamoDB request (each of a transaction's or
    a batch read's parts) names but none of its expressions uses."""
    if operation in ("TransactWriteItems", "TransactGetItems"):
        requests = [inner for item in params.get("TransactItems", []) for inner in item.values()]
    elif operation == "BatchGetItem":
        requests = list((params.get("RequestItems") or {}).values())
    else:
        requests = [params]
    unused: set[str] = set()
    for request in requests:
        text = " ".join(str(request.get(field, "")) for field in _PLACEHOLDER_FIELDS)
        named = set(request.get("ExpressionAttributeValues") or {}) | set(request.get("ExpressionAttributeNames") or {})
        unused |= named - set(re.findall(r"[:#][A-Za-z0-9_]+", text))
    return unused


def _refused_as_dynamodb_refuses(handler: Any) -> Any:
    """DynamoDB's answer to a request naming a placeholder no expression uses; None otherwise."""
    try:
        params = json.loads(handler.body or "{}")
    except (TypeError, ValueError):
        return None
    unused = unused_placeholders(handler._get_action(), params) if isinstance(params, dict) else set()
    if not unused:
        return None
    keys = ", ".join(sorted(unused))
    body = {
        "__type": "com.amazonaws.dynamodb.v20120810#ValidationException",
        "message": f"Value provided in ExpressionAttributeValues unused in expressions: keys: {{{keys}}}",
    }
    return 400, {"Content-Type": "application/x-amz-json-1.0", "status": 400}, json.dumps(body)


def _lock_requests() -> None:
    """Lock each request whole, at moto's DynamoDB request handler, not at its backend: the
    handler deep-copies items too (update_item's "before" image), and a copy taken while
    another thread writes the same item fails with "dictionary changed size"."""
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action
    if getattr(original, "_streamauth_atomic", False):
        return

    def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
        refused = _refused_as_dynamodb_refuses(self)
        if refused is not None:
            return refused
        with _LOCK:
            return original(self, *args, **kwargs)

    functools.update_wrapper(locked, original)
    locked._streamauth_atomic = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = locked  # type: ignore[method-assign]


def _roll_back_only_what_transactions_touch() -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    original = DynamoDBBackend.transact_write_items
    if getattr(original, "_streamauth_atomic", False):
        return

    def transact_write_items(self: Any, transact_items: Any) -> Any:
        backup = _Backup(self, transact_items)
        outer = getattr(_STATE, "backed_up", False)
        _STATE.backed_up = True
        try:
            return original(self, transact_items)
        except BaseException:
            backup.restore()
            raise
        finally:
            _STATE.backed_up = outer

    def table_deepcopy(self: Any, memo: dict[int, Any]) -> Any:
        if getattr(_STATE, "backed_up", False):
            return self  # moto's whole-table backup: the transaction above keeps a precise one
        cls: Any = type(self)
        clone = cls.__new__(cls)  # what copy.deepcopy does for a plain object
        memo[id(self)] = clone
        clone.__dict__.update(copy.deepcopy(self.__dict__, memo))
        return clone

    functools.update_wrapper(transact_write_items, original)
    transact_write_items._streamauth_atomic = True  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    Table.__deepcopy__ = table_deepcopy  # type: ignore[attr-defined]


class _Backup:
    """Before a transaction: for each item it names, the item's partition as it was (those
    items deep-copied, as update_item changes an item in place; the partition's other items
    shared, as the transaction cannot change them), and the length of each table's stream."""

    def __init__(self, backend: Any, transact_items: Any) -> None:
        self._partitions: dict[tuple[str, Any], tuple[Any, Any]] = {}
        self._streams: dict[str, tuple[Any, Any, int]] = {}  # table name -> (table, shard, next sequence number)
        for entry in transact_items if isinstance(transact_items, list) else []:
            located = _locate(backend, entry)
            if located is not None:
                self._save(*located)

    def _save(self, table: Any, hash_key: Any, range_key: Any) -> None:
        shard = table.stream_shard
        if shard is not None and table.name not in self._streams:  # the sequence number the next record gets
            self._streams[table.name] = (table, shard, shard.starting_sequence_number + len(shard.items))
        slot = (table.name, hash_key)
        current = table.items.get(hash_key)  # .get: the defaultdict must not grow a partition
        if table.range_key_attr is None:
            self._partitions.setdefault(slot, (table, copy.deepcopy(current)))
            return
        if slot not in self._partitions:
            self._partitions[slot] = (table, None if current is None else dict(current))
        saved = self._partitions[slot][1]
        if saved is not None and range_key in saved:
            saved[range_key] = copy.deepcopy(current[range_key])

    def restore(self) -> None:
        for (_, hash_key), (table, saved) in self._partitions.items():
            if saved is None:
                table.items.pop(hash_key, None)
            else:
                table.items[hash_key] = saved
        for table, shard, first_new in self._streams.values():
            if table.stream_shard is shard:  # the records the transaction added, even if older ones were trimmed since
                del shard.items[max(0, first_new - shard.starting_sequence_number) :]


def _locate(backend: Any, entry: Any) -> tuple[Any, Any, Any] | None:
    """(table, hash key, range key) of one TransactItems entry, None if moto would refuse it
    before changing anything (unknown table, missing or malformed key)."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    try:
        ((kind, action),) = entry.items()
        table = backend.tables[action["TableName"]]
        key = action["Item"] if kind == "Put" else action["Key"]
        hash_key = DynamoType(key[table.hash_key_attr])
        range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        hash((hash_key, range_key))
    except Exception:
        return None
    return table, hash_key, range_key
