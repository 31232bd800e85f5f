"""Subscribers in DynamoDB.

| item | pk | sk |
|---|---|---|
| subscriber (profile + sealed secret) | `STREAM#<streamId>` | `SUB#<subscriberId>` |
| verification state (last step, failures, lockout) | `STREAM#<streamId>` | `SUBSTATE#<subscriberId>` |

The state lives apart so unregistered (derived-secret) subscribers get replay protection and
lockouts too, and one BatchGetItem reads both for a verify.
"""

from __future__ import annotations

import contextlib
from itertools import islice
from typing import Any

from streamauth.logic.totp import VerifyState
from streamauth.models.subscribers import Subscriber
from streamauth.store.base import ConditionFailed, TableStore, call, get_n, get_s, n, query_items, s, stream_pk

PROFILE = "SUB#"
STATE = "SUBSTATE#"


def _key(stream_id: str, prefix: str, subscriber_id: str) -> dict[str, Any]:
    return {"pk": s(stream_pk(stream_id)), "sk": s(prefix + subscriber_id)}


class SubscriberStore(TableStore):
    def put(self, subscriber: Subscriber, sealed_secret: str) -> None:
        """Create or replace; a replaced subscriber starts with fresh verification state."""
        item: dict[str, Any] = {
            **_key(subscriber.stream_id, PROFILE, subscriber.subscriber_id),
            "kind": s("subscriber"),
            "subscriberId": s(subscriber.subscriber_id),
            "streamId": s(subscriber.stream_id),
            "type": s(subscriber.type),
            "concurrentConnectionsLimit": n(subscriber.concurrent_connections_limit),
            "avgVideoBitrate": n(subscriber.avg_video_bitrate),
            "avgAudioBitrate": n(subscriber.avg_audio_bitrate),
            "secret": s(sealed_secret),
        }
        for name, value in (
            ("subscriberName", subscriber.subscriber_name),
            ("registeredNodeIp", subscriber.registered_node_ip),
        ):
            if value is not None:
                item[name] = s(value)
        if subscriber.totp_expiry_period_seconds is not None:
            item["totpExpiryPeriodSeconds"] = n(subscriber.totp_expiry_period_seconds)
        call(
            self._client.transact_write_items,
            TransactItems=[
                {"Put": {"TableName": self._table, "Item": item}},
                {
                    "Delete": {
                        "TableName": self._table,
                        "Key": _key(subscriber.stream_id, STATE, subscriber.subscriber_id),
                    }
                },
            ],
        )

    def get(self, stream_id: str, subscriber_id: str) -> tuple[Subscriber, str] | None:
        """(subscriber, sealed secret) or None."""
        reply = call(
            self._client.get_item,
            TableName=self._table,
            Key=_key(stream_id, PROFILE, subscriber_id),
            ConsistentRead=True,
        )
        item = reply.get("Item")
        return (_subscriber(item), get_s(item, "secret") or "") if item else None

    def get_with_state(self, stream_id: str, subscriber_id: str) -> tuple[tuple[Subscriber, str] | None, VerifyState]:
        """Profile and verification state in ONE request."""
        keys = [_key(stream_id, PROFILE, subscriber_id), _key(stream_id, STATE, subscriber_id)]
        request: dict[str, Any] = {self._table: {"Keys": keys, "ConsistentRead": True}}
        items: list[dict[str, Any]] = []
        for _ in range(5):  # unprocessed keys are rare; retry them a few times
            reply = call(self._client.batch_get_item, RequestItems=request)
            items.extend(reply.get("Responses", {}).get(self._table, []))
            request = reply.get("UnprocessedKeys") or {}
            if not request:
                break
        profile = next((i for i in items if (get_s(i, "sk") or "").startswith(PROFILE)), None)
        state = next((i for i in items if (get_s(i, "sk") or "").startswith(STATE)), None)
        found = (_subscriber(profile), get_s(profile, "secret") or "") if profile else None
        return found, _state(state)

    def delete(self, stream_id: str, subscriber_id: str) -> bool:
        reply = call(
            self._client.delete_item,
            TableName=self._table,
            Key=_key(stream_id, PROFILE, subscriber_id),
            ReturnValues="ALL_OLD",
        )
        call(self._client.delete_item, TableName=self._table, Key=_key(stream_id, STATE, subscriber_id))
        return bool(reply.get("Attributes"))

    def delete_all(self, stream_id: str) -> int:
        """Every subscriber of the stream (profiles and states), in batches of 25."""
        items = query_items(
            self._client,
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": s(stream_pk(stream_id)), ":prefix": s("SUB")},
            ProjectionExpression="pk, sk",
        )
        keys = [{"pk": item["pk"], "sk": item["sk"]} for item in items]
        for start in range(0, len(keys), 25):
            pending: dict[str, Any] = {self._table: [{"DeleteRequest": {"Key": k}} for k in keys[start : start + 25]]}
            for _ in range(8):  # unprocessed items are rare; retry them a few times
                pending = call(self._client.batch_write_item, RequestItems=pending).get("UnprocessedItems") or {}
                if not pending:
                    break
        return sum(1 for k in keys if k["sk"]["S"].startswith(PROFILE))

    def list(self, stream_id: str, offset: int, size: int) -> list[Subscriber]:
        """Profiles in subscriberId order from `offset`, paging through DynamoDB as needed."""
        items = query_items(
            self._client,
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": s(stream_pk(stream_id)), ":prefix": s(PROFILE)},
        )
        return [_subscriber(item) for item in islice(items, offset, offset + size)]

    def set_block(self, stream_id: str, subscriber_id: str, blocked_type: str | None, until_ms: int) -> bool:
        """Block until `until_ms` (compared with now on every read), or unblock; False if unknown."""
        if blocked_type is None:
            expression, values = "REMOVE blockedType SET blockedUntilMs = :zero", {":zero": n(0)}
        else:
            expression = "SET blockedType = :type, blockedUntilMs = :until"
            values = {":type": s(blocked_type), ":until": n(until_ms)}
        try:
            call(
                self._client.update_item,
                TableName=self._table,
                Key=_key(stream_id, PROFILE, subscriber_id),
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues=values,
            )
        except ConditionFailed:
            return False
        return True

    def accept_step(self, stream_id: str, subscriber_id: str, step: int, expires: int) -> bool:
        """Remember the accepted step; False when it (or a later one) was accepted already —
        a replay, also when two requests race with the same code."""
        try:
            call(
                self._client.update_item,
                TableName=self._table,
                Key=_key(stream_id, STATE, subscriber_id),
                UpdateExpression=(
                    "SET lastStep = :step, failures = :zero, lockouts = :zero, kind = :kind, expiresAt = :exp"
                ),
                ConditionExpression="attribute_not_exists(lastStep) OR lastStep < :step",
                ExpressionAttributeValues={
                    ":step": n(step),
                    ":zero": n(0),
                    ":kind": s("subscriberState"),
                    ":exp": n(expires),
                },
            )
        except ConditionFailed:
            return False
        return True

    def record_failure(self, stream_id: str, subscriber_id: str, expires: int) -> VerifyState:
        reply = call(
            self._client.update_item,
            TableName=self._table,
            Key=_key(stream_id, STATE, subscriber_id),
            UpdateExpression="ADD failures :one SET kind = :kind, expiresAt = :exp",
            ExpressionAttributeValues={":one": n(1), ":kind": s("subscriberState"), ":exp": n(expires)},
            ReturnValues="ALL_NEW",
        )
        return _state(reply.get("Attributes"))

    def lock(self, stream_id: str, subscriber_id: str, failures: int, until_ms: int, expires: int) -> None:
        """Start a lockout, once: only the request that saw `failures` wrong codes applies it."""
        with contextlib.suppress(ConditionFailed):  # another request already started this lockout
            call(
                self._client.update_item,
                TableName=self._table,
                Key=_key(stream_id, STATE, subscriber_id),
                UpdateExpression="SET failures = :zero, lockedUntilMs = :until, expiresAt = :exp ADD lockouts :one",
                ConditionExpression="failures = :seen",
                ExpressionAttributeValues={
                    ":zero": n(0),
                    ":until": n(until_ms),
                    ":one": n(1),
                    ":seen": n(failures),
                    ":exp": n(expires),
                },
            )


