"""Connection leases: a subscriber's `concurrentConnectionsLimit` as numbered slots.

Slot item `STREAM#<streamId>` / `SLOT#<subscriberId>#<n>` holds the session using it and an
expiry (also the TTL attribute). A slot is taken with a conditional write that succeeds only
when it is free, expired, or already this session's — so N concurrent sessions for a limit
of L get exactly L slots, and a session whose done hook never came frees its slot when its
lease expires. A session item `SESSION#<id>` points at its slot for done/update hooks.
"""

from __future__ import annotations

from typing import Any

from streamauth.store.base import (
    TTL_ATTRIBUTE,
    ConditionFailed,
    TableStore,
    TransactionCanceled,
    call,
    get_n,
    get_s,
    n,
    query_items,
    s,
    stream_pk,
)


def _slot_key(stream_id: str, subscriber_id: str, slot: int) -> dict[str, Any]:
    return {"pk": s(stream_pk(stream_id)), "sk": s(f"SLOT#{subscriber_id}#{slot:04d}")}


def _session_key(session_id: str) -> dict[str, Any]:
    return {"pk": s(f"SESSION#{session_id}"), "sk": s("SESSION")}


class LeaseStore(TableStore):
    def acquire(
        self, stream_id: str, subscriber_id: str, session_id: str, limit: int, now: float, expires: int
    ) -> bool:
        for slot in range(limit):
            try:
                call(
                    self._client.transact_write_items,
                    TransactItems=[
                        {
                            "Put": {
                                "TableName": self._table,
                                "Item": {
                                    **_slot_key(stream_id, subscriber_id, slot),
                                    "kind": s("lease"),
                                    "streamId": s(stream_id),
                                    "subscriberId": s(subscriber_id),
                                    "session": s(session_id),
                                    TTL_ATTRIBUTE: n(expires),
                                },
                                # free, expired (whatever TTL has deleted), or already ours
                                "ConditionExpression": (
                                    "attribute_not_exists(pk) OR #exp <= :now OR #session = :session"
                                ),
                                "ExpressionAttributeNames": {"#exp": TTL_ATTRIBUTE, "#session": "session"},
                                "ExpressionAttributeValues": {":now": n(int(now)), ":session": s(session_id)},
                            }
                        },
                        {
                            "Put": {
                                "TableName": self._table,
                                "Item": {
                                    **_session_key(session_id),
                                    "kind": s("session"),
                                    "streamId": s(stream_id),
                                    "subscriberId": s(subscriber_id),
                                    "slot": n(slot),
                                    TTL_ATTRIBUTE: n(expires),
                                },
                            }
                        },
                    ],
                )
            except TransactionCanceled:
                continue
            return True
        return False

    def _session(self, session_id: str) -> tuple[str, str, int] | None:
        reply = call(self._client.get_item, TableName=self._table, Key=_session_key(session_id), ConsistentRead=True)
        item = reply.get("Item")
        if not item:
            return None
        return get_s(item, "streamId") or "", get_s(item, "subscriberId") or "", get_n(item, "slot") or 0

    def release(self, session_id: str) -> bool:
        """Free the session's slot; an unknown or already-freed session is harmless."""
        found = self._session(session_id)
        if found is None:
            return False
        stream_id, subscriber_id, slot = found
        try:
            call(
                self._client.transact_write_items,
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": self._table,
                            "Key": _slot_key(stream_id, subscriber_id, slot),
                            "ConditionExpression": "#session = :session",
                            "ExpressionAttributeNames": {"#session": "session"},
                            "ExpressionAttributeValues": {":session": s(session_id)},
                        }
                    },
                    {"Delete": {"TableName": self._table, "Key": _session_key(session_id)}},
                ],
            )
        except TransactionCanceled:
            # The slot was already taken over by another session after this lease expired.
            call(self._client.delete_item, TableName=self._table, Key=_session_key(session_id))
            return False
        return True

    def renew(self, session_id: str, expires: int) -> bool:
        found = self._session(session_id)
        if found is None:
            return False
        stream_id, subscriber_id, slot = found
        try:
            call(
                self._client.update_item,
                TableName=self._table,
                Key=_slot_key(stream_id, subscriber_id, slot),
                UpdateExpression="SET #exp = :exp",
                ConditionExpression="#session = :session",
                ExpressionAttributeNames={"#exp": TTL_ATTRIBUTE, "#session": "session"},
                ExpressionAttributeValues={":exp": n(expires), ":session": s(session_id)},
            )
        except ConditionFailed:
            return False
        call(
            self._client.update_item,
            TableName=self._table,
            Key=_session_key(session_id),
            UpdateExpression="SET #exp = :exp",
            ExpressionAttributeNames={"#exp": TTL_ATTRIBUTE},
            ExpressionAttributeValues={":exp": n(expires)},
        )
        return True

    def live_count(self, stream_id: str, subscriber_id: str, now: float) -> int:
        """Live leases (expired ones do not count, whatever TTL has deleted)."""
        reply = call(
            self._client.query,
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            FilterExpression="#exp > :now",
            ExpressionAttributeNames={"#exp": TTL_ATTRIBUTE},
            ExpressionAttributeValues={
                ":pk": s(stream_pk(stream_id)),
                ":prefix": s(f"SLOT#{subscriber_id}#"),
                ":now": n(int(now)),
            },
            Select="COUNT",
        )
        return int(reply.get("Count", 0))

    def live_counts(self, stream_id: str, now: float) -> dict[str, int]:
        """Live leases per subscriber of a stream, in one query."""
        counts: dict[str, int] = {}
        for item in query_items(
            self._client,
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            FilterExpression="#exp > :now",
            ExpressionAttributeNames={"#exp": TTL_ATTRIBUTE},
            ExpressionAttributeValues={":pk": s(stream_pk(stream_id)), ":prefix": s("SLOT#"), ":now": n(int(now))},
            ProjectionExpression="subscriberId",
        ):
            subscriber = get_s(item, "subscriberId") or ""
            counts[subscriber] = counts.get(subscriber, 0) + 1
        return counts

    def free_stream(self, stream_id: str) -> int:
        """Drop every lease of the stream (it ended) and the sessions that held them."""
        freed = 0
        for item in query_items(
            self._client,
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": s(stream_pk(stream_id)), ":prefix": s("SLOT#")},
            ProjectionExpression="pk, sk, #session",
            ExpressionAttributeNames={"#session": "session"},
        ):
            call(self._client.delete_item, TableName=self._table, Key={"pk": item["pk"], "sk": item["sk"]})
            session = get_s(item, "session")
            if session:
                call(self._client.delete_item, TableName=self._table, Key=_session_key(session))
            freed += 1
        return freed
