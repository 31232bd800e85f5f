"""Service-account use cases: create, list, rotate, revoke; and the authorizer's lookup."""

from __future__ import annotations

import threading

from streamauth.errors import Forbidden, NotFound
from streamauth.keys import Keys, get_keys
from streamauth.logic.accounts import key_hash, new_account_id, new_key
from streamauth.models.accounts import Account, CreateAccountRequest
from streamauth.models.principals import SERVICE_ACCOUNT, Principal
from streamauth.store import AccountStore, account_store

LAST_USED_EVERY = 3600  # seconds between lastUsed writes per account and execution environment


class AccountService:
    def __init__(self, store: AccountStore, keys: Keys) -> None:
        self._store = store
        self._keys = keys  # the pepper is read only where a key is hashed (list and delete need none)

    def create(self, request: CreateAccountRequest, now: float, caller: Principal) -> tuple[Account, str]:
        """The account and its key: the only time the key is ever seen. The caller may grant only
        scopes it holds itself."""
        if not caller.may_grant(request.scopes):
            raise Forbidden("an account may be given only scopes the caller holds itself")
        account = Account(new_account_id(), request.name, request.scopes, int(now), None)
        key = new_key()
        self._store.create(account, key_hash(self._keys.service_account_pepper, key))
        return account, key

    def list(self) -> list[Account]:
        return sorted(self._store.list(), key=lambda a: (a.created, a.id))

    def rotate(self, account_id: str, caller: Principal) -> tuple[Account, str]:
        """A new key for the account, shown once; only for an account whose every scope the caller
        holds (rotating hands over the key: it must grant nothing the caller lacks)."""
        found = self._store.get(account_id)
        if found is None:
            raise NotFound(f"no service account {account_id}")
        account, old_hash = found
        if not caller.may_grant(account.scopes):
            raise Forbidden("only an account whose scopes the caller holds itself may be rotated by it")
        key = new_key()
        if not self._store.rotate(account, old_hash, key_hash(self._keys.service_account_pepper, key)):
            raise NotFound(f"service account {account_id} changed or was deleted meanwhile; retry")
        return account, key

    def delete(self, account_id: str) -> bool:
        found = self._store.get(account_id)
        return found is not None and self._store.delete(account_id, found[1])


def account_service() -> AccountService:
    return AccountService(account_store(), get_keys())


_touched: dict[str, float] = {}
_touched_lock = threading.Lock()


def find_by_key_hash(hash_: str, now: float) -> Principal | None:
    """The authorizer's lookup: one GetItem; lastUsed is written at most hourly per environment."""
    store = account_store()
    found = store.find_by_key_hash(hash_)
    if found is None:
        return None
    account_id, name, scopes = found
    with _touched_lock:
        due = now - _touched.get(account_id, float("-inf")) >= LAST_USED_EVERY
        if due:
            _touched[account_id] = now
    if due:
        store.touch(account_id, int(now), int(now) - LAST_USED_EVERY)
    return Principal(SERVICE_ACCOUNT, account_id, frozenset(scopes), {"name": name})
