"""The service accounts that issued stream tokens: a token (one-time or JWT) issued by a service
account dies with it. Deleting the account refuses the tokens it issued at their next admission
and ends the sessions they opened at their next renew (contract section 3: DELETE revokes).

Admissions of JWTs read an account's standing through a per-environment cache as old as a
stream's state may be (RevocationCacheSeconds, 5 s): a crowd admitted on one account's tokens
costs no request per decision. A one-time token's confirmation and a renew read it fresh.
"""

from __future__ import annotations

import threading

from streamauth.store.accounts import AccountStore

MAX_CACHED_ACCOUNTS = 10_000


class Issuers:
    def __init__(self, store: AccountStore, cache_seconds: float) -> None:
        self._store = store
        self._cache_seconds = cache_seconds

    def stands(self, account_id: str, now: float, *, fresh: bool = False) -> bool:
        """Whether the service account still exists (read at most the cache time ago, or now)."""
        if not fresh:
            with _lock:
                cached = _standing.get(account_id)
            if cached is not None and 0 <= now - cached[0] < self._cache_seconds:
                return cached[1]
        stands = self._store.exists(account_id)
        with _lock:
            if len(_standing) >= MAX_CACHED_ACCOUNTS:
                _standing.clear()
            _standing[account_id] = (now, stands)
        return stands


_lock = threading.Lock()
_standing: dict[str, tuple[float, bool]] = {}


def forget() -> None:
    """Drop what this environment knows of accounts (tests; an account deleted here)."""
    with _lock:
        _standing.clear()


def issuers() -> Issuers:
    from streamauth.settings import get_settings
    from streamauth.store import account_store

    return Issuers(account_store(), get_settings().revocation_cache_seconds)