def _state(item: dict[str, Any] | None) -> VerifyState:
    if not item:
        return VerifyState()
    last = get_n(item, "lastStep")
    return VerifyState(
        last_step=last if last is not None else -1,
        failures=get_n(item, "failures") or 0,
        lockouts=get_n(item, "lockouts") or 0,
        locked_until_ms=get_n(item, "lockedUntilMs") or 0,
    )


def _subscriber(item: dict[str, Any]) -> Subscriber:
    action = get_s(item, "type")
    blocked = get_s(item, "blockedType")
    return Subscriber(
        subscriber_id=get_s(item, "subscriberId") or "",
        stream_id=get_s(item, "streamId") or "",
        type="publish" if action == "publish" else "play",
        subscriber_name=get_s(item, "subscriberName"),
        concurrent_connections_limit=get_n(item, "concurrentConnectionsLimit") or 1,
        blocked_type=blocked if blocked in ("play", "publish", "publish_play") else None,  # type: ignore[arg-type]
        blocked_until_ms=get_n(item, "blockedUntilMs") or 0,
        registered_node_ip=get_s(item, "registeredNodeIp"),
        avg_video_bitrate=get_n(item, "avgVideoBitrate") or 0,
        avg_audio_bitrate=get_n(item, "avgAudioBitrate") or 0,
        totp_expiry_period_seconds=get_n(item, "totpExpiryPeriodSeconds"),
    )
