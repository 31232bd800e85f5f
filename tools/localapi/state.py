"""The local API's data across restarts: `.local/state.json`, as DynamoDB Local keeps its own.

The embedded DynamoDB (moto, in this process) is snapshotted to one JSON file: every item of
every template table, by the table's logical id, in DynamoDB's wire format. It is written a
moment after a request touched the store (at most every `interval` seconds, in a background
thread), and once more on shutdown; always to a temporary file renamed over the old one, so a
crash or a kill mid-write leaves the previous snapshot whole. It is read back on start, before
the first request. `make reset` (or `FRESH=1 make run`) starts empty.

The snapshot is taken under the lock every DynamoDB request holds (localapi.atomic), so it is
one consistent moment of the store. It holds what the tables hold (hashed keys, sealed secrets,
token ids): the file is mode 600 under the git-ignored `.local/`, as the local secrets are.
Secrets Manager's values live in `.local/secrets.json` already; the event bus and queue are
made afresh on each start.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

VERSION = 1
ACCOUNT = "123456789012"


class StateError(Exception):
    """A snapshot that cannot be read back (not JSON, another version): named, never a traceback."""


def _backend(region: str) -> Any:
    from moto.backends import get_backend

    return get_backend("dynamodb")[ACCOUNT][region]


def snapshot(table_names: dict[str, str], region: str) -> dict[str, Any]:
    """Every item of each table (logical id → physical name), as one consistent moment."""
    from localapi import atomic

    backend = _backend(region)
    tables: dict[str, list[dict[str, Any]]] = {}
    with atomic.LOCK:
        for logical_id, name in table_names.items():
            table = backend.tables.get(name)
            if table is not None:
                tables[logical_id] = [item.to_json()["Attributes"] for item in table.all_items()]
    return {"version": VERSION, "savedAt": int(time.time()), "tables": tables}


def write(path: Path, data: dict[str, Any]) -> None:
    """Atomically: a temporary file (mode 600) renamed over the old snapshot."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, separators=(",", ":"))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


def read(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StateError(f"{path} is not a readable snapshot ({exc}); `make reset` starts empty") from None
    if not isinstance(data, dict) or data.get("version") != VERSION or not isinstance(data.get("tables"), dict):
        raise StateError(f"{path} is not a version-{VERSION} snapshot; `make reset` starts empty")
    return data


def restore(data: dict[str, Any], table_names: dict[str, str], region: str) -> int:
    """Put the snapshot's items back into the (new, empty) tables; the number of items. Tables
    the template no longer has are skipped."""
    from localapi import atomic

    backend = _backend(region)
    count = 0
    with atomic.LOCK:
        for logical_id, items in data["tables"].items():
            name = table_names.get(logical_id)
            if name is None or not isinstance(items, list):
                continue
            for item in items:
                backend.put_item(name, item, overwrite=True)
                count += 1
    return count


class Keeper:
    """Writes the snapshot a moment after each change to the store, and on `close()`."""

    def __init__(self, path: Path, table_names: dict[str, str], region: str, interval: float = 1.0) -> None:
        self.path = path
        self._tables = table_names
        self._region = region
        self._interval = interval
        self._dirty = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="state-keeper", daemon=True)
        self.error: str | None = None

    def start(self) -> Keeper:
        _watch_requests(self._dirty)
        self._thread.start()
        return self

    def save(self) -> None:
        self._dirty.clear()
        try:
            write(self.path, snapshot(self._tables, self._region))
            self.error = None
        except OSError as exc:  # a full disk: say so once, keep serving
            if self.error is None:
                print(f"cannot save the local state to {self.path}: {exc}", flush=True)
            self.error = str(exc)

    def _loop(self) -> None:
        while not self._stopped.is_set():
            if self._dirty.wait(0.5) and not self._stopped.is_set():
                self._stopped.wait(self._interval)  # changes come in bursts: one snapshot for the burst
                self.save()

    def close(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)
        _watch_requests(None)
        self.save()


_WATCHER: list[threading.Event | None] = [None]


def _watch_requests(dirty: threading.Event | None) -> None:
    """Mark the store changed after each DynamoDB request (reads included: cheaper than telling
    them apart, and a snapshot after a read is merely redundant)."""
    from moto.dynamodb.responses import DynamoHandler

    _WATCHER[0] = dirty
    original = DynamoHandler.call_action
    if getattr(original, "_streamauth_watched", False):
        return

    @functools.wraps(original)
    def watched(*args: Any, **kwargs: Any) -> Any:
        try:
            return original(*args, **kwargs)
        finally:
            event = _WATCHER[0]
            if event is not None:
                event.set()

    watched._streamauth_watched = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = watched  # type: ignore[method-assign]


def forget(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
