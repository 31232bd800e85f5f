"""Public viewer admission in DynamoDB: the stream's public flag and per-minute counters,
checked and counted in ONE transaction (no read-then-write race, one request)."""

from __future__ import annotations

from typing import Any

from streamauth.store.base import TTL_ATTRIBUTE, TableStore, TransactionCanceled, call, n, s, stream_pk
from streamauth.store.tokens import META_SK

ALLOWED = "allowed"
CLOSED = "closed"
STREAM_LIMIT = "stream-limit"
CALLER_LIMIT = "caller-limit"


class ViewerStore(TableStore):
    def set_public(self, stream_id: str, enabled: bool) -> None:
        values: dict[str, Any] = {":kind": s("stream")}
        if enabled:
            expression = "REMOVE publicViewersClosed SET kind = :kind"
        else:
            expression = "SET publicViewersClosed = :true, kind = :kind"
            values[":true"] = {"BOOL": True}
        call(
            self._client.update_item,
            TableName=self._table,
            Key={"pk": s(stream_pk(stream_id)), "sk": s(META_SK)},
            UpdateExpression=expression,
            ExpressionAttributeValues=values,
        )

    def admit(self, stream_id: str, caller: str, minute: int, stream_limit: int, caller_limit: int) -> str:
        """ALLOWED (and counted), or why not: CLOSED, STREAM_LIMIT, CALLER_LIMIT."""

        def counter(pk: str, limit: int) -> dict[str, Any]:
            return {
                "Update": {
                    "TableName": self._table,
                    "Key": {"pk": s(pk), "sk": s(f"VIEWERS#{minute}")},
                    "UpdateExpression": "ADD hits :one SET #ttl = :ttl",
                    "ConditionExpression": "attribute_not_exists(hits) OR hits < :limit",
                    "ExpressionAttributeNames": {"#ttl": TTL_ATTRIBUTE},
                    "ExpressionAttributeValues": {":one": n(1), ":limit": n(limit), ":ttl": n((minute + 2) * 60)},
                }
            }

        try:
            call(
                self._client.transact_write_items,
                TransactItems=[
                    {
                        "ConditionCheck": {
                            "TableName": self._table,
                            "Key": {"pk": s(stream_pk(stream_id)), "sk": s(META_SK)},
                            "ConditionExpression": "attribute_not_exists(publicViewersClosed)",
                        }
                    },
                    counter(stream_pk(stream_id), stream_limit),
                    counter(f"CALLER#{caller}", caller_limit),
                ],
            )
        except TransactionCanceled as canceled:
            for reason, outcome in zip(canceled.reasons, (CLOSED, STREAM_LIMIT, CALLER_LIMIT), strict=False):
                if reason == "ConditionalCheckFailed":
                    return outcome
            return STREAM_LIMIT
        return ALLOWED
