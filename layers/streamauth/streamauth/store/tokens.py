"""One-time stream tokens in DynamoDB (`TOKENS#<streamId>#<shard>` / `TOKEN#<tokenId>`, the
shard from the token id: a crowd's tokens spread over the stream's shards)."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from typing import Any

from streamauth.errors import StoreUnavailable
from streamauth.logic.shards import SHARDS, shard_of, sharded_pk
from streamauth.models.common import Action
from streamauth.models.policies import Policy
from streamauth.models.sessions import Session
from streamauth.models.streams import StreamState
from streamauth.models.tokens import Token
from streamauth.store.base import (
    REUSE_SECONDS,
    TTL_ATTRIBUTE,
    ConditionFailed,
    TableStore,
    TransactionCanceled,
    batch_get,
    call,
    get_n,
    get_policy,
    get_s,
    merged_query,
    n,
    retry_conflicts,
    s,
    transact,
    update_if,
    use_or_reuse,
)
from streamauth.store.sessions import delete_session, session_put
from streamauth.store.streams import META_SK, meta_key, state_of

PREFIX = "TOKENS#"
TOKEN_PREFIX = "TOKEN#"
# A one-time token may be used while it exists, was made at that time, is of the action and live.
_LIVE = "attribute_exists(pk) AND createdAtMs = :created AND #type = :type AND expireDate > :now"


@dataclass(frozen=True)
class Use:
    """One use of a one-time token: its own id (a retried write of it is the same use) and, for a
    server that authenticates one client twice, that client's identity (a hash)."""

    consume_id: str
    client: str | None = None


def tokens_pk(stream_id: str, shard: int) -> str:
    return sharded_pk(PREFIX, stream_id, shard)


def token_key(stream_id: str, token_id: str) -> dict[str, Any]:
    return {"pk": s(tokens_pk(stream_id, shard_of(token_id))), "sk": s(TOKEN_PREFIX + token_id)}


class TokenStore(TableStore):
    def put(self, token: Token, created_at_ms: int, issued_by: str | None = None, policy: str | None = None) -> None:
        """`policy`: the token's access policy as compact text (models/policies.py policy_text)."""
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
        if policy is not None:
            item["policy"] = s(policy)
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

    def _use(
        self, stream_id: str, token_id: str, created_at_ms: int, action: Action, now: float, use: Use
    ) -> dict[str, Any]:
        """The write that uses a one-time token: it is live, unused and of this type — then it is
        marked used by `use.consume_id` (and its client, if named). The same consume id within
        REUSE_SECONDS counts as that use again: the SDK's own retry of an applied write. The
        stream's revocation is NOT part of it (service/tokens.py judges it after the write), so
        no two admissions of a stream ever share an item."""
        values = {
            ":created": n(created_at_ms),
            ":type": s(action),
            ":now": n(int(now)),
            ":cid": s(use.consume_id),
            ":nowms": n(int(now * 1000)),
            ":since": n(int((now - REUSE_SECONDS) * 1000)),
        }
        update = "SET consumedBy = :cid, consumedAtMs = if_not_exists(consumedAtMs, :nowms)"
        if use.client is not None:
            update += ", consumedByClient = :client"
            values[":client"] = s(use.client)
        return {
            "TableName": self._table,
            "Key": token_key(stream_id, token_id),
            "UpdateExpression": update,
            "ConditionExpression": (
                f"{_LIVE} AND (attribute_not_exists(consumedBy) OR (consumedBy = :cid AND consumedAtMs > :since))"
            ),
            "ExpressionAttributeNames": {"#type": "type"},
            "ExpressionAttributeValues": values,
        }

    def _reuse(
        self, stream_id: str, token_id: str, created_at_ms: int, action: Action, now: float, use: Use
    ) -> dict[str, Any]:
        """The write that lets the client that used a token within REUSE_SECONDS use it ONCE more
        (MediaMTX authenticates an RTSP read at DESCRIBE and again at SETUP): one client, one
        more authentication, whatever the concurrency."""
        return {
            "TableName": self._table,
            "Key": token_key(stream_id, token_id),
            "UpdateExpression": "SET reusedBy = :cid",
            "ConditionExpression": (
                f"{_LIVE} AND consumedByClient = :client AND consumedAtMs > :since AND consumedBy <> :cid"
                " AND (attribute_not_exists(reusedBy) OR reusedBy = :cid)"
            ),
            "ExpressionAttributeNames": {"#type": "type"},
            "ExpressionAttributeValues": {
                ":created": n(created_at_ms),
                ":type": s(action),
                ":now": n(int(now)),
                ":cid": s(use.consume_id),
                ":client": s(use.client or ""),
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
        use: Use,
        session: Session | None = None,
    ) -> bool:
        """Use a one-time token in ONE request — a conditional UpdateItem, or a transaction that
        records `session` with it: true for exactly one caller however many race; false when it
        is unknown, expired, used or of another type. A client named by `use` may use it once
        more within REUSE_SECONDS (one more request)."""

        def attempt(reuse: bool) -> bool | None:  # None: used; True: refused
            write = self._reuse if reuse else self._use
            update = write(stream_id, token_id, created_at_ms, action, now, use)
            try:
                if session is not None:
                    transact(self._client, [{"Update": update}, session_put(self._table, session, now)])
                else:
                    retry_conflicts(lambda: call(self._client.update_item, **update))
            except (TransactionCanceled, ConditionFailed):
                return True
            return None

        return use_or_reuse(attempt, use.client) is None

    def confirm(self, stream_id: str, token_id: str) -> tuple[StreamState, str | None, Policy | None]:
        """After a use: the stream's state, the service account that issued the token (None: an
        operator) and the token's own access policy, read strongly consistent in ONE BatchGetItem."""
        token = token_key(stream_id, token_id)
        items = batch_get(self._client, self._table, [meta_key(stream_id), token])
        meta = next((i for i in items if get_s(i, "sk") == META_SK), None)
        used = next((i for i in items if get_s(i, "sk") == token["sk"]["S"]), None)
        if used is None:
            return state_of(meta), None, None
        return state_of(meta), get_s(used, "issuedBy"), get_policy(used)

    def withdraw(self, session: Session | None) -> None:
        """Delete the session a consume recorded with its token when the admission is refused after
        all (the stream's tokens were revoked as it was written)."""
        if session is not None:
            delete_session(self._client, self._table, session)

    def unconsume(self, stream_id: str, token_id: str, use: Use) -> None:
        """Undo a use by `use` (its admission failed for the store's fault); a use by anyone else
        stands."""
        update_if(
            self._client,
            self._table,
            token_key(stream_id, token_id),
            "REMOVE consumedBy, consumedAtMs, consumedByClient",
            "consumedBy = :cid",
            {":cid": s(use.consume_id)},
        )
        update_if(
            self._client,
            self._table,
            token_key(stream_id, token_id),
            "REMOVE reusedBy",
            "reusedBy = :cid",
            {":cid": s(use.consume_id)},
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
