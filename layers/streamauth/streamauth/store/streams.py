"""A stream's state item (`STREAM#<streamId>` / `META`): revocation time, public viewers and the
stream's access policy (read with the rest of the state, so judging it costs no request).

Both change only forward in intent time: a revocation time only grows, and an open/close is
applied only when it is newer than the last one, so a delayed or replayed intent is
acknowledged and ignored.
"""

from __future__ import annotations

from typing import Any

from streamauth.models.policies import Policy, policy_text
from streamauth.models.streams import StreamState
from streamauth.store.base import (
    ConditionFailed,
    TableStore,
    call,
    get_n,
    get_policy,
    get_s,
    n,
    s,
    stream_pk,
    update_if,
)

META_SK = "META"


def meta_key(stream_id: str) -> dict[str, Any]:
    return {"pk": s(stream_pk(stream_id)), "sk": s(META_SK)}


def state_of(item: dict[str, Any] | None) -> StreamState:
    """The state a stream's META item holds (no item: never revoked, never opened or closed)."""
    item = item or {}
    viewers = get_s(item, "viewers")
    return StreamState(
        revoked_at_ms=get_n(item, "revokedAtMs"),
        viewers="open" if viewers == "open" else "closed" if viewers == "closed" else None,
        viewers_closed_at_ms=get_n(item, "viewersClosedAtMs"),
        policy=get_policy(item),
    )


class StreamStore(TableStore):
    def state(self, stream_id: str) -> StreamState:
        """One strongly consistent GetItem."""
        reply = call(
            self._client.get_item,
            TableName=self._table,
            Key=meta_key(stream_id),
            ConsistentRead=True,
            ProjectionExpression="revokedAtMs, viewers, viewersClosedAtMs, policy",
        )
        return state_of(reply.get("Item"))

    def revoke(self, stream_id: str, at_ms: int) -> bool:
        """Raise the revocation time to `at_ms` (one write, however many tokens the stream has).
        False when a revocation at or after `at_ms` already stands: nothing changes."""
        try:
            call(
                self._client.update_item,
                TableName=self._table,
                Key=meta_key(stream_id),
                UpdateExpression="SET revokedAtMs = :at, kind = :kind",
                ConditionExpression="attribute_not_exists(revokedAtMs) OR revokedAtMs < :at",
                ExpressionAttributeValues={":at": n(at_ms), ":kind": s("stream")},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ConditionFailed as failed:
            # The SDK's retry of our own applied write meets the revocation it made: applied.
            return get_n(failed.item or {}, "revokedAtMs") == at_ms
        return True

    def set_viewers(self, stream_id: str, open_: bool, at_ms: int) -> bool:
        """Open or close the stream to public viewers, if `at_ms` is not older than the last
        change; closing also ends the viewer JWTs issued before it. False: a newer change stands."""
        values: dict[str, Any] = {":at": n(at_ms), ":kind": s("stream"), ":viewers": s("open" if open_ else "closed")}
        expression = "SET viewers = :viewers, viewersChangedAtMs = :at, kind = :kind"
        if not open_:
            expression += ", viewersClosedAtMs = :at"
        return update_if(
            self._client,
            self._table,
            meta_key(stream_id),
            expression,
            "attribute_not_exists(viewersChangedAtMs) OR viewersChangedAtMs <= :at",
            values,
        )

    def set_policy(self, stream_id: str, policy: Policy | None, at_ms: int) -> bool:
        """Attach (or, with None or an empty policy, remove) the stream's access policy, if `at_ms`
        is not older than its last change. False: a newer change stands."""
        text = policy_text(policy)
        values: dict[str, Any] = {":at": n(at_ms), ":kind": s("stream")}
        if text is None:
            expression = "SET policyChangedAtMs = :at, kind = :kind REMOVE policy"
        else:
            expression = "SET policy = :policy, policyChangedAtMs = :at, kind = :kind"
            values[":policy"] = s(text)
        return update_if(
            self._client,
            self._table,
            meta_key(stream_id),
            expression,
            "attribute_not_exists(policyChangedAtMs) OR policyChangedAtMs <= :at",
            values,
        )
