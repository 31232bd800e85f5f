"""boto3 clients, created on first use and reused for the life of the execution environment.

Endpoints follow boto3's own `AWS_ENDPOINT_URL_<SERVICE>` variables, which is how the local
runner points the same code at its embedded DynamoDB.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botocore.config import Config


def _config() -> Config:
    from botocore.config import Config

    # Standard retries, then give up well inside API Gateway's 29 s: the caller gets a 503.
    return Config(
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=2,
        read_timeout=5,
    )


@cache
def dynamodb_client() -> Any:
    import boto3

    return boto3.client("dynamodb", config=_config())


@cache
def secrets_client() -> Any:
    import boto3

    return boto3.client("secretsmanager", config=_config())


@cache
def events_client() -> Any:
    import boto3

    return boto3.client("events", config=_config())


@cache
def sqs_client() -> Any:
    import boto3

    return boto3.client("sqs", config=_config())


def reset_clients() -> None:
    for getter in (dynamodb_client, secrets_client, events_client, sqs_client):
        getter.cache_clear()
