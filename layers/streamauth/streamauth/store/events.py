"""Processed-event markers: `EVENT#<id>` / `EVENT`, kept a day (TTL), so a redelivered
event is recognised and skipped."""

from __future__ import annotations

import uuid
from typing import Any

from streamauth.store.base import TTL_ATTRIBUTE, ConditionFailed, TableStore, call, get_n, get_s, n, s

MARKER_SECONDS = 86_400


class EventStore(TableStore):
    def _key(self, event_id: str) -> dict[str, Any]:
        return {"pk": s(f"EVENT#{event_id}"), "sk": s("EVENT")}

    def seen(self, event_id: str, now: float) -> bool:
        reply = call(self._client.get_item, TableName=self._table, Key=self._key(event_id), ConsistentRead=True)
        expires = get_n(reply.get("Item") or {}, TTL_ATTRIBUTE)
        return expires is not None and expires > now

    def mark(self, event_id: str, detail_type: str, now: float) -> bool:
        """Record the event as done; False if another delivery already did (the SDK's retry of
        our own applied write is recognised by its `by`, and is still ours)."""
        by = uuid.uuid4().hex
        try:
            call(
                self._client.put_item,
                TableName=self._table,
                Item={
                    **self._key(event_id),
                    "kind": s("event"),
                    "detailType": s(detail_type),
                    "by": s(by),
                    TTL_ATTRIBUTE: n(int(now) + MARKER_SECONDS),
                },
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ConditionFailed as failed:
            return get_s(failed.item or {}, "by") == by
        return True
