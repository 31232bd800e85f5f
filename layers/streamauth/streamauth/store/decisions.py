"""The decision log in DynamoDB: `DECISIONS#<streamId>#<shard>` / `<atMs:013>#<decisionId>`.

One PutItem per decision, tried once (the caller's client has no retries: a log write never
holds up the answer it records), with the table's TTL (`expiresAt`) set `DecisionLogDays`
after it. A listing reads every shard newest first and merges them in sort-key order, as far
as the page needs and at most `budget` items (a filter that matches little in a flood answers
an empty page with a cursor, never an unbounded read).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from typing import Any

from streamauth.logic.admission import Reason
from streamauth.logic.decisions import shard, sort_key
from streamauth.logic.shards import SHARDS, sharded_pk
from streamauth.models.decisions import DecisionRecord
from streamauth.store.base import TTL_ATTRIBUTE, TableStore, call, get_n, get_s, n, query_items, s

PREFIX = "DECISIONS#"
TOP = "9999999999999~"  # above every sort key


def decisions_pk(stream_id: str, shard_number: int) -> str:
    return sharded_pk(PREFIX, stream_id, shard_number)


def _item(record: DecisionRecord, decision_id: str, expires_at: int) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": s(decisions_pk(record.stream_id, shard(decision_id))),
        "sk": s(sort_key(record.at_ms, decision_id)),
        "kind": s("decision"),
        "streamId": s(record.stream_id),
        "action": s(record.action),
        "allowed": {"BOOL": record.allowed},
        "reason": s(str(record.reason)),
        "credential": s(record.credential),
        "atMs": n(record.at_ms),
        TTL_ATTRIBUTE: n(expires_at),
    }
    optional = {
        "subscriberId": record.subscriber_id,
        "sessionId": record.session_id,
        "server": record.server,
        "serverId": record.server_id,
        "address": record.address,
    }
    item.update({name: s(value) for name, value in optional.items() if value})
    return item


def _record(item: dict[str, Any]) -> DecisionRecord:
    reason = get_s(item, "reason") or ""
    return DecisionRecord(
        at_ms=get_n(item, "atMs") or 0,
        stream_id=get_s(item, "streamId") or "",
        action="publish" if get_s(item, "action") == "publish" else "play",
        allowed=bool(item.get("allowed", {}).get("BOOL", False)),
        reason=Reason(reason) if reason in Reason._value2member_map_ else Reason.IGNORED,
        credential=get_s(item, "credential") or "",
        subscriber_id=get_s(item, "subscriberId"),
        session_id=get_s(item, "sessionId"),
        server=get_s(item, "server"),
        server_id=get_s(item, "serverId"),
        address=get_s(item, "address"),
    )


class DecisionStore(TableStore):
    def __init__(self, client: Any, table_name: str, write_client: Any | None = None) -> None:
        super().__init__(client, table_name)
        self._write_client = write_client or client

    def put(self, record: DecisionRecord, decision_id: str, expires_at: int) -> None:
        """One PutItem (no condition: the key is unique); StoreUnavailable when it fails."""
        call(self._write_client.put_item, TableName=self._table, Item=_item(record, decision_id, expires_at))

    def newest(
        self, stream_id: str, below: str | None, since_ms: int | None, page: int
    ) -> Iterator[tuple[str, DecisionRecord]]:
        """(sort key, decision) of the stream, newest first, below the sort key `below` (exclusive)
        and from `since_ms` on; each shard read `page` items per request, only as far as the
        caller reads."""
        high = below or TOP
        low = f"{since_ms:013d}" if since_ms is not None else "0"

        def shard_items(number: int) -> Iterator[dict[str, Any]]:
            items = query_items(
                self._client,
                TableName=self._table,
                KeyConditionExpression="pk = :pk AND sk BETWEEN :low AND :high",
                ExpressionAttributeValues={
                    ":pk": s(decisions_pk(stream_id, number)),
                    ":low": s(low),
                    ":high": s(high),
                },
                ScanIndexForward=False,
                Limit=page,
            )
            return (item for item in items if item["sk"]["S"] != below)  # BETWEEN is inclusive

        merged = heapq.merge(*(shard_items(k) for k in range(SHARDS)), key=lambda i: i["sk"]["S"], reverse=True)
        for item in merged:
            yield item["sk"]["S"], _record(item)
