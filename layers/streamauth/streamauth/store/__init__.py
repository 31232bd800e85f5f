"""DynamoDB access only: stores take a client and a table name, return models."""

from __future__ import annotations

from streamauth.aws import dynamodb_client
from streamauth.settings import get_settings
from streamauth.store.tokens import TokenStore

__all__ = ["TokenStore", "token_store"]


def token_store() -> TokenStore:
    return TokenStore(dynamodb_client(), get_settings().table_name)
