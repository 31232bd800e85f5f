"""Sessions in DynamoDB: `SESSIONS#<streamId>#<shard>` / `<sessionId>`.

A subscriber with a connection limit holds numbered slots: its session ids are
`<subscriberId>~<slot>`, and a slot is taken by a conditional write that succeeds only when
it is free, expired (whatever TTL has deleted) or already this session's, so a subscriber's
live sessions ARE its connection leases: counting one counts the other. A subscriber's
sessions share one partition (one query finds them); other sessions spread over the shards
by identity. Every read compares the lease (`expiresAt`) with now.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from streamauth.logic.sessions import SLOT, session_shard
from streamauth.logic.shards import SHARDS, sharded_pk
from streamauth.models.policies import Policy, policy_text
from streamauth.models.sessions import CredentialRef, Session
from streamauth.models.streams import StreamState
from streamauth.store.base import (
    TTL_ATTRIBUTE,
    ConditionFailed,
    TableStore,
    batch_delete,
    batch_get,
    call,
    get_n,
    get_policy,
    get_s,
    n,
    query_items,
    s,
    update_if,
)
from streamauth.store.streams import META_SK, meta_key, state_of

PREFIX = "SESSIONS#"


def sessions_pk(stream_id: str, shard: int) -> str:
    return sharded_pk(PREFIX, stream_id, shard)


def session_item_key(stream_id: str, session_id: str) -> dict[str, Any]:
    return {"pk": s(sessions_pk(stream_id, session_shard(session_id))), "sk": s(session_id)}


def _item(session: Session) -> dict[str, Any]:
    credential = session.credential
    item: dict[str, Any] = {
        **session_item_key(session.stream_id, session.session_id),
        "kind": s("session"),
        "sessionKey": s(session.session_key),
        "streamId": s(session.stream_id),
        "action": s(session.action),
        "server": s(session.server),
        "credentialKind": s(credential.kind),
        "credentialRef": s(credential.ref),
        "startedAtMs": n(session.started_at_ms),
        "lastSeenAtMs": n(session.last_seen_at_ms),
        TTL_ATTRIBUTE: n(session.expires_at),
    }
    optional = {
        "serverSession": session.server_session,
        "clientIp": session.client_ip,
        "subscriberId": credential.subscriber_id,
        "account": credential.account,
        "protocol": session.protocol,
        "kickId": session.kick_id,
        "serverId": session.server_id,
        "endedBy": session.ended_by,
        "country": session.country,
        "origin": session.origin,
        "credentialPolicy": policy_text(credential.policy),  # its renews judge it again
    }
    item.update({name: s(value) for name, value in optional.items() if value})
    if credential.issued_at_ms is not None:
        item["issuedAtMs"] = n(credential.issued_at_ms)
    if credential.expires_at is not None:
        item["credentialExpiresAt"] = n(credential.expires_at)
    return item


def _session(item: dict[str, Any]) -> Session:
    kind = get_s(item, "credentialKind")
    action = get_s(item, "action")
    return Session(
        session_id=get_s(item, "sk") or "",
        session_key=get_s(item, "sessionKey") or "",
        stream_id=get_s(item, "streamId") or "",
        action="publish" if action == "publish" else "play",
        server=get_s(item, "server") or "",
        server_session=get_s(item, "serverSession"),
        client_ip=get_s(item, "clientIp"),
        credential=CredentialRef(
            kind=kind if kind in ("token", "jwt", "viewer", "subscriber") else "token",  # type: ignore[arg-type]
            ref=get_s(item, "credentialRef") or "",
            issued_at_ms=get_n(item, "issuedAtMs"),
            expires_at=get_n(item, "credentialExpiresAt"),
            subscriber_id=get_s(item, "subscriberId"),
            account=get_s(item, "account"),
            policy=get_policy(item, "credentialPolicy"),
        ),
        started_at_ms=get_n(item, "startedAtMs") or 0,
        last_seen_at_ms=get_n(item, "lastSeenAtMs") or 0,
        expires_at=get_n(item, TTL_ATTRIBUTE) or 0,
        protocol=get_s(item, "protocol"),
        kick_id=get_s(item, "kickId"),
        server_id=get_s(item, "serverId"),
        ended_by=get_s(item, "endedBy"),
        kick_status=get_s(item, "kickStatus"),
        country=get_s(item, "country"),
        origin=get_s(item, "origin"),
    )


def session_of_item(item: dict[str, Any]) -> Session:
    """A session from its item as DynamoDB holds it (a stream record's old image, too)."""
    return _session(item)


# An admission may write a session record when: no record is there; or it is another session's
# whose lease is over (a slot freed by expiry or by an end); or it is this very session's (the
# same identity re-admitted, e.g. a retried hook) and was not ended: an ended session is never
# revived by the identity that was ended.
_ADMIT = (
    "attribute_not_exists(pk)"
    " OR (sessionKey <> :key AND #exp <= :now)"
    " OR (sessionKey = :key AND attribute_not_exists(endedBy))"
)


def session_put(table: str, session: Session, now: float) -> dict[str, Any]:
    """The transaction item that records an admitted session (see _ADMIT)."""
    return {
        "Put": {
            "TableName": table,
            "Item": _item(session),
            "ConditionExpression": _ADMIT,
            "ExpressionAttributeNames": {"#exp": TTL_ATTRIBUTE},
            "ExpressionAttributeValues": {":now": n(int(now)), ":key": s(session.session_key)},
        }
    }


def delete_session(client: Any, table: str, session: Session) -> bool:
    """Delete this session's record (not another session's that took its slot since)."""
    try:
        call(
            client.delete_item,
            TableName=table,
            Key=session_item_key(session.stream_id, session.session_id),
            ConditionExpression="sessionKey = :key",
            ExpressionAttributeValues={":key": s(session.session_key)},
        )
    except ConditionFailed:
        return False
    return True


class SessionStore(TableStore):
    def put(self, session: Session, now: float) -> bool:
        """Record a session on its own (no credential to consume with it); False when its record
        is held by another live session or was ended (see _ADMIT)."""
        try:
            call(self._client.put_item, **session_put(self._table, session, now)["Put"])
        except ConditionFailed:
            return False
        return True

    def claim(self, session: Session, now: float) -> str:
        """Record a session in its slot (see _ADMIT): "claimed"; "held" when another live session
        holds the slot; "ended" when this very identity holds it, ended (never revived)."""
        try:
            call(
                self._client.put_item,
                **session_put(self._table, session, now)["Put"],
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ConditionFailed as failed:
            same = failed.item is not None and get_s(failed.item, "sessionKey") == session.session_key
            return "ended" if same else "held"
        return "claimed"

    def get(self, stream_id: str, session_id: str) -> Session | None:
        reply = call(
            self._client.get_item,
            TableName=self._table,
            Key=session_item_key(stream_id, session_id),
            ConsistentRead=True,
        )
        item = reply.get("Item")
        return _session(item) if item else None

    def get_with_stream_state(self, stream_id: str, session_id: str) -> tuple[Session | None, StreamState]:
        """A session and its stream's state, both strongly consistent, in ONE BatchGetItem."""
        items = batch_get(self._client, self._table, [session_item_key(stream_id, session_id), meta_key(stream_id)])
        session = next((i for i in items if get_s(i, "sk") == session_id), None)
        meta = next((i for i in items if get_s(i, "sk") == META_SK), None)
        return (_session(session) if session else None), state_of(meta)

    def set_issued(self, stream_id: str, session_id: str, account: str | None, policy: Policy | None) -> None:
        """Record the service account that issued the session's one-time token and the token's
        own access policy (known only once the token was read back), in one write: its renews then
        see the account's deletion and judge the policy."""
        names = {"account": account, "credentialPolicy": policy_text(policy)}
        values = {f":{name}": s(value) for name, value in names.items() if value is not None}
        if not values:
            return
        update_if(  # False: ended meanwhile, nothing to mark
            self._client,
            self._table,
            session_item_key(stream_id, session_id),
            "SET " + ", ".join(f"{name[1:]} = {name}" for name in values),
            "attribute_exists(pk)",
            values,
        )

    def of_subscriber(self, stream_id: str, subscriber_id: str) -> list[Session]:
        """Every session record of a subscriber, or of any owner of a partition (a counted JWT's
        `!<ref>`), live or not: callers compare leases with now."""
        owner = f"{subscriber_id}{SLOT}"
        items = query_items(
            self._client,
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :owner)",
            ExpressionAttributeValues={":pk": s(sessions_pk(stream_id, session_shard(owner))), ":owner": s(owner)},
            ConsistentRead=True,
        )
        return [_session(item) for item in items]

    def renew(self, session: Session, expires_at: int, now: float) -> bool:
        """Extend a live session's lease; False when it ended, expired or its slot was taken."""
        try:
            call(
                self._client.update_item,
                TableName=self._table,
                Key=session_item_key(session.stream_id, session.session_id),
                UpdateExpression="SET #exp = :exp, lastSeenAtMs = :nowms",
                ConditionExpression="sessionKey = :key AND #exp > :now",
                ExpressionAttributeNames={"#exp": TTL_ATTRIBUTE},
                ExpressionAttributeValues={
                    ":exp": n(expires_at),
                    ":nowms": n(int(now * 1000)),
                    ":key": s(session.session_key),
                    ":now": n(int(now)),
                },
            )
        except ConditionFailed:
            return False
        return True

    def mark_ended(self, session: Session, by: str, now: float) -> bool:
        """End a live session by ending its lease now, keeping the record (and its stream change)
        for whatever must tell its media server; TTL removes it later. False: already over."""
        try:
            call(
                self._client.update_item,
                TableName=self._table,
                Key=session_item_key(session.stream_id, session.session_id),
                UpdateExpression="SET #exp = :now, endedBy = :by, endedAtMs = :nowms",
                ConditionExpression="sessionKey = :key AND (#exp > :now OR endedBy = :by)",
                ExpressionAttributeNames={"#exp": TTL_ATTRIBUTE},
                ExpressionAttributeValues={
                    ":now": n(int(now)),
                    ":by": s(by),
                    ":nowms": n(int(now * 1000)),
                    ":key": s(session.session_key),
                },
            )
        except ConditionFailed:
            return False
        return True

    def record_kick(self, session: Session, status: str, now: float) -> bool:
        """Record on the session what its media server answered when told to end it (the
        enforcer); False when the record is gone or is another session's now (a slot taken
        since): nothing is written, so a kick never recreates a deleted session."""
        try:
            call(
                self._client.update_item,
                TableName=self._table,
                Key=session_item_key(session.stream_id, session.session_id),
                UpdateExpression="SET kickStatus = :status, kickedAtMs = :nowms",
                ConditionExpression="sessionKey = :key",
                ExpressionAttributeValues={
                    ":status": s(status),
                    ":nowms": n(int(now * 1000)),
                    ":key": s(session.session_key),
                },
            )
        except ConditionFailed:
            return False
        return True

    def end(self, stream_id: str, session_id: str, session_key: str | None = None) -> bool:
        """Delete a session (only the one with `session_key`, when given); False if it was gone."""
        extra: dict[str, Any] = {}
        if session_key is not None:
            extra = {"ConditionExpression": "sessionKey = :key", "ExpressionAttributeValues": {":key": s(session_key)}}
        else:
            extra = {"ConditionExpression": "attribute_exists(pk)"}
        try:
            call(
                self._client.delete_item,
                TableName=self._table,
                Key=session_item_key(stream_id, session_id),
                **extra,
            )
        except ConditionFailed:
            return False
        return True

    def of_stream(self, stream_id: str) -> Iterator[Session]:
        """Every session record of a stream, shard by shard (callers compare leases with now)."""
        for shard in range(SHARDS):
            for item in query_items(
                self._client,
                TableName=self._table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": s(sessions_pk(stream_id, shard))},
            ):
                yield _session(item)

    def end_stream(self, stream_id: str) -> int:
        """Delete every session of the stream (it ended), 25 at a time."""
        keys = [session_item_key(stream_id, session.session_id) for session in self.of_stream(stream_id)]
        batch_delete(self._client, self._table, keys)
        return len(keys)
