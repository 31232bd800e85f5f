"""AWS clients, created on first use and reused for the life of the execution environment.

They are botocore clients from one botocore session: the same clients `boto3.client` returns,
without importing boto3, which imports s3transfer and its thread pools on the way (about 34 ms
of a cold start, measured with `make bench`: 269 ms vs 303 ms to import the nginx hook and make
its DynamoDB client). Endpoints follow botocore's `AWS_ENDPOINT_URL_<SERVICE>` variables, which
is how the local runner points the same code at its embedded DynamoDB.
"""

from __future__ import annotations

import threading
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


_creating = threading.Lock()  # a botocore session is not safe for concurrent client creation


@cache
def _session() -> Any:
    import botocore.session

    return botocore.session.get_session()


def _client(service: str) -> Any:
    with _creating:
        return _session().create_client(service, config=_config())


@cache
def dynamodb_client() -> Any:
    return _client("dynamodb")


@cache
def secrets_client() -> Any:
    return _client("secretsmanager")


@cache
def events_client() -> Any:
    return _client("events")


@cache
def sqs_client() -> Any:
    return _client("sqs")


def reset_clients() -> None:
    for getter in (dynamodb_client, secrets_client, events_client, sqs_client, _session):
        getter.cache_clear()
