"""Stream tokens and stream revocation in DynamoDB."""

from __future__ import annotations

from itertools import islice
from typing import Any

from streamauth.models.common import Action
from streamauth.models.tokens import Token
from streamauth.store.base import (
    TTL_ATTRIBUTE,
    ConditionFailed,
    TableStore,
    call,
    get_n,
    get_s,
    n,
    query_items,
    s,
    stream_pk,
)

META_SK = "META"
TOKEN_PREFIX = "TOKEN#"


class TokenStore(TableStore):
    def put(self, token: Token, created_at_ms: int) -> None:
        item = {
            "pk": s(stream_pk(token.stream_id)),
            "sk": s(TOKEN_PREFIX + token.token_id),
            "kind": s("token"),
            "tokenId": s(token.token_id),
            "streamId": s(token.stream_id),
            "type": s(token.type),
            "expireDate": n(token.expire_date),
            "createdAtMs": n(created_at_ms),
            TTL_ATTRIBUTE: n(token.expire_date),
        }
        if token.room_id is not None:
            item["roomId"] = s(token.room_id)
        call(
            self._client.put_item,
            TableName=self._table,
            Item=item,
            ConditionExpression="attribute_not_exists(pk)",
        )

    def revoked_at_ms(self, stream_id: str) -> int | None:
        """The stream's last revoke-all time (strongly consistent read)."""
        reply = call(
            self._client.get_item,
            TableName=self._table,
            Key={"pk": s(stream_pk(stream_id)), "sk": s(META_SK)},
            ConsistentRead=True,
            ProjectionExpression="revokedAtMs",
        )
        return get_n(reply.get("Item", {}), "revokedAtMs")

    def revoke_all(self, stream_id: str, now_ms: int) -> None:
        """One write, however many tokens the stream has: tokens created at or before
        `revokedAtMs` are dead, stored or JWT."""
        call(
            self._client.update_item,
            TableName=self._table,
            Key={"pk": s(stream_pk(stream_id)), "sk": s(META_SK)},
            UpdateExpression="SET revokedAtMs = :now, kind = :kind",
            ExpressionAttributeValues={":now": n(now_ms), ":kind": s("stream")},
        )

    def consume(
        self, stream_id: str, token_id: str, action: Action, now: float, revoked_at_ms: int | None, consume_id: str
    ) -> bool:
        """Mark a live token consumed with ONE conditional write: of any number of concurrent
        callers exactly one succeeds. `consume_id` makes the SDK's own retry of a write that
        did apply succeed again instead of reporting failure for a token it consumed."""
        condition = (
            "attribute_exists(pk) AND #type = :type AND expireDate > :now AND createdAtMs > :revoked"
            " AND (attribute_not_exists(consumedBy) OR consumedBy = :cid)"
        )
        try:
            call(
                self._client.update_item,
                TableName=self._table,
                Key={"pk": s(stream_pk(stream_id)), "sk": s(TOKEN_PREFIX + token_id)},
                UpdateExpression="SET consumedBy = :cid, consumedAtMs = :nowms",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#type": "type"},
                ExpressionAttributeValues={
                    ":type": s(action),
                    ":now": n(int(now)),
                    ":revoked": n(revoked_at_ms if revoked_at_ms is not None else -1),
                    ":cid": s(consume_id),
                    ":nowms": n(int(now * 1000)),
                },
            )
        except ConditionFailed:
            return False
        return True

    def get(self, stream_id: str, token_id: str) -> tuple[Token, int, bool] | None:
        """(token, createdAtMs, consumed) as stored, whatever its expiry; None when absent."""
        reply = call(
            self._client.get_item,
            TableName=self._table,
            Key={"pk": s(stream_pk(stream_id)), "sk": s(TOKEN_PREFIX + token_id)},
            ConsistentRead=True,
        )
        item = reply.get("Item")
        if not item:
            return None
        return _token(item), get_n(item, "createdAtMs") or 0, "consumedBy" in item

    def list_live(self, stream_id: str, now: float, revoked_at_ms: int | None, offset: int, size: int) -> list[Token]:
        """Live tokens (not expired, consumed or revoked) in tokenId order, from `offset`."""
        items = query_items(
            self._client,
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            FilterExpression="expireDate > :now AND createdAtMs > :revoked AND attribute_not_exists(consumedBy)",
            ExpressionAttributeValues={
                ":pk": s(stream_pk(stream_id)),
                ":prefix": s(TOKEN_PREFIX),
                ":now": n(int(now)),
                ":revoked": n(revoked_at_ms if revoked_at_ms is not None else -1),
            },
        )
        return [_token(item) for item in islice(items, offset, offset + size)]


def _token(item: dict[str, Any]) -> Token:
    action = get_s(item, "type")
    return Token(
        token_id=get_s(item, "tokenId") or "",
        stream_id=get_s(item, "streamId") or "",
        expire_date=get_n(item, "expireDate") or 0,
        type="publish" if action == "publish" else "play",
        room_id=get_s(item, "roomId"),
    )
