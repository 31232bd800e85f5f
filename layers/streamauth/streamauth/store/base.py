"""DynamoDB access shared by every store: the table's key scheme, typed attribute helpers,
and the one place where botocore failures become domain errors.

One table (`pk`, `sk`, TTL attribute `expiresAt`); every item kind and its key:

| item | pk | sk |
|---|---|---|
| stream state (revocation time, public viewers) | `STREAM#<streamId>` | `META` |
| one-time token | `TOKENS#<streamId>#<shard>` | `TOKEN#<tokenId>` |
| subscriber (profile, sealed secret, last step, guesses) | `SUBS#<streamId>#<shard>` | `SUB#<subscriberId>` |
| last accepted step of an unregistered subscriber | `SUBS#<streamId>#<shard>` | `SUBSTATE#<subscriberId>` |
| guess budget of a client address (unregistered subscribers) | `SUBS#<streamId>#<shard>` | `GUESSES#<address>` |
| session (an admitted publish or play) | `SESSIONS#<streamId>#<shard>` | `<sessionId>` |
| service account | `ACCOUNTS` | `SA#<id>` |
| service-account key (by HMAC of the key) | `SAKEY#<hash>` | `SAKEY` |
| processed-event marker | `EVENT#<eventId>` | `EVENT` |

A stream's tokens, subscribers and sessions spread over SHARDS partition keys (logic/shards.py;
the shard from the token id, the subscriber id, the address, the session's owner), so a crowd on
one stream does not write one partition key; listings merge the shards in sort-key order. Only
META stays one item per stream, read through each environment's bounded-staleness cache and
never part of a hot transaction. TTL deletes late (up to days): every read compares expiry with
`now` itself.
"""

from __future__ import annotations

import heapq
import random
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from streamauth.errors import StoreUnavailable
from streamauth.models.policies import Policy, policy_from_compact

TTL_ATTRIBUTE = "expiresAt"
# A credential that admits once (a one-time token, a subscriber's code step) is accepted ONCE more
# for the same client within this window: MediaMTX authenticates an RTSP read at DESCRIBE and
# again at SETUP. One client, one more authentication, whatever the concurrency.
REUSE_SECONDS = 10

_Refused = TypeVar("_Refused")
# Retry jitter from the OS, not a seeded generator: under Lambda SnapStart every environment
# restored from one snapshot would otherwise draw the same jitter and retry in step.
_JITTER = random.SystemRandom()


class ConditionFailed(Exception):
    """A conditional write did not apply (the item is missing or in another state)."""

    def __init__(self, item: dict[str, Any] | None = None) -> None:
        super().__init__("condition failed")
        self.item = item


class TransactionCanceled(Exception):
    """A transaction did not apply; `reasons[i]` is the code of TransactItems[i] ("None" if fine),
    `items[i]` the item as it was when its condition failed (when ReturnValuesOnConditionCheckFailure
    asked for it)."""

    def __init__(self, reasons: list[str], items: list[dict[str, Any] | None] | None = None) -> None:
        super().__init__("transaction canceled")
        self.reasons = reasons
        self.items = items or [None] * len(reasons)

    def failed(self, index: int) -> bool:
        return index < len(self.reasons) and self.reasons[index] == "ConditionalCheckFailed"


class TransactionConflict(StoreUnavailable):
    """Another transaction held one of the items: nothing was written; trying again may succeed."""


