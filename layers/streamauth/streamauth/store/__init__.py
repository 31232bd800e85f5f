"""DynamoDB access only: stores take a client and a table name, return models.

Each store's module is imported when its class or factory is first used (PEP 562), not with the
package: a function imports only the stores it uses, so a cold start pays for no other (the
media hooks, for one, never load the service-account store: `make bench`, imports).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from streamauth.aws import dynamodb_client
from streamauth.settings import get_settings

if TYPE_CHECKING:
    from streamauth.store.accounts import AccountStore
    from streamauth.store.decisions import DecisionStore
    from streamauth.store.events import EventStore
    from streamauth.store.sessions import SessionStore
    from streamauth.store.streams import StreamStore
    from streamauth.store.subscribers import SubscriberStore
    from streamauth.store.tokens import TokenStore
    from streamauth.store.uses import UseStore

# each store class, and the module that defines it
_MODULES = {
    "AccountStore": "accounts",
    "DecisionStore": "decisions",
    "EventStore": "events",
    "SessionStore": "sessions",
    "StreamStore": "streams",
    "SubscriberStore": "subscribers",
    "TokenStore": "tokens",
    "UseStore": "uses",
}

__all__ = [
    "AccountStore",
    "DecisionStore",
    "EventStore",
    "SessionStore",
    "StreamStore",
    "SubscriberStore",
    "TokenStore",
    "UseStore",
    "account_store",
    "event_store",
    "session_store",
    "stream_store",
    "subscriber_store",
    "token_store",
    "use_store",
]


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    found = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = found  # the next look-up is an ordinary one
    return found


def load_all() -> None:
    """Import every store now (SnapStart's before-snapshot hook: streamauth/priming.py)."""
    for name in _MODULES:
        __getattr__(name)


def token_store() -> TokenStore:
    from streamauth.store.tokens import TokenStore

    return TokenStore(dynamodb_client(), get_settings().table_name)


def stream_store() -> StreamStore:
    from streamauth.store.streams import StreamStore

    return StreamStore(dynamodb_client(), get_settings().table_name)


def account_store() -> AccountStore:
    from streamauth.store.accounts import AccountStore

    return AccountStore(dynamodb_client(), get_settings().table_name)


def session_store() -> SessionStore:
    from streamauth.store.sessions import SessionStore

    return SessionStore(dynamodb_client(), get_settings().table_name)


def subscriber_store() -> SubscriberStore:
    from streamauth.store.subscribers import SubscriberStore

    return SubscriberStore(dynamodb_client(), get_settings().table_name)


def event_store() -> EventStore:
    from streamauth.store.events import EventStore

    return EventStore(dynamodb_client(), get_settings().table_name)


def use_store() -> UseStore:
    from streamauth.store.uses import UseStore

    return UseStore(dynamodb_client(), get_settings().table_name)
