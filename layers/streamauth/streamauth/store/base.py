"""DynamoDB access shared by every store: the table's key scheme, typed attribute helpers,
and the one place where botocore failures become domain errors.

One table (`pk`, `sk`, TTL attribute `expiresAt`):

| item | pk | sk |
|---|---|---|
| stream meta (revocation time) | `STREAM#<streamId>` | `META` |
| one-time token | `STREAM#<streamId>` | `TOKEN#<tokenId>` |
| public-viewer rate counter | `STREAM#<streamId>` / `CALLER#<ip>` | `VIEWERS#<minute>` |
| service account | `ACCOUNTS` | `SA#<id>` |
| service-account key (by HMAC of the key) | `SAKEY#<hash>` | `SAKEY` |

TTL deletes late (up to days): every read compares expiry with `now` itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from streamauth.errors import StoreUnavailable

TTL_ATTRIBUTE = "expiresAt"


class ConditionFailed(Exception):
    """A conditional write did not apply (the item is missing or in another state)."""

    def __init__(self, item: dict[str, Any] | None = None) -> None:
        super().__init__("condition failed")
        self.item = item


class TransactionCanceled(Exception):
    """A transaction did not apply; `reasons[i]` is the code of TransactItems[i] ("None" if fine)."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("transaction canceled")
        self.reasons = reasons


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
        if error.get("Code") == "TransactionCanceledException":
            reasons = [str(r.get("Code", "None")) for r in exc.response.get("CancellationReasons", [])]
            if reasons and all(r in ("None", "ConditionalCheckFailed") for r in reasons):
                raise TransactionCanceled(reasons) from exc
        raise StoreUnavailable() from exc
    except BotoCoreError as exc:
        raise StoreUnavailable() from exc


def query_items(client: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item a Query returns, page after page, fetched only as far as the caller reads."""
    while True:
        reply = call(client.query, **kwargs)
        yield from reply.get("Items", [])
        last = reply.get("LastEvaluatedKey")
        if not last:
            return
        kwargs = {**kwargs, "ExclusiveStartKey": last}
