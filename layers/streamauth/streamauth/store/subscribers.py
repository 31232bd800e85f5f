"""Subscribers in DynamoDB, and the guess counters of code verification.

| item | pk | sk |
|---|---|---|
| subscriber (profile, sealed secret, last step, guess counter) | `SUBS#<streamId>#<shard>` | `SUB#<subscriberId>` |
| last accepted step of an unregistered subscriber | `SUBS#<streamId>#<shard>` | `SUBSTATE#<subscriberId>` |
| guess counter of a client address (unregistered subscribers) | `SUBS#<streamId>#<shard>` | `GUESSES#<address>` |

The shard is drawn from the subscriber id (the address for a guess counter): a crowd of
subscribers on one stream writes SHARDS partition keys, not one; listings merge the shards.

A guess counter (`failures`, `lockouts`, `attemptAtMs`, `attemptId`, `series`) lives on the
profile of a stored subscriber, and per stream and client address for unregistered ones. A
code is evaluated only after a conditional write RESERVED a guess (`failures` < 5), so no
number of concurrent requests evaluates more than 5 wrong codes before a lockout; the lockout
is the counter standing at 5 until its period has passed since the fifth attempt.

Changes are ordered by the time of their intent (`changedAtMs`): an older block, unblock or
delete is acknowledged and not applied.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from itertools import islice
from typing import Any, Literal

from streamauth.logic.shards import SHARDS, shard_of, sharded_pk
from streamauth.logic.totp import MAX_FAILURES
from streamauth.models.common import Action
from streamauth.models.policies import policy_text
from streamauth.models.sessions import Session
from streamauth.models.subscribers import Subscriber, id_of_key, key_id
from streamauth.store.base import (
    REUSE_SECONDS,
    TTL_ATTRIBUTE,
    ConditionFailed,
    TableStore,
    TransactionCanceled,
    batch_delete,
    call,
    get_n,
    get_policy,
    get_s,
    merged_query,
    n,
    s,
    transact,
    use_or_reuse,
)
from streamauth.store.sessions import session_put

PREFIX = "SUBS#"
PROFILE = "SUB#"
STATE = "SUBSTATE#"
GUESSES = "GUESSES#"
Outcome = Literal["applied", "unknown", "stale"]
NOT_NEWER = "(attribute_not_exists(changedAtMs) OR changedAtMs <= :at)"  # no change newer than this intent


def subscribers_pk(stream_id: str, shard: int) -> str:
    return sharded_pk(PREFIX, stream_id, shard)


def _shards(stream_id: str) -> list[str]:
    return [subscribers_pk(stream_id, shard) for shard in range(SHARDS)]


def _key(stream_id: str, prefix: str, name: str) -> dict[str, Any]:
    return {"pk": s(subscribers_pk(stream_id, shard_of(name))), "sk": s(prefix + name)}


def profile_key(stream_id: str, subscriber_id: str) -> dict[str, Any]:
    return _key(stream_id, PROFILE, key_id(subscriber_id))


def _state_key(stream_id: str, subscriber_id: str) -> dict[str, Any]:
    return _key(stream_id, STATE, key_id(subscriber_id))


def guesses_key(stream_id: str, address: str) -> dict[str, Any]:
    return _key(stream_id, GUESSES, address)


@dataclass(frozen=True)
class Counter:
    """A guess counter as read or reserved."""

    failures: int = 0
    lockouts: int = 0
    attempt_at_ms: int = 0
    series: int = 0
    last_step: int = -1

    @classmethod
    def of(cls, item: dict[str, Any]) -> Counter:
        last = get_n(item, "lastStep")
        return cls(
            failures=get_n(item, "failures") or 0,
            lockouts=get_n(item, "lockouts") or 0,
            attempt_at_ms=get_n(item, "attemptAtMs") or 0,
            series=get_n(item, "series") or 0,
            last_step=last if last is not None else -1,
        )


@dataclass(frozen=True)
class Reserved:
    """A guess reserved on the counter at `key`, as it stands after the reservation; on a
    stored subscriber's profile, the subscriber and its sealed secret came with it."""

    key: dict[str, Any]
    counter: Counter
    subscriber: Subscriber | None = None
    sealed_secret: str | None = None


@dataclass(frozen=True)
class NotReserved:
    """No guess reserved: the counter (and subscriber) as they stood; `found` False: no such item."""

    key: dict[str, Any]
    found: bool
    counter: Counter
    subscriber: Subscriber | None = None


