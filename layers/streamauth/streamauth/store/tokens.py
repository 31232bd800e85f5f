"""One-time stream tokens in DynamoDB (`TOKENS#<streamId>#<shard>` / `TOKEN#<tokenId>`, the
shard from the token id: a crowd's tokens spread over the stream's shards)."""

from __future__ import annotations

from itertools import islice
from typing import Any

from streamauth.errors import StoreUnavailable
from streamauth.logic.shards import SHARDS, shard_of, sharded_pk
from streamauth.models.common import Action
from streamauth.models.streams import StreamState
from streamauth.models.tokens import Token
from streamauth.store.base import (
    TTL_ATTRIBUTE,
    ConditionFailed,
    TableStore,
    TransactionCanceled,
    batch_get,
    call,
    get_n,
    get_s,
    merged_query,
    n,
    retry_conflicts,
    s,
    transact,
    update_if,
)
from streamauth.store.streams import META_SK, meta_key, state_of

PREFIX = "TOKENS#"
TOKEN_PREFIX = "TOKEN#"
REUSE_SECONDS = 10


def tokens_pk(stream_id: str, shard: int) -> str:
    return sharded_pk(PREFIX, stream_id, shard)


def token_key(stream_id: str, token_id: str) -> dict[str, Any]:
    return {"pk": s(tokens_pk(stream_id, shard_of(token_id))), "sk": s(TOKEN_PREFIX + token_id)}


class TokenStore(TableStore):
    def put(self, token: Token, created_at_ms: int, issued_by: str | None = None) -> None:
        item = {
            **token_key(token.stream_id, token.token_id),
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
        if issued_by is not None:
            item["issuedBy"] = s(issued_by)
        try:
            call(
                self._client.put_item,
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ConditionFailed as failed:
            # The id is 192 random bits: an item under it is this very write, applied by the SDK's
            # first attempt and met again by its retry. Anything else is a fault to report.
            if not failed.item or get_n(failed.item, "createdAtMs") != created_at_ms:
                raise StoreUnavailable() from failed

    def consume_update(
        self, stream_id: str, token_id: str, created_at_ms: int, action: Action, now: float, consume_id: str
    ) -> dict[str, Any]:
        """The write that uses a one-time token: it is live, unused and of this type — then it is
        marked used by `consume_id`. The same `consume_id` within REUSE_SECONDS of the first use
        counts as that use again: the SDK's own retry of an applied write, or a media server asking
        twice for one client (MediaMTX authenticates an RTSP read at DESCRIBE and again at SETUP).
        The stream's revocation is NOT part of it (service/tokens.py checks it after the write), so
        no two admissions of a stream ever share an item."""
        return {
            "TableName": self._table,
            "Key": token_key(stream_id, token_id),
            "UpdateExpression": "SET consumedBy = :cid, consumedAtMs = if_not_exists(consumedAtMs, :nowms)",
            "ConditionExpression": (
                "attribute_exists(pk) AND createdAtMs = :created AND #type = :type AND expireDate > :now"
                " AND (attribute_not_exists(consumedBy) OR (consumedBy = :cid AND consumedAtMs > :since))"
            ),
            "ExpressionAttributeNames": {"#type": "type"},
            "ExpressionAttributeValues": {
                ":created": n(created_at_ms),
                ":type": s(action),
                ":now": n(int(now)),
                ":cid": s(consume_id),
                ":nowms": n(int(now * 1000)),
                ":since": n(int((now - REUSE_SECONDS) * 1000)),
            },
        }

    def consume(
        self,
        stream_id: str,
        token_id: str,
        created_at_ms: int,
        action: Action,
        now: float,
        consume_id: str,
        also: list[dict[str, Any]] | None = None,
    ) -> bool:
        """Use a one-time token in ONE request — a conditional UpdateItem, or a transaction with
        `also` written with it: true for exactly one caller however many race; false when it is
        unknown, expired, used or of another type."""
        update = self.consume_update(stream_id, token_id, created_at_ms, action, now, consume_id)
        try:
            if also:
                transact(self._client, [{"Update": update}, *also])
            else:
                retry_conflicts(lambda: call(self._client.update_item, **update))
        except (TransactionCanceled, ConditionFailed):
            return False
        return True

    def confirm(self, stream_id: str, token_id: str) -> tuple[StreamState, str | None]:
        """After a use: the stream's state and the service account that issued the token (None:
        an operator), both read strongly consistent in ONE BatchGetItem."""
        token = token_key(stream_id, token_id)
        items = batch_get(self._client, self._table, [meta_key(stream_id), token])
        meta = next((i for i in items if get_s(i, "sk") == META_SK), None)
        used = next((i for i in items if get_s(i, "sk") == token["sk"]["S"]), None)
        return state_of(meta), (get_s(used, "issuedBy") if used else None)

    def withdraw(self, written: list[dict[str, Any]]) -> None:
        """Delete what a consume wrote with its token (its `also` Puts: a session) when the
        admission is refused after all: the stream's tokens were revoked as it was written."""
        for entry in written:
            put = entry.get("Put")
            if put:
                key = {"pk": put["Item"]["pk"], "sk": put["Item"]["sk"]}
                call(self._client.delete_item, TableName=put.get("TableName", self._table), Key=key)

    def unconsume(self, stream_id: str, token_id: str, consume_id: str) -> None:
        """Make a token used by `consume_id` unused again (its admission failed for the store's
        fault); a use by anyone else stands."""
        update_if(
            self._client,
            self._table,
            token_key(stream_id, token_id),
            "REMOVE consumedBy, consumedAtMs",
            "consumedBy = :cid",
            {":cid": s(consume_id)},
        )

    def get(self, stream_id: str, token_id: str) -> tuple[Token, int, bool, str | None] | None:
        """(token, createdAtMs, consumed, issuing service account) as stored, whatever its
        expiry; None when absent."""
        reply = call(
            self._client.get_item, TableName=self._table, Key=token_key(stream_id, token_id), ConsistentRead=True
        )
        item = reply.get("Item")
        if not item:
            return None
        return _token(item), get_n(item, "createdAtMs") or 0, "consumedBy" in item, get_s(item, "issuedBy")

    def list_live(self, stream_id: str, now: float, revoked_at_ms: int | None, offset: int, size: int) -> list[Token]:
        """Live tokens (not expired, consumed or revoked) in tokenId order, from `offset` (every
        shard queried, merged in tokenId order)."""
        items = merged_query(
            self._client,
            (tokens_pk(stream_id, shard) for shard in range(SHARDS)),
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            FilterExpression="expireDate > :now AND createdAtMs > :revoked AND attribute_not_exists(consumedBy)",
            ExpressionAttributeValues={
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
