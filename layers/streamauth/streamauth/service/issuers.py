"""The service accounts that issued stream tokens: a token (one-time or JWT) issued by a service
account dies with it. Deleting the account refuses the tokens it issued at their next admission
and ends the sessions they opened at their next renew (DELETE revokes).

Admissions of JWTs read an account's standing through a per-environment cache as old as a
stream's state may be (RevocationCacheSeconds, 5 s): a crowd admitted on one account's tokens
costs no request per decision. A one-time token's confirmation and a renew read it fresh.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from streamauth.service.recent import Recent

if TYPE_CHECKING:
    from streamauth.store.accounts import AccountStore

# Per execution environment: whether an account stood, as read at most the cache time ago.
_standing: Recent[bool] = Recent()


class Issuers:
    """`store`: the account store, or None for the deployment's, made (and its module imported)
    when a credential first names an account: most never do, and a cold start skips it."""

    def __init__(self, store: AccountStore | None, cache_seconds: float) -> None:
        self._store = store
        self._cache_seconds = cache_seconds

    def stands(self, account_id: str, now: float, *, fresh: bool = False) -> bool:
        """Whether the service account still exists (read at most the cache time ago, or now)."""
        seconds = 0 if fresh else self._cache_seconds
        return _standing.get(account_id, now, seconds, lambda: self._accounts().exists(account_id))

    def _accounts(self) -> AccountStore:
        if self._store is None:
            from streamauth.store import account_store

            self._store = account_store()
        return self._store


def forget() -> None:
    """Drop what this environment knows of accounts (tests; an account deleted here)."""
    _standing.forget()


def issuers() -> Issuers:
    from streamauth.settings import get_settings

    return Issuers(None, get_settings().revocation_cache_seconds)