class TableStore:
    """A store over the one table: the DynamoDB client and the table's name."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name


def stream_pk(stream_id: str) -> str:
    return f"STREAM#{stream_id}"


def s(value: str) -> dict[str, str]:
    return {"S": value}


def n(value: int | float) -> dict[str, str]:
    return {"N": str(value)}


def get_s(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    return value["S"] if value and "S" in value else None


def get_policy(item: dict[str, Any], name: str = "policy") -> Policy | None:
    """An access policy an item stores as compact JSON text (models/policies.py), or None. One
    that does not parse (an item edited by hand) raises BadRequest: the admission is refused."""
    text = get_s(item, name)
    return None if text is None else policy_from_compact(text)


def get_n(item: dict[str, Any], name: str) -> int | None:
    value = item.get(name)
    if not value or "N" not in value:
        return None
    return int(float(value["N"]))


def call(operation: Callable[..., dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    """Run one DynamoDB request; a failed condition raises ConditionFailed, any other
    failure (throttling after the SDK's retries, network, service) raises StoreUnavailable."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return operation(**kwargs)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if error.get("Code") == "ConditionalCheckFailedException":
            item: Any = exc.response.get("Item")
            raise ConditionFailed(item if isinstance(item, dict) else None) from exc
        if error.get("Code") == "TransactionConflictException":  # a write met an ongoing transaction
            raise TransactionConflict() from exc
        if error.get("Code") == "TransactionCanceledException":
            cancellations = exc.response.get("CancellationReasons", [])
            reasons = [str(r.get("Code", "None")) for r in cancellations]
            if "TransactionConflict" in reasons:
                raise TransactionConflict() from exc
            if reasons and all(r in ("None", "ConditionalCheckFailed") for r in reasons):
                items: list[dict[str, Any] | None] = [
                    dict(r["Item"]) if isinstance(r.get("Item"), dict) else None for r in cancellations
                ]
                raise TransactionCanceled(reasons, items) from exc
        raise StoreUnavailable() from exc
    except BotoCoreError as exc:
        raise StoreUnavailable() from exc


def update_if(
    client: Any, table: str, key: dict[str, Any], update: str, condition: str, values: dict[str, Any]
) -> bool:
    """One conditional UpdateItem: False (nothing written) when the condition does not hold."""
    try:
        call(
            client.update_item,
            TableName=table,
            Key=key,
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeValues=values,
        )
    except ConditionFailed:
        return False
    return True


CONFLICT_ATTEMPTS = 5


def transact(client: Any, items: list[dict[str, Any]], sleep: Callable[[float], None] = time.sleep) -> None:
    """TransactWriteItems, tried again while it meets a conflicting transaction (retry_conflicts).
    The SDK's own retry of a transaction reuses its ClientRequestToken, so a retried transaction
    that was applied is not applied twice."""
    retry_conflicts(lambda: call(client.transact_write_items, TransactItems=items), sleep)


def use_or_reuse(
    attempt: Callable[[bool], _Refused | None], client: str | None, final: Callable[[_Refused], bool] = lambda _: False
) -> _Refused | None:
    """The one "use, or reuse once by the same client" sequence: `attempt(False)` writes the use;
    when it is refused and the asker names a `client`, `attempt(True)` writes the reuse (see
    REUSE_SECONDS). None when one was accepted, else the last refusal; a `final` refusal (the
    write failed for another reason than the credential's state) is not retried as a reuse."""
    refused: _Refused | None = None
    for reuse in (False, True) if client is not None else (False,):
        refused = attempt(reuse)
        if refused is None or final(refused):
            return refused
    return refused


def retry_conflicts(write: Callable[[], Any], sleep: Callable[[float], None] = time.sleep) -> None:
    """Run a write, again (with jittered backoff) while it meets a conflicting transaction, which
    the SDK does not retry. A conflict writes nothing, so trying again is safe; after
    CONFLICT_ATTEMPTS the caller gets TransactionConflict, a StoreUnavailable (503)."""
    for attempt in range(CONFLICT_ATTEMPTS):
        try:
            write()
            return
        except TransactionConflict:
            if attempt == CONFLICT_ATTEMPTS - 1:
                raise
            sleep(_JITTER.uniform(0.005, 0.02) * 2**attempt)


def batch_delete(client: Any, table: str, keys: list[dict[str, Any]]) -> None:
    """Delete items 25 per BatchWriteItem, retrying the (rare) unprocessed ones; what is still
    unprocessed after that raises StoreUnavailable, so the caller can tell and try again."""
    for start in range(0, len(keys), 25):
        pending: dict[str, Any] = {table: [{"DeleteRequest": {"Key": k}} for k in keys[start : start + 25]]}
        for _ in range(8):
            pending = call(client.batch_write_item, RequestItems=pending).get("UnprocessedItems") or {}
            if not pending:
                break
        else:
            raise StoreUnavailable()


def batch_get(client: Any, table: str, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items under `keys`, strongly consistent, in ONE BatchGetItem (its rare unprocessed
    keys asked again a few times; still unprocessed: StoreUnavailable)."""
    request: dict[str, Any] = {table: {"Keys": keys, "ConsistentRead": True}}
    items: list[dict[str, Any]] = []
    for _ in range(5):
        reply = call(client.batch_get_item, RequestItems=request)
        items.extend(reply.get("Responses", {}).get(table, []))
        request = reply.get("UnprocessedKeys") or {}
        if not request:
            return items
    raise StoreUnavailable()


def query_items(client: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item a Query returns, page after page, fetched only as far as the caller reads."""
    while True:
        reply = call(client.query, **kwargs)
        yield from reply.get("Items", [])
        last = reply.get("LastEvaluatedKey")
        if not last:
            return
        kwargs = {**kwargs, "ExclusiveStartKey": last}


def merged_query(client: Any, pks: Iterable[str], **kwargs: Any) -> Iterator[dict[str, Any]]:
    """The items of a Query over several partition keys (a stream's shards), in sort-key order
    as if they were one partition: each shard is queried (`:pk` bound per shard) and read only
    as far as the merge needs."""
    values = kwargs.pop("ExpressionAttributeValues", {})
    shards = [query_items(client, **kwargs, ExpressionAttributeValues={**values, ":pk": s(pk)}) for pk in pks]
    return heapq.merge(*shards, key=lambda item: item["sk"]["S"])