@dataclass(frozen=True)
class NotAccepted:
    """An accept transaction that did not apply: an item the caller added failed (`also_failed`:
    nothing written), or the acceptance itself (a replay, a block, a deletion): `current` is the
    subscriber as it stood (None when gone or not stored)."""

    also_failed: bool
    current: Subscriber | None


def _reserved(key: dict[str, Any], item: dict[str, Any]) -> Reserved:
    if key["sk"]["S"].startswith(PROFILE):
        return Reserved(key, Counter.of(item), subscriber_of(item), get_s(item, "secret") or "")
    return Reserved(key, Counter.of(item))


def _not_blocked(action: Action) -> tuple[str, dict[str, Any]]:
    return (
        "NOT (blockedType IN (:action, :both) AND blockedUntilMs > :nowms)",
        {":action": s(action), ":both": s("publish_play")},
    )


class SubscriberStore(TableStore):
    # -- profiles -------------------------------------------------------------------------
    def put(self, subscriber: Subscriber, sealed_secret: str, now_ms: int) -> None:
        """Create or replace; a replaced subscriber starts with a fresh guess counter."""
        item: dict[str, Any] = {
            **profile_key(subscriber.stream_id, subscriber.subscriber_id),
            "kind": s("subscriber"),
            "subscriberId": s(key_id(subscriber.subscriber_id)),  # the key form: what the enforcer reads
            "streamId": s(subscriber.stream_id),
            "type": s(subscriber.type),
            "concurrentConnectionsLimit": n(subscriber.concurrent_connections_limit),
            "avgVideoBitrate": n(subscriber.avg_video_bitrate),
            "avgAudioBitrate": n(subscriber.avg_audio_bitrate),
            "changedAtMs": n(now_ms),
            "createdAtMs": n(now_ms),
            "series": n(0),
        }
        for name, value in (
            ("subscriberName", subscriber.subscriber_name),
            ("registeredNodeIp", subscriber.registered_node_ip),
        ):
            if value is not None:
                item[name] = s(value)
        if subscriber.totp_expiry_period_seconds is not None:
            item["totpExpiryPeriodSeconds"] = n(subscriber.totp_expiry_period_seconds)
        policy = policy_text(subscriber.policy)
        if policy is not None:
            item["policy"] = s(policy)
        if sealed_secret:  # none: its codes come from the app's TOTP secret
            item["secret"] = s(sealed_secret)
        if subscriber.blocked_type is not None:  # a re-posted subscriber keeps its block
            item["blockedType"] = s(subscriber.blocked_type)
            item["blockedUntilMs"] = n(subscriber.blocked_until_ms)
        transact(
            self._client,
            [
                {"Put": {"TableName": self._table, "Item": item}},
                {
                    "Delete": {
                        "TableName": self._table,
                        "Key": _state_key(subscriber.stream_id, subscriber.subscriber_id),
                    }
                },
            ],
        )

    def get(self, stream_id: str, subscriber_id: str) -> tuple[Subscriber, str] | None:
        """(subscriber, sealed secret) or None."""
        reply = call(
            self._client.get_item,
            TableName=self._table,
            Key=profile_key(stream_id, subscriber_id),
            ConsistentRead=True,
        )
        item = reply.get("Item")
        return (subscriber_of(item), get_s(item, "secret") or "") if item else None

    def delete(self, stream_id: str, subscriber_id: str, at_ms: int) -> Outcome:
        """Delete the profile and its replay state together, unless a newer change stands."""
        try:
            transact(
                self._client,
                [
                    {
                        "Delete": {
                            "TableName": self._table,
                            "Key": profile_key(stream_id, subscriber_id),
                            "ConditionExpression": f"attribute_exists(pk) AND {NOT_NEWER}",
                            "ExpressionAttributeValues": {":at": n(at_ms)},
                            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                        }
                    },
                    {"Delete": {"TableName": self._table, "Key": _state_key(stream_id, subscriber_id)}},
                ],
            )
        except TransactionCanceled as canceled:
            return "stale" if canceled.items[0] else "unknown"
        return "applied"

    def delete_all(self, stream_id: str) -> int:
        """Every subscriber of the stream (profiles and replay states), shard by shard."""
        items = merged_query(
            self._client,
            _shards(stream_id),
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":prefix": s("SUB")},
            ProjectionExpression="pk, sk",
        )
        keys = [{"pk": item["pk"], "sk": item["sk"]} for item in items]
        batch_delete(self._client, self._table, keys)
        return sum(1 for k in keys if k["sk"]["S"].startswith(PROFILE))

    def set_block(
        self,
        stream_id: str,
        subscriber_id: str,
        blocked_type: str | None,
        until_ms: int,
        at_ms: int,
        *,
        create: bool = False,
    ) -> Outcome:
        """Block until `until_ms` (compared with now on every read), or unblock (None), unless a
        change newer than `at_ms` stands. With `create`, blocking a subscriber that is not stored
        stores it (Ant Media's blockSubscriber): no secret, so its codes stay the app's, for
        either action (type publish, which also plays), one connection at a time."""
        values: dict[str, Any] = {":at": n(at_ms)}
        names: dict[str, str] = {}
        if blocked_type is None:
            expression = "REMOVE blockedType SET blockedUntilMs = :zero, changedAtMs = :at"
            values[":zero"] = n(0)
        else:
            expression = "SET blockedType = :type, blockedUntilMs = :until, changedAtMs = :at"
            values.update({":type": s(blocked_type), ":until": n(until_ms)})
        condition = f"attribute_exists(pk) AND {NOT_NEWER}"
        if create and blocked_type is not None:
            condition = NOT_NEWER
            names["#type"] = "type"
            expression += (
                ", kind = if_not_exists(kind, :kind), subscriberId = if_not_exists(subscriberId, :sid),"
                " streamId = if_not_exists(streamId, :stream), #type = if_not_exists(#type, :publish),"
                " concurrentConnectionsLimit = if_not_exists(concurrentConnectionsLimit, :one),"
                " series = if_not_exists(series, :zero), createdAtMs = if_not_exists(createdAtMs, :zero)"
            )
            values.update(
                {
                    ":kind": s("subscriber"),
                    ":sid": s(key_id(subscriber_id)),
                    ":stream": s(stream_id),
                    ":publish": s("publish"),
                    ":one": n(1),
                    ":zero": n(0),
                }
            )
        extra: dict[str, Any] = {"ExpressionAttributeNames": names} if names else {}
        try:
            call(
                self._client.update_item,
                TableName=self._table,
                Key=profile_key(stream_id, subscriber_id),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
                **extra,
            )
        except ConditionFailed as failed:
            return "stale" if failed.item else "unknown"
        return "applied"

    # -- guesses ----------------------------------------------------------------------------
    def reserve_guess(
        self, key: dict[str, Any], attempt_id: str, now: float, *, action: Action | None, expires: int | None
    ) -> Reserved | NotReserved:
        """Count one guess before the code is evaluated, unless the counter stands at 5 (locked,
        or 5 guesses in flight). With `action`, `key` is a stored subscriber's profile, which must
        exist, permit the action and not be blocked for it; else (`expires` set) it is a client
        address's counter, created on first use. ONE request, which also returns the item (the
        profile with its sealed secret). The SDK's retry of an applied reservation is recognised
        by `attemptId` and not counted twice."""
        conditions = [
            "(attribute_not_exists(failures) OR failures < :max)",
            "(attribute_not_exists(attemptId) OR attemptId <> :aid)",
        ]
        values: dict[str, Any] = {
            ":one": n(1),
            ":max": n(MAX_FAILURES),
            ":aid": s(attempt_id),
            ":nowms": n(int(now * 1000)),
        }
        names: dict[str, str] = {}
        update = "SET attemptId = :aid, attemptAtMs = :nowms, series = if_not_exists(series, :zero) ADD failures :one"
        values[":zero"] = n(0)
        if action is not None:
            blocked, blocked_values = _not_blocked(action)
            conditions = ["attribute_exists(pk)", blocked, *conditions]
            values.update(blocked_values)
            if action == "publish":
                conditions.append("#type = :publish")
                names["#type"] = "type"
                values[":publish"] = s("publish")
        else:
            update = update.replace("SET ", "SET kind = :kind, #ttl = :ttl, ", 1)
            names["#ttl"] = TTL_ATTRIBUTE
            values.update({":kind": s("guesses"), ":ttl": n(expires or 0)})
        extra: dict[str, Any] = {"ExpressionAttributeNames": names} if names else {}
        try:
            reply = call(
                self._client.update_item,
                TableName=self._table,
                Key=key,
                UpdateExpression=update,
                ConditionExpression=" AND ".join(conditions),
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
                **extra,
            )
        except ConditionFailed as failed:
            item = failed.item
            if item and get_s(item, "attemptId") == attempt_id:
                return _reserved(key, item)  # the SDK's retry of our own applied reservation
            if not item:
                return NotReserved(key, False, Counter())
            stored = subscriber_of(item) if action is not None else None
            return NotReserved(key, True, Counter.of(item), stored)
        return _reserved(key, reply.get("Attributes") or {})

    def restart_after_lockout(self, key: dict[str, Any], seen: Counter, attempt_id: str, now: float) -> Reserved | None:
        """The lockout `seen` has run its course: start a new series with this attempt as its first
        guess (and one more lockout on record). None when another request did it first."""
        try:
            reply = call(
                self._client.update_item,
                TableName=self._table,
                Key=key,
                UpdateExpression=(
                    "SET failures = :one, attemptAtMs = :nowms, attemptId = :aid ADD lockouts :one, series :one"
                ),
                ConditionExpression="failures >= :max AND attemptAtMs = :seen",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
                ExpressionAttributeValues={
                    ":one": n(1),
                    ":nowms": n(int(now * 1000)),
                    ":aid": s(attempt_id),
                    ":max": n(MAX_FAILURES),
                    ":seen": n(seen.attempt_at_ms),
                },
                ReturnValues="ALL_NEW",
            )
        except ConditionFailed as failed:
            if failed.item and get_s(failed.item, "attemptId") == attempt_id:
                return _reserved(key, failed.item)  # the SDK's retry of our own applied restart
            return None
        return _reserved(key, reply.get("Attributes") or {})

    def release_guess(self, reserved: Reserved, attempt_id: str) -> None:
        """Give back a reserved guess that turned out not to be one (a replayed code, a refusal
        for another reason). Only within the same series (a success or a new series since has
        already reset the count), and once per attempt (the SDK's retry of an applied release
        must not give back a second guess)."""
        with contextlib.suppress(ConditionFailed):
            call(
                self._client.update_item,
                TableName=self._table,
                Key=reserved.key,
                UpdateExpression="SET releasedBy = :aid ADD failures :minus",
                ConditionExpression=(
                    "failures > :zero AND series = :series AND (attribute_not_exists(releasedBy) OR releasedBy <> :aid)"
                ),
                ExpressionAttributeValues={
                    ":minus": n(-1),
                    ":zero": n(0),
                    ":series": n(reserved.counter.series),
                    ":aid": s(attempt_id),
                },
            )

    def _accept_items(
        self,
        stream_id: str,
        subscriber_id: str,
        reserved: Reserved,
        step: int,
        attempt_id: str,
        now: float,
        *,
        action: Action | None,
        expires: int,
        reseal: tuple[str, str] | None = None,
        client: str | None = None,
        reuse: bool = False,
    ) -> list[dict[str, Any]]:
        """The transaction items that accept a code for `step`: its step is newer than the last
        accepted (else it is a replay; our own retried write counts as done), the subscriber is
        still not blocked, and the guess counter starts afresh. Item 0 fails on a replay. With
        `reseal` (old, new): the sealed secret becomes `new`, only if it is still `old` (the code
        was checked against it; a subscriber replaced meanwhile refuses the code). `client`: the
        identity (a hash) of a client its server authenticates twice; with `reuse`, the items
        that accept the same step ONCE more for that client within REUSE_SECONDS."""
        accept_values: dict[str, Any] = {":step": n(step), ":aid": s(attempt_id), ":atms": n(int(now * 1000))}
        replay_free = "(attribute_not_exists(lastStep) OR lastStep < :step OR acceptedBy = :aid)"
        accepted_by = "lastStep = :step, acceptedBy = :aid, acceptedAtMs = :atms"
        if client is not None:
            accepted_by += ", acceptedClient = :client"
            accept_values[":client"] = s(client)
        forget = " REMOVE reusedBy" + ("" if client is not None else ", acceptedClient")
        if reuse:  # the same step once more, by the client that had it accepted (see REUSE_SECONDS)
            accept_values[":since"] = n(int((now - REUSE_SECONDS) * 1000))
            replay_free = (
                "(lastStep = :step AND acceptedClient = :client AND acceptedAtMs > :since AND acceptedBy <> :aid"
                " AND (attribute_not_exists(reusedBy) OR reusedBy = :aid))"
            )
            accepted_by, forget = "reusedBy = :aid", ""
            del accept_values[":atms"]  # DynamoDB refuses a value no expression uses
        reset: dict[str, Any] = {
            "UpdateExpression": "SET failures = :zero, lockouts = :zero ADD series :one",
            "ExpressionAttributeValues": {":zero": n(0), ":one": n(1)},
        }
        if action is not None:  # a stored subscriber: step, counter and block on its profile
            blocked, blocked_values = _not_blocked(action)
            sealed_set, sealed_condition, sealed_values = "", "", {}
            if reseal is not None:
                sealed_set, sealed_condition = ", secret = :sealed", " AND secret = :wassealed"
                sealed_values = {":sealed": s(reseal[1]), ":wassealed": s(reseal[0])}
            return [
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": reserved.key,
                        "UpdateExpression": (
                            f"SET {accepted_by}, failures = :zero, lockouts = :zero{sealed_set} ADD series :one{forget}"
                        ),
                        "ConditionExpression": (
                            f"attribute_exists(pk) AND {replay_free} AND {blocked}{sealed_condition}"
                        ),
                        "ExpressionAttributeValues": {
                            **accept_values,
                            **blocked_values,
                            **sealed_values,
                            ":zero": n(0),
                            ":one": n(1),
                            ":nowms": n(int(now * 1000)),
                        },
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                }
            ]
        return [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": _state_key(stream_id, subscriber_id),
                    "UpdateExpression": f"SET {accepted_by}, kind = :kind, #ttl = :ttl{forget}",
                    "ConditionExpression": replay_free,
                    "ExpressionAttributeNames": {"#ttl": TTL_ATTRIBUTE},
                    "ExpressionAttributeValues": {**accept_values, ":kind": s("subscriberState"), ":ttl": n(expires)},
                }
            },
            {"Update": {"TableName": self._table, "Key": reserved.key, **reset}},
        ]

    def accept_code(
        self,
        stream_id: str,
        subscriber_id: str,
        reserved: Reserved,
        step: int,
        attempt_id: str,
        now: float,
        *,
        action: Action | None,
        expires: int,
        reseal: tuple[str, str] | None = None,
        session: Session | None = None,
        client: str | None = None,
    ) -> NotAccepted | None:
        """Accept a code's step (and record the session it admits), in ONE transaction; None when
        accepted, else why not. A `client` (a server that authenticates one client twice: MediaMTX
        over RTSP) may have the step it had accepted accepted once more within REUSE_SECONDS."""
        return use_or_reuse(
            lambda reuse: self._accept(
                self._accept_items(
                    stream_id,
                    subscriber_id,
                    reserved,
                    step,
                    attempt_id,
                    now,
                    action=action,
                    expires=expires,
                    reseal=None if reuse else reseal,
                    client=client,
                    reuse=reuse,
                ),
                session,
                now,
            ),
            client,
            final=lambda refused: refused.also_failed,
        )

    def _accept(
        self, accept_items: list[dict[str, Any]], session: Session | None = None, now: float = 0
    ) -> NotAccepted | None:
        """Run accept items with the session the code admits (if any), in ONE transaction."""
        also = [session_put(self._table, session, now)] if session is not None else []
        try:
            transact(self._client, [*accept_items, *also])
        except TransactionCanceled as canceled:
            if not canceled.failed(0):
                return NotAccepted(True, None)
            current = canceled.items[0]
            stored = accept_items[0]["Update"]["Key"]["sk"]["S"].startswith(PROFILE)
            return NotAccepted(False, subscriber_of(current) if stored and current else None)
        return None

    def list(self, stream_id: str, offset: int, size: int) -> list[Subscriber]:
        """Profiles in subscriberId order from `offset`, paging through DynamoDB as needed (every
        shard queried, merged in subscriberId order)."""
        items = merged_query(
            self._client,
            _shards(stream_id),
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":prefix": s(PROFILE)},
        )
        return [subscriber_of(item) for item in islice(items, offset, offset + size)]


def subscriber_of(item: dict[str, Any]) -> Subscriber:
    action = get_s(item, "type")
    blocked = get_s(item, "blockedType")
    return Subscriber(
        subscriber_id=id_of_key(get_s(item, "subscriberId") or ""),
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
        created_at_ms=get_n(item, "createdAtMs") or 0,
        policy=get_policy(item),
    )
