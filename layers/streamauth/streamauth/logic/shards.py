"""How one stream's items spread over partition keys. Pure.

A flash crowd on one stream must not write (or read) one partition key past what a DynamoDB
partition serves (1,000 writes/s, 3,000 reads/s): tokens, subscribers and sessions of a stream
live under SHARDS partition keys `<PREFIX><streamId>#<shard>`, the shard drawn from the item's
own id (uniformly: a SHA-256 prefix). A listing queries every shard and merges them in sort-key
order, so pages are the same as from one partition.
"""

from __future__ import annotations

import hashlib

SHARDS = 16


def shard_of(name: str) -> int:
    """The shard of an item named `name` (a token id, a subscriber id, an address, a session owner)."""
    return int(hashlib.sha256(name.encode()).hexdigest()[:8], 16) % SHARDS


def sharded_pk(prefix: str, stream_id: str, shard: int) -> str:
    return f"{prefix}{stream_id}#{shard:02d}"
