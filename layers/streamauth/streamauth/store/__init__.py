"""DynamoDB access only: stores take a client and a table name, return models."""

from __future__ import annotations

from streamauth.aws import dynamodb_client
from streamauth.settings import get_settings
from streamauth.store.accounts import AccountStore
from streamauth.store.events import EventStore
from streamauth.store.leases import LeaseStore
from streamauth.store.subscribers import SubscriberStore
from streamauth.store.tokens import TokenStore
from streamauth.store.viewers import ViewerStore

__all__ = [
    "AccountStore",
    "EventStore",
    "event_store",
    "LeaseStore",
    "SubscriberStore",
    "TokenStore",
    "ViewerStore",
    "account_store",
    "lease_store",
    "subscriber_store",
    "token_store",
    "viewer_store",
]


def token_store() -> TokenStore:
    return TokenStore(dynamodb_client(), get_settings().table_name)


def account_store() -> AccountStore:
    return AccountStore(dynamodb_client(), get_settings().table_name)


def viewer_store() -> ViewerStore:
    return ViewerStore(dynamodb_client(), get_settings().table_name)


def lease_store() -> LeaseStore:
    return LeaseStore(dynamodb_client(), get_settings().table_name)


def subscriber_store() -> SubscriberStore:
    return SubscriberStore(dynamodb_client(), get_settings().table_name)


def event_store() -> EventStore:
    return EventStore(dynamodb_client(), get_settings().table_name)
