"""AWS clients, created on first use and reused for the life of the execution environment.

They are botocore clients from one botocore session: the same clients `boto3.client` returns,
without importing boto3, which imports s3transfer and its thread pools on the way (about 34 ms
of a cold start, measured with `make bench`: 269 ms vs 303 ms to import the nginx hook and make
its DynamoDB client). Endpoints follow botocore's `AWS_ENDPOINT_URL_<SERVICE>` variables, which
is how the local runner points the same code at its embedded DynamoDB.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
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


def _once_config() -> Config:
    from botocore.config import Config

    # One attempt, short timeouts: a write that must never hold up the answer it records (the
    # decision log) is tried once and dropped on any failure.
    return Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=1, read_timeout=1)


_creating = threading.Lock()  # a botocore session is not safe for concurrent client creation


@cache
def _session() -> Any:
    import botocore.session

    return botocore.session.get_session()


def _client(service: str, config: Config | None = None) -> Any:
    with _creating:
        return _session().create_client(service, config=config or _config())


@cache
def dynamodb_client() -> Any:
    return _client("dynamodb")


@cache
def dynamodb_once_client() -> Any:
    """DynamoDB tried once (no retries, 1 s timeouts): the decision log's writes."""
    return _client("dynamodb", _once_config())


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
    for getter in (dynamodb_client, dynamodb_once_client, secrets_client, events_client, sqs_client, _session):
        getter.cache_clear()


# -- SnapStart (streamauth/priming.py) ---------------------------------------------------------

# One request per service, as a first invocation makes it; answered by `_Stub`, never sent.
_PRIMING_CALLS: dict[str, tuple[str, dict[str, Any], bytes]] = {
    "dynamodb": ("get_item", {"TableName": "priming", "Key": {"pk": {"S": "p"}, "sk": {"S": "p"}}}, b"{}"),
    "secretsmanager": ("get_secret_value", {"SecretId": "priming"}, b"{}"),
}
_PLACEHOLDER = "priming"  # the placeholder keys of the priming clients: never the function's own


class _Stub:
    """The body of a priming request's reply (botocore reads it with `stream()`)."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


def prime_clients(*services: str) -> None:
    """Before a snapshot: what a client of each service loads, without a credential or a
    connection. A client is made with placeholder keys (so the session never resolves the
    function's credentials), makes its first request (serialized, signed with the placeholder,
    answered here, never sent: botocore's `before-send`), and is dropped. The session keeps the
    service models, endpoint rules and everything the request path imports; no credential or
    connection is left for the snapshot (tests/infrastructure/test_snapstart.py)."""
    from botocore.awsrequest import AWSResponse

    headers: Any = {"Content-Type": "application/x-amz-json-1.0"}

    def answer(body: bytes) -> Any:
        return lambda request, **_: AWSResponse(request.url, 200, headers, _Stub(body))

    for service in services:
        operation, params, body = _PRIMING_CALLS[service]
        with _creating:
            client = _session().create_client(
                service, config=_config(), aws_access_key_id=_PLACEHOLDER, aws_secret_access_key=_PLACEHOLDER
            )
        client.meta.events.register_first("before-send", answer(body))
        getattr(client, operation)(**params)
        client.close()


def _deferred_credentials() -> Any:
    from botocore.credentials import CredentialProvider, Credentials, create_credential_resolver
    from botocore.exceptions import NoCredentialsError

    class DeferredCredentials(Credentials):  # type: ignore[misc]
        """The function's credentials, resolved by botocore's own chain on first use (a request
        after the restore), then delegated to (refreshing as botocore's do)."""

        def __init__(self) -> None:
            self.method = "after-restore"
            self.resolved: Any = None
            self._lock = threading.Lock()

        def _real(self) -> Any:
            with self._lock:
                if self.resolved is None:
                    found = create_credential_resolver(_session()).load_credentials()
                    if found is None:
                        raise NoCredentialsError()
                    self.resolved = found
                return self.resolved

        def get_frozen_credentials(self) -> Any:
            return self._real().get_frozen_credentials()

        access_key = property(lambda self: self._real().access_key, lambda self, _: None)
        secret_key = property(lambda self: self._real().secret_key, lambda self, _: None)
        token = property(lambda self: self._real().token, lambda self, _: None)

    class OnFirstUse(CredentialProvider):  # type: ignore[misc]
        METHOD = "after-restore"

        def load(self) -> Any:
            return DeferredCredentials()

    return OnFirstUse()


def unresolved_credentials() -> bool:
    """Whether every credential the session and its clients hold is still unresolved (SnapStart:
    the snapshot must hold none of the function's credentials)."""
    if _session.cache_info().currsize == 0:
        return True
    held = getattr(_session(), "_credentials", None)  # botocore keeps the resolved ones on the session
    return held is None or getattr(held, "resolved", "static") is None


def prime_session() -> None:
    """Before a snapshot: the session's credential chain starts with one that resolves on first
    use, so the clients made now hold credentials that are looked up after the restore."""
    _session().get_component("credential_provider").insert_before("env", _deferred_credentials())


def snapstart_clients() -> tuple[Callable[[], Any], ...]:
    """The clients a SnapStart function's first request uses (made before the snapshot)."""
    return (dynamodb_client, dynamodb_once_client, secrets_client)


def refresh_clients() -> None:
    """After a restore: the clients made before the snapshot are kept if their credentials are
    still unresolved (then they resolve on the first request, and open their connections then);
    otherwise every client and the session are made anew."""
    if not unresolved_credentials():
        reset_clients()
    for client in snapstart_clients():
        client()
