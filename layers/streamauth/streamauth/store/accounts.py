"""Service accounts in DynamoDB: the account item, and a key item addressed by the key's
HMAC so the authorizer finds an account with one GetItem. Key changes are transactions."""

from __future__ import annotations

import contextlib
from typing import Any

from streamauth.models.accounts import Account
from streamauth.store.base import (
    ConditionFailed,
    TableStore,
    TransactionCanceled,
    call,
    get_n,
    get_s,
    n,
    query_items,
    s,
)

ACCOUNTS_PK = "ACCOUNTS"
KEY_SK = "SAKEY"


def _account_key(account_id: str) -> dict[str, Any]:
    return {"pk": s(ACCOUNTS_PK), "sk": s(f"SA#{account_id}")}


def _key_key(key_hash: str) -> dict[str, Any]:
    return {"pk": s(f"SAKEY#{key_hash}"), "sk": s(KEY_SK)}


def _scopes(scopes: tuple[str, ...]) -> dict[str, Any]:
    return {"L": [s(scope) for scope in scopes]}


class AccountStore(TableStore):
    def create(self, account: Account, key_hash: str) -> None:
        call(
            self._client.transact_write_items,
            TransactItems=[
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {
                            **_account_key(account.id),
                            "kind": s("serviceAccount"),
                            "id": s(account.id),
                            "name": s(account.name),
                            "scopes": _scopes(account.scopes),
                            "created": n(account.created),
                            "keyHash": s(key_hash),
                        },
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {"Put": {"TableName": self._table, "Item": self._key_item(account, key_hash)}},
            ],
        )

    def _key_item(self, account: Account, key_hash: str) -> dict[str, Any]:
        return {
            **_key_key(key_hash),
            "kind": s("serviceAccountKey"),
            "accountId": s(account.id),
            "name": s(account.name),
            "scopes": _scopes(account.scopes),
        }

    def list(self) -> list[Account]:
        items = query_items(
            self._client,
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": s(ACCOUNTS_PK)},
        )
        return [_account(item) for item in items]

    def get(self, account_id: str) -> tuple[Account, str] | None:
        """(account, current key hash) or None."""
        reply = call(self._client.get_item, TableName=self._table, Key=_account_key(account_id), ConsistentRead=True)
        item = reply.get("Item")
        if not item:
            return None
        return _account(item), get_s(item, "keyHash") or ""

    def exists(self, account_id: str) -> bool:
        """Whether the account stands (one strongly consistent GetItem of its key only)."""
        reply = call(
            self._client.get_item,
            TableName=self._table,
            Key=_account_key(account_id),
            ConsistentRead=True,
            ProjectionExpression="pk",
        )
        return bool(reply.get("Item"))

    def find_by_key_hash(self, key_hash: str) -> tuple[str, str, tuple[str, ...]] | None:
        """(account id, name, scopes) for a live key, else None. One GetItem."""
        reply = call(self._client.get_item, TableName=self._table, Key=_key_key(key_hash))
        item = reply.get("Item")
        if not item:
            return None
        scopes = tuple(v["S"] for v in item.get("scopes", {}).get("L", []))
        return get_s(item, "accountId") or "", get_s(item, "name") or "", scopes

    def rotate(self, account: Account, old_hash: str, new_hash: str) -> bool:
        """Swap the key atomically; False when the account changed or vanished meanwhile."""
        try:
            call(
                self._client.transact_write_items,
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": _account_key(account.id),
                            "UpdateExpression": "SET keyHash = :new",
                            "ConditionExpression": "keyHash = :old",
                            "ExpressionAttributeValues": {":new": s(new_hash), ":old": s(old_hash)},
                        }
                    },
                    {"Delete": {"TableName": self._table, "Key": _key_key(old_hash)}},
                    {"Put": {"TableName": self._table, "Item": self._key_item(account, new_hash)}},
                ],
            )
        except TransactionCanceled:
            return False
        return True

    def delete(self, account_id: str, key_hash: str) -> bool:
        try:
            call(
                self._client.transact_write_items,
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": self._table,
                            "Key": _account_key(account_id),
                            "ConditionExpression": "keyHash = :hash",
                            "ExpressionAttributeValues": {":hash": s(key_hash)},
                        }
                    },
                    {"Delete": {"TableName": self._table, "Key": _key_key(key_hash)}},
                ],
            )
        except TransactionCanceled:
            return False
        return True

    def touch(self, account_id: str, now: int, stale_before: int) -> None:
        """Record last use, at most once per staleness window (keeps the authorizer at 1 read)."""
        with contextlib.suppress(ConditionFailed):  # written recently by another environment
            call(
                self._client.update_item,
                TableName=self._table,
                Key=_account_key(account_id),
                UpdateExpression="SET lastUsed = :now",
                ConditionExpression="attribute_exists(pk) AND (attribute_not_exists(lastUsed) OR lastUsed < :stale)",
                ExpressionAttributeValues={":now": n(now), ":stale": n(stale_before)},
            )


def _account(item: dict[str, Any]) -> Account:
    return Account(
        id=get_s(item, "id") or "",
        name=get_s(item, "name") or "",
        scopes=tuple(v["S"] for v in item.get("scopes", {}).get("L", [])),
        created=get_n(item, "created") or 0,
        last_used=get_n(item, "lastUsed"),
    )
