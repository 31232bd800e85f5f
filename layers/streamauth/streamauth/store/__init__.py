"""DynamoDB access only: stores take a client and a table name, return models."""

from __future__ import annotations

from streamauth.aws import dynamodb_client
from streamauth.settings import get_settings
from streamauth.store.accounts import AccountStore
from streamauth.store.decisions import DecisionStore
from streamauth.store.events import EventStore
from streamauth.store.sessions import SessionStore
from streamauth.store.streams import StreamStore
from streamauth.store.subscribers import SubscriberStore
from streamauth.store.tokens import TokenStore
from streamauth.store.uses import UseStore

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


def token_store() -> TokenStore:
    return TokenStore(dynamodb_client(), get_settings().table_name)


def stream_store() -> StreamStore:
    return StreamStore(dynamodb_client(), get_settings().table_name)


def account_store() -> AccountStore:
    return AccountStore(dynamodb_client(), get_settings().table_name)


def session_store() -> SessionStore:
    return SessionStore(dynamodb_client(), get_settings().table_name)


def subscriber_store() -> SubscriberStore:
    return SubscriberStore(dynamodb_client(), get_settings().table_name)


def event_store() -> EventStore:
    return EventStore(dynamodb_client(), get_settings().table_name)


def use_store() -> UseStore:
    return UseStore(dynamodb_client(), get_settings().table_name)
